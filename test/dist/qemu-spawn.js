'use strict';
/**
 * Preload (node --require; through NODE_OPTIONS node children load it too) for running Node
 * tests of the arm64 build under qemu-user on an x64 machine without binfmt_misc: there the
 * arm64 `node` cannot exec an arm64 program itself,
 * so a child started as process.execPath fails with ENOEXEC. This rewrites exactly those spawns
 * into `qemu-aarch64 -L <sysroot> <execPath> <args...>`; every other spawn is left alone.
 *
 * It patches ChildProcess.prototype.spawn, which spawn, exec, execFile and fork all go through
 * (the synchronous variants are not covered: the suites do not spawn node synchronously).
 * QEMU (default qemu-aarch64) and QEMU_SYSROOT (default /usr/aarch64-linux-gnu) configure it.
 */
const { ChildProcess } = require('child_process');
const fs = require('fs');
const path = require('path');

/** Absolute, so that children whose env has a narrow PATH still find it. */
function which(name) {
  if (path.isAbsolute(name)) return name;
  const dirs = (process.env.PATH || '').split(path.delimiter).concat('/usr/bin');
  return dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f)) || name;
}

const qemu = which(process.env.QEMU || 'qemu-aarch64');
const sysroot = process.env.QEMU_SYSROOT || '/usr/aarch64-linux-gnu';
const spawn = ChildProcess.prototype.spawn;

ChildProcess.prototype.spawn = function spawnThroughQemu(options) {
  if (options && options.file === process.execPath) {
    const args = [qemu, '-L', sysroot, process.execPath, ...options.args.slice(1)];
    return spawn.call(this, { ...options, file: qemu, args });
  }
  return spawn.call(this, options);
};
