'use strict';
// One thread's server for examples/threads.js: the same configuration in every thread,
// reusePort on, and the handlers this thread serves.
const crypto = require('crypto');
const { threadId } = require('worker_threads');
const { TunnelServer } = require('..');

module.exports = async ({ port }) => {
  const server = new TunnelServer({ port, reusePort: true });
  server.registerTask('app.tasks.hash', ({ rounds }) => {
    let digest = Buffer.alloc(32);
    for (let i = 0; i < rounds; i++) digest = crypto.createHash('sha256').update(digest).digest();
    return { thread: threadId, digest: digest.toString('hex') };
  });
  await server.listen();
  return server;
};
