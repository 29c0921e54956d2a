'use strict';
// What the tarballs of `npm run pack:platforms` hold: only what a user needs, the same version
// everywhere, the platform fields npm selects by, sizes, and native files that load on every
// glibc Node supports.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { PLATFORMS, GLIBC_BASELINE, MACOS_MIN, MAIN_PACKAGE, SERVER_PROGRAM, packageName, packageFiles, nativeFiles, defaultPlatforms } = require('../../lib/platforms');
const { machO, pe, MH } = require('./binfmt');
const { binaryArch } = require('../../lib/locate');
const { check } = require('../../scripts/platforms');
const { version, tarball } = require('./helpers');
/**
 * The Go library's exports: the functions cmd/librunner/abi.h declares (one source of
 * truth), but rn_signal_fn, the type of the addon's own callback that Go calls.
 */
const EXPORTED = [...fs.readFileSync(path.join(__dirname, '..', '..', 'cmd', 'librunner', 'abi.h'), 'utf8').matchAll(/\(\*(rn_[a-z_]+)_fn\)/g)]
  .map((m) => m[1]).filter((name) => name !== 'rn_signal').sort();

const MiB = 1024 * 1024;
// The platform packages that must be in dist/: DIST_PLATFORMS (comma-separated, or `all`, as in
// the release job that gathers every platform), else what pack:platforms builds on this host.
const expected = process.env.DIST_PLATFORMS === 'all' ? Object.keys(PLATFORMS)
  : process.env.DIST_PLATFORMS ? process.env.DIST_PLATFORMS.split(',') : defaultPlatforms();

const entries = (file) => execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n').map((e) => e.replace(/^package\//, '')).sort();
const manifest = (file) => JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
const versionParts = (v) => v.split('.').map(Number);
const newer = (a, b) => { const [x, y] = [versionParts(a), versionParts(b)]; for (let i = 0; i < Math.max(x.length, y.length); i++) { if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0); } return false; };

