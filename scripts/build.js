'use strict';
/**
 * Builds runner-native from source: the Go library (go build -buildmode=c-shared), the Go
 * server program (cmd/runner-server, static: the 'process' transport of musl and of
 * RUNNER_NATIVE_TRANSPORT=process) and the C++ addon (node-gyp).
 *
 *   node scripts/build.js [--debug]
 *       for this machine, with its own compilers, into build/Release/ (what the loader tries
 *       before the platform package);
 *   node scripts/build.js --platform <key> --out <dir> [--zig]
 *       a release build of one platform package's two files (keys in lib/platforms.js). Linux
 *       targets are compiled by zig against glibc 2.28, so that they load on every glibc Node
 *       runs on (scripts/tools.js fetches zig); Windows x64 by zig on Linux too (MinGW target,
 *       the UCRT of Windows 10+); macOS targets by the system clang for macOS 11+, or, with
 *       --zig, cross-compiled by zig against stub SDK libraries, only to check them before a
 *       Mac does (scripts/darwin.js). The addon is built in a scratch folder, so build/Release
 *       is left alone.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { findNodeDir } = require('./nodedir');
const { PLATFORMS, MACOS_MIN, MAIN_PACKAGE, root, libraryName, ADDON_FILE, SERVER_PROGRAM, supportedList } = require('../lib/platforms');

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
  // During an install hook npm rolls a failed package back: the way out is an install.
  const installing = process.env.RUNNER_NATIVE_INSTALLING === '1';
  const sourceCopy = !require('../lib/locate').hasPlatformPackages();
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (_) {
    fail('Go was not found on PATH. Building from source needs Go >= 1.26 and a C/C++ compiler ' +
      '(see README, "Building from source"). ' + (sourceCopy
      ? `This copy of ${MAIN_PACKAGE} was packed from a source checkout (npm pack, or a git install) and carries ` +
        'no prebuilt binaries: install Go and a compiler, then install it again with node-addon-api beside it ' +
        `(npm install node-addon-api <the same ${MAIN_PACKAGE}>), or install the published package, which needs no build.`
      : `On ${supportedList()} no build is needed: install without RUNNER_NATIVE_BUILD_FROM_SOURCE to use the prebuilt binaries.`));
  }
  try {
    require.resolve('node-addon-api', { paths: [root] });
  } catch (_) {
    fail('node-addon-api was not found. Building from source needs it next to runner-native: ' + (installing
      ? `install both in one command: npm install node-addon-api <the same ${MAIN_PACKAGE}>.`
      : 'run `npm install node-addon-api` in your project, then build again.'));
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
  try {
    run('go', ['build', '-buildmode=c-shared', '-trimpath', '-buildvcs=false', `-ldflags=${ldflags}`, '-o', file, './cmd/librunner'], {
      env: { ...process.env, CGO_ENABLED: '1', ...env },
    });
  } finally {
    // zig leaves empty cgo-gcc-input-*.o files in the package's folder on darwin targets;
    // they must never reach a tarball ("files" also excludes them).
    for (const f of fs.readdirSync(path.join(root, 'cmd', 'librunner'))) {
      if (/^cgo-gcc-input-.*\.o$/.test(f)) fs.rmSync(path.join(root, 'cmd', 'librunner', f), { force: true });
    }
  }
  // cgo writes a header next to the library; the addon uses cmd/librunner/abi.h instead.
  fs.rmSync(file.replace(/\.[^.]+$/, '.h'), { force: true });
}

/**
 * The Go server as a static program (no cgo: it runs on any Linux, musl included, and
 * needs no C library at all).
 */
function buildServer(file, env = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  run('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', file, './cmd/runner-server'], {
    env: { ...process.env, ...env, CGO_ENABLED: '0' },
  });
}

/** Node's C headers (node_api.h) for a build without node-gyp. */
function nodeInclude() {
  const dir = findNodeDir();
  if (!dir) fail('the Node headers (include/node/node_api.h) were not found beside this node; install them or set npm_config_nodedir.');
  return path.join(dir, 'include', 'node');
}

/**
 * The N-API functions the Node headers declare: the Windows addon imports them from
 * node.exe, through an import library made from this list (no node.lib, no MSVC).
 */
