'use strict';
/**
 * npm install hook: use the prebuilt binaries for this platform when they load, else
 * build from source (Go + node-gyp).
 */
const fs = require('fs');
const path = require('path');
const { libraryName, nativeDirs } = require('../lib/paths');

const prebuilt = nativeDirs()[1];
const complete = ['runner_native.node', libraryName()].every((f) => fs.existsSync(path.join(prebuilt, f)));

if (complete && !process.env.RUNNER_NATIVE_BUILD_FROM_SOURCE) {
  console.log(`runner-native: using prebuilt binaries from ${path.relative(process.cwd(), prebuilt) || '.'}`);
} else {
  require('./build');
}
