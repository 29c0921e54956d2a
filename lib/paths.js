'use strict';
/** Where the native files of runner-native live. Shared by index.js and the scripts. */
const path = require('path');

const root = path.resolve(__dirname, '..');

/** The Go library's file name on this platform. */
function libraryName(platform = process.platform) {
  if (platform === 'darwin') return 'librunner_native.dylib';
  if (platform === 'win32') return 'runner_native.dll';
  return 'librunner_native.so';
}

/**
 * Directories that may hold runner_native.node and the Go library, most specific first:
 * a local build, then the prebuilt binaries shipped for this platform.
 */
function nativeDirs() {
  return [
    path.join(root, 'build', 'Release'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`),
  ];
}

module.exports = { root, libraryName, nativeDirs };
