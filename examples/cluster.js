'use strict';
// One port served by several processes (node:cluster, or pm2 in cluster mode): each
// worker process binds the port itself with reusePort, and the Linux kernel spreads
// connections across them (macOS accepts the binds but does not balance).
//
//   node examples/cluster.js             # PORT=7070 WORKERS=<cores> by default
//   pm2 start examples/cluster-worker.js -i max   # the same, run by pm2
const cluster = require('cluster');
const os = require('os');

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS || os.availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork();
  console.log(`primary ${process.pid}: ${workers} workers`);
  process.once('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill('SIGTERM'); });
} else {
  require('./cluster-worker');
}
