// Type-checked by `npm run test:types` against runner 6.4.1 (test/types/tsconfig.runner6.json):
// nativeRpcLanes is used exactly as rpcLanesResource.
import { r, run, tags, rpcLanesResource } from '@bluelibs/runner';
import { nativeRpcLanes, NativeRpcLanesExposure } from '../../runner';

const lane = r.rpcLane('main').build();
const add = r.task('add').tags([tags.rpcLane.with({ lane })]).run(async (input: { a: number; b: number }) => input.a + input.b).build();
const communicator = r.resource('comm').init(async () => ({ task: async (id: string, input?: unknown) => ({ id, input }) })).build();
const topology = r.rpcLane.topology({
  profiles: { server: { serve: [lane] } },
  bindings: [{ lane, communicator, auth: { mode: 'jwt_hmac', secret: 's' } }],
});
const config = {
  profile: 'server' as const,
  topology,
  mode: 'network' as const,
  exposure: { http: { basePath: '/__runner', listen: { port: 7070, host: '127.0.0.1' }, auth: { token: 't' } } },
};

// The one-identifier swap: the same config object fits both.
export const before = r.resource('app').register([add, communicator, rpcLanesResource.with(config)]).build();
export const after = r.resource('app').register([add, communicator, nativeRpcLanes.with(config)]).build();

export async function main(): Promise<void> {
  const rt = await run(after);
  const value = rt.getResourceValue(nativeRpcLanes);
  const served: readonly string[] = value.serveTaskIds;
  const exposure = value.exposure as NativeRpcLanesExposure | null;
  console.log(served, exposure?.port, exposure?.server?.getStats().requests);
  // @ts-expect-error rpcLanesResource's config needs a topology; so does nativeRpcLanes'
  nativeRpcLanes.with({ profile: 'server' });
  await rt.dispose();
}
