'use strict';
// One thread of bench/servers/native-threads.js (BENCH_MODULE: another build, as native.js).
const { TunnelServer } = require(process.env.BENCH_MODULE || '../..');
const { tasks, events } = require('../handlers');

module.exports = async ({ port }) => {
  const server = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
  for (const [id, fn] of Object.entries(tasks)) server.registerTask(id, fn);
  for (const [id, fn] of Object.entries(events)) server.registerEvent(id, fn);
  await server.listen();
  return server;
};
