// An ES module ecosystem file: PM2 reads its default export.
import path from 'path';
import { homedir } from 'node:os';

const logs = path.join('.beads', 'logs');

export default {
  apps: [{
    name: 'beads',
    script: 'bd',
    args: ['daemon', '--start', '--foreground'],
    max_memory_restart: '300M',
    min_uptime: 2000,
    out_file: `${logs}/out.log`,
    error_file: `${logs}/err.log`,
    env: { HOME_SET: homedir() !== '' ? 'yes' : 'no' },
    env_development: { NODE_ENV: 'development' },
  }],
};
