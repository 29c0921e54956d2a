'use strict';
/**
 * The request-body stress tests' server, in a child process so that its RSS is its own:
 * a TunnelServer of the protocol named by argv[2] ('seed' or 'runner'), with a token and
 * maxBodySize 10 MiB (both protocols), an exposed JSON task `echo`. The parent asks over
 * IPC: 'reset' starts a new peak RSS, 'rss' reports RSS, peak and the server's stats,
 * 'exit' closes it.
 */
const fs = require('fs');
const { TunnelServer } = require('../..');

function memory() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number((status.match(new RegExp(`${key}:\\s+(\\d+)`)) || [0, 0])[1]);
  return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
}

async function main() {
  const protocol = process.argv[2] === 'runner' ? 'runner' : 'seed';
  const server = new TunnelServer({
    port: 0, host: '127.0.0.1', protocol, auth: { token: 'secret' }, maxBodySize: 10 << 20, exposure: 'open',
  });
  server.registerTask('echo', async (input) => input);
  await server.listen();
  process.on('message', (m) => {
    if (m === 'reset') {
      if (global.gc) global.gc();
      // Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
      try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch (_) { /* the peak then counts from the start */ }
      process.send({ reset: memory() });
    } else if (m === 'rss') {
      process.send({ memory: memory(), stats: server.getStats() });
    } else if (m === 'exit') {
      server.close().then(() => process.exit(0));
    }
  });
  process.send({ port: server.port });
}

main().catch((err) => { console.error(err); process.exit(1); });
