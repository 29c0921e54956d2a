'use strict';
// A runner app on every core with node:cluster (or pm2 -i max): each worker process runs
// the app with reusePort and binds the port itself; Linux spreads connections over them.
//
//   node examples/runner-cluster.js     # PORT=7070 WORKERS=<cores> by default
const cluster = require('cluster');
const os = require('os');

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS || os.availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill('SIGTERM'); });
} else {
  require('./runner-app').start({ port: Number(process.env.PORT || 7070), reusePort: true }).then(({ runtime, port }) => {
    console.log(`worker ${process.pid} listening on ${port}`);
    // Dispose (a graceful close), then leave the cluster (its IPC channel keeps the process alive).
    const stop = () => runtime.dispose().then(() => { if (process.connected) process.disconnect(); });
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
