'use strict';
/**
 * The runner scenario's servers: one @bluelibs/runner 5.5.0 app with the benchmark's
 * `add` task, exposed by runner's nodeExposure (EXPOSURE=node) or by nativeExposure
 * (EXPOSURE=native); EXPOSURE=seed serves the same task from a seed-protocol
 * TunnelServer, for reference. EXPOSURE=runner6-node / runner6-native: the same task in
 * a runner 6 app (the package folder in RUNNER6_DIR, installed by scripts/runner6.js),
 * on a served rpc lane, exposed by runner 6's rpcLanesResource or by nativeRpcLanes with
 * the same config. Every one requires the same token. The stream scenario's task (runner
 * 5 and seed only) reads the octet-stream upload (useExposureContext().req; the seed's
 * ctx.body) and answers with a stream.
 *
 * The app serializer's parse and stringify are wrapped in named functions, so that a
 * CPU profile (PROFILE: run with --cpu-prof; SIGTERM writes it) can tell their share of
 * the JavaScript thread.
 */
const { Readable } = require('stream');
const Module = require('module');
const path = require('path');
const { r, run, globals, nodeExposure, useExposureContext } = require('@bluelibs/runner');
// BENCH_MODULE: another build of this package (bench/run.js --baseline), as native.js.
const pkg = process.env.BENCH_MODULE || path.join(__dirname, '..', '..');
const { TunnelServer } = require(pkg);
const { createRunnerExports } = require(path.join(pkg, 'lib', 'runner'));
const { nativeExposure } = require(path.join(pkg, 'runner'));
const { tasks, STREAM_TASK, consume, streamChunks } = require('../handlers');

const PORT = Number(process.env.PORT);
const TOKEN = 'bench-token';
const ADD = 'app.tasks.add';

process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile

async function main() {
  if (process.env.EXPOSURE === 'seed') {
    const server = new TunnelServer({ port: PORT, host: '127.0.0.1', auth: { token: TOKEN } });
    server.registerTask(ADD, tasks[ADD]);
    server.registerTask(STREAM_TASK, async (input, ctx) => streamAnswer(await consume(ctx.body)));
    await server.listen();
    return;
  }
  if (process.env.EXPOSURE.startsWith('runner6-')) {
    await runner6(process.env.EXPOSURE === 'runner6-native');
    return;
  }
  const add = r.task(ADD).run(tasks[ADD]).build();
  const stream = r.task(STREAM_TASK).run(async () => streamAnswer(await consume(useExposureContext().req))).build();
  const tunnel = r.resource('app.tunnel').tags([globals.tags.tunnel])
    .init(async () => ({ mode: 'server', transport: 'http', tasks: [ADD, STREAM_TASK] })).build();
  const marked = r.resource('app.serializerMarks').dependencies({ serializer: globals.resources.serializer })
    .init(async (_, { serializer }) => {
      const parse = serializer.parse.bind(serializer);
      const stringify = serializer.stringify.bind(serializer);
      serializer.parse = function benchSerializerParse(text, options) { return parse(text, options); };
      serializer.stringify = function benchSerializerStringify(value) { return stringify(value); };
    }).build();
  const exposure = (process.env.EXPOSURE === 'native' ? nativeExposure : nodeExposure).with({
    http: { listen: { port: PORT, host: '127.0.0.1' }, auth: { token: TOKEN } },
  });
  await run(r.resource('app').register([add, stream, tunnel, marked, exposure]).build(), { logs: { printThreshold: null }, shutdownHooks: false });
}

/**
 * The runner 6 app: task `add` in resource `app` (canonical id app.tasks.add, the path
 * the scenario calls), tagged with lane `main`, which the `server` profile serves; the
 * communicator is never called (nothing is remote here). nativeRpcLanes comes from
 * runner-native's runner entry for this runner (what require('@bluelibs/runner-native/runner')
 * gives an app whose @bluelibs/runner is 6.x; here runner 6 is installed under an alias).
 */
async function runner6(native) {
  const R = Module.createRequire(path.join(process.env.RUNNER6_DIR, '..', '..', 'package.json'))('runner6');
  const { nativeRpcLanes } = createRunnerExports(R);
  const main = R.r.rpcLane('main').build();
  const add = R.r.task('add').tags([R.tags.rpcLane.with({ lane: main })]).run(tasks[ADD]).build();
  const comm = R.r.resource('comm').init(async () => ({ task: async () => undefined, event: async () => undefined })).build();
  const topology = R.r.rpcLane.topology({
    profiles: { server: { serve: [main] } },
    bindings: [{ lane: main, communicator: comm }],
  });
  const lanes = (native ? nativeRpcLanes : R.rpcLanesResource).with({
    profile: 'server',
    topology,
    mode: 'network',
    exposure: { http: { listen: { port: PORT, host: '127.0.0.1' }, auth: { token: TOKEN } } },
  });
  const app = R.r.resource('app').register([add, comm, lanes]).build();
  await R.run(app, { logs: { printThreshold: null }, shutdownHooks: false });
}

/** The stream task's answer: runner's { stream, headers } shape, which both protocols take. */
function streamAnswer(received) {
  return { stream: Readable.from(streamChunks()), headers: { 'x-bench-received': String(received) } };
}

main().then(() => console.log('ready'), (err) => { console.error(err); process.exit(1); });
