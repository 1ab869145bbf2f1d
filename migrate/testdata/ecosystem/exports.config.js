// exports.apps, a single app object and a string script with a shell script.
exports.apps = {
  name: 'sync job',
  script: 'scripts/sync.sh',
  args: 'once --dry-run',
  wait_ready: true,
  listen_timeout: 10000,
  max_memory_restart: '512K',
  restart_delay: 250,
};
exports.deploy = { production: { user: 'deploy' } };
