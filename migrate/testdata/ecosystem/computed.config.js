// Values computed by functions, with require('path') and require('os').
const path = require('path');
const os = require('os');

const root = __dirname;
const logDir = path.join(root, '.beads');
const intervalSeconds = () => 2 + 3;
const memory = (mb) => `${mb}M`;

function profile(name) {
  return { NODE_ENV: name, BEADS_HOST: os.hostname() ? 'set' : 'unset' };
}

const profiles = {};
['development', 'staging', 'production'].forEach((p) => {
  profiles['env_' + p] = profile(p);
});

module.exports = {
  apps: [
    Object.assign(
      {
        name: 'beads',
        script: 'bd',
        args: ['daemon', '--start', '--foreground', `--interval=${intervalSeconds()}s`],
        max_memory_restart: memory(150 + 50),
        restart_delay: 1000 * 5,
        out_file: path.join(logDir, 'out.log'),
        error_file: path.resolve(root, '.beads', 'err.log'),
        log_file: true,
        log_date_format: 'YYYY-MM-DD HH:mm:ss.SSS',
        autorestart: process.env.CI ? false : true,
        env: {
          BD_AUTO_START_DAEMON: 'false',
          HOME_HINT: path.basename(os.homedir() || '/root'),
          WORKERS: String(Math.min(os.cpus().length, 4) > 0),
        },
        post_start: function () { return 'not called'; },
      },
      profiles,
    ),
  ],
};
