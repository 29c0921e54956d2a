'use strict';
// Baseline: node:cluster with WORKERS (default 2) node:http workers sharing the port
// through the primary, each serving bench/servers/node-http.js.
const cluster = require('cluster');

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS || 2);
  let listening = 0;
  cluster.on('listening', () => { if (++listening === workers) console.log('ready'); });
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  require('./node-http');
}
