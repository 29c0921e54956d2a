// Type-checked by `npm run test:types` (tsc --noEmit --strict): the seed README's usage,
// and the additions, must compile against index.d.ts unchanged.
import { TunnelServer, TunnelConfig, TunnelStats, CallContext, HandlerError } from '../..';

declare const db: { users: { create(input: unknown): Promise<{ id: number; email: string }> } };

async function seed(): Promise<void> {
  const server = new TunnelServer({ port: 7070 });
  server.registerTask('app.tasks.add', async (input) => {
    return input.a + input.b;
  });
  await server.listen();

  const config: TunnelConfig = { port: 7070, basePath: '/__runner', corsOrigins: ['https://example.com'] };
  const other = new TunnelServer(config);
  other.registerTask('users.create', async (input) => {
    const user = await db.users.create(input);
    return { id: user.id, email: user.email };
  });
  other.registerEvent('user.created', async (payload) => {
    console.log(payload.email);
  });
  const tasks: string[] = await other.getTaskIds();
  const events: string[] = await other.getEventIds();
  console.log(tasks, events);
}

async function additions(): Promise<void> {
  const server = new TunnelServer({
    port: 0,
    host: '127.0.0.1',
    maxBodySize: 1 << 20,
    maxStreamBodySize: 1 << 30,
    taskTimeoutMs: 5000,
    requestTimeoutMs: 300000,
    maxInFlight: 100,
    reduceMemoryUsage: true,
    auth: { token: 'secret', header: 'x-api-key' },
  });
  server.registerTask('plain', (input: number) => input * 2);
  server.registerTask('with.ctx', async (input, ctx: CallContext) => {
    ctx.signal.addEventListener('abort', () => undefined);
    return { id: ctx.id, kind: ctx.kind, ua: ctx.headers['user-agent'] };
  });
  server.registerTask('typed.error', () => {
    throw new HandlerError('Conflict', { status: 409, code: 'CONFLICT', id: 'app.errors.conflict', data: { k: 1 }, httpCode: 409 });
  });
  server.registerEvent('with.result', (payload: number, ctx) => (ctx.returnPayload ? payload * 2 : undefined), { listed: false });
  server.registerTask('upload', async (_input: undefined, ctx) => {
    let bytes = 0;
    if (ctx.body) for await (const chunk of ctx.body) bytes += (chunk as Buffer).length;
    return { bytes };
  });
  await server.listen();
  const port: number | null = server.port;
  const address = server.address();
  if (address) console.log(address.address, address.family === 'IPv6', address.port + 1);
  const callCtx = null as unknown as CallContext;
  const closing: boolean = callCtx.closing;
  const client: string | undefined = callCtx.remoteAddress;
  const family: 'IPv4' | 'IPv6' | undefined = callCtx.remoteFamily;
  void closing, client, family, (callCtx.remotePort ?? 0) + 1;
  const stats: TunnelStats = server.getStats();
  const { boundsMs, counts, count, sumMs } = stats.latency;
  const mean: number = count > 0 ? sumMs / count : 0;
  void boundsMs.length, counts[counts.length - 1], mean, stats.recordsDropped + stats.authFailures;
  const logged = new TunnelServer({
    port: 0,
    onRequests: (records, { dropped }) => {
      for (const r of records) {
        const kind: 'task' | 'event' | undefined = r.kind;
        const line = `${new Date(r.time).toISOString()} ${r.remoteAddress ?? '-'}:${r.remotePort ?? 0} ${r.method} ${r.path} ${r.id ?? '-'} ${r.status} ${r.durationMs.toFixed(3)}ms ${r.bytesIn}/${r.bytesOut} ${r.requestId ?? ''} ${kind}`;
        console.log(line);
      }
      if (dropped > 0) console.warn(`${dropped} records dropped`);
    },
    onHandlerError: (error, call) => console.error(call.kind, call.id, call.requestId, error),
  });
  void logged;
  console.log(port, stats.requests, stats.pending, stats.timeouts, stats.closedByDeadline);
  server.closeIdleConnections();
  await server.close({ timeoutMs: 1000 });
  server.closeAllConnections();
}

async function runnerProtocol(): Promise<void> {
  const server = new TunnelServer({
    port: 0,
    protocol: 'runner',
    serializer: { parse: JSON.parse, stringify: JSON.stringify },
    cors: { origin: /\.example$/, credentials: true, exposedHeaders: ['x-runner-request-id'] },
    auth: { token: ['a', 'b'], allowAnonymous: false },
    authValidator: async ({ headers }) => ({ ok: headers.authorization === 'Bearer x' }),
    onAuthFailure: ({ requestId, status, code }) => console.log(requestId, status, code),
    exposure: 'list',
    disableDiscovery: true,
    closeTimeoutMs: 5000,
  });
  server.registerTask('t', (input, ctx) => [ctx.requestId, ctx.url, ctx.contextHeader]);
  await server.listen();
}

function misuse(): void {
  // Each line below must stay a type error; tsc fails if one starts compiling.
  // @ts-expect-error port is required
  new TunnelServer({});
  // @ts-expect-error port is a number
  new TunnelServer({ port: '7070' });
  const server = new TunnelServer({ port: 0 });
  // @ts-expect-error a handler is a function
  server.registerTask('x', 42);
  // @ts-expect-error port is read-only
  server.port = 1;
  // @ts-expect-error an unknown protocol
  new TunnelServer({ port: 0, protocol: 'grpc' });
  // @ts-expect-error exposure is one of three words
  new TunnelServer({ port: 0, exposure: 'some' });
}

void seed;
void additions;
void runnerProtocol;
void misuse;
