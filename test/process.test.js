'use strict';
/**
 * The 'process' transport (addon/go_process.h): the Go server as a program beside Node, as
 * on musl. The whole suite runs through it too (`npm run test:process`); these cases are
 * what only a separate process can do: die, outlive or not its parent, get signals.
 */
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { spawn } = require('child_process');
const { post, waitFor, runChild } = require('./helpers');
const { SERVER_PROGRAM } = require('../lib/platforms');

const fixture = path.join(__dirname, 'fixtures', 'process-server.js');
const linux = process.platform === 'linux';
// The program sits beside the addon in a source build and in the musl packages; the glibc
// packages (mocha on a release build: RUNNER_NATIVE_BINARY_DIR) carry only the library.
const binaries = linux ? require('../lib/locate').locate().dir : null;
const hasProgram = linux && fs.existsSync(path.join(binaries, SERVER_PROGRAM));

/** Starts the fixture; next(pred) resolves with the first JSON line it printed that pred accepts. */
function startFixture(options = {}) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, RUNNER_NATIVE_TRANSPORT: 'process' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  const lines = [];
  const waiters = [];
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    lines.push(message);
    for (const w of waiters.splice(0)) if (!w.pred(message)) waiters.push(w); else w.resolve(message);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  // After its output is read to the end: a line it never printed is a failure, not a wait.
  const closed = new Promise((resolve) => child.on('close', resolve));
  const next = (pred) => new Promise((resolve, reject) => {
    const seen = lines.find(pred);
    if (seen) return resolve(seen);
    waiters.push({ pred, resolve });
    closed.then(() => reject(new Error(`the fixture ended without that line; it printed ${JSON.stringify(lines)}, stderr: ${stderr}`)));
  });
  return { child, next, exited, lines, stderr: () => stderr };
}

/** The fields of /proc/<pid>/stat after the command (state, ppid, ...), or null once it is gone. */
function procStat(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  } catch (_) {
    return null;
  }
}

/** Gone, or a zombie until init reaps it. */
function ended(pid) {
  const stat = procStat(pid);
  return stat === null || stat[0] === 'Z';
}

(linux ? describe : describe.skip)('the Go server as a separate program (RUNNER_NATIVE_TRANSPORT=process)', function () {
  beforeEach(function () {
    if (!hasProgram && this.currentTest.title.startsWith('(program)')) {
      console.log(`      (skipped: ${binaries} has no ${SERVER_PROGRAM}, as a glibc package has none; a source build does)`);
      this.skip();
    }
  });

  it('this suite runs through the transport RUNNER_NATIVE_TRANSPORT names (npm run test:process: every test through the program)', () => {
    const pid = require('../lib/native').serverPid();
    if (process.env.RUNNER_NATIVE_TRANSPORT === 'process') {
      assert.ok(pid > 0);
      assert.strictEqual(path.basename(fs.readlinkSync(`/proc/${pid}/exe`)), SERVER_PROGRAM);
    } else {
      assert.strictEqual(pid, 0, 'the Go library runs in this process');
    }
  });

  it('(program) serves requests from a child program of this Node process, and ends with close()', async () => {
    const f = startFixture();
    const { port, pid } = await f.next((m) => m.port);
    assert.ok(pid > 0, 'a server program was started');
    assert.strictEqual(path.basename(fs.readlinkSync(`/proc/${pid}/exe`)), SERVER_PROGRAM);
    assert.strictEqual(procStat(pid)[1], String(f.child.pid), 'its parent is Node');
    const res = await post(port, '/__runner/task/add', { input: { a: 2, b: 3 } });
    assert.strictEqual(res.text, '{"ok":true,"result":5}');
    f.child.kill('SIGINT');
    await f.next((m) => m.closed);
    const { code, stderr } = await f.exited;
    assert.strictEqual(code, 0, `Node exits by itself once its server is closed: nothing keeps it alive (stderr: ${stderr})`);
  });

  it('(program) a Ctrl-C reaches Node, not the server program: the request in flight is answered, then the server closes', async () => {
    const f = startFixture({ detached: true }); // its own process group, as a terminal's
    const { port, pid } = await f.next((m) => m.port);
    const inFlight = post(port, '/__runner/task/wait', { input: null });
    await f.next((m) => m.running);
    process.kill(-f.child.pid, 'SIGINT'); // the whole group: Node and the server program
    await f.next((m) => m.sigint);
    const res = await inFlight;
    assert.strictEqual(res.text, '{"ok":true,"result":"released"}');
    await f.next((m) => m.closed);
    assert.strictEqual((await f.exited).code, 0);
    await waitFor(() => ended(pid));
  });

  it('(program) the server program\'s death is an error, never a hang: calls are aborted, the error is thrown, listen() says why', async () => {
    const f = startFixture();
    const { port, pid } = await f.next((m) => m.port);
    const inFlight = post(port, '/__runner/task/wait', { input: null }).then(() => 'answered', (err) => err.code);
    await f.next((m) => m.running);
    process.kill(pid, 'SIGKILL');
    const aborted = await f.next((m) => m.aborted);
    assert.strictEqual(aborted.aborted, 'RUNNER_NATIVE_SERVER_EXITED', 'the running call\'s signal fired');
    const uncaught = await f.next((m) => m.uncaught);
    assert.strictEqual(uncaught.uncaught, 'RUNNER_NATIVE_SERVER_EXITED');
    assert.match(uncaught.message, new RegExp(`pid ${pid}\\) ended unexpectedly.*restart this Node process`));
    const relisten = await f.next((m) => m.relisten);
    assert.strictEqual(relisten.relisten, 'RUNNER_NATIVE_SERVER_EXITED');
    assert.match(relisten.message, /was killed by signal 9/);
    assert.strictEqual(await inFlight, 'ECONNRESET', 'the connection died with the server program');
    const { code } = await f.exited;
    assert.strictEqual(code, 0, 'nothing keeps Node alive after the failure');
  });

  it('(program) the server program ends when Node dies, whatever the way', async () => {
    const f = startFixture();
    const { pid } = await f.next((m) => m.port);
    f.child.kill('SIGKILL');
    await f.exited;
    // Its call socket closed with Node: it exits (a zombie until init reaps it).
    await waitFor(() => ended(pid));
  });

  it('RUNNER_NATIVE_TRANSPORT takes only library or process, and says so', async () => {
    const script = "try { require('./lib/native'); console.log('loaded'); } catch (e) { console.log(e.code + ': ' + e.message); }";
    const bad = await runChild(script, { env: { RUNNER_NATIVE_TRANSPORT: 'pipe' } });
    assert.strictEqual(bad.stdout.trim(), 'RUNNER_NATIVE_TRANSPORT_INVALID: runner-native: RUNNER_NATIVE_TRANSPORT must be \'library\' or \'process\' (or unset), got "pipe".');
    const good = await runChild(script, { env: { RUNNER_NATIVE_TRANSPORT: 'library' } });
    assert.strictEqual(good.stdout.trim(), 'loaded');
  });
});
