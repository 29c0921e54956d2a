'use strict';
// A copy of the package packed from a source checkout (`npm pack`, or a git install) lists no
// platform package and carries no binaries. Every path a user can take with it leads to a
// working install: its install hook builds it when Go and a compiler are there; without Go
// the install fails saying what to install and which command to run; installed without
// scripts, the first require() says the same. (The published package is tested in
// install.test.js.)
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { scratchProject, removeScratchProjects, npmInstall, runNode, serveOneTask } = require('./helpers');
const { root } = require('../../lib/platforms');

const REQUIRE = "try { require('@bluelibs/runner-native'); console.log('loaded') } catch (e) { console.log(e.code); console.error(e.message); process.exit(3) }";
const ADDON_API = `node-addon-api@${require('node-addon-api/package.json').version}`;

/** `npm pack` of this checkout, as a user would make it: no optionalDependencies, no binaries. */
function plainPack() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-pack-'));
  const result = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  assert.strictEqual(result.status, 0, result.stderr);
  return { dir, file: path.join(dir, result.stdout.trim().split('\n').pop()) };
}

describe('install of a copy packed from a source checkout (npm pack)', function () {
  this.timeout(600000);
  let pack;
  before(() => {
    pack = plainPack();
    const manifest = JSON.parse(spawnSync('tar', ['-xOzf', pack.file, 'package/package.json'], { encoding: 'utf8' }).stdout);
    assert.strictEqual(manifest.optionalDependencies, undefined, 'a plain pack lists no platform package');
  });
  after(() => {
    removeScratchProjects();
    if (pack) fs.rmSync(pack.dir, { recursive: true, force: true });
  });

  it('without Go on PATH: the install fails with what to install and the command that then works', () => {
    const project = scratchProject({ shell: true });
    const result = npmInstall(project, [ADDON_API, pack.file]);
    assert.notStrictEqual(result.status, 0, result.output);
    assert.match(result.output, /Go was not found on PATH/);
    assert.match(result.output, /packed from a source checkout/);
    assert.match(result.output, /npm install node-addon-api <the same @bluelibs\/runner-native>/);
    assert.doesNotMatch(result.output, /npm rebuild/, 'npm rolled the package back: a rebuild would find nothing');
  });

  it('installed with --ignore-scripts, the first require says it must be built, and how', () => {
    const project = scratchProject({ shell: true });
    const result = npmInstall(project, ['--ignore-scripts', pack.file]);
    assert.strictEqual(result.status, 0, result.output);
    const { status, stdout, stderr } = runNode(project, REQUIRE);
    assert.strictEqual(status, 3, stderr);
    assert.strictEqual(stdout, 'RUNNER_NATIVE_SOURCE_COPY\n');
    assert.match(stderr, /carries no prebuilt binaries and lists no\nplatform package/);
    assert.match(stderr, /npm install node-addon-api <the same @bluelibs\/runner-native you installed>/);
  });

  it('with Go and a compiler: the command the messages give installs it, builds it, and a task answers over HTTP', async () => {
    const project = scratchProject({ shell: true });
    project.env.PATH = `${project.env.PATH}${path.delimiter}${process.env.PATH}`; // go, cc, make, python3
    const result = npmInstall(project, [ADDON_API, pack.file]);
    assert.strictEqual(result.status, 0, result.output);
    assert.ok(fs.existsSync(path.join(project.dir, 'node_modules', '@bluelibs', 'runner-native', 'build', 'Release')), 'built by its install hook');
    const res = await serveOneTask(project);
    assert.deepStrictEqual({ status: res.status, body: res.body, code: res.code }, { status: 200, body: { ok: true, result: { sum: 8, arch: process.arch } }, code: 0 }, res.stderr);
  });
});
