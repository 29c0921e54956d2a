'use strict';
/**
 * The request-body stress tests' server, in a child process so that its RSS is its own:
 * a TunnelServer of the protocol named by argv[2] ('seed' or 'runner'), with a token and
 * maxBodySize 10 MiB (both protocols), an exposed JSON task `echo`. The parent asks over
 * IPC: 'reset' starts a new peak RSS, 'rss' reports RSS, peak and the server's stats,
 * 'exit' closes it.
 */
const { memory, serveParent } = require('./child');
const { TunnelServer } = require('../..');

async function main() {
  const protocol = process.argv[2] === 'runner' ? 'runner' : 'seed';
  const server = new TunnelServer({
    port: 0, host: '127.0.0.1', protocol, auth: { token: 'secret' }, maxBodySize: 10 << 20, exposure: 'open',
  });
  server.registerTask('echo', async (input) => input);
  await server.listen();
  serveParent({
    ready: { port: server.port },
    rss: () => ({ memory: memory(), stats: server.getStats() }),
    close: () => server.close(),
  });
}

main().catch((err) => { console.error(err); process.exit(1); });
