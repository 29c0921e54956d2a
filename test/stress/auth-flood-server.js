'use strict';
/**
 * The auth-flood stress test's server, in a child process so that its RSS is its own: a
 * @bluelibs/runner app served by nativeExposure with a token, which logs every refused
 * request as runner does (exposure.auth.failure). Each log is counted by a listener, as
 * an application's log sink would see it. The parent asks over IPC: 'reset' to start a
 * new RSS peak, 'rss' for memory, stats and the logs counted.
 */
const { memory, serveParent } = require('./child');
const { r, run, globals } = require('@bluelibs/runner');
const { nativeExposure } = require('../../runner');

async function main() {
  const ping = r.task('flood.ping').run(async () => 'pong').build();
  const tunnel = r.resource('flood.tunnel').tags([globals.tags.tunnel])
    .init(async () => ({ mode: 'server', transport: 'http', tasks: [ping.id] })).build();
  const exposure = nativeExposure.with({ http: { listen: { port: 0, host: '127.0.0.1' }, auth: { token: 'secret' } } });
  const logs = { failures: 0, reported: 0 };
  const sink = r.resource('flood.logSink').dependencies({ logger: globals.resources.logger })
    .init(async (_, { logger }) => {
      logger.onLog((log) => {
        if (log.message !== 'exposure.auth.failure') return;
        logs.failures++;
        const data = log.context || {}; // runner puts a log's data there
        logs.reported += 1 + (Number.isInteger(data.more) ? data.more : 0);
      });
    }).build();
  const app = r.resource('flood.app').register([ping, tunnel, sink, exposure]).dependencies({ sink }).build();
  const runtime = await run(app, { logs: { printThreshold: null }, shutdownHooks: false });
  const value = runtime.getResourceValue(exposure);
  serveParent({
    ready: { port: value.port },
    rss: () => ({ memory: { ...memory(), logs: { ...logs }, stats: value.server.getStats() } }),
    close: () => runtime.dispose(),
  });
}

main().catch((err) => { console.error(err); process.exit(1); });
