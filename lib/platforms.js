'use strict';
/**
 * The platforms runner-native ships prebuilt binaries for, in one table, and how to tell which
 * one this process runs on. Read by the loader (lib/native.js), the install hook, the build and
 * pack scripts and the distribution tests; npm/<key>/package.json must agree with it
 * (scripts/platforms.js checks).
 *
 * Each platform package holds exactly two files: the addon and the Go server, either as a
 * library loaded into Node (glibc, macOS, Windows) or, on musl, as a program the addon starts
 * (addon/go_process.h: a Go library cannot be loaded into a musl process).
 */
const path = require('path');

const MAIN_PACKAGE = '@bluelibs/runner-native';

/** Oldest glibc the Linux packages load on: what Node 18+ itself needs (Debian 10, RHEL 8). */
const GLIBC_BASELINE = '2.28';

/** Oldest macOS the darwin packages load on (binding.gyp's MACOSX_DEPLOYMENT_TARGET). */
const MACOS_MIN = '11.0';

/**
 * key: npm/<key>/ and the package name suffix. `goarch` and `zigTarget` drive the release
 * build (Linux and Windows packages are built on linux-x64 with zig; the darwin ones on
 * macOS with clang, and cross-built with zig here only to check them: scripts/darwin.js);
 * `libc` becomes the package's npm `libc` field; `transport: 'process'` ships the Go server as
 * a static program (SERVER_PROGRAM, built with CGO_ENABLED=0) instead of a library.
 */
const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc', goarch: 'amd64', zigTarget: `x86_64-linux-gnu.${GLIBC_BASELINE}` },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc', goarch: 'arm64', zigTarget: `aarch64-linux-gnu.${GLIBC_BASELINE}` },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl', goarch: 'amd64', zigTarget: 'x86_64-linux-musl', transport: 'process' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl', goarch: 'arm64', zigTarget: 'aarch64-linux-musl', transport: 'process' },
  'darwin-x64': { os: 'darwin', cpu: 'x64', goarch: 'amd64', clangArch: 'x86_64', zigTarget: `x86_64-macos.${MACOS_MIN}` },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64', goarch: 'arm64', clangArch: 'arm64', zigTarget: `aarch64-macos.${MACOS_MIN}` },
  'win32-x64': { os: 'win32', cpu: 'x64', goarch: 'amd64', zigTarget: 'x86_64-windows-gnu' },
};

const ADDON_FILE = 'runner_native.node';

/** The Go server as a program (cmd/runner-server), for the 'process' transport. */
const SERVER_PROGRAM = 'runner-native-server';

/** The environment variable that chooses how the Go server runs (see transport()). */
const TRANSPORT_ENV = 'RUNNER_NATIVE_TRANSPORT';

/** The Go library's file name on a platform. */
function libraryName(platform = process.platform) {
  if (platform === 'darwin') return 'librunner_native.dylib';
  if (platform === 'win32') return 'runner_native.dll';
  return 'librunner_native.so';
}

/**
 * The two files a binary directory holds: the addon, and the Go library or, for the
 * 'process' transport, the Go server program.
 */
function nativeFiles(platform = process.platform, transportName = 'library') {
  return [ADDON_FILE, transportName === 'process' ? SERVER_PROGRAM : libraryName(platform)];
}

/** The files of platform package `key`. */
function packageFiles(key) {
  const target = PLATFORMS[key];
  return nativeFiles(target.os, target.transport || 'library');
}

/**
 * How this process runs the Go server: 'library' (loaded into Node, the fast way) or
 * 'process' (a child program reached over socket pairs: on musl, where a Go library cannot
 * be loaded, or when RUNNER_NATIVE_TRANSPORT=process asks for it on Linux, as the tests do).
 * @returns {'library'|'process'}
 */
function transport() {
  const asked = process.env[TRANSPORT_ENV];
  if (asked === undefined || asked === '') return detectLibc() === 'musl' ? 'process' : 'library';
  if (asked !== 'process' && asked !== 'library') {
    throw invalidTransport(`${TRANSPORT_ENV} must be 'library' or 'process' (or unset), got ${JSON.stringify(asked)}.`);
  }
  if (asked === 'process' && process.platform !== 'linux') {
    throw invalidTransport(`${TRANSPORT_ENV}=process works on Linux only; unset it on ${process.platform}.`);
  }
  return asked;
}

function invalidTransport(message) {
  const error = new Error(`runner-native: ${message}`);
  error.code = 'RUNNER_NATIVE_TRANSPORT_INVALID';
  return error;
}

function packageName(key) {
  return `${MAIN_PACKAGE}-${key}`;
}

/** "linux-x64 (glibc)", "darwin-arm64": how messages name a platform. */
function describe({ os, cpu, libc }) {
  return `${os}-${cpu}${libc ? ` (${libc})` : ''}`;
}

/** detectLibc's answer: a process's C library never changes, and a report costs ~5 ms. */
let libc;

/**
 * 'glibc', 'musl' or null (unknown, or not Linux). Node's own diagnostic report says which C
 * library the process runs on: glibc reports its version; musl shows up as the loader among the
 * shared objects. The same test as npm's `libc` field check and the detect-libc package.
 * Read once per process.
 */
function detectLibc() {
  if (libc === undefined) libc = readLibc();
  return libc;
}

function readLibc() {
  if (process.platform !== 'linux') return null;
  const report = process.report;
  const canExclude = typeof report.excludeNetwork === 'boolean'; // Node >= 20.13
  const excluded = canExclude && report.excludeNetwork;
  if (canExclude) report.excludeNetwork = true; // skips a slow network interface listing
  try {
    const { header, sharedObjects } = report.getReport();
    if (header && header.glibcVersionRuntime) return 'glibc';
    if (Array.isArray(sharedObjects) && sharedObjects.some((f) => /(^|\/)(ld-musl-|libc\.musl-)/.test(f))) return 'musl';
    return null;
  } finally {
    if (canExclude) report.excludeNetwork = excluded;
  }
}

/** This process's platform: its key in PLATFORMS when one fits, and the parts that make it up. */
function currentPlatform() {
  const os = process.platform;
  const cpu = process.arch;
  const libc = os === 'linux' ? detectLibc() : null;
  const key = os === 'linux' ? `${os}-${cpu}-${libc === 'musl' ? 'musl' : 'gnu'}` : `${os}-${cpu}`;
  return { key, os, cpu, libc, supported: Object.hasOwn(PLATFORMS, key) };
}

/** The platform key of a build host, or of the --platform a script was given. */
function hostKey() {
  return process.platform === 'linux' ? `linux-${process.arch}-gnu` : `${process.platform}-${process.arch}`;
}

/**
 * What `npm run pack:platforms` builds here: on linux-x64 the four Linux packages and the
 * Windows one (zig cross-compiles them), else the host's.
 */
function defaultPlatforms() {
  return hostKey() === 'linux-x64-gnu'
    ? ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'win32-x64']
    : [hostKey()];
}

function supportedList() {
  return Object.entries(PLATFORMS).map(([, p]) => describe(p)).join(', ');
}

const root = path.resolve(__dirname, '..');

module.exports = {
  MAIN_PACKAGE, GLIBC_BASELINE, MACOS_MIN, PLATFORMS, ADDON_FILE, SERVER_PROGRAM, TRANSPORT_ENV, root,
  libraryName, nativeFiles, packageFiles, transport, packageName, describe, detectLibc, currentPlatform, hostKey, defaultPlatforms, supportedList,
};
