'use strict';
/**
 * Finds the directory that holds runner_native.node and the Go library, in this order:
 *   1. RUNNER_NATIVE_BINARY_DIR, when set (an explicit override: no fallback);
 *   2. build/Release in the package folder (a local build from source);
 *   3. the platform package, e.g. @bluelibs/runner-native-linux-x64-gnu.
 * Failing all, it throws one Error that names the platform, what was looked for and what to do.
 * Errors carry a `code` (RUNNER_NATIVE_*) so that callers and tests can tell them apart.
 */
const fs = require('fs');
const path = require('path');
const {
  MAIN_PACKAGE, GLIBC_BASELINE, ADDON_FILE, TRANSPORT_ENV, PLATFORMS, root, nativeFiles, packageName, describe, currentPlatform, detectLibc,
  supportedList, transport,
} = require('./platforms');

const ENV_DIR = 'RUNNER_NATIVE_BINARY_DIR';
const localBuild = path.join(root, 'build', 'Release');

/**
 * How to build from source. After a failed install hook npm has rolled the package back, so
 * only an install that builds can help (npm rebuild would find nothing to rebuild); once the
 * package is in node_modules (installed with --ignore-scripts), a rebuild is enough.
 */
function fromSource() {
  const installing = process.env.RUNNER_NATIVE_INSTALLING === '1';
  return [
    'To build from source instead (needs Go >= 1.26, a C/C++ compiler and Python 3; see README,',
    '"Building from source"):',
    ...(installing
      ? [`  RUNNER_NATIVE_BUILD_FROM_SOURCE=1 npm install ${MAIN_PACKAGE} node-addon-api`]
      : ['  npm install node-addon-api', `  RUNNER_NATIVE_BUILD_FROM_SOURCE=1 npm rebuild ${MAIN_PACKAGE}`]),
  ];
}

/**
 * Whether this copy of the package lists the platform packages (the published one does:
 * scripts/pack.js adds them). One packed from a source checkout (`npm pack`) or installed
 * from git does not: it carries no binaries and must be built.
 */
function hasPlatformPackages() {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    return Boolean(pkg.optionalDependencies && Object.keys(pkg.optionalDependencies).some((n) => n.startsWith(`${MAIN_PACKAGE}-`)));
  } catch (_) {
    return true; // unreadable: say what is usual
  }
}

const SOURCE_COPY = [
  `runner-native: this copy of ${MAIN_PACKAGE} carries no prebuilt binaries and lists no`,
  'platform package: it was packed from a source checkout (npm pack) or installed from git, so',
  'it must be built from source, which needs Go >= 1.26, a C/C++ compiler and Python 3 (see',
  'README, "Building from source"). With those installed, install it again with node-addon-api',
  'beside it; its install hook builds it:',
  `  npm install node-addon-api <the same ${MAIN_PACKAGE} you installed>`,
  `Or install the published package (\`npm install ${MAIN_PACKAGE}\`), which needs no build.`,
];

const MUSL = [
  `runner-native: ${TRANSPORT_ENV}=library cannot work on musl-based Linux (such as Alpine):`,
  'a Go shared library cannot be loaded into a musl process (golang/go#54805, #13492).',
  '',
  `Unset ${TRANSPORT_ENV}: on musl the Go server then runs as a program beside Node.`,
];

function runnerError(code, lines) {
  const error = new Error(lines.join('\n'));
  error.code = code;
  return error;
}

function missingFiles(dir, files) {
  return files.filter((f) => !fs.existsSync(path.join(dir, f)));
}

/** The CPU a native file was built for, from its ELF or Mach-O header; null if unknown. */
function binaryArch(file) {
  const header = Buffer.alloc(64);
  const pe = Buffer.alloc(6);
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    fs.readSync(fd, header, 0, header.length, 0);
    // PE (Windows): "MZ", the offset of the "PE\0\0" header at 0x3c, the machine after it.
    if (header.readUInt16BE(0) === 0x4d5a) fs.readSync(fd, pe, 0, pe.length, header.readUInt32LE(0x3c));
  } catch (_) {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  const elf = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm' };
  const macho = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
  const coff = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };
  if (header.readUInt32BE(0) === 0x7f454c46) return elf[header.readUInt16LE(18)] || 'another CPU';
  if (header.readUInt32LE(0) === 0xfeedfacf) return macho[header.readUInt32LE(4)] || 'another CPU';
  if (header.readUInt16BE(0) === 0x4d5a && pe.readUInt32BE(0) === 0x50450000) return coff[pe.readUInt16LE(4)] || 'another CPU';
  return null;
}

function lookedFor(tried) {
  return ['Looked for:', ...tried.map((t) => `  - ${t}`)];
}

/**
 * @returns {{dir: string, source: string, transport: 'library'|'process'}} where the binaries are,
 *   which step found them, and how the Go server runs (see platforms.js transport())
 */
