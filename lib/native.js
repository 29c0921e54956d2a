'use strict';
/**
 * Loads the C++ addon and, through it, the Go library that sits beside it.
 * Both are looked for in build/Release (a local build), then in prebuilds/<platform>-<arch>.
 */
const fs = require('fs');
const path = require('path');
const { libraryName, nativeDirs } = require('./paths');

function load() {
  const dir = nativeDirs().find((d) =>
    fs.existsSync(path.join(d, 'runner_native.node')) && fs.existsSync(path.join(d, libraryName())));
  if (!dir) {
    throw new Error(
      `runner-native: no native build for ${process.platform}-${process.arch}. ` +
      'Run `npm run build` in the package folder (needs Go >= 1.26, a C/C++ compiler and Python 3), ' +
      'or install on a platform with prebuilt binaries (glibc Linux or macOS, x64/arm64).');
  }
  const addon = require(path.join(dir, 'runner_native.node'));
  const error = addon.load(path.join(dir, libraryName()));
  if (error) {
    throw new Error(`runner-native: ${error}. Rebuild with \`npm run build\`; musl-based Linux (Alpine) is not supported.`);
  }
  return addon;
}

module.exports = load();