describe('packages in dist/', () => {
  it('npm/<platform>/package.json agree with lib/platforms.js and the main version', () => {
    assert.deepStrictEqual(check(), []);
  });

  it('the main package holds the code and the sources for an opt-in build, no tests, bench or binaries', () => {
    const files = entries(tarball());
    for (const f of ['package.json', 'README.md', 'LICENSE', 'index.js', 'index.d.ts', 'lib/native.js', 'lib/locate.js',
      'lib/platforms.js', 'scripts/install.js', 'scripts/build.js', 'scripts/nodedir.js', 'binding.gyp', 'go.mod', 'go.sum',
      'cmd/librunner/main.go', 'cmd/librunner/abi.h', 'cmd/runner-server/main.go', 'addon/go_process.c']) {
      assert.ok(files.includes(f), `${f} is shipped`);
    }
    // .o: zig's empty cgo-gcc-input-*.o of a darwin build (.ci/run packs the main package after one)
    const unwanted = files.filter((f) => /_test\.go$|(^|\/)testdata\/|^internal\/gohandlers\/|^cmd\/runner-go\/|^(test|bench|examples|docs|npm|dist|build|prebuilds)\/|\.(node|so|dylib|dll|o|lib|h\.gch)$/.test(f));
    assert.deepStrictEqual(unwanted, []);
    assert.ok(fs.statSync(tarball()).size < 256 * 1024, 'the main package stays small');
  });

  it('the main package depends on every platform package, optionally, at exactly its own version', () => {
    const pkg = manifest(tarball());
    assert.strictEqual(pkg.name, MAIN_PACKAGE);
    assert.strictEqual(pkg.version, version);
    assert.deepStrictEqual(pkg.optionalDependencies, Object.fromEntries(Object.keys(PLATFORMS).map((k) => [packageName(k), version])));
    assert.strictEqual(pkg.dependencies, undefined, 'no runtime dependency');
    assert.strictEqual(pkg.devDependencies, undefined);
    assert.deepStrictEqual(Object.keys(pkg.scripts).sort(), ['build', 'install']);
  });

  for (const key of expected) {
    describe(packageName(key), () => {
      const target = PLATFORMS[key];
      let dir;
      before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-pkg-'));
        execFileSync('tar', ['-xzf', tarball(key), '-C', dir]);
      });
      after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const native = (f) => path.join(dir, 'package', f);
      const readelf = (args, f) => execFileSync('readelf', [...args, '-W', native(f)], { encoding: 'utf8' });

      it('holds only its two native files, a README and the LICENSE', () => {
        assert.deepStrictEqual(entries(tarball(key)), ['LICENSE', 'README.md', ...packageFiles(key), 'package.json'].sort());
      });

      it('has the name, version and os/cpu/libc fields npm selects it by', () => {
        const pkg = manifest(tarball(key));
        assert.deepStrictEqual(
          { name: pkg.name, version: pkg.version, os: pkg.os, cpu: pkg.cpu, libc: pkg.libc },
          { name: packageName(key), version, os: [target.os], cpu: [target.cpu], libc: target.libc && [target.libc] });
      });

      for (const f of packageFiles(key)) {
        it(`${f} is built for ${target.os}-${target.cpu}`, () => {
          assert.strictEqual(binaryArch(native(f)), target.cpu);
        });
      }

      it('is at most 4 MB packed', () => {
        assert.ok(fs.statSync(tarball(key)).size <= 4 * MiB, `${fs.statSync(tarball(key)).size} bytes`);
      });

      if (target.os === 'darwin') {
        // Cross-built with zig by .ci/run (scripts/build.js --zig), or built on a Mac by the workflow.
        const RN = EXPORTED.map((name) => `_${name}`);
        it(`both files are Mach-O dylibs for macOS ${MACOS_MIN}+`, () => {
          for (const f of nativeFiles('darwin')) {
            const m = machO(native(f));
            assert.deepStrictEqual({ f, filetype: m.filetype === MH.DYLIB || m.filetype === MH.BUNDLE, minos: m.minos }, { f, filetype: true, minos: MACOS_MIN });
          }
        });
        it(`the Go library exports the ${EXPORTED.length} rn_* functions of abi.h and loads only system libraries`, () => {
          const m = machO(native(nativeFiles('darwin')[1]));
          assert.deepStrictEqual(m.exports.filter((s) => s.startsWith('_rn_')).sort(), RN);
          const foreign = m.dylibs.filter((d) => !/^\/usr\/lib\/lib(System\.B|resolv\.9)\.dylib$|^\/System\/Library\/Frameworks\/(CoreFoundation|Security)\.framework\//.test(d));
          assert.deepStrictEqual(foreign, []);
        });
        it('the addon exports the N-API entry point and loads only libSystem (N-API binds at load time)', () => {
          const m = machO(native(nativeFiles('darwin')[0]));
          assert.ok(m.exports.includes('_napi_register_module_v1'), m.exports.join(' '));
          assert.deepStrictEqual(m.dylibs.filter((d) => !/^\/usr\/lib\/lib(System\.B|c\+\+\.1)\.dylib$/.test(d)), []);
        });
        if (target.cpu === 'arm64') {
          it('arm64: both files carry a valid ad-hoc signature (every page hash matches), as Apple silicon requires', () => {
            for (const f of nativeFiles('darwin')) {
              const sig = machO(native(f)).signature;
              assert.ok(sig && sig.valid && sig.adhoc, `${f}: ${JSON.stringify(sig)}`);
            }
          });
        }
      }

      if (target.os === 'win32') {
        // What Windows 10+ has: KERNEL32, the UCRT (api-ms-win-crt-*); the addon also node.exe.
        const system = /^(KERNEL32|WS2_32|ADVAPI32|bcrypt|ntdll|api-ms-win-crt-[a-z]+-l1-1-0)\.dll$/i;
        it(`the Go library is an x64 DLL exporting the ${EXPORTED.length} rn_* functions of abi.h, importing only Windows system DLLs`, () => {
          const dll = pe(native('runner_native.dll'));
          assert.deepStrictEqual({ machine: dll.machine, dll: dll.dll }, { machine: 'x64', dll: true });
          assert.deepStrictEqual(dll.exports.filter((s) => s.startsWith('rn_')).sort(), EXPORTED);
          assert.deepStrictEqual(dll.imports.filter((d) => !system.test(d)), [], 'no MinGW runtime DLL');
        });
        it('the addon is an x64 DLL exporting the N-API entry point, importing N-API from node.exe and system DLLs', () => {
          const addon = pe(native('runner_native.node'));
          assert.deepStrictEqual({ machine: addon.machine, dll: addon.dll }, { machine: 'x64', dll: true });
          assert.ok(addon.exports.includes('napi_register_module_v1'), addon.exports.join(' '));
          assert.ok(addon.imports.includes('node.exe'), addon.imports.join(' '));
          assert.deepStrictEqual(addon.imports.filter((d) => d !== 'node.exe' && !system.test(d)), [], 'no MinGW runtime DLL');
        });
      }

      if (target.libc === 'musl') {
        it(`${SERVER_PROGRAM} is a static program (no interpreter, no shared library): it runs on any Linux, musl included`, () => {
          assert.doesNotMatch(readelf(['-l'], SERVER_PROGRAM), /INTERP/);
          assert.doesNotMatch(readelf(['-d'], SERVER_PROGRAM), /NEEDED/);
        });
        it('the addon needs only musl\'s libc and exports only the N-API entry points', () => {
          const needed = [...readelf(['-d'], 'runner_native.node').matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
          assert.deepStrictEqual(needed, ['libc.so']);
          const exported = [...readelf(['--dyn-syms'], 'runner_native.node').matchAll(/ GLOBAL +DEFAULT +\d+ (\w+)/g)].map((m) => m[1]).sort();
          assert.deepStrictEqual(exported, ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
        });
      }

      for (const f of target.libc === 'glibc' ? nativeFiles('linux') : []) {
        it(`${f} needs no GLIBC_ symbol version above ${GLIBC_BASELINE}, and only glibc's libraries`, () => {
          const versions = [...new Set(readelf(['-V'], f).match(/GLIBC_[0-9.]+/g).map((v) => v.slice(6)))];
          const highest = versions.reduce((a, b) => (newer(b, a) ? b : a));
          assert.ok(!newer(highest, GLIBC_BASELINE), `needs GLIBC_${highest}`);
          const needed = [...readelf(['-d'], f).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
          const unexpected = needed.filter((lib) => !/^(libc|libpthread|libdl|libm|libresolv)\.so\.\d+$|^ld-linux-[\w-]+\.so\.\d+$/.test(lib));
          assert.deepStrictEqual(unexpected, [], 'only glibc libraries');
        });
      }
    });
  }
});
