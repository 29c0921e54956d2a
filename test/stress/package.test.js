'use strict';
// The distribution path, end to end: pack the package with this platform's prebuilt
// binaries, install the tarball into a fresh project with no Go on PATH, require it by
// name and serve a request.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { runChild } = require('../helpers');

const root = path.resolve(__dirname, '..', '..');

describe('npm package', function () {
  this.timeout(240000);

  it('installs from its tarball with prebuilt binaries and no Go, then serves', async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'prebuild.js')], { cwd: root, stdio: 'ignore' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-pkg-'));
    try {
      const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      // /usr/local/go/bin left out: the install must not build anything.
      const env = { ...process.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
      const out = execFileSync('npm', ['install', '--no-audit', '--no-fund', path.join(dir, tgz)], { cwd: dir, env, encoding: 'utf8' });
      assert.match(out, /added/);
      const installed = path.join(dir, 'node_modules', '@bluelibs', 'runner-native');
      assert.ok(!fs.existsSync(path.join(installed, 'build')), 'nothing was built from source');
      const result = await runChild(`
        const { TunnelServer } = require('@bluelibs/runner-native');
        (async () => {
          const s = new TunnelServer({ port: 0, host: '127.0.0.1' });
          s.registerTask('app.tasks.add', async (i) => i.a + i.b);
          await s.listen();
          const r = await fetch('http://127.0.0.1:' + s.port + '/__runner/task/app.tasks.add', { method: 'POST', body: '{"input":{"a":5,"b":3}}' });
          console.log(await r.text());
          await s.close();
        })();`, { cwd: dir, env: { PATH: env.PATH } });
      assert.strictEqual(result.code, 0, result.stderr);
      assert.strictEqual(result.stdout, '{"ok":true,"result":8}\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
