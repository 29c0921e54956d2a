'use strict';
// The seed README's example server: `npm start`, then
//   curl -s -X POST localhost:7070/__runner/task/app.tasks.add \
//     -H 'content-type: application/json' -d '{"input":{"a":5,"b":3}}'
const { TunnelServer } = require('..');

const server = new TunnelServer({ port: Number(process.env.PORT) || 7070 });

server.registerTask('app.tasks.add', async (input) => input.a + input.b);
server.registerTask('app.tasks.greet', async (input) => `Hello, ${input.name}!`);
server.registerTask('app.tasks.complex', async (input) => {
  const items = input.items || [];
  return { count: items.length, sum: items.reduce((a, b) => a + b, 0) };
});
server.registerEvent('app.events.notify', async (payload) => {
  console.log('notify:', payload && payload.message);
});

server.listen().then(() => {
  console.log(`runner-native listening on port ${server.port}`);
});

// Ctrl-C and SIGTERM stay Node's: close gracefully, then let the process exit by itself.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close().then(() => console.log('closed'));
  });
}
