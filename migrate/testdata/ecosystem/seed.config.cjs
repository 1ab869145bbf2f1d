// The seed's PM2 setup: the Beads daemon as a PM2 app.
module.exports = {
  apps: [
    {
      name: 'beads-daemon',
      script: 'bd',
      args: 'daemon --start --foreground --interval 5s',
      autorestart: true,
      max_memory_restart: '200M',
      kill_timeout: 5000,
      restart_delay: 5000,
      max_restarts: 10,
      min_uptime: 10000,
      out_file: '.beads/pm2-out.log',
      error_file: '.beads/pm2-error.log',
      log_file: '.beads/pm2-combined.log',
      time: true,
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      env: {
        BD_AUTO_START_DAEMON: 'true',
      },
      env_development: {
        NODE_ENV: 'development',
      },
      env_production: {
        NODE_ENV: 'production',
      },
    },
  ],
};
