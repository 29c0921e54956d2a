'use strict';
/**
 * @bluelibs/runner-native/runner: nativeExposure, a drop-in replacement for
 * @bluelibs/runner's nodeExposure served by runner-native. See README.md, "Using with
 * @bluelibs/runner", and runner.d.ts.
 */
const { createRunnerExports } = require('./lib/runner');

let runner;
try {
  runner = require('@bluelibs/runner');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes("'@bluelibs/runner'")) {
    throw new Error('@bluelibs/runner-native/runner needs @bluelibs/runner, an optional peer dependency: npm install @bluelibs/runner@5', { cause: err });
  }
  throw err;
}

const { nativeExposure } = createRunnerExports(runner);

module.exports = { nativeExposure };
