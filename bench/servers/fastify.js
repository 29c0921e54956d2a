'use strict';
// Baseline: Fastify serving the same protocol with the same handlers.
const fastify = require('fastify')({ logger: false, bodyLimit: 10 * 1024 * 1024 });
const { handle, HEADERS } = require('./protocol');

// Take bodies as text so that the protocol code parses them exactly as node:http's does.
fastify.removeAllContentTypeParsers();
fastify.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => done(null, body));
fastify.all('/*', async (req, reply) => {
  const { status, body } = await handle(req.method, req.url, typeof req.body === 'string' ? req.body : '');
  reply.code(status).headers(HEADERS).send(body);
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => console.log('ready'));
