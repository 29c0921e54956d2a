'use strict';
// The loader's lookup order in this checkout: RUNNER_NATIVE_BINARY_DIR, then build/Release
// (then the platform package, tested from the tarballs in install.test.js). Which Go library a
// child process really loaded is read from Node's report of its shared objects.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { root, hostKey, libraryName } = require('../../lib/platforms');
const { localBuild } = require('../../lib/locate');
const { dist } = require('./helpers');

const LOADED = `
try {
  require('.');
  const lib = process.report.getReport().sharedObjects.find((f) => f.endsWith('/${libraryName()}'));
  console.log(JSON.stringify({ lib }));
} catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;

function loadWith(env) {
  const { RUNNER_NATIVE_BINARY_DIR, ...rest } = process.env;
  const child = spawnSync(process.execPath, ['-e', LOADED], { cwd: root, env: { ...rest, ...env }, encoding: 'utf8' });
  assert.strictEqual(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

describe('loader lookup order', () => {
  const release = path.join(dist, hostKey());

  before(() => {
    assert.ok(fs.existsSync(path.join(localBuild, libraryName())), `${localBuild} is missing: run \`npm run build\``);
    assert.ok(fs.existsSync(path.join(release, libraryName())), `${release} is missing: run \`npm run pack:platforms\``);
  });

  it('RUNNER_NATIVE_BINARY_DIR comes first, even with a local build present', () => {
    assert.deepStrictEqual(loadWith({ RUNNER_NATIVE_BINARY_DIR: release }), { lib: fs.realpathSync(path.join(release, libraryName())) });
  });

  it('then build/Release', () => {
    assert.deepStrictEqual(loadWith({}), { lib: fs.realpathSync(path.join(localBuild, libraryName())) });
  });

  it('a RUNNER_NATIVE_BINARY_DIR without the files is an error that names it, with no fallback', () => {
    const empty = fs.mkdtempSync(path.join(dist, 'empty-'));
    try {
      const { code, message } = loadWith({ RUNNER_NATIVE_BINARY_DIR: empty });
      assert.strictEqual(code, 'RUNNER_NATIVE_BINARY_DIR_INVALID');
      assert.ok(message.startsWith(`runner-native: RUNNER_NATIVE_BINARY_DIR is set to ${empty}, which lacks runner_native.node and ${libraryName()}.`), message);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it('binaries of another architecture: the loader error says which they are', function () {
    if (hostKey() !== 'linux-x64-gnu') this.skip(); // needs the arm64 build that pack:platforms makes on x64
    const arm64 = path.join(dist, 'linux-arm64-gnu');
    const { code, message } = loadWith({ RUNNER_NATIVE_BINARY_DIR: arm64 });
    assert.strictEqual(code, 'RUNNER_NATIVE_LOAD_FAILED');
    assert.ok(message.startsWith(`runner-native: the native files in ${arm64} (from RUNNER_NATIVE_BINARY_DIR) do not load on linux-x64 (glibc):`), message);
    assert.match(message, /They were built for arm64; this Node is x64\./);
  });
});
