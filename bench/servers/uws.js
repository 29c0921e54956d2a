'use strict';
// uWebSockets.js (npm `uwebsockets`, installed by bench/competitors.js): a native HTTP
// server inside Node, as runner-native is, serving the same protocol with the same
// handlers as the node:http baseline.
const uws = require('uwebsockets');
const { handle, HEADERS } = require('./protocol');

const HEADER_LIST = Object.entries(HEADERS);

uws.App().any('/*', (res, req) => {
  const method = req.getMethod().toUpperCase();
  const query = req.getQuery();
  const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
  let aborted = false;
  res.onAborted(() => { aborted = true; });
  const chunks = [];
  res.onData((ab, isLast) => {
    chunks.push(Buffer.from(ab.slice(0))); // uWS reuses ab after this callback
    if (!isLast) return;
    handle(method, url, Buffer.concat(chunks).toString('utf8')).then(({ status, body }) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(String(status));
        for (const [k, v] of HEADER_LIST) res.writeHeader(k, v);
        res.end(body);
      });
    });
  });
}).listen('127.0.0.1', Number(process.env.PORT), (socket) => {
  if (!socket) throw new Error(`uWebSockets.js could not listen on ${process.env.PORT}`);
  console.log('ready');
});
