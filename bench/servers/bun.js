'use strict';
// Bun (npm `bun`, installed by bench/competitors.js): Bun.serve with the same protocol
// and the same handlers as the node:http baseline. Run by the bun executable, not Node.
const { handle, HEADERS } = require('./protocol');

// eslint-disable-next-line no-undef
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT),
  async fetch(req) {
    const url = new URL(req.url);
    const { status, body } = await handle(req.method, url.pathname + url.search, await req.text());
    return new Response(body, { status, headers: HEADERS });
  },
});
console.log('ready');
