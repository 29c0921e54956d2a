'use strict';
/**
 * @bluelibs/runner-native/runner, for the @bluelibs/runner the application loads:
 * - runner 6.x: nativeRpcLanes, a drop-in replacement for rpcLanesResource whose HTTP
 *   exposure runner-native serves;
 * - runner 5.x: nativeExposure, a drop-in replacement for nodeExposure.
 * The other export is undefined. See README.md, "Using with @bluelibs/runner", and runner.d.ts.
 */
const { createRunnerExports } = require('./lib/runner');

let runner;
try {
  runner = require('@bluelibs/runner');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes("'@bluelibs/runner'")) {
    throw new Error('@bluelibs/runner-native/runner needs @bluelibs/runner, an optional peer dependency: npm install @bluelibs/runner', { cause: err });
  }
  throw err;
}

const { nativeExposure, nativeRpcLanes } = createRunnerExports(runner);

module.exports = { nativeExposure, nativeRpcLanes };
