'use strict';
/**
 * `npm run test:arm64`: the end-to-end mocha suite against the linux-arm64 release build
 * (dist/linux-arm64-gnu, from `npm run pack:platforms`), run by an arm64 Node of the host's
 * version under qemu-user. Extra arguments go to mocha.
 *
 * Needs qemu-aarch64 and an arm64 sysroot (Debian: qemu-user libc6-arm64-cross
 * libstdc++6-arm64-cross); the arm64 Node comes from the npm registry (scripts/tools.js).
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { root, nativeFiles } = require('../lib/platforms');
const { nodeArm64 } = require('./tools');

const sysroot = process.env.QEMU_SYSROOT || '/usr/aarch64-linux-gnu';
const binaries = path.join(root, 'dist', 'linux-arm64-gnu');

function fail(message) {
  console.error(`runner-native: ${message}`);
  process.exit(1);
}

if (spawnSync('qemu-aarch64', ['--version']).error || !fs.existsSync(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) {
  fail(`test:arm64 needs qemu-aarch64 and an arm64 sysroot in ${sysroot}: apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross`);
}
if (!nativeFiles('linux').every((f) => fs.existsSync(path.join(binaries, f)))) {
  fail(`${path.relative(root, binaries)} has no arm64 build: run \`npm run pack:platforms\` first`);
}

const node = nodeArm64();
// Through NODE_OPTIONS, so that node children load it too (cluster.fork() in a child server).
const preload = `--require ${path.join(root, 'test', 'dist', 'qemu-spawn.js')}`;
const args = ['-L', sysroot, node, path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...process.argv.slice(2)];
console.log(`> NODE_OPTIONS='${preload}' qemu-aarch64 ${args.join(' ')}`);
const result = spawnSync('qemu-aarch64', args, {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' '),
    RUNNER_NATIVE_BINARY_DIR: binaries,
    QEMU_SYSROOT: sysroot,
  },
});
process.exit(result.status === null ? 1 : result.status);