function napiFunctions(include) {
  const names = new Set();
  for (const header of ['js_native_api.h', 'node_api.h']) {
    const text = fs.readFileSync(path.join(include, header), 'utf8');
    for (const m of text.matchAll(/NAPI_EXTERN[^;{]*?\b((?:napi|node_api)_\w+)\s*\(/g)) names.add(m[1]);
  }
  if (names.size < 100) fail(`only ${names.size} N-API functions found in ${include}: not Node's headers?`);
  return [...names].sort();
}

/**
 * The addon compiled and linked by zig directly, for targets node-gyp cannot aim at from
 * Linux (Windows, macOS). The flags are binding.gyp's. On Windows the N-API functions are
 * imported from node.exe; on macOS they stay undefined and bind when Node loads the addon
 * (as node-gyp's -undefined dynamic_lookup does).
 */
function buildAddonWithZig(target, outFile, scratch) {
  const zig = require('./tools').zig();
  const include = nodeInclude();
  const naa = path.resolve(require(require.resolve('node-addon-api', { paths: [root] })).include_dir); // include_dir is relative to the working directory
  const win = target.os === 'win32';
  const flags = ['-target', target.zigTarget, '-std=c++17', '-O2', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter',
    '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DBUILDING_NODE_EXTENSION',
    ...(win ? ['-DWIN32_LEAN_AND_MEAN', '-DNOMINMAX'] : ['-fPIC']),
    `-I${include}`, `-I${naa}`, `-I${path.join(root, 'cmd', 'librunner')}`];
  const objects = ['addon', 'go_library'].map((name) => {
    const obj = path.join(scratch, `${name}.o`);
    run(zig, ['c++', ...flags, '-c', path.join(root, 'addon', `${name}.cc`), '-o', obj]);
    return obj;
  });
  // Linked in the scratch folder: zig also writes an import library (.lib) beside a DLL.
  const linked = path.join(scratch, ADDON_FILE);
  const link = ['c++', '-target', target.zigTarget, '-shared', '-o', linked, ...objects];
  if (win) {
    const def = path.join(scratch, 'node.def');
    fs.writeFileSync(def, ['LIBRARY node.exe', 'EXPORTS', ...napiFunctions(include), ''].join('\n'));
    const lib = path.join(scratch, 'libnode.a');
    run(zig, ['dlltool', '-m', 'i386:x86-64', '-d', def, '-l', lib]);
    link.push(lib, '-s');
  } else {
    link.push('-Wl,-undefined,dynamic_lookup');
  }
  run(zig, link, { cwd: scratch });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.copyFileSync(linked, outFile);
}

/** This machine's build, into build/Release. */
function buildLocal() {
  checkPrerequisites();
  buildAddon(root); // first: node-gyp rebuild empties build/
  const outDir = path.join(root, 'build', 'Release');
  buildGo(path.join(outDir, libraryName()));
  if (process.platform === 'linux') buildServer(path.join(outDir, SERVER_PROGRAM));
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
  if (target.os === 'win32') {
    if (process.platform !== 'linux') fail(`${key} is built on Linux (zig cross-compiles it there).`);
    const cc = `${require('./tools').zig()} cc -target ${target.zigTarget}`;
    return {
      go: { GOOS: 'windows', CC: cc, CGO_CFLAGS: '-O2 -g0 -Wno-unused-command-line-argument', CGO_LDFLAGS: '-Wno-unused-command-line-argument' },
      ldflags: '-s -w',
      zigAddon: true,
    };
  }
  if (process.argv.includes('--zig') || process.env.RUNNER_NATIVE_DARWIN_ZIG === '1') {
    // A check build: zig has no macOS SDK, so the frameworks Go links come from stub .tbd
    // files (scripts/darwin.js writes them); Go's -s makes zig's Mach-O linker fail
    // ("unsupported linker arg: -x"), so only -w. Never shipped: the Mac builds those.
    const stubs = require('./darwin').writeStubs(path.join(scratch, 'sdk'));
    const cc = `${require('./tools').zig()} cc -target ${target.zigTarget}`;
    return {
      go: { GOOS: 'darwin', CC: cc, CGO_CFLAGS: '-O2 -g0 -Wno-unused-command-line-argument',
        CGO_LDFLAGS: `-F${stubs} -L${path.join(stubs, 'lib')} -Wno-unused-command-line-argument` },
      ldflags: '-w',
      zigAddon: true,
    };
  }
  if (process.platform !== 'darwin') fail(`${key} is built on macOS (or cross-built with zig to check it: --zig).`);
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
  try {
    const tools = toolchain(key, target, scratch);
    if (tools.zigAddon) {
      buildAddonWithZig(target, path.join(outDir, ADDON_FILE), scratch);
    } else {
      buildAddon(scratch, { arch: target.cpu, env: tools.addon });
      fs.copyFileSync(path.join(scratch, 'build', 'Release', ADDON_FILE), path.join(outDir, ADDON_FILE));
    }
    if (target.transport === 'process') buildServer(path.join(outDir, SERVER_PROGRAM), { GOOS: target.os, GOARCH: target.goarch });
    else buildGo(path.join(outDir, libraryName(target.os)), { ...tools.go, GOARCH: target.goarch }, tools.ldflags);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
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
