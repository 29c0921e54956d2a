'use strict';
/**
 * runner 6.4.1 for the runner 6 tests: installed from the vendored tarball by
 * scripts/runner6.js under the alias `runner6` (the registry serves runner up to 5.x).
 * Where the tarball is missing (a user's clone) the suites skip and say so; under
 * CI=true a missing tarball fails them.
 */
const Module = require('module');
const path = require('path');
const { ensureRunner6 } = require('../../scripts/runner6');

let loaded;
let reason;
try {
  const dir = ensureRunner6();
  if (dir) {
    loaded = Module.createRequire(path.join(dir, '..', '..', 'package.json'))('runner6');
  } else {
    reason = 'no runner 6 tarball (../shared/vendor/bluelibs-runner-6.4.1.tgz beside the repository, or $RUNNER6_TARBALL)';
  }
} catch (err) {
  reason = `runner 6 could not be installed: ${err.message}`;
}

let said = false;
/**
 * In a describe: skips its tests when runner 6 is unavailable (printing why, once), or
 * fails them under CI=true. Returns the runner 6 module or undefined.
 */
function requireRunner6(suite) {
  if (loaded) return loaded;
  if (process.env.CI === 'true') {
    suite.beforeAll(() => { throw new Error(`runner 6 tests must run under CI=true: ${reason}`); });
    return undefined;
  }
  if (!said) {
    said = true;
    console.log(`  runner 6 tests SKIPPED: ${reason}`);
  }
  suite.beforeAll(function () { this.skip(); });
  return undefined;
}

module.exports = { requireRunner6, runner6: loaded };
