'use strict';
// Baseline: node:http serving the same protocol with the same handlers, and the stream
// scenario's task the plain Node way: read the request, pipe a Readable into the response.
const http = require('http');
const { Readable } = require('stream');
const { handle, HEADERS } = require('./protocol');
const { STREAM_TASK, consume, streamChunks } = require('../handlers');

const STREAM_PATH = `/__runner/task/${STREAM_TASK}`;

const server = http.createServer((req, res) => {
  if (req.url === STREAM_PATH) {
    consume(req).then((received) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-bench-received': String(received) });
      Readable.from(streamChunks()).pipe(res);
    });
    return;
  }
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
