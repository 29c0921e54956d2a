'use strict';
/**
 * Preloaded (--require, and NODE_OPTIONS for child processes) by `npm run test:wine`
 * (scripts/test-wine.js) only, with RUNNER_NATIVE_WINE=1. Two things, both about Wine, not
 * about the package:
 *
 * 1. Wine 8's Winsock refuses the keep-alive options libuv sets on a socket that is not
 *    connected yet: `socket.setKeepAlive(true)` before the connection makes the connect fail
 *    with UNKNOWN (-4094). undici (Node's fetch, used by runner's HTTP client) does exactly
 *    that, so every fetch fails under Wine. Here a setKeepAlive before the connection is
 *    applied once connected (Node ignores its result anyway). Real Windows needs nothing.
 * 2. The tests that still cannot run under Wine, each with the reason, in one place: a listed
 *    test is reported as pending, never as passed. On a Windows runner they all run.
 *    Key: the test's full title (describe titles and its own, joined by spaces), or a file
 *    relative to test/ for every test in it.
 */
const net = require('net');
const path = require('path');

if (process.env.RUNNER_NATIVE_WINE === '1' && !net.Socket.prototype.setKeepAlive.wineDeferred) {
  const setKeepAlive = net.Socket.prototype.setKeepAlive;
  net.Socket.prototype.setKeepAlive = function deferred(...args) {
    if (this.connecting || (!this._handle && !this.destroyed)) {
      this.once('connect', () => setKeepAlive.apply(this, args));
      return this;
    }
    return setKeepAlive.apply(this, args);
  };
  net.Socket.prototype.setKeepAlive.wineDeferred = true;
}

const EXCLUDED = {
  // Also skipped under Wine, in scripts/test-wine.js: runner/browser.test.js (RUNNER_NATIVE_SKIP_BROWSER=1:
  // Debian's chromium cannot be driven by a Windows node.exe).
  'scripts/build.js a refused release build exits 1 with its reason and leaves no scratch folder':
    'there is no Windows Go under Wine, so the build script refuses earlier ("Go was not found"); the Windows runner has Go',
  'process the seed README examples run unchanged from a dependent project':
    'Wine 8 supports neither directory symlinks nor junctions (ENOTSUP), and the test links the package into a project; Windows does',
};

function reasonFor(test) {
  const file = test.file ? path.relative(__dirname, test.file).split(path.sep).join('/') : '';
  return EXCLUDED[test.fullTitle()] || EXCLUDED[file] || null;
}

exports.mochaHooks = {
  beforeEach() {
    if (process.env.RUNNER_NATIVE_WINE !== '1') return;
    const reason = reasonFor(this.currentTest);
    if (reason) {
      this.currentTest.title += ` (not under Wine: ${reason})`;
      this.skip();
    }
  },
};

module.exports.EXCLUDED = EXCLUDED;
