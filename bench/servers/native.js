'use strict';
// This package, with the benchmark handlers. BENCH_MODULE: another build of it (bench
// --baseline), measured with the same handlers.
const { TunnelServer } = require(process.env.BENCH_MODULE || '../..');
const { tasks, events } = require('../handlers');

const server = new TunnelServer({
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  reduceMemoryUsage: process.env.REDUCE_MEMORY === '1',
});
for (const [id, fn] of Object.entries(tasks)) server.registerTask(id, fn);
for (const [id, fn] of Object.entries(events)) server.registerEvent(id, fn);
server.listen().then(() => console.log('ready'));
