'use strict';
// One worker process of examples/cluster.js (or of `pm2 start -i max`).
const { TunnelServer } = require('..');

const server = new TunnelServer({ port: Number(process.env.PORT || 7070), reusePort: true });
server.registerTask('app.tasks.pid', () => process.pid);
server.listen().then(() => console.log(`worker ${process.pid} listening on ${server.port}`));
// Close, then leave the cluster (its IPC channel would keep the process alive).
const stop = () => server.close().then(() => { if (process.connected) process.disconnect(); });
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
