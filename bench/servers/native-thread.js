'use strict';
// One thread of bench/servers/native-threads.js.
const { TunnelServer } = require('../..');
const { tasks, events } = require('../handlers');

module.exports = async ({ port }) => {
  const server = new TunnelServer({ port, host: '127.0.0.1', reusePort: true });
  for (const [id, fn] of Object.entries(tasks)) server.registerTask(id, fn);
  for (const [id, fn] of Object.entries(events)) server.registerEvent(id, fn);
  await server.listen();
  return server;
};
