'use strict';
// Installs the tarballs of `npm run pack:platforms` as a user would: into a fresh project, with
// --ignore-scripts (pnpm's default) and a PATH holding only node and npm, then requires the
// package by name and sends a task over HTTP. Then every way it can fail, each with its message.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { tarball, scratchProject, removeScratchProjects, npm, npmInstall, runNode, serveOneTask, wineInstallAndServe } = require('./helpers');
const { nodeArm64 } = require('../../scripts/tools');
const { PLATFORMS, hostKey, describe: platformName } = require('../../lib/platforms');

const host = hostKey();
const hostPackage = `@bluelibs/runner-native-${host}`;
const linux = process.platform === 'linux';

const fake = path.join(__dirname, 'fake-platform.js');
const REQUIRE = "try { require('@bluelibs/runner-native'); console.log('loaded') } catch (e) { console.log(e.code); console.error(e.message); process.exit(3) }";
const installed = (project, ...parts) => path.join(project.dir, 'node_modules', '@bluelibs', ...parts);

function assertInstalled(result) {
  assert.strictEqual(result.status, 0, result.output);
  assert.match(result.output, /added 2 packages/);
}

describe('install from the tarballs, no Go or compiler on PATH', function () {
  after(removeScratchProjects);

  it(`${host}: --ignore-scripts, require by name, a task answers over HTTP`, async () => {
    const project = scratchProject();
    assertInstalled(npmInstall(project, ['--ignore-scripts', tarball(), tarball(host)]));
    assert.ok(!fs.existsSync(installed(project, 'runner-native', 'build')), 'nothing was built');
    const res = await serveOneTask(project);
    assert.deepStrictEqual({ status: res.status, body: res.body, code: res.code }, { status: 200, body: { ok: true, result: { sum: 8, arch: process.arch } }, code: 0 }, res.stderr);
  });

  it(`${host} with RUNNER_NATIVE_TRANSPORT=process: says the package carries no server program, and what to do`, function () {
    if (!linux) this.skip();
    const project = scratchProject();
    assertInstalled(npmInstall(project, ['--ignore-scripts', tarball(), tarball(host)]));
    const { status, stdout, stderr } = runNode(project, REQUIRE, { RUNNER_NATIVE_TRANSPORT: 'process' });
    assert.strictEqual(status, 3, stderr);
    assert.strictEqual(stdout, 'RUNNER_NATIVE_TRANSPORT_INVALID\n');
    assert.ok(stderr.includes(`RUNNER_NATIVE_TRANSPORT=process needs the Go server program (runner-native-server), which\nthe package "${hostPackage}" does not carry`), stderr);
    assert.match(stderr, /Unset RUNNER_NATIVE_TRANSPORT, or build from source/);
  });

  it('linux-x64-musl (musl simulated): the tarballs install, and the loader takes the musl package and its server program', function () {
    // No musl Node can be had here, so the musl addon cannot load into this (glibc) Node: what
    // this shows is the loader's choice. test:musl drives the package's transport from a musl process.
    if (host !== 'linux-x64-gnu') this.skip();
    const musl = { NODE_OPTIONS: `--require ${fake}`, FAKE_LIBC: 'musl' };
    const project = scratchProject();
    // npm checks `libc` on its own (this host is glibc, whatever Node's report says): --force.
    const refused = npmInstall(project, ['--ignore-scripts', tarball(), tarball('linux-x64-musl')], musl);
    assert.match(refused.output, /EBADPLATFORM[\s\S]*wanted \{"os":"linux","cpu":"x64","libc":"musl"\}/);
    assertInstalled(npmInstall(project, ['--ignore-scripts', '--force', tarball(), tarball('linux-x64-musl')], musl));
    const { status, stdout, stderr } = runNode(project, REQUIRE, musl);
    assert.strictEqual(status, 3, stderr);
    assert.strictEqual(stdout, 'RUNNER_NATIVE_LOAD_FAILED\n');
    assert.ok(stderr.includes(`from @bluelibs/runner-native-linux-x64-musl) do not load`), stderr);
  });

  it('linux-arm64 under qemu: npm and node are the arm64 ones, a task answers over HTTP', async function () {
    // For x64 hosts (arm64 hosts run the test above); RUNNER_NATIVE_SKIP_QEMU=1 where another job runs it.
    if (host !== 'linux-x64-gnu' || process.env.RUNNER_NATIVE_SKIP_QEMU === '1') this.skip();
    const project = scratchProject({ arm64Node: nodeArm64() });
    assertInstalled(npmInstall(project, ['--ignore-scripts', tarball(), tarball('linux-arm64-gnu')]));
    const res = await serveOneTask(project);
    assert.deepStrictEqual({ status: res.status, body: res.body, code: res.code }, { status: 200, body: { ok: true, result: { sum: 8, arch: 'arm64' } }, code: 0 }, res.stderr);
  });

  it('win32-x64 under Wine: the Windows node.exe runs npm, installs the tarballs, requires the package by name, a task answers over HTTP', async function () {
    // For x64 Linux hosts, where CI has Wine (npm run test:wine made its prefix first);
    // RUNNER_NATIVE_SKIP_WINE=1 where another job runs it. Windows runners install for real.
    if (host !== 'linux-x64-gnu' || process.env.RUNNER_NATIVE_SKIP_WINE === '1') this.skip();
    this.timeout(600000);
    const res = await wineInstallAndServe([tarball(), tarball('win32-x64')]);
    assert.match(res.install, /added 2 packages/, res.install);
    assert.deepStrictEqual({ status: res.status, body: res.body, exit: res.exit }, { status: 200, body: { ok: true, result: { sum: 8, platform: 'win32', arch: 'x64' } }, exit: 'closed\nexit 0' }, res.stderr);
  });

  it('with install scripts, the install hook checks the platform package and the install succeeds', () => {
    const project = scratchProject({ shell: true });
    const result = npmInstall(project, [tarball(), tarball(host)]);
    assertInstalled(result);
    assert.ok(!fs.existsSync(installed(project, 'runner-native', 'build')), 'nothing was built');
    assert.strictEqual(runNode(project, REQUIRE).stdout, 'loaded\n');
  });

  describe('failures', () => {
    let project;
    before(() => {
      project = scratchProject({ shell: true }); // sh: npm rebuild runs the install hook
      // As after --omit=optional, or on a platform with no package: the main package alone.
      const result = npmInstall(project, ['--ignore-scripts', tarball()]);
      assert.strictEqual(result.status, 0, result.output);
    });

    it('missing platform package: names it, what was looked for, and how to reinstall', () => {
      const { status, stdout, stderr } = runNode(project, REQUIRE);
      assert.strictEqual(status, 3, stderr);
      assert.strictEqual(stdout, 'RUNNER_NATIVE_PACKAGE_MISSING\n');
      assert.ok(stderr.includes(`the package "${hostPackage}" could not be found, and @bluelibs/runner-native\nneeds it on ${platformName(PLATFORMS[host])}.`), stderr);
      assert.ok(stderr.includes(`Looked for:\n  - RUNNER_NATIVE_BINARY_DIR: not set\n  - ${installed(project, 'runner-native', 'build', 'Release')} (a local build): not found\n  - ${hostPackage}: not installed\n`), stderr);
      assert.match(stderr, /--omit=optional/);
      assert.match(stderr, /rm -rf node_modules && npm install/);
      assert.match(stderr, /RUNNER_NATIVE_BUILD_FROM_SOURCE=1 npm rebuild @bluelibs\/runner-native/);
    });

    it('unsupported platform: says there are no binaries for it, lists those that exist, how to build', () => {
      const { status, stdout, stderr } = runNode(project, REQUIRE, { NODE_OPTIONS: `--require ${fake}`, FAKE_ARCH: 'ppc64' });
      assert.strictEqual(status, 3, stderr);
      assert.strictEqual(stdout, 'RUNNER_NATIVE_UNSUPPORTED_PLATFORM\n');
      assert.ok(stderr.includes(`there are no prebuilt binaries for ${process.platform}-ppc64${linux ? ' (glibc)' : ''}.`), stderr);
      assert.match(stderr, /Prebuilt binaries exist for linux-x64 \(glibc\), linux-arm64 \(glibc\), linux-x64 \(musl\), linux-arm64 \(musl\), darwin-x64, darwin-arm64, win32-x64\./);
      assert.match(stderr, /Looked for:/);
      assert.match(stderr, /RUNNER_NATIVE_BUILD_FROM_SOURCE=1 npm rebuild/);
    });

    it('musl (simulated) at require: names the musl package, whose Go server runs as a program', function () {
      if (!linux) this.skip();
      const { status, stdout, stderr } = runNode(project, REQUIRE, { NODE_OPTIONS: `--require ${fake}`, FAKE_LIBC: 'musl' });
      assert.strictEqual(status, 3, stderr);
      assert.strictEqual(stdout, 'RUNNER_NATIVE_PACKAGE_MISSING\n');
      assert.ok(stderr.includes(`the package "@bluelibs/runner-native-linux-${process.arch}-musl" could not be found`), stderr);
    });

    it('musl (simulated) with RUNNER_NATIVE_TRANSPORT=library: says why that cannot work (golang/go#54805) and to unset it', function () {
      if (!linux) this.skip();
      const { status, stdout, stderr } = runNode(project, REQUIRE, { NODE_OPTIONS: `--require ${fake}`, FAKE_LIBC: 'musl', RUNNER_NATIVE_TRANSPORT: 'library' });
      assert.strictEqual(status, 3, stderr);
      assert.strictEqual(stdout, 'RUNNER_NATIVE_MUSL\n');
      assert.match(stderr, /RUNNER_NATIVE_TRANSPORT=library cannot work on musl-based Linux \(such as Alpine\)/);
      assert.match(stderr, /golang\/go#54805/);
      assert.match(stderr, /Unset RUNNER_NATIVE_TRANSPORT/);
    });

    it('build from source without Go on PATH: a clear message, not a spawn error', () => {
      const { status, output } = npm(project, ['rebuild', '@bluelibs/runner-native'], { RUNNER_NATIVE_BUILD_FROM_SOURCE: '1' });
      assert.notStrictEqual(status, 0, output);
      assert.match(output, /Go was not found on PATH\. Building from source needs Go >= 1\.26/);
    });
  });

  it('musl (simulated) at install, with RUNNER_NATIVE_TRANSPORT=library: the install hook fails the install with the same message', function () {
    if (!linux) this.skip();
    const project = scratchProject({ shell: true });
    const result = npmInstall(project, [tarball()], { NODE_OPTIONS: `--require ${fake}`, FAKE_LIBC: 'musl', RUNNER_NATIVE_TRANSPORT: 'library' });
    assert.notStrictEqual(result.status, 0, result.output);
    assert.match(result.output, /RUNNER_NATIVE_TRANSPORT=library cannot work on musl-based Linux/);
    assert.match(result.output, /golang\/go#54805/);
    assert.ok(!fs.existsSync(installed(project, 'runner-native')), 'npm rolled the install back');
  });
});
