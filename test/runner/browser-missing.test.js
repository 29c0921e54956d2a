'use strict';
/**
 * What browser.test.js does on a machine without Chromium: locally it is skipped with a
 * line that says how to run it; under CI (CI=true) it fails, so that CI cannot pass
 * without having run it. Each case runs that file in a child mocha with CHROMIUM_PATH
 * naming a file that does not exist (the child fails before it would launch anything).
 */
const assert = require('assert');
const path = require('path');
const { runChild } = require('../helpers');

const mocha = require.resolve('mocha/bin/mocha.js');
const browserTest = path.join(__dirname, 'browser.test.js');

/** Runs browser.test.js with env over this process's environment (runChild merges them). */
function runBrowserTest(env) {
  return runChild('', {
    file: mocha,
    args: ['--no-config', '--reporter', 'spec', '--timeout', '20000', browserTest],
    env: { CHROMIUM_PATH: path.join(__dirname, 'no-such-chromium'), RUNNER_NATIVE_SKIP_BROWSER: '', ...env },
    timeoutMs: 60000,
  });
}

describe('runner: the browser test without a browser', function () {
  this.timeout(60000);

  it('is skipped locally, with a line that says how to run it', async () => {
    // CI is set to '' (not 'true'), a developer's machine, even when this suite runs under CI.
    const r = await runBrowserTest({ CI: '' });
    assert.strictEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /skipped: .*no-such-chromium not found; to run this test, install .*apt-get install -y chromium.* or set CHROMIUM_PATH/);
    assert.match(r.stdout, /0 passing .*\n\s+2 pending/);
    assert.doesNotMatch(r.stdout, /failing/);
  });

  it('fails under CI=true', async () => {
    const r = await runBrowserTest({ CI: 'true' });
    assert.notStrictEqual(r.code, 0, 'mocha exits non-zero');
    assert.match(r.stdout, /1 failing/);
    assert.match(r.stdout, /no-such-chromium not found, and under CI the browser test must run/);
  });
});
