'use strict';
/**
 * Where the hand-off spends its system calls: runs runner-native and the pure-Go ceiling
 * in turn under `strace -c -f` while wrk loads them with the small request, and prints
 * the calls per request by kind (futex, epoll, eventfd reads/writes, socket reads/writes,
 * sleeps). strace slows the servers down; the counts per request are what matter.
 *
 *   npm run bench:syscalls [-- --duration 4 --conns 64]
 *
 * Needs strace and wrk (apt-get install strace wrk).
 */
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : def; };
const DURATION = opt('duration', 4);
const CONNS = opt('conns', 64);
const PORT = 17091;
const BODY = '{"input":{"a":5,"b":3}}';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function wrk(seconds) {
  const out = execFileSync('wrk', ['-t1', `-c${CONNS}`, `-d${seconds}s`, '-s', path.join(__dirname, 'lua', 'post.lua'), `http://127.0.0.1:${PORT}/__runner/task/app.tasks.add`], { env: { ...process.env, WRK_BODY: BODY }, encoding: 'utf8' });
  return JSON.parse(out.match(/WRKJSON (\{.*\})/)[1]);
}

async function measure(label, cmd, argv) {
  const server = spawn(cmd, argv, { env: { ...process.env, PORT: String(PORT) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => server.stdout.on('data', (c) => /ready|listening/.test(String(c)) && resolve()));
  wrk(2); // warm-up: JIT, pools
  const out = path.join(os.tmpdir(), `syscalls-${server.pid}.txt`);
  const strace = spawn('strace', ['-c', '-f', '-p', String(server.pid), '-o', out], { stdio: 'ignore' });
  await sleep(500); // attached
  const w = wrk(DURATION);
  strace.kill('SIGINT');
  await new Promise((r) => strace.on('exit', r));
  server.kill('SIGKILL');
  await new Promise((r) => server.on('exit', r));
  const counts = {};
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const m = line.trim().match(/^[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/);
    if (m && m[2] !== 'total') counts[m[2]] = Number(m[1]);
  }
  fs.rmSync(out, { force: true });
  return { label, requests: w.requests, counts };
}

async function main() {
  const goBinary = path.join(root, 'build', 'bench', 'runner-go');
  fs.mkdirSync(path.dirname(goBinary), { recursive: true });
  execFileSync('go', ['build', '-trimpath', '-o', goBinary, './cmd/runner-go'], { cwd: root, stdio: 'inherit' });
  const runs = [
    await measure('runner-native', process.execPath, [path.join(__dirname, 'servers', 'native.js')]),
    await measure('pure Go (ceiling)', goBinary, ['-port', String(PORT)]),
  ];
  const kinds = ['futex', 'epoll_pwait', 'epoll_wait', 'read', 'write', 'nanosleep', 'sched_yield'];
  const lines = [
    `Syscalls per request, \`strace -c -f\` over ${DURATION} s of wrk -t1 -c${CONNS} (small request); reads and writes include libuv's eventfd.`,
    '',
    `| server | requests | ${kinds.join(' | ')} | all |`,
    `|---|---:|${kinds.map(() => '---:').join('|')}|---:|`,
  ];
  for (const r of runs) {
    const all = Object.values(r.counts).reduce((a, b) => a + b, 0);
    lines.push(`| ${r.label} | ${r.requests} | ${kinds.map((k) => ((r.counts[k] || 0) / r.requests).toFixed(2)).join(' | ')} | ${(all / r.requests).toFixed(2)} |`);
  }
  console.log(lines.join('\n'));
}

main().catch((err) => { console.error(err); process.exit(1); });
