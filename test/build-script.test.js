'use strict';
/**
 * scripts/build.js refusing a build: it says why, exits 1, and leaves nothing behind. A
 * release build for a platform this host does not build (macOS on Linux, Linux on macOS)
 * is refused after the scratch folder for node-gyp was made; the refusal used to exit the
 * process from inside the try whose finally removes it, leaving a runner-native-gyp-*
 * folder in the temp dir on every refused build.
 */
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runChild } = require('./helpers');

describe('scripts/build.js', function () {
  this.timeout(60000);
  let tmp;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-build-test-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a refused release build exits 1 with its reason and leaves no scratch folder', async () => {
    const key = process.platform === 'darwin' ? 'linux-x64-gnu' : 'darwin-arm64';
    const scratchDir = path.join(tmp, 'tmp');
    fs.mkdirSync(scratchDir);
    const out = path.join(tmp, 'out');
    const r = await runChild('', {
      file: path.resolve(__dirname, '..', 'scripts', 'build.js'),
      args: ['--platform', key, '--out', out],
      env: { TMPDIR: scratchDir },
    });
    assert.strictEqual(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^\nrunner-native: \S+ is built on (macOS|Linux)/, 'the reason, as one message');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepStrictEqual(fs.readdirSync(scratchDir), [], 'the scratch folder was removed');
  });
});