function locate() {
  const mode = transport(); // throws for a wrong RUNNER_NATIVE_TRANSPORT
  const wanted = nativeFiles(process.platform, mode);
  const override = process.env[ENV_DIR];
  if (override) {
    const dir = path.resolve(override);
    const missing = missingFiles(dir, wanted);
    if (missing.length) {
      throw runnerError('RUNNER_NATIVE_BINARY_DIR_INVALID', [
        `runner-native: ${ENV_DIR} is set to ${dir}, which lacks ${missing.join(' and ')}.`,
        '',
        `Point ${ENV_DIR} at a folder holding ${wanted.join(' and ')}`,
        '(an installed platform package or a build/Release folder), or unset it.',
      ]);
    }
    return { dir, source: ENV_DIR, transport: mode };
  }
  const tried = [`${ENV_DIR}: not set`];

  const missingLocal = missingFiles(localBuild, wanted);
  if (!missingLocal.length) return { dir: localBuild, source: 'a local build', transport: mode };
  tried.push(`${localBuild} (a local build): ${fs.existsSync(localBuild) ? `no ${missingLocal.join(' or ')}` : 'not found'}`);

  const platform = currentPlatform();
  if (platform.libc === 'musl' && mode === 'library') throw runnerError('RUNNER_NATIVE_MUSL', MUSL);
  if (!platform.supported) {
    throw runnerError('RUNNER_NATIVE_UNSUPPORTED_PLATFORM', [
      `runner-native: there are no prebuilt binaries for ${describe(platform)}.`,
      '',
      `Prebuilt binaries exist for ${supportedList()}.`,
      '',
      ...lookedFor(tried),
      '',
      ...fromSource(),
      `or set ${ENV_DIR} to a folder holding ${wanted.join(' and ')}`,
      'built for this platform.',
    ]);
  }

  const name = packageName(platform.key);
  if (mode === 'process' && PLATFORMS[platform.key].transport !== 'process') {
    throw runnerError('RUNNER_NATIVE_TRANSPORT_INVALID', [
      `runner-native: ${TRANSPORT_ENV}=process needs the Go server program (${wanted[1]}), which`,
      `the package "${name}" does not carry: it loads the Go library into Node, the faster way.`,
      '',
      ...lookedFor(tried),
      '',
      `Unset ${TRANSPORT_ENV}, or build from source (npm run build), which makes both.`,
    ]);
  }
  let dir;
  try {
    dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
  } catch (_) {
    tried.push(`${name}: not installed`);
    if (!hasPlatformPackages()) throw runnerError('RUNNER_NATIVE_SOURCE_COPY', [...SOURCE_COPY, '', ...lookedFor(tried)]);
    throw runnerError('RUNNER_NATIVE_PACKAGE_MISSING', [
      `runner-native: the package "${name}" could not be found, and ${MAIN_PACKAGE}`,
      `needs it on ${describe(platform)}.`,
      '',
      ...lookedFor(tried),
      '',
      `npm installs "${name}" as an optional dependency of ${MAIN_PACKAGE}.`,
      'It is missing when optional dependencies were left out (--omit=optional, --no-optional,',
      'optional=false), or when node_modules or the lockfile were made on another platform (for',
      'example on macOS, then copied into a Linux container). Install again on this machine, with',
      'optional dependencies:',
      '  rm -rf node_modules && npm install',
      '(if that still leaves it out, delete package-lock.json too: npm/cli#4828)',
      '',
      ...fromSource(),
    ]);
  }
  const missing = missingFiles(dir, wanted);
  if (missing.length) {
    throw runnerError('RUNNER_NATIVE_PACKAGE_MISSING', [
      `runner-native: the package "${name}" at ${dir} lacks ${missing.join(' and ')}.`,
      '',
      `Reinstall it: rm -rf node_modules && npm install`,
    ]);
  }
  return { dir, source: name, transport: mode };
}

/**
 * The error for binaries that were found but do not load (dlopen failed). `reason` is the
 * loader's own message; we add what it usually means.
 */
function loadError({ dir, source, transport: mode }, reason) {
  const lines = [`runner-native: the native files in ${dir} (from ${source}) do not load on ${describe(currentPlatform())}:`, `  ${reason}`, ''];
  if (detectLibc() === 'musl' && mode === 'library') return runnerError('RUNNER_NATIVE_MUSL', [...MUSL, '', `(The loader said: ${reason})`]);
  if (/GLIBC_[0-9.]+' not found/.test(reason)) {
    lines.push(`They were built against a newer glibc than this system has. The published Linux packages need glibc >= ${GLIBC_BASELINE};`,
      'a local build needs the glibc it was built on.');
  } else {
    const arch = binaryArch(path.join(dir, ADDON_FILE));
    if (arch && arch !== process.arch) lines.push(`They were built for ${arch}; this Node is ${process.arch}.`);
  }
  if (source === 'a local build') lines.push('Rebuild them on this machine with `npm run build`, or delete build/ to use the platform package.');
  else if (source === ENV_DIR) lines.push(`Point ${ENV_DIR} at binaries built for this platform, or unset it.`);
  else lines.push('Reinstall on this machine: rm -rf node_modules && npm install');
  return runnerError('RUNNER_NATIVE_LOAD_FAILED', lines);
}

module.exports = { locate, loadError, binaryArch, hasPlatformPackages, ENV_DIR, localBuild };
