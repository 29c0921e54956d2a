'use strict';
/**
 * `npm run pack:platforms`: builds the release binaries and packs the npm packages into dist/.
 *
 *   node scripts/pack.js [--platforms k1,k2] [--no-main] [--keep] [--zig]
 *
 * Platforms default to what this host builds: on linux-x64 both Linux packages and the
 * Windows one (zig cross-compiles them), elsewhere the host's own. --keep adds to dist/
 * instead of emptying it first; --zig cross-builds darwin packages with zig (a check
 * only: the Mac builds the published ones, see scripts/build.js). For each platform key it leaves
 *   dist/<key>/                  the package folder (usable as RUNNER_NATIVE_BINARY_DIR)
 *   dist/<tarball of the package>
 * and, unless --no-main, the main package's tarball, whose package.json gains the
 * optionalDependencies on every platform package at the same version. Prints a size table.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { PLATFORMS, GLIBC_BASELINE, MACOS_MIN, MAIN_PACKAGE, root, packageName, describe, defaultPlatforms } = require('../lib/platforms');
const { check } = require('./platforms');
const { buildRelease } = require('./build');

const dist = path.join(root, 'dist');

function npmPack(dir) {
  const out = execFileSync('npm', ['pack', dir, '--json', '--pack-destination', dist], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out)[0];
}

function platformReadme(key) {
  const target = PLATFORMS[key];
  const libc = target.libc === 'musl' ? ' (musl: Alpine; the Go server runs as a program beside Node)'
    : target.libc ? ` (glibc >= ${GLIBC_BASELINE})` : target.os === 'darwin' ? ` (macOS ${MACOS_MIN}+)` : target.os === 'win32' ? ' (Windows 10+)' : '';
  return `# ${packageName(key)}\n\nThe ${target.os}-${target.cpu}${libc} binaries of [${MAIN_PACKAGE}](https://github.com/bluelibs/runner-native).\n\n` +
    `Do not install this package yourself: ${MAIN_PACKAGE} lists it in its optionalDependencies, and\n` +
    'npm installs it on the platform it is built for only.\n';
}

function packPlatform(key) {
  const dir = path.join(dist, key);
  const started = Date.now();
  buildRelease(key, dir);
  console.log(`runner-native: ${key} built in ${Math.round((Date.now() - started) / 1000)} s`);
  fs.copyFileSync(path.join(root, 'npm', key, 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
  fs.writeFileSync(path.join(dir, 'README.md'), platformReadme(key));
  return npmPack(dir);
}

/** The main package: the files npm would pack from the repository, with a release package.json. */
function packMain() {
  const [listing] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' }));
  const dir = path.join(dist, 'main');
  for (const { path: file } of listing.files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(dir, file));
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  pkg.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((key) => [packageName(key), pkg.version]));
  pkg.scripts = { install: pkg.scripts.install, build: pkg.scripts.build };
  delete pkg.devDependencies;
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return npmPack(dir);
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

function main() {
  const arg = (flag) => { const i = process.argv.indexOf(flag); return i < 0 ? undefined : process.argv[i + 1]; };
  const keys = arg('--platforms') ? arg('--platforms').split(',') : defaultPlatforms();
  const unknown = keys.filter((k) => !PLATFORMS[k]);
  if (unknown.length) throw new Error(`unknown platform(s) ${unknown.join(', ')}; known: ${Object.keys(PLATFORMS).join(', ')}`);
  const problems = check();
  if (problems.length) throw new Error(`npm/*/package.json disagree with lib/platforms.js:\n  ${problems.join('\n  ')}`);

  if (!process.argv.includes('--keep')) fs.rmSync(dist, { recursive: true, force: true });
  fs.mkdirSync(dist, { recursive: true });
  fs.rmSync(path.join(dist, 'main'), { recursive: true, force: true });
  for (const key of keys) fs.rmSync(path.join(dist, key), { recursive: true, force: true });
  const packed = keys.map((key) => ({ name: `${packageName(key)} (${describe(PLATFORMS[key])})`, ...packPlatform(key) }));
  if (!process.argv.includes('--no-main')) packed.unshift({ ...packMain(), name: MAIN_PACKAGE });

  console.log('\n| package | packed | unpacked | files |\n|---|---:|---:|---:|');
  for (const p of packed) console.log(`| ${p.name} | ${mb(p.size)} | ${mb(p.unpackedSize)} | ${p.entryCount} |`);
  console.log(`\nrunner-native: ${packed.map((p) => `dist/${p.filename}`).join(', ')}`);
}

try {
  main();
} catch (error) {
  console.error(`runner-native: ${error.message}`);
  process.exit(1);
}
