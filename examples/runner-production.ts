// A runner 5.5 service served by runner-native in production, in TypeScript: every
// setting and member this package adds for runner apps, type-checked with `tsc --strict`
// by `npm run test:types`. Run it with a TypeScript runner (tsx, ts-node) or compile it.
// (In an application: '@bluelibs/runner-native/runner' and '@bluelibs/runner-native'.)
import { r, run, globals } from '@bluelibs/runner';
import { useExposureContext } from '@bluelibs/runner/node';
import { nativeExposure, NativeExposureContext, NativeExposureValue } from '../runner';
import type { RequestRecord, TunnelStats } from '..';

const add = r.task('app.tasks.add').run(async (input: { a: number; b: number }) => input.a + input.b).build();

// A task that reads the client's address and the raw body, and one that writes its own
// response ("response hijack"): nativeExposure provides req and res as typed here.
const whoami = r.task('app.tasks.whoami').run(async () => {
  const { req, signal }: NativeExposureContext = useExposureContext();
  let bytes = 0;
  for await (const chunk of req) {
    if (signal.aborted) break;
    bytes += (chunk as Buffer).length;
  }
  return { address: req.socket.remoteAddress, port: req.socket.remotePort, family: req.socket.remoteFamily, method: req.method, url: req.url, bytes };
}).build();

const report = r.task('app.tasks.report').run(async () => {
  const { res }: NativeExposureContext = useExposureContext();
  res.statusCode = 200;
  res.setHeader('content-type', 'text/csv');
  if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store');
  res.writeHead(200, { 'x-report': 'daily' });
  res.write('day,total\n');
  res.end('2026-12-07,42\n');
}).build();

const tunnel = r.resource('app.tunnel').tags([globals.tags.tunnel])
  .init(async () => ({ mode: 'server' as const, transport: 'http' as const, tasks: [add, whoami, report] }))
  .build();

/** Access log: one JSON line per answered request, a write per batch. */
function accessLog(records: RequestRecord[], info: { dropped: number }): void {
  let out = '';
  for (const rec of records) {
    out += `${JSON.stringify({ time: new Date(rec.time).toISOString(), remote: rec.remoteAddress, id: rec.id ?? rec.path, status: rec.status, ms: rec.durationMs, in: rec.bytesIn, out: rec.bytesOut, requestId: rec.requestId })}\n`;
  }
  if (info.dropped > 0) out += `${JSON.stringify({ dropped: info.dropped })}\n`;
  process.stdout.write(out);
}

/** The 99th percentile from the server's histogram: the bound of the bucket it falls in. */
function p99(stats: TunnelStats): number | undefined {
  const { boundsMs, counts, count } = stats.latency;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= 0.99 * count) return i < boundsMs.length ? boundsMs[i] : Infinity;
  }
  return undefined;
}

const exposure = nativeExposure.with({
  http: {
    listen: { port: Number(process.env.PORT ?? 7070), host: '0.0.0.0' },
    auth: { token: process.env.RUNNER_TOKEN ?? 'change-me' },
    // runner-native's own settings, checked at boot (an unknown key is refused):
    reusePort: true, // node:cluster workers or worker threads share the port
    taskTimeoutMs: 30_000,
    maxInFlight: 5_000,
    closeTimeoutMs: 15_000,
    idleTimeoutMs: 5_000,
    onRequests: accessLog,
    onHandlerError: (error, call) => console.error(`task ${call.id} failed (request ${call.requestId}):`, error),
  },
});

export async function main(): Promise<void> {
  const app = r.resource('app').register([add, whoami, report, tunnel, exposure]).build();
  // shutdownHooks: SIGTERM lets running tasks finish, then the port closes.
  const runtime = await run(app, { shutdownHooks: true });
  const value: NativeExposureValue = runtime.getResourceValue(nativeExposure);
  const address = value.server?.address();
  console.error(`serving on ${address?.address}:${value.port}${value.basePath}`);
  const timer = setInterval(() => {
    const stats = value.server?.getStats();
    if (stats) console.error(`requests ${stats.requests}, p99 ≤ ${p99(stats)} ms, dropped records ${stats.recordsDropped}`);
  }, 60_000);
  timer.unref();
}

if (require.main === module) void main();
