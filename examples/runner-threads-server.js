'use strict';
// One thread of examples/runner-threads.js: the runner app with reusePort, so every thread
// serves the port the first one bound. startWorkers takes any { port, close() }.
const { start } = require('./runner-app');

module.exports = async ({ port }) => {
  const { runtime, port: bound } = await start({ port, reusePort: true });
  return { port: bound, close: () => runtime.dispose() };
};
