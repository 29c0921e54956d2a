'use strict';
// A runner app on every core of one process: startWorkers runs the app in worker threads
// behind one listener, and each call goes to the least busy thread.
//
//   node examples/runner-threads.js     # PORT=7070 THREADS=<cores> by default
//   curl -s -X POST localhost:7070/__runner/task/app.tasks.where -H 'x-runner-token: dev-token' -d '{}'
const os = require('os');
const path = require('path');
const { startWorkers } = require('..'); // '@bluelibs/runner-native' in your app

const port = Number(process.env.PORT || 7070);
const threads = Number(process.env.THREADS || os.availableParallelism());

startWorkers(path.join(__dirname, 'runner-threads-server.js'), { threads, workerData: { port } }).then((workers) => {
  console.log(`runner app listening on port ${workers.port} with ${threads} threads`);
  const stop = () => workers.close().then(() => console.log('closed'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
