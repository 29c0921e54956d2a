'use strict';
/**
 * The runner scenario's servers: one @bluelibs/runner 5.5.0 app with the benchmark's
 * `add` task, exposed by runner's nodeExposure (EXPOSURE=node) or by nativeExposure
 * (EXPOSURE=native); EXPOSURE=seed serves the same task from a seed-protocol
 * TunnelServer, for reference. Every one requires the same token. The stream scenario's
 * task reads the octet-stream upload (useExposureContext().req; the seed's ctx.body) and
 * answers with a stream.
 *
 * The app serializer's parse and stringify are wrapped in named functions, so that a
 * CPU profile (PROFILE: run with --cpu-prof; SIGTERM writes it) can tell their share of
 * the JavaScript thread.
 */
const { Readable } = require('stream');
const { r, run, globals, nodeExposure, useExposureContext } = require('@bluelibs/runner');
const { TunnelServer } = require('../..');
const { nativeExposure } = require('../../runner');
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

/** The stream task's answer: runner's { stream, headers } shape, which both protocols take. */
function streamAnswer(received) {
  return { stream: Readable.from(streamChunks()), headers: { 'x-bench-received': String(received) } };
}

main().then(() => console.log('ready'), (err) => { console.error(err); process.exit(1); });
