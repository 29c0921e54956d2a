'use strict';
/**
 * Loads the C++ addon and, through it, the Go library that sits beside it. Where they are
 * looked for, and the errors when they are not found, are in ./locate.js:
 * RUNNER_NATIVE_BINARY_DIR, then build/Release, then the platform package.
 */
const path = require('path');
const { locate, loadError } = require('./locate');
const { ADDON_FILE, libraryName } = require('./platforms');

function load() {
  const found = locate();
  let addon;
  try {
    addon = require(path.join(found.dir, ADDON_FILE));
  } catch (error) {
    throw loadError(found, error.message);
  }
  const error = addon.load(path.join(found.dir, libraryName()));
  if (error) throw loadError(found, error);
  return addon;
}

module.exports = load();
