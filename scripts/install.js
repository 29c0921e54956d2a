'use strict';
/**
 * npm install hook. Nothing here is needed for runner-native to work: with --ignore-scripts
 * (pnpm's default) the loader finds the platform package all the same. It only
 *   - builds from source when asked (RUNNER_NATIVE_BUILD_FROM_SOURCE=1), when run in a source
 *     checkout (`npm ci` in the repository), or for a copy packed from one (`npm pack`: it
 *     lists no platform package and carries no binaries);
 *   - otherwise checks that the binaries for this platform are there and load, and fails the
 *     install with the loader's message when they are not (musl, an unsupported platform, a
 *     missing platform package), rather than leaving the error for the first require().
 */
const path = require('path');
const { buildLocal, exitOnRefusal } = require('./build');

const { hasPlatformPackages } = require('../lib/locate');

const root = path.resolve(__dirname, '..');
const inNodeModules = root.split(path.sep).includes('node_modules');

// The loader's messages say how to recover after a failed install (npm rolls the package
// back, so `npm rebuild` would find nothing): see lib/locate.js fromSource.
process.env.RUNNER_NATIVE_INSTALLING = '1';

// A copy packed from a source checkout (npm pack) lists no platform package: it is built, as
// in a checkout; without Go the build's refusal says what to install.
if (/^(1|true)$/i.test(process.env.RUNNER_NATIVE_BUILD_FROM_SOURCE || '') || !inNodeModules || !hasPlatformPackages()) {
  exitOnRefusal(buildLocal);
} else {
  try {
    require('../lib/native');
  } catch (error) {
    console.error(`\n${error.message}\n`);
    process.exit(1);
  }
}
