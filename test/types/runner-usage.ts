// Type-checked by `npm run test:types`: nativeExposure is used exactly as nodeExposure.
import { r, run, globals, Serializer } from '@bluelibs/runner';
import { nodeExposure } from '@bluelibs/runner/node';
import { nativeExposure, NativeExposureValue, NativeExposureContext } from '../../runner';
import { useExposureContext } from '@bluelibs/runner/node';
import { TunnelServer, HandlerError, CallContext } from '../..';

const add = r.task('app.tasks.add').run(async (input: { a: number; b: number }) => input.a + input.b).build();
const tunnel = r.resource('app.tunnel').tags([globals.tags.tunnel]).init(async () => ({ mode: 'server' as const, tasks: [add] })).build();

const http = {
  basePath: '/__runner',
  listen: { port: 7070, host: '0.0.0.0' },
  auth: { token: ['a', 'b'], header: 'x-api-key', allowAnonymous: false },
  cors: { origin: /\.example\.com$/, methods: ['POST'], allowedHeaders: ['content-type'], exposedHeaders: ['x-runner-request-id'], credentials: true, maxAge: 60, varyOrigin: true },
  limits: { json: { maxSize: 1 << 20 } },
  disableDiscovery: false,
  dangerouslyAllowOpenExposure: false,
};

// The two-line swap: the same config object fits both.
export const before = r.resource('app').register([add, tunnel, nodeExposure.with({ http })]).build();
export const after = r.resource('app').register([add, tunnel, nativeExposure.with({ http })]).build();

export async function main(): Promise<void> {
  const rt = await run(after);
  const value: NativeExposureValue = rt.getResourceValue(nativeExposure);
  const port: number | null = value.port;
  console.log(port, value.basePath, value.server?.getStats().requests);
  await value.close();
  // @ts-expect-error nativeExposure cannot attach to an http.Server
  nativeExposure.with({ http: { listen: { port: 1 }, server: {} } });
  // @ts-expect-error listen is required
  nativeExposure.with({ http: { basePath: '/x' } });
}

// TunnelServer in the runner protocol, with runner's serializer and structured outcomes.
export async function protocolRunner(): Promise<void> {
  const server = new TunnelServer({
    protocol: 'runner',
    port: 0,
    auth: { token: ['a', 'b'], allowAnonymous: false },
    authValidator: async (req) => ({ ok: req.headers['x-k'] === 'v' && req.requestId !== undefined }),
    onAuthFailure: (info) => console.log(info.code, info.status),
    cors: { origin: (o) => o ?? null, credentials: true },
    exposure: 'list',
    disableDiscovery: true,
    serializer: new Serializer(),
  });
  server.registerTask('t', (input, ctx: CallContext) => {
    if (!input) throw new HandlerError('Conflict', { status: 409, id: 'app.errors.conflict', data: { at: new Date() }, httpCode: 409 });
    return { id: ctx.requestId, url: ctx.url, context: ctx.contextHeader };
  }, { listed: false });
  server.registerEvent('e', (payload, ctx) => (ctx.returnPayload ? { echoed: payload } : undefined));
  await server.listen();
  const e = new HandlerError('x');
  const status: number = e.status;
  console.log(status, e.code);
}

// runner types useExposureContext() with Node's classes; NativeExposureContext is what
// nativeExposure provides of them, and runner's value fits it without a cast.
export function typedContext(): void {
  const ctx: NativeExposureContext = useExposureContext();
  const address: string | undefined = ctx.req.socket.remoteAddress;
  ctx.res.writeHead(200, { 'content-type': 'text/plain' }).end(address);
  // @ts-expect-error nativeExposure's req has no httpVersion: only what it provides is typed
  void ctx.req.httpVersion;
  // runner-native's settings in http, checked by Go at boot; the ones nativeExposure owns are not typed there
  nativeExposure.with({ http: { listen: { port: 0 }, taskTimeoutMs: 200, reusePort: true, onRequests: (records) => console.log(records.length) } });
  // @ts-expect-error port lives in http.listen
  nativeExposure.with({ http: { listen: { port: 0 }, port: 1 } });
}
