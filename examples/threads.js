'use strict';
// One port served by several JavaScript threads of this process (reusePort +
// startWorkers). Each call goes to the least busy thread, so one slow synchronous
// handler holds up nobody another thread can serve.
//
//   node examples/threads.js            # PORT=7070 THREADS=<cores> by default
//   curl -s -X POST localhost:7070/__runner/task/app.tasks.hash -d '{"input":{"rounds":2000}}'
const os = require('os');
const path = require('path');
const { startWorkers } = require('..');

const port = Number(process.env.PORT || 7070);
const threads = Number(process.env.THREADS || os.availableParallelism());

startWorkers(path.join(__dirname, 'threads-server.js'), { threads, workerData: { port } }).then((workers) => {
  console.log(`runner-native listening on port ${workers.port} with ${threads} threads`);
  const stop = () => workers.close().then(() => console.log('closed'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
