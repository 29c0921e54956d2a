'use strict';
// Baseline: node:http serving the same protocol with the same handlers.
const http = require('http');
const { handle, HEADERS } = require('./protocol');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const { status, body } = await handle(req.method, req.url, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(status, { ...HEADERS, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
