'use strict';
/**
 * @bluelibs/runner 6.x for the tests of runner-native's runner 6 flavour (test/runner6/).
 *
 * The registry this project is tested against serves @bluelibs/runner only up to 5.x, so
 * runner 6.4.1 comes as a packed tarball: `../shared/vendor/bluelibs-runner-6.4.1.tgz`
 * beside the repository (as CI lays it out), or $RUNNER6_TARBALL. It is installed under
 * the alias `runner6` into .runner6/ (gitignored), never into node_modules, so a
 * plain `npm install` of this package never needs it. Its dependencies come from the
 * registry as usual. The install is redone only when the tarball changes.
 *
 * Usage: node scripts/runner6.js         (installs, prints the package folder)
 *        node scripts/runner6.js types   (type-checks test/types/runner6-usage.ts against
 *                                         runner 6; skipped with a line without the
 *                                         tarball, a failure under CI=true)
 *        require('./scripts/runner6').ensureRunner6() -> folder | null when no tarball
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
// Not under build/: node-gyp empties build/ on every rebuild.
const prefix = path.join(root, '.runner6');
const pkgDir = path.join(prefix, 'node_modules', 'runner6');
const stamp = path.join(prefix, '.tarball-sha256');

const TARBALL = path.join('shared', 'vendor', 'bluelibs-runner-6.4.1.tgz');

/**
 * The tarball's path, or null when there is none: $RUNNER6_TARBALL, else shared/ beside
 * the repository, or beside its main checkout when this is a git worktree.
 */
function tarballPath() {
  if (process.env.RUNNER6_TARBALL) {
    const p = path.resolve(process.env.RUNNER6_TARBALL);
    return fs.existsSync(p) ? p : null;
  }
  const candidates = [path.resolve(root, '..', TARBALL)];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    candidates.push(path.resolve(path.dirname(common), '..', TARBALL));
  } catch (_) {
    // not a git checkout: only the folder beside the repository
  }
  return candidates.find((p) => fs.existsSync(p)) || null;
}

/**
 * Installs runner 6 (once per tarball) and returns the folder of the installed package,
 * or null when the tarball is missing.
 */
function ensureRunner6() {
  const tgz = tarballPath();
  if (!tgz) return null;
  const sum = crypto.createHash('sha256').update(fs.readFileSync(tgz)).digest('hex');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === sum &&
      fs.existsSync(path.join(pkgDir, 'package.json'))) {
    return pkgDir;
  }
  fs.mkdirSync(prefix, { recursive: true });
  // A package.json of its own, so that npm installs here and not in the repository.
  fs.writeFileSync(path.join(prefix, 'package.json'), `${JSON.stringify({ name: 'runner-native-runner6-tests', private: true }, null, 2)}\n`);
  const args = ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save',
    '--ignore-scripts', '--engine-strict=false', `runner6@file:${tgz}`];
  const run = () => execFileSync('npm', args, { cwd: prefix, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    run();
  } catch (error) {
    console.error(`runner-native: installing runner 6 failed (${String(error.message).split('\n')[0]}); trying once more`);
    run();
  }
  fs.writeFileSync(stamp, `${sum}\n`);
  return pkgDir;
}

module.exports = { ensureRunner6, tarballPath, pkgDir };

if (require.main === module) {
  const dir = ensureRunner6();
  const missing = 'no runner 6 tarball (../shared/vendor/bluelibs-runner-6.4.1.tgz beside the repository, or $RUNNER6_TARBALL)';
  if (process.argv[2] === 'types') {
    if (!dir) {
      if (process.env.CI === 'true') {
        console.error(`runner-native: runner 6 types must be checked under CI=true: ${missing}`);
        process.exit(1);
      }
      console.log(`runner-native: runner 6 type check SKIPPED: ${missing}`);
      process.exit(0);
    }
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = require('child_process').spawnSync(process.execPath, [tsc, '-p', path.join(root, 'test', 'types', 'tsconfig.runner6.json')], { stdio: 'inherit' });
    process.exit(r.status === null ? 1 : r.status);
  }
  if (!dir) {
    console.error(`runner-native: ${missing}`);
    process.exit(1);
  }
  console.log(dir);
}
