'use strict';
/**
 * Keeps npm/<key>/package.json, the platform packages' manifests, and the release workflow's
 * test matrix in line with the platform table (lib/platforms.js) and the main package's version.
 *
 *   node scripts/platforms.js check   lists every disagreement, exits 1 if there is one
 *   node scripts/platforms.js sync    sets every platform package's version to the main one
 *                                     (run by `npm version` as its "version" hook)
 */
const fs = require('fs');
const path = require('path');
const { PLATFORMS, root, packageName, packageFiles } = require('../lib/platforms');

const manifestPath = (key) => path.join(root, 'npm', key, 'package.json');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const mainManifest = () => readJson(path.join(root, 'package.json'));

/** @returns {string[]} problems; empty when everything agrees */
function check() {
  const main = mainManifest();
  const problems = [];
  const dirs = fs.readdirSync(path.join(root, 'npm'));
  for (const dir of dirs) if (!PLATFORMS[dir]) problems.push(`npm/${dir}: not a platform of lib/platforms.js`);
  for (const [key, target] of Object.entries(PLATFORMS)) {
    const file = manifestPath(key);
    if (!fs.existsSync(file)) {
      problems.push(`npm/${key}/package.json: missing`);
      continue;
    }
    const pkg = readJson(file);
    const expect = {
      name: packageName(key),
      version: main.version,
      license: main.license,
      os: [target.os],
      cpu: [target.cpu],
      libc: target.libc ? [target.libc] : undefined,
      files: packageFiles(key),
    };
    for (const [field, want] of Object.entries(expect)) {
      if (JSON.stringify(pkg[field]) !== JSON.stringify(want)) {
        problems.push(`npm/${key}/package.json: ${field} is ${JSON.stringify(pkg[field])}, expected ${JSON.stringify(want)}`);
      }
    }
  }
  // The release workflow's test matrix runs every platform, on its own runner.
  const workflow = fs.readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8');
  const matrix = /^\s+platform: \[(.+)\]$/m.exec(workflow);
  if (!matrix || JSON.stringify(matrix[1].split(/,\s*/).sort()) !== JSON.stringify(Object.keys(PLATFORMS).sort())) {
    problems.push(`.github/workflows/release.yml: the test matrix's platforms are ${matrix ? matrix[1] : 'missing'}, expected ${Object.keys(PLATFORMS).join(', ')}`);
  }
  return problems;
}

function sync() {
  const { version } = mainManifest();
  for (const key of Object.keys(PLATFORMS)) {
    const pkg = readJson(manifestPath(key));
    pkg.version = version;
    fs.writeFileSync(manifestPath(key), `${JSON.stringify(pkg, null, 2)}\n`);
  }
  console.log(`runner-native: platform packages set to ${version}`);
}

module.exports = { check };

if (require.main === module) {
  const command = process.argv[2];
  if (command === 'sync') {
    sync();
  } else if (command === 'check') {
    const problems = check();
    for (const p of problems) console.error(p);
    if (problems.length) process.exit(1);
    console.log(`runner-native: ${Object.keys(PLATFORMS).length} platform packages agree with lib/platforms.js and version ${mainManifest().version}`);
  } else {
    console.error('usage: node scripts/platforms.js check|sync');
    process.exit(2);
  }
}
