'use strict';
/**
 * Builds runner-native from source: the Go library (go build -buildmode=c-shared), then
 * the C++ addon (node-gyp), both into build/Release/.
 *
 * Usage: node scripts/build.js [--debug]
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { findNodeDir } = require('./nodedir');
const { libraryName } = require('../lib/paths');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'build', 'Release');

function run(cmd, args, opts = {}) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

function fail(message) {
  console.error(`\nrunner-native: ${message}\n`);
  process.exit(1);
}

/** node-gyp as npm runs it, else the copy npm bundles, else a local install. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch (_) { /* not installed locally */ }
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) fail('node-gyp was not found. Install it with `npm install -g node-gyp` and retry.');
  return found;
}

function checkGo() {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (_) {
    fail('Go was not found on PATH. Building from source needs Go >= 1.26 and a C compiler ' +
      '(see README, "Building from source"), or use a platform with prebuilt binaries.');
  }
}

function buildAddon() {
  const args = [nodeGyp(), 'rebuild'];
  const nodedir = findNodeDir();
  // Pinning the headers of the running node keeps node-gyp from downloading them.
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  if (process.argv.includes('--debug')) args.push('--debug');
  run(process.execPath, args);
}

function buildGo() {
  fs.mkdirSync(outDir, { recursive: true });
  const lib = path.join(outDir, libraryName());
  run('go', ['build', '-buildmode=c-shared', '-trimpath', '-ldflags=-s -w', '-o', lib, './cmd/librunner'], {
    env: { ...process.env, CGO_ENABLED: '1' },
  });
  // cgo writes a header next to the library; the addon uses cmd/librunner/abi.h instead.
  fs.rmSync(lib.replace(/\.[^.]+$/, '.h'), { force: true });
}

checkGo();
buildAddon(); // first: node-gyp rebuild empties build/
buildGo();
console.log(`runner-native: built ${path.relative(root, outDir)}`);
