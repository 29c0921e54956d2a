'use strict';
// This package, with the benchmark handlers. BENCH_MODULE: another build of it (bench
// --baseline), measured with the same handlers.
const { TunnelServer } = require(process.env.BENCH_MODULE || '../..');
const { tasks, events } = require('../handlers');

const server = new TunnelServer({
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  reduceMemoryUsage: process.env.REDUCE_MEMORY === '1',
  // ACCESS_LOG=1: every answered request recorded and handed to a hook that tallies it,
  // what an access log or a metrics exporter costs at the least.
  ...(process.env.ACCESS_LOG === '1' ? { onRequests: tally } : {}),
});

const totals = { records: 0, bytesOut: 0, slow: 0 };
function tally(records) {
  for (const r of records) {
    totals.records++;
    totals.bytesOut += r.bytesOut;
    if (r.durationMs > 100) totals.slow++;
  }
}
for (const [id, fn] of Object.entries(tasks)) server.registerTask(id, fn);
for (const [id, fn] of Object.entries(events)) server.registerEvent(id, fn);
server.listen().then(() => console.log('ready'));
