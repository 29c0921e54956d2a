// Type-checked by `npm run test:types` (tsc --noEmit --strict): the seed README's usage,
// and the additions, must compile against index.d.ts unchanged.
import { TunnelServer, TunnelConfig, TunnelStats, CallContext } from '../..';

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
    taskTimeoutMs: 5000,
    maxInFlight: 100,
    reduceMemoryUsage: true,
    auth: { token: 'secret', header: 'x-api-key' },
  });
  server.registerTask('plain', (input: number) => input * 2);
  server.registerTask('with.ctx', async (input, ctx: CallContext) => {
    ctx.signal.addEventListener('abort', () => undefined);
    return { id: ctx.id, kind: ctx.kind, ua: ctx.headers['user-agent'] };
  });
  await server.listen();
  const port: number | null = server.port;
  const stats: TunnelStats = server.getStats();
  console.log(port, stats.requests, stats.pending, stats.timeouts);
  await server.close();
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
}

void seed;
void additions;
void misuse;
