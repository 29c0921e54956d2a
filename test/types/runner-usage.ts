// Type-checked by `npm run test:types`: nativeExposure is used exactly as nodeExposure.
import { r, run, globals } from '@bluelibs/runner';
import { nodeExposure } from '@bluelibs/runner/node';
import { nativeExposure, NativeExposureValue } from '../../runner';

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
