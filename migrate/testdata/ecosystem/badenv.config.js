// Environment variable names PM2 passes to Node.js but no process can
// carry, and beads.hcl refuses: they are left out, each with a warning, so
// that the beads.hcl written loads (it failed at validate, and migrate at
// "validate beads.hcl", on the first of them).
module.exports = {
  apps: [{
    name: "web",
    script: "sleep",
    args: "100",
    env: { "A=B": "1", "": "2", "LINE\nBREAK": "3", PORT: "8080" },
    env_production: { "C=D": "1", NODE_ENV: "production" },
  }],
};
