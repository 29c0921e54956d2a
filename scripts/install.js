'use strict';
/**
 * npm install hook. Nothing here is needed for runner-native to work: with --ignore-scripts
 * (pnpm's default) the loader finds the platform package all the same. It only
 *   - builds from source when asked (RUNNER_NATIVE_BUILD_FROM_SOURCE=1) or when run in a source
 *     checkout (`npm ci` in the repository);
 *   - otherwise checks that the binaries for this platform are there and load, and fails the
 *     install with the loader's message when they are not (musl, an unsupported platform, a
 *     missing platform package), rather than leaving the error for the first require().
 */
const path = require('path');
const { buildLocal, exitOnRefusal } = require('./build');

const root = path.resolve(__dirname, '..');
const inNodeModules = root.split(path.sep).includes('node_modules');

if (/^(1|true)$/i.test(process.env.RUNNER_NATIVE_BUILD_FROM_SOURCE || '') || !inNodeModules) {
  exitOnRefusal(buildLocal);
} else {
  try {
    require('../lib/native');
  } catch (error) {
    console.error(`\n${error.message}\n`);
    process.exit(1);
  }
}
