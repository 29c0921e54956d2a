'use strict';
// This package on THREADS JavaScript threads (default 2) sharing one port: reusePort
// through startWorkers, each thread running bench/servers/native-thread.js. BENCH_MODULE:
// another build of the package (bench --baseline), in every thread.
const path = require('path');
const { startWorkers } = require(process.env.BENCH_MODULE || '../..');

startWorkers(path.join(__dirname, 'native-thread.js'), {
  threads: Number(process.env.THREADS || 2),
  workerData: { port: Number(process.env.PORT) },
}).then(() => console.log('ready'));
