'use strict';
// An access log: one JSON line per answered request on stdout, written a batch at a
// time (onRequests hands records over in batches, so a busy server makes one write per
// batch, not one per request). Run it, then
//   curl -s -X POST localhost:7070/__runner/task/app.tasks.add \
//     -H 'content-type: application/json' -d '{"input":{"a":5,"b":3}}'
const { TunnelServer } = require('..');

/**
 * @param {import('..').RequestRecord[]} records
 * @param {{ dropped: number }} info
 */
function writeAccessLog(records, info) {
  let out = '';
  for (const r of records) {
    out += `${JSON.stringify({
      time: new Date(r.time).toISOString(),
      remote: r.remoteAddress,
      method: r.method,
      path: r.path,
      id: r.id,
      status: r.status,
      ms: Math.round(r.durationMs * 1000) / 1000,
      in: r.bytesIn,
      out: r.bytesOut,
    })}\n`;
  }
  if (info.dropped > 0) out += `${JSON.stringify({ dropped: info.dropped })}\n`;
  process.stdout.write(out);
}

const server = new TunnelServer({
  port: process.env.PORT === undefined ? 7070 : Number(process.env.PORT),
  host: process.env.HOST,
  onRequests: writeAccessLog,
});
server.registerTask('app.tasks.add', async (input) => input.a + input.b);

server.listen().then(() => {
  console.error(`runner-native listening on port ${server.port}`);
});

// The last records are written before close() resolves.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { server.close(); });
}
