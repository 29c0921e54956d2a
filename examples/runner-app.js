'use strict';
// A @bluelibs/runner 5.x app served by runner-native: the same app you would serve with
// runner's nodeExposure, with nativeExposure in its place (one require changed).
//
//   node examples/runner-app.js        # PORT=7070, RUNNER_TOKEN=dev-token by default
//   curl -s -X POST localhost:7070/__runner/task/app.tasks.add \
//     -H 'x-runner-token: dev-token' -d '{"input":{"a":5,"b":3}}'
//
// As a module, buildApp(options) returns the app resource; examples/runner-threads.js and
// examples/runner-cluster.js serve it from several threads or processes on one port.
const { threadId } = require('worker_threads');
const { r, run, globals } = require('@bluelibs/runner');
const { nativeExposure } = require('../runner'); // '@bluelibs/runner-native/runner' in your app

const add = r.task('app.tasks.add').run(async ({ a, b }) => a + b).build();
// Which process and thread answered: shows the calls spread over every core.
const where = r.task('app.tasks.where').run(async () => ({ pid: process.pid, thread: threadId })).build();

// runner 5.x exposes what a server-mode tunnel resource lists.
const tunnel = r.resource('app.tunnel').tags([globals.tags.tunnel])
  .init(async () => ({ mode: 'server', transport: 'http', tasks: [add.id, where.id] })).build();

/**
 * @param {{port: number, reusePort?: boolean}} options
 */
function buildApp({ port, reusePort = false }) {
  return r.resource('app').register([
    add, where, tunnel,
    nativeExposure.with({
      http: {
        listen: { port, host: '127.0.0.1' },
        auth: { token: process.env.RUNNER_TOKEN || 'dev-token' },
        // runner-native's own settings go beside runner's (checked like TunnelServer's).
        reusePort,
        taskTimeoutMs: 30000,
      },
    }),
  ]).build();
}

/** Runs the app; resolves with the runtime and the bound port. */
async function start(options) {
  const runtime = await run(buildApp(options), { logs: { printThreshold: null }, shutdownHooks: false });
  return { runtime, port: runtime.getResourceValue(nativeExposure).port };
}

module.exports = { buildApp, start };

if (require.main === module) {
  start({ port: Number(process.env.PORT || 7070) }).then(({ runtime, port }) => {
    console.log(`runner app listening on port ${port}`);
    const stop = () => runtime.dispose().then(() => console.log('closed'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
