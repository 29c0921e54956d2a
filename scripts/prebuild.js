'use strict';
/**
 * Copies this platform's build into prebuilds/<platform>-<arch>/, which `npm pack` ships
 * and scripts/install.js uses, so users on this platform need no Go or compiler.
 * CI runs it once per platform after the tests pass.
 */
const fs = require('fs');
const path = require('path');
const { libraryName, nativeDirs } = require('../lib/paths');

const [build, prebuilt] = nativeDirs();
const files = ['runner_native.node', libraryName()];
for (const f of files) {
  if (!fs.existsSync(path.join(build, f))) {
    console.error(`runner-native: ${path.join(build, f)} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}
fs.mkdirSync(prebuilt, { recursive: true });
for (const f of files) fs.copyFileSync(path.join(build, f), path.join(prebuilt, f));
console.log(`runner-native: prebuilt binaries in ${path.relative(process.cwd(), prebuilt)}`);
