'use strict';
/**
 * The servers a user would pick instead of runner-native and that are not Node packages
 * of this project: uWebSockets.js (the npm package `uwebsockets`, which ships its
 * prebuilt binaries) and Bun (the npm package `bun`, whose platform package ships the
 * executable). They are installed on first use into bench/results/competitors (ignored by
 * git), never by `npm install`: a user of runner-native does not download 100 MB of
 * benchmark competitors.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

/** Pinned, so that a benchmark table names what it measured. */
const VERSIONS = { uwebsockets: '3.0.6', bun: '1.4.5' };
const DIR = path.join(__dirname, 'results', 'competitors');

/** Installs the competitors once (npm, from the configured registry). */
function install() {
  const marker = path.join(DIR, 'installed.json');
  const want = JSON.stringify(VERSIONS);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return;
  fs.mkdirSync(DIR, { recursive: true });
  console.log(`installing the benchmark competitors into ${path.relative(path.resolve(__dirname, '..'), DIR)}: ${Object.entries(VERSIONS).map(([n, v]) => `${n}@${v}`).join(', ')}`);
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', DIR,
    ...Object.entries(VERSIONS).map(([n, v]) => `${n}@${v}`)], { stdio: 'inherit' });
  fs.writeFileSync(marker, want);
}

/** The Bun executable (from the platform package the `bun` package depends on). */
function bunPath() {
  return path.join(DIR, 'node_modules', '.bin', process.platform === 'win32' ? 'bun.exe' : 'bun');
}

/** The folder that resolves `require('uwebsockets')` for bench/servers/uws.js. */
function modulesPath() {
  return path.join(DIR, 'node_modules');
}

module.exports = { VERSIONS, install, bunPath, modulesPath };
