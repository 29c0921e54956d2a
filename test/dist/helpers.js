'use strict';
/**
 * Helpers of the distribution tests: the tarballs `npm run pack:platforms` wrote to dist/,
 * scratch projects that install them with a PATH holding only `node` and `npm`, and a child
 * process that serves one task over real HTTP on 127.0.0.1.
 */
const assert = require('assert');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { MAIN_PACKAGE, root, packageName } = require('../../lib/platforms');

const dist = path.join(root, 'dist');
const { version } = require('../../package.json');
// npm's own script: the one running us, else the one installed beside node.
const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath
  : path.join(path.dirname(require.resolve('npm/package.json', { paths: [path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib')] })), 'bin', 'npm-cli.js');
const qemuSysroot = process.env.QEMU_SYSROOT || '/usr/aarch64-linux-gnu';

/** dist/<tarball> of the main package (key undefined) or of a platform package. */
function tarball(key) {
  const name = key ? packageName(key) : MAIN_PACKAGE;
  const file = path.join(dist, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  assert.ok(fs.existsSync(file), `${file} is missing: run \`npm run pack:platforms\` first`);
  return file;
}

const scratchDirs = new Set();

/**
 * An empty project, and a bin/ that holds only `node` and `npm`: no go, gcc, make or python.
 * With `arm64Node`, bin/node runs that arm64 Node under qemu-user. With `shell`, bin/ also has
 * `sh`, which npm needs to run install scripts.
 */
function scratchProject({ arm64Node, shell } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-dist-'));
  scratchDirs.add(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const node = path.join(bin, 'node');
  if (arm64Node) {
    const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(node, `#!/bin/sh\nexec ${qemu} -L ${qemuSysroot} ${arm64Node} "$@"\n`, { mode: 0o755 });
  } else {
    fs.symlinkSync(process.execPath, node);
  }
  fs.symlinkSync(npmCli, path.join(bin, 'npm')); // #!/usr/bin/env node: finds bin/node
  if (shell) fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return { dir, node, env: { PATH: bin, HOME: os.homedir() } };
}

function removeScratchProjects() {
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

/** @returns {{status: number, output: string}} of npm, run by the project's node in the project */
function npm(project, args, env = {}) {
  const result = spawnSync(project.node, [npmCli, ...args], { cwd: project.dir, env: { ...project.env, ...env }, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * npm install, offline: the tarballs are all it needs, and npm skips the optional platform
 * packages it cannot get, as it skips those of other platforms.
 */
function npmInstall(project, args, env = {}) {
  return npm(project, ['install', '--offline', '--no-audit', '--no-fund', ...args], env);
}

/** Runs `script` with the project's node; resolves with its exit code and output. */
function runNode(project, script, env = {}) {
  const result = spawnSync(project.node, ['-e', script], { cwd: project.dir, env: { ...project.env, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function post(port, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: urlPath, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const SERVER = `
const { TunnelServer } = require('@bluelibs/runner-native');
const server = new TunnelServer({ port: 0, host: '127.0.0.1' });
server.registerTask('app.tasks.add', async (input) => ({ sum: input.a + input.b, arch: process.arch }));
server.listen().then(() => console.log('port ' + server.port));
process.stdin.on('data', () => server.close());`;

/**
 * Starts a server with the installed package in a child (the project's node), sends it one task
 * over HTTP from this process, then lets it close and exit.
 * @returns {Promise<{status: number, body: object, code: number, stderr: string}>}
 */
function serveOneTask(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(project.node, ['-e', SERVER], { cwd: project.dir, env: project.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let answer;
    child.stderr.on('data', (c) => { stderr += c; });
    child.stdout.on('data', (c) => {
      stdout += c;
      const match = /port (\d+)/.exec(stdout);
      if (!match || answer) return;
      answer = post(Number(match[1]), '/__runner/task/app.tasks.add', { input: { a: 5, b: 3 } })
        .then((res) => { child.stdin.end('close\n'); return res; }, (error) => { child.kill(); reject(error); });
    });
    child.on('error', reject);
    child.on('close', async (code) => {
      if (!answer) return reject(new Error(`the server did not start (exit ${code}): ${stderr}`));
      const res = await answer;
      resolve({ status: res.status, body: JSON.parse(res.text), code, stderr });
    });
  });
}

/** The server Wine runs: it closes itself once its first request was answered (onRequests). */
const WINE_SERVER = `
const { TunnelServer } = require('@bluelibs/runner-native');
const server = new TunnelServer({ port: 0, host: '127.0.0.1', onRequests: () => server.close().then(() => console.log('closed')) });
server.registerTask('app.tasks.add', async (input) => ({ sum: input.a + input.b, platform: process.platform, arch: process.arch }));
server.listen().then(() => console.log('port ' + server.port));`;

/**
 * Under Wine, with the Windows node.exe (scripts/tools.js): npm (this npm's npm-cli.js) installs
 * the tarballs into a fresh project, offline and with --ignore-scripts (no sh under Wine), then
 * a server with the installed package answers one task over HTTP from this process and exits
 * by itself. Wine loses a Windows process's writes to a pipe, so its output goes to files,
 * polled for the port.
 * @returns {Promise<{install: string, status: number, body: object, exit: string, stderr: string}>}
 */
async function wineInstallAndServe(tarballs) {
  const { wineBinary, wineEnv, prefix } = require('../../scripts/wine');
  const { nodeWinX64 } = require('../../scripts/tools');
  const wine = wineBinary();
  const env = { ...wineEnv(prefix(wine)), PATH: process.env.PATH };
  const node = nodeWinX64();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-dist-wine-'));
  scratchDirs.add(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const file = (name) => path.join(dir, name);
  const run = (args, out, err) => {
    const outFd = fs.openSync(file(out), 'w');
    const errFd = fs.openSync(file(err), 'w');
    try {
      return spawn(wine, [node, ...args], { cwd: dir, env, stdio: ['ignore', outFd, errFd] });
    } finally {
      fs.closeSync(outFd);
      fs.closeSync(errFd);
    }
  };
  const exited = (child) => new Promise((resolve, reject) => { child.on('error', reject); child.on('exit', (code) => resolve(code)); });
  try {
    const code = await exited(run([npmCli, 'install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], 'npm.out', 'npm.err'));
    const install = fs.readFileSync(file('npm.out'), 'utf8') + fs.readFileSync(file('npm.err'), 'utf8');
    assert.strictEqual(code, 0, install);
    fs.writeFileSync(file('serve.js'), WINE_SERVER);
    const server = exited(run(['serve.js'], 'serve.out', 'serve.err'));
    let port;
    let early;
    server.then((c) => { early = c; });
    while (port === undefined) {
      if (early !== undefined) throw new Error(`the server exited (${early}) before listening: ${fs.readFileSync(file('serve.err'), 'utf8')}`);
      const match = /port (\d+)/.exec(fs.readFileSync(file('serve.out'), 'utf8'));
      if (match) port = Number(match[1]);
      else await new Promise((resolve) => setTimeout(resolve, 50)); // polls the file for the port
    }
    const res = await post(port, '/__runner/task/app.tasks.add', { input: { a: 5, b: 3 } });
    const exit = await server;
    const out = fs.readFileSync(file('serve.out'), 'utf8').trim().split('\n');
    return { install, status: res.status, body: JSON.parse(res.text), exit: `${out[out.length - 1]}\nexit ${exit}`, stderr: fs.readFileSync(file('serve.err'), 'utf8') };
  } finally {
    spawnSync('wineserver', ['-k'], { env }); // ends this prefix's Wine processes, nothing else
  }
}

module.exports = { dist, version, tarball, scratchProject, removeScratchProjects, npm, npmInstall, runNode, serveOneTask, wineInstallAndServe, qemuSysroot };
