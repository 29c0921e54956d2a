'use strict';
/**
 * Wine, for running the win32-x64 build on Linux: scripts/test-wine.js (the mocha suite) and
 * test/dist/install.test.js (npm installing the tarballs). Needs Debian's wine64 (or Ubuntu's
 * wine) and zig (scripts/tools.js) the first time, to make the prefix.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const tools = require('./tools');

function wineBinary() {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('Wine was not found: apt-get install wine64 (Debian) or wine (Ubuntu)');
}

function wineEnv(prefix) {
  return { ...process.env, WINEPREFIX: prefix, WINEARCH: 'win64', WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
}

/** The Wine prefix, made once: Windows 10, and the bcryptprimitives stand-in in system32. */
function prefix(wine) {
  const dir = path.join(tools.cacheDir(), 'wine-win10');
  const ready = path.join(dir, '.runner-native-ready');
  if (fs.existsSync(ready)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const env = wineEnv(dir);
  execFileSync(wine, ['wineboot', '--init'], { env, stdio: 'inherit' });
  execFileSync(wine, ['winecfg', '-v', 'win10'], { env, stdio: 'inherit' });
  const system32 = path.join(dir, 'drive_c', 'windows', 'system32');
  execFileSync(tools.zig(), ['cc', '-target', 'x86_64-windows-gnu', '-shared', '-O2', '-o', path.join(system32, 'bcryptprimitives.dll'),
    path.join(__dirname, 'wine', 'bcryptprimitives.c'), '-lbcrypt'], { stdio: 'inherit', cwd: os.tmpdir() });
  for (const f of fs.readdirSync(system32)) if (/^bcryptprimitives\.(lib|pdb)$/.test(f)) fs.rmSync(path.join(system32, f));
  execFileSync('wineserver', ['-w'], { env });
  fs.writeFileSync(ready, 'win10, bcryptprimitives\n');
  return dir;
}

module.exports = { wineBinary, wineEnv, prefix };
