// A standalone TunnelServer in production, in TypeScript: every member this package adds
// to the seed API, type-checked with `tsc --strict` by `npm run test:types`. Run it with a
// TypeScript runner (tsx, ts-node) or compile it. (In an application: '@bluelibs/runner-native'.)
import { Readable } from 'stream';
import { TunnelServer, HandlerError, CallContext, RequestRecord, TunnelStats } from '..';

const server = new TunnelServer({
  port: Number(process.env.PORT ?? 7070),
  host: process.env.HOST ?? '127.0.0.1', // the seed default is every interface
  auth: { token: process.env.TUNNEL_TOKEN ?? 'change-me' }, // the seed default is none
  corsOrigins: ['https://app.example.com'], // the seed default is '*'
  taskTimeoutMs: 30_000,
  maxInFlight: 5_000,
  closeTimeoutMs: 15_000,
  maxStreamBodySize: 100 * 2 ** 20,
  onRequests: (records: RequestRecord[], { dropped }) => {
    for (const r of records) {
      if (r.status >= 500 || r.durationMs > 1_000) {
        console.warn(`${r.remoteAddress}:${r.remotePort} ${r.method} ${r.path} ${r.kind ?? '-'} ${r.id ?? '-'} ${r.status} ${r.durationMs.toFixed(1)} ms ${r.bytesIn}/${r.bytesOut} B`);
      }
    }
    if (dropped > 0) console.warn(`${dropped} access records dropped: the hook is too slow`);
  },
  onHandlerError: (error, call) => console.error(`${call.kind} ${call.id} failed:`, error),
  onAuthFailure: ({ method, path, status, more }) => console.warn(`refused ${method} ${path}: ${status}${more ? ` (+${more})` : ''}`),
});

// A task that says who called, stops when the client leaves or the deadline passes, and
// chooses its error statuses.
server.registerTask('app.tasks.report', async (input: { days: number }, ctx: CallContext) => {
  if (!Number.isInteger(input?.days) || input.days < 1) {
    throw new HandlerError('days must be a positive integer', { status: 400, code: 'BAD_DAYS', data: { got: input?.days } });
  }
  const lines: string[] = [];
  for (let day = 0; day < input.days; day++) {
    if (ctx.signal.aborted) throw new HandlerError('cancelled', { status: 503, code: 'CANCELLED' });
    if (ctx.closing && day > 0) break; // a shutdown began: answer with what there is
    lines.push(`day ${day}`);
  }
  return { client: `${ctx.remoteAddress}:${ctx.remotePort} (${ctx.remoteFamily})`, lines };
});

// A raw upload (application/octet-stream) read as it arrives, answered as a stream.
server.registerTask('app.tasks.upload', async (_input: undefined, ctx: CallContext) => {
  let bytes = 0;
  if (ctx.body) for await (const chunk of ctx.body) bytes += (chunk as Buffer).length;
  return { status: 201, contentType: 'text/plain', headers: { 'x-bytes': String(bytes) }, stream: Readable.from([`received ${bytes} bytes\n`]) };
});

/** The median and 99th percentile bounds from the server's histogram. */
function percentiles(stats: TunnelStats): { p50?: number; p99?: number } {
  const { boundsMs, counts, count } = stats.latency;
  const at = (q: number): number | undefined => {
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (count > 0 && seen >= q * count) return i < boundsMs.length ? boundsMs[i] : Infinity;
    }
    return undefined;
  };
  return { p50: at(0.5), p99: at(0.99) };
}

export async function main(): Promise<void> {
  await server.listen();
  const address = server.address();
  console.log(`listening on ${address?.address}:${address?.port} (${address?.family})`);
  const timer = setInterval(() => {
    const stats = server.getStats();
    console.log(`requests ${stats.requests}, in flight ${stats.inFlight}, latency ${JSON.stringify(percentiles(stats))}`);
  }, 60_000);
  timer.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, async () => {
      server.closeIdleConnections();
      await server.close({ timeoutMs: 15_000 }); // running calls finish; past 15 s they get 503
      const { requests, latency } = server.getStats(); // the last counters, after close()
      console.log(`closed after ${requests} requests (${latency.count} answered)`);
    });
  }
}

if (require.main === module) void main();
