'use strict';
/**
 * Builds runner-native from source: the Go library (go build -buildmode=c-shared) and the C++
 * addon (node-gyp).
 *
 *   node scripts/build.js [--debug]
 *       for this machine, with its own compilers, into build/Release/ (what the loader tries
 *       before the platform package);
 *   node scripts/build.js --platform <key> --out <dir>
 *       a release build of one platform package's two files (keys in lib/platforms.js). Linux
 *       targets are compiled by zig against glibc 2.28, so that they load on every glibc Node
 *       runs on (scripts/tools.js fetches zig); macOS targets by the system clang for macOS 11+.
 *       The addon is built in a scratch folder, so build/Release is left alone.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { findNodeDir } = require('./nodedir');
const { PLATFORMS, root, libraryName, ADDON_FILE, supportedList } = require('../lib/platforms');

const MACOS_MIN = '11.0'; // binding.gyp's MACOSX_DEPLOYMENT_TARGET

function run(cmd, args, opts = {}) {
  console.log(`> ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

/** A build refused before or while it ran (a missing tool, a platform not built here). */
class BuildRefused extends Error {}

/**
 * Refuses the build. It throws rather than exits, so that the `finally` blocks on the way
 * out run (buildRelease removes its scratch folder there); exitOnRefusal reports it.
 */
function fail(message) {
  throw new BuildRefused(message);
}

/** Runs build(); a refusal is printed and ends the process with status 1, after cleanup. */
function exitOnRefusal(build) {
  try {
    build();
  } catch (error) {
    if (!(error instanceof BuildRefused)) throw error;
    console.error(`\nrunner-native: ${error.message}\n`);
    process.exit(1);
  }
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

function checkPrerequisites() {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (_) {
    fail('Go was not found on PATH. Building from source needs Go >= 1.26 and a C/C++ compiler ' +
      `(see README, "Building from source"). On ${supportedList()} no build is needed: ` +
      'install without RUNNER_NATIVE_BUILD_FROM_SOURCE to use the prebuilt binaries.');
  }
  try {
    require.resolve('node-addon-api', { paths: [root] });
  } catch (_) {
    fail('node-addon-api was not found. Building from source needs it next to runner-native: ' +
      'run `npm install node-addon-api` in your project, then build again.');
  }
}

/** Runs node-gyp rebuild in `dir` (which holds binding.gyp); its output lands in dir/build. */
function buildAddon(dir, { arch, env } = {}) {
  const args = [nodeGyp(), 'rebuild'];
  const nodedir = findNodeDir();
  // Pinning the headers of the running node keeps node-gyp from downloading them.
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  if (arch) args.push(`--arch=${arch}`);
  if (process.argv.includes('--debug')) args.push('--debug');
  run(process.execPath, args, { cwd: dir, env: { ...process.env, ...env } });
}

function buildGo(file, env = {}, ldflags = '-s -w') {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  run('go', ['build', '-buildmode=c-shared', '-trimpath', '-buildvcs=false', `-ldflags=${ldflags}`, '-o', file, './cmd/librunner'], {
    env: { ...process.env, CGO_ENABLED: '1', ...env },
  });
  // cgo writes a header next to the library; the addon uses cmd/librunner/abi.h instead.
  fs.rmSync(file.replace(/\.[^.]+$/, '.h'), { force: true });
}

/** This machine's build, into build/Release. */
function buildLocal() {
  checkPrerequisites();
  buildAddon(root); // first: node-gyp rebuild empties build/
  const outDir = path.join(root, 'build', 'Release');
  buildGo(path.join(outDir, libraryName()));
  console.log(`runner-native: built ${path.relative(root, outDir)}`);
}

/** Compilers and flags of a release build for one platform. */
function toolchain(key, target, scratch) {
  if (target.os === 'linux') {
    if (process.platform !== 'linux') fail(`${key} is built on Linux (zig cross-compiles both architectures there).`);
    const zig = require('./tools').zig();
    const cc = `${zig} cc -target ${target.zigTarget}`;
    const cxx = `${zig} c++ -target ${target.zigTarget}`;
    return {
      // cgo passes gcc flags that zig does not use; without the -Wno it warns for each.
      go: { GOOS: 'linux', CC: cc, CGO_CFLAGS: '-O2 -g0 -Wno-unused-command-line-argument', CGO_LDFLAGS: '-Wno-unused-command-line-argument' },
      ldflags: '-s -w -extldflags=-s', // -extldflags: also strip what the C linker adds
      // zig links libc++ statically: the version script keeps its symbols (and everything but
      // the N-API entry points) private to the addon; -s strips it.
      addon: { CC: cc, CXX: cxx, LDFLAGS: `-Wl,--version-script=${path.join(scratch, 'exports.map')} -s` },
    };
  }
  if (process.platform !== 'darwin') fail(`${key} is built on macOS.`);
  const flags = `-arch ${target.clangArch} -mmacosx-version-min=${MACOS_MIN}`;
  return {
    go: { GOOS: 'darwin', CC: `clang ${flags}`, CGO_CFLAGS: '-O2', CGO_LDFLAGS: flags, MACOSX_DEPLOYMENT_TARGET: MACOS_MIN },
    ldflags: '-s -w',
    addon: { CC: `clang -arch ${target.clangArch}`, CXX: `clang++ -arch ${target.clangArch}`, MACOSX_DEPLOYMENT_TARGET: MACOS_MIN },
  };
}

/**
 * node-gyp always writes to <folder of binding.gyp>/build: give it a scratch folder that
 * holds a copy of binding.gyp and links to everything else in the project.
 */
function scratchProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-gyp-'));
  for (const entry of fs.readdirSync(root)) {
    if (['build', 'dist', '.git', 'binding.gyp'].includes(entry)) continue;
    fs.symlinkSync(path.join(root, entry), path.join(dir, entry));
  }
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.writeFileSync(path.join(dir, 'exports.map'), '{\n  global: napi_register_module_v1; node_api_module_get_api_version_v1;\n  local: *;\n};\n');
  return dir;
}

/** A release build of platform `key` into outDir. */
function buildRelease(key, outDir) {
  const target = PLATFORMS[key];
  if (!target) fail(`unknown platform ${key}; known: ${Object.keys(PLATFORMS).join(', ')}`);
  checkPrerequisites();
  fs.mkdirSync(outDir, { recursive: true });
  const scratch = scratchProject();
  let tools;
  try {
    tools = toolchain(key, target, scratch);
    buildAddon(scratch, { arch: target.cpu, env: tools.addon });
    fs.copyFileSync(path.join(scratch, 'build', 'Release', ADDON_FILE), path.join(outDir, ADDON_FILE));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  buildGo(path.join(outDir, libraryName(target.os)), { ...tools.go, GOARCH: target.goarch }, tools.ldflags);
  console.log(`runner-native: built ${key} into ${path.relative(process.cwd(), outDir) || '.'}`);
}

module.exports = { buildLocal, buildRelease, exitOnRefusal, BuildRefused };

if (require.main === module) {
  const at = (flag) => { const i = process.argv.indexOf(flag); return i < 0 ? undefined : process.argv[i + 1]; };
  const key = at('--platform');
  exitOnRefusal(() => {
    if (key) buildRelease(key, path.resolve(at('--out') || path.join(root, 'dist', key)));
    else buildLocal();
  });
}
