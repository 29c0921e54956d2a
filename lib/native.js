'use strict';
/**
 * Loads the C++ addon and, through it, the Go server that sits beside it: the Go library,
 * loaded into this process, or the Go server program, started as a child (the 'process'
 * transport: musl, or RUNNER_NATIVE_TRANSPORT=process; see ./platforms.js). Where they are
 * looked for, and the errors when they are not found, are in ./locate.js:
 * RUNNER_NATIVE_BINARY_DIR, then build/Release, then the platform package.
 */
const path = require('path');
const { locate, loadError } = require('./locate');
const { ADDON_FILE, nativeFiles } = require('./platforms');

function load() {
  const found = locate();
  let addon;
  try {
    addon = require(path.join(found.dir, ADDON_FILE));
  } catch (error) {
    throw loadError(found, error.message);
  }
  const error = addon.load(path.join(found.dir, nativeFiles(process.platform, found.transport)[1]), found.transport === 'process');
  if (error) throw loadError(found, error);
  return addon;
}

module.exports = load();
