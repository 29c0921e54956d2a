'use strict';
/**
 * `npm run test:musl`: the addon's process transport (addon/go_process.c, the one musl
 * uses) driven from a musl process. No musl Node can be had here, so a static musl C host
 * (test/musl/host.c, built by Debian's musl-gcc, or zig without it) stands in for it: it starts the Go server program,
 * serves a request through it and closes it, as the addon does. The mocha suite itself runs
 * through the same transport on glibc with `npm run test:process`.
 *
 * The server program is dist/linux-x64-musl's (from `npm run pack:platforms`) when it is
 * there, else build/Release's (`npm run build`): both are the same static Go program.
 */
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { root, SERVER_PROGRAM } = require('../lib/platforms');

function fail(message) {
  console.error(`runner-native: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail('test:musl runs on linux-x64 (zig builds the musl host there)');
const server = [path.join(root, 'dist', 'linux-x64-musl', SERVER_PROGRAM), path.join(root, 'build', 'Release', SERVER_PROGRAM)]
  .find((f) => fs.existsSync(f));
if (!server) fail(`no ${SERVER_PROGRAM} in dist/linux-x64-musl or build/Release: run \`npm run build\` first`);

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-musl-'));
try {
  const host = path.join(scratch, 'host');
  // Debian's musl-gcc (musl-tools) links against a prebuilt musl in seconds; zig, without
  // it, builds musl from source first (minutes on a cold cache).
  const hasMuslGcc = !spawnSync('musl-gcc', ['--version']).error;
  const [cc, target] = hasMuslGcc ? ['musl-gcc', []] : [require('./tools').zig(), ['cc', '-target', 'x86_64-linux-musl']];
  const args = [...target, '-static', '-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror',
    `-I${path.join(root, 'cmd', 'librunner')}`, `-I${path.join(root, 'addon')}`,
    path.join(root, 'test', 'musl', 'host.c'), path.join(root, 'addon', 'go_process.c'), '-o', host, ...(hasMuslGcc ? ['-pthread'] : [])];
  console.log(`> ${path.basename(cc)} ${args.join(' ')}`);
  execFileSync(cc, args, { stdio: 'inherit' });
  // A static musl program has no program interpreter: neither glibc's nor any other.
  const elf = fs.readFileSync(host);
  if (elf.includes(Buffer.from('ld-linux-')) || elf.includes(Buffer.from('/lib/ld-musl'))) fail('the host is not a static musl program');
  console.log(`> ${host} ${path.relative(root, server)}`);
  const run = spawnSync(host, [server], { encoding: 'utf8', timeout: 120000 });
  process.stdout.write(run.stdout || '');
  process.stderr.write(run.stderr || '');
  if (run.status !== 0 || !/^ok: /m.test(run.stdout)) fail(`the musl host failed (status ${run.status}${run.error ? `, ${run.error.message}` : ''})`);
  console.log('runner-native: the process transport works from a musl process');
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
