'use strict';
/**
 * The benchmark: every server in turn on 127.0.0.1, loaded by wrk, rounds interleaved,
 * medians reported. Writes docs/benchmarks.md (or bench/results/smoke.md with --smoke).
 *
 *   npm run bench                       full run (about 10 minutes)
 *   npm run bench -- --smoke            a few seconds per server: correctness checks, no doc
 *   npm run bench -- --rounds 5 --duration 10 --servers native,go --scenarios small
 *   npm run bench -- --baseline e8f8979  also measures runner-native as built from that
 *                                        commit (a git worktree under bench/results), for
 *                                        before/after rows from one interleaved run
 *                                        (with runner-native / runner6-native, their
 *                                        rows too); several: --baseline e8f8979,103ca8d
 *
 * Each server's answers are checked before and after it is measured, and a run with
 * socket errors or non-2xx answers is rejected, so a broken server cannot post a number.
 */
const { spawn, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = parseArgs(process.argv.slice(2));
const SMOKE = Boolean(args.smoke);
const ROUNDS = Number(args.rounds || (SMOKE ? 1 : 3));
const DURATION = Number(args.duration || (SMOKE ? 1 : 5));
const IDLE_CONNS = Number(args['idle-conns'] || (SMOKE ? 200 : 2000));
const PORT = 17071;
const CLK_TCK = 100;

const { burn, CPU_ROUNDS, STREAM_BYTES, STREAM_TASK, streamDigest } = require('./handlers');
const competitors = require('./competitors');

const ECHO_INPUT = JSON.stringify({ input: { items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'], price: i * 1.25, ok: i % 2 === 0 })) } });

const SCENARIOS = [
  // First: measured on a freshly started process, before load grows the heap and hides
  // what idle connections cost.
  { name: 'idle', what: `RSS per idle keep-alive connection, and CPU while holding them, ${IDLE_CONNS} connections`, idle: true },
  { name: 'small', what: 'add, 64 connections', path: '/__runner/task/app.tasks.add', body: '{"input":{"a":5,"b":3}}', conns: 64 },
  { name: 'echo', what: `echo ~${(ECHO_INPUT.length / 1024).toFixed(1)} KB, 64 connections`, path: '/__runner/task/app.tasks.echo', body: ECHO_INPUT, conns: 64 },
  { name: 'sleep', what: 'sleep 5 ms, 1000 connections', path: '/__runner/task/app.tasks.sleep', body: '{"input":{"ms":5}}', conns: 1000 },
  { name: 'sequential', what: 'add, 1 connection', path: '/__runner/task/app.tasks.add', body: '{"input":{"a":5,"b":3}}', conns: 1 },
  { name: 'pipelined', what: 'add, 8 connections x 16 in flight', path: '/__runner/task/app.tasks.add', body: '{"input":{"a":5,"b":3}}', conns: 8, pipeline: 16 },
  { name: 'cpu', what: `~1 ms of CPU per call (FNV-1a over 4 KiB, ${CPU_ROUNDS} rounds), 64 connections`, path: '/__runner/task/app.tasks.cpu', body: '{}', conns: 64 },
  // The runner servers only: one @bluelibs/runner app, its add task behind a token.
  { name: 'runner', group: 'runner', what: '@bluelibs/runner app (5.5.0; 6.4.1 for the runner 6 rows), add, 64 connections, token auth', path: '/__runner/task/app.tasks.add', body: '{"input":{"a":5,"b":3}}', conns: 64, token: 'bench-token' },
  { name: 'runner-sequential', group: 'runner', what: 'the same runner app, add, 1 connection, token auth', path: '/__runner/task/app.tasks.add', body: '{"input":{"a":5,"b":3}}', conns: 1, token: 'bench-token' },
  // Streams both ways: each request uploads STREAM_BYTES as application/octet-stream, the
  // handler reads all of it, then answers with a stream of STREAM_BYTES (chunked).
  { name: 'stream', group: 'stream', what: `a ${STREAM_BYTES / 2 ** 20} MiB upload read by the handler and a ${STREAM_BYTES / 2 ** 20} MiB streamed answer per request, 16 connections`, path: `/__runner/task/${STREAM_TASK}`, bodyBytes: STREAM_BYTES, contentType: 'application/octet-stream', conns: 16, token: 'bench-token' },
];

const goBinary = path.join(root, 'build', 'bench', 'runner-go');
const SERVERS = {
  native: { label: 'runner-native', cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'native.js')]] },
  'native-lowmem': { label: 'runner-native, reduceMemoryUsage', env: { REDUCE_MEMORY: '1' }, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'native.js')]] },
  // What onRequests costs: the scenarios where the bridge's cost per request shows most.
  'native-logged': { label: 'runner-native, onRequests (a record per request)', only: ['small', 'sequential', 'pipelined'], env: { ACCESS_LOG: '1' }, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'native.js')]] },
  // The musl packages' transport (the Go server as a program; addon/go_process.h), forced on glibc.
  'native-process': { label: 'runner-native, Go server as a program (musl\'s transport)', only: ['small', 'sequential', 'pipelined', 'echo'], env: { RUNNER_NATIVE_TRANSPORT: 'process' }, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'native.js')]] },
  'native-2t': { label: 'runner-native, 2 JS threads', threads: true, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'native-threads.js')]] },
  'node-http': { label: 'node:http', groups: ['seed', 'stream'], cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'node-http.js')]] },
  'node-cluster': { label: 'node:cluster, 2 node:http workers', threads: true, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'node-cluster.js')]] },
  fastify: { label: 'Fastify', cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'fastify.js')]] },
  uws: { label: 'uWebSockets.js', competitor: true, env: { NODE_PATH: competitors.modulesPath() }, cmd: () => [process.execPath, [path.join(__dirname, 'servers', 'uws.js')]] },
  bun: { label: 'Bun', competitor: true, cmd: () => [competitors.bunPath(), [path.join(__dirname, 'servers', 'bun.js')]] },
  go: { label: 'pure Go (ceiling)', cmd: () => [goBinary, ['-port', String(PORT)]] },
  'runner-node': { groups: ['runner', 'stream'], label: 'nodeExposure (runner)', env: { EXPOSURE: 'node' }, cmd: runnerApp },
  'runner-native': { groups: ['runner', 'stream'], label: 'nativeExposure', env: { EXPOSURE: 'native' }, cmd: runnerApp },
  'runner-seed': { groups: ['runner', 'stream'], label: 'TunnelServer, seed protocol', env: { EXPOSURE: 'seed' }, cmd: runnerApp },
  // runner 6 (installed into .runner6/ from the vendored tarball; skipped without it):
  // compared with runner 6's own exposure, as the runner 5 rows are with nodeExposure.
  // Both on the Node runner 6 supports (engines: >=22; see useRunner6).
  'runner6-node': { groups: ['runner'], runner6: true, versus: 'runner6-node', label: 'rpcLanesResource (runner 6)', env: { EXPOSURE: 'runner6-node' }, cmd: (extra) => runnerApp(extra, runner6Node) },
  'runner6-native': { groups: ['runner'], runner6: true, versus: 'runner6-node', label: 'nativeRpcLanes (runner 6)', env: { EXPOSURE: 'runner6-native' }, cmd: (extra) => runnerApp(extra, runner6Node) },
};

/**
 * Checks out and builds git ref `ref` in its own worktree under bench/results (outside
 * build/, which node-gyp wipes), once, and adds it as the server "baseline-<sha>": the
 * same benchmark server script, loading that build of the package instead of this one.
 */
function addBaseline(ref) {
  const sha = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = path.join(__dirname, 'results', 'baselines', sha);
  if (!fs.existsSync(path.join(dir, 'build', 'Release'))) {
    console.log(`building the baseline ${sha} in ${path.relative(root, dir)}`);
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync('git', ['worktree', 'prune'], { cwd: root });
    execFileSync('git', ['worktree', 'add', '--detach', dir, sha], { cwd: root, stdio: 'inherit' });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync(process.execPath, ['scripts/build.js'], { cwd: dir, stdio: 'inherit' });
  }
  const name = `baseline-${sha}`;
  SERVERS[name] = { label: `runner-native @ ${sha}`, env: { BENCH_MODULE: dir }, cmd: SERVERS.native.cmd };
  SERVERS[`${name}-2t`] = { ...SERVERS['native-2t'], label: `runner-native @ ${sha}, 2 JS threads`, env: { BENCH_MODULE: dir } };
  // The runner scenario's native rows, from that build (same app, bench/servers/runner-app.js).
  SERVERS[`${name}-runner`] = { ...SERVERS['runner-native'], label: `nativeExposure @ ${sha}`, env: { ...SERVERS['runner-native'].env, BENCH_MODULE: dir } };
  SERVERS[`${name}-runner6`] = { ...SERVERS['runner6-native'], label: `nativeRpcLanes @ ${sha}`, env: { ...SERVERS['runner6-native'].env, BENCH_MODULE: dir } };
  return name;
}

/**
 * Installs runner 6 into .runner6/ when needed (scripts/runner6.js) and points the
 * runner 6 servers at it; without the vendored tarball they are taken out of `servers`
 * with a line saying so (under CI=true, where the tarball must be there, it throws).
 */
function useRunner6(servers) {
  const dir = require('../scripts/runner6').ensureRunner6();
  const runner6 = servers.filter((s) => SERVERS[s].runner6);
  if (!dir) {
    const why = 'no runner 6 tarball (../shared/vendor/bluelibs-runner-6.4.1.tgz beside the repository, or $RUNNER6_TARBALL)';
    if (process.env.CI === 'true') throw new Error(`the runner 6 servers must run under CI=true: ${why}`);
    console.log(`runner 6 servers SKIPPED (${runner6.join(', ')}): ${why}`);
    for (const s of runner6) servers.splice(servers.indexOf(s), 1);
    return;
  }
  for (const s of runner6) SERVERS[s].env.RUNNER6_DIR = dir;
  // runner 6 requires Node >= 22 (its engines field): measured on Node 20 it would be a setup
  // its users cannot have. On linux-x64 the pinned Node 22 of scripts/tools.js is used (the
  // one `npm run test:node22` runs the suite on); elsewhere the Node running this, if >= 22.
  if (Number(process.versions.node.split('.')[0]) < 22) {
    if (process.platform === 'linux' && process.arch === 'x64') {
      runner6Node = require('../scripts/tools').nodeX64('22');
    } else {
      console.log(`runner 6 servers SKIPPED (${runner6.join(', ')}): runner 6 needs Node >= 22; run the benchmark with one`);
      for (const s of runner6) servers.splice(servers.indexOf(s), 1);
      return;
    }
  }
  const version = require('child_process').execFileSync(runner6Node, ['--version'], { encoding: 'utf8' }).trim();
  for (const s of runner6) SERVERS[s].label += `, Node ${version.replace(/^v/, '')}`;
}

function runnerApp(extraArgs = [], node = process.execPath) {
  return [node, [...extraArgs, path.join(__dirname, 'servers', 'runner-app.js')]];
}

/** The Node the runner 6 servers run on (useRunner6). */
let runner6Node = process.execPath;

/** The groups of scenarios a server takes part in (default: the seed protocol's). */
const groupsOf = (name) => SERVERS[name].groups || ['seed'];

/** The scenarios a server takes part in: its groups', or only the ones it names. */
const scenariosOf = (name, scenarios) => scenarios.filter((sc) => groupsOf(name).includes(sc.group || 'seed')
  && (!SERVERS[name].only || SERVERS[name].only.includes(sc.name)));

function parseArgs(list) {
  const out = {};
  for (let i = 0; i < list.length; i++) {
    const key = list[i].replace(/^--/, '');
    if (i + 1 < list.length && !list[i + 1].startsWith('--')) out[key] = list[++i];
    else out[key] = true;
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function ensureWrk() {
  try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }); } catch (err) {
    if (err.code !== 'ENOENT') return; // wrk --version exits 1 but exists
    if (process.getuid && process.getuid() === 0) {
      console.log('installing wrk (apt-get)');
      execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'], { stdio: 'inherit' });
    } else {
      throw new Error('wrk is required: install it (e.g. `sudo apt-get install wrk` or `brew install wrk`) and retry');
    }
  }
}

function buildGo() {
  fs.mkdirSync(path.dirname(goBinary), { recursive: true });
  execFileSync('go', ['build', '-trimpath', '-o', goBinary, './cmd/runner-go'], { cwd: root, stdio: 'inherit' });
}

/** Starts a server and resolves once it printed "ready" and accepts connections. */
async function startServer(name, extraArgs) {
  const [cmd, argv] = SERVERS[name].cmd(extraArgs);
  // Its own process group: a server of several processes is measured and stopped whole.
  const child = spawn(cmd, argv, { env: { ...process.env, ...SERVERS[name].env, PORT: String(PORT) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  const deadline = Date.now() + 15000;
  while (!/ready|listening/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start: ${out}`);
    await sleep(20);
  }
  return child;
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGKILL');
  await exited;
  await sleep(200); // let the port go
}

/** Voluntary and involuntary context switches of one thread, from its status file. */
function switchesOf(file) {
  try {
    const status = fs.readFileSync(file, 'utf8');
    const n = (key) => Number((status.match(new RegExp(`${key}:\\s+(\\d+)`)) || [0, 0])[1]);
    return { vol: n('voluntary_ctxt_switches'), invol: n('nonvoluntary_ctxt_switches') };
  } catch (_) {
    return { vol: 0, invol: 0 }; // the thread ended meanwhile
  }
}

/**
 * utime+stime ticks of every process of a server's group, and of its main thread alone
 * (the JavaScript thread for Node); context switches of every thread of the group, and
 * of the main thread alone.
 */
function procStat(pid) {
  const fieldsOf = (file) => {
    try {
      const stat = fs.readFileSync(file, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch (_) {
      return null; // the process ended meanwhile
    }
  };
  const ticks = (fields) => (fields ? Number(fields[11]) + Number(fields[12]) : 0);
  let cpuTicks = 0;
  let vol = 0;
  let invol = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = fieldsOf(`/proc/${entry}/stat`);
    if (!fields || Number(fields[2]) !== pid) continue; // field 5: process group
    cpuTicks += ticks(fields);
    let tasks = [];
    try { tasks = fs.readdirSync(`/proc/${entry}/task`); } catch (_) { /* ended */ }
    for (const tid of tasks) {
      const cs = switchesOf(`/proc/${entry}/task/${tid}/status`);
      vol += cs.vol;
      invol += cs.invol;
    }
  }
  const main = switchesOf(`/proc/${pid}/task/${pid}/status`);
  return { cpuTicks, mainTicks: ticks(fieldsOf(`/proc/${pid}/task/${pid}/stat`)), vol, invol, mainSwitches: main.vol + main.invol };
}

function procStatus(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number((status.match(new RegExp(`${key}:\\s+(\\d+)`)) || [0, 0])[1]);
  return { rssKB: kb('VmRSS'), peakKB: kb('VmHWM') };
}

/** One HTTP request over a fresh socket; resolves with "status body". */
function exchange(method, urlPath, body, token) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(PORT, '127.0.0.1');
    let data = '';
    const auth = token ? `x-runner-token: ${token}\r\n` : '';
    sock.on('connect', () => sock.write(`${method} ${urlPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${auth}Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    sock.on('data', (c) => { data += c; });
    sock.on('end', () => {
      const status = (data.match(/^HTTP\/1\.1 (\d+)/) || [])[1];
      resolve(`${status} ${data.slice(data.indexOf('\r\n\r\n') + 4)}`);
    });
    sock.on('error', reject);
  });
}

/** Throws unless the server answers the protocol correctly. */
async function verify(name, scenarios) {
  if (scenariosOf(name, scenarios).some((sc) => sc.group === 'stream')) await verifyStream(name);
  if (groupsOf(name).includes('runner')) return verifyRunner(name);
  const checks = [
    ['POST', '/__runner/task/app.tasks.add', '{"input":{"a":5,"b":3}}', '200 {"ok":true,"result":8}'],
    ['POST', '/__runner/task/app.tasks.echo', ECHO_INPUT, `200 {"ok":true,"result":${JSON.stringify(JSON.parse(ECHO_INPUT).input)}}`],
    ['POST', '/__runner/task/app.tasks.sleep', '{"input":{"ms":1}}', '200 {"ok":true,"result":true}'],
    ['POST', '/__runner/task/app.tasks.cpu', '{}', `200 {"ok":true,"result":"${burn()}"}`],
    ['POST', '/__runner/event/app.events.notify', '{"payload":{"message":"hi"}}', '200 {"ok":true}'],
    ['POST', '/__runner/task/app.tasks.missing', '{}', '404 {"ok":false,"error":{"code":404,"message":"Task not found: app.tasks.missing","codeName":"NOT_FOUND"}}'],
  ];
  for (const [method, p, body, want] of checks) {
    const got = await exchange(method, p, body);
    if (got !== want) throw new Error(`${name}: wrong answer for ${method} ${p}:\n  want ${want.slice(0, 200)}\n  got  ${got.slice(0, 200)}`);
  }
}

/** The stream scenario's task: the whole upload read, the whole answer byte-exact. */
async function verifyStream(name) {
  const upload = Buffer.alloc(STREAM_BYTES, 7);
  const got = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: PORT, method: 'POST', path: `/__runner/task/${STREAM_TASK}`, agent: false, headers: { 'content-type': 'application/octet-stream', 'x-runner-token': 'bench-token', 'content-length': upload.length } }, (res) => {
      const hash = crypto.createHash('sha256');
      res.on('data', (c) => hash.update(c));
      res.on('end', () => resolve(`${res.statusCode} ${res.headers['x-bench-received']} ${hash.digest('hex')}`));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(upload);
  });
  const want = `200 ${STREAM_BYTES} ${streamDigest()}`;
  if (got !== want) throw new Error(`${name}: wrong answer for the stream task:\n  want ${want}\n  got  ${got}`);
}

/**
 * The runner servers: the add task, a wrong token, an unknown task (runner's 403, the
 * seed's 404); runner 6 also resolves a short URL id against the store (/task/add).
 * runner 6's 401 and 403 bodies are runner 5's.
 */
async function verifyRunner(name) {
  const unknown = name === 'runner-seed'
    ? '404 {"ok":false,"error":{"code":404,"message":"Task not found: app.tasks.nope","codeName":"NOT_FOUND"}}'
    : '403 {"ok":false,"error":{"message":"Task app.tasks.nope not exposed","code":"FORBIDDEN"}}';
  const checks = [
    ['/__runner/task/app.tasks.add', 'bench-token', '200 {"ok":true,"result":8}'],
    ['/__runner/task/app.tasks.add', 'wrong', name === 'runner-seed' ? '401 {"ok":false,"error":{"code":401,"message":"Missing or invalid x-runner-token header","codeName":"UNAUTHORIZED"}}' : '401 {"ok":false,"error":{"message":"Unauthorized","code":"UNAUTHORIZED"}}'],
    ['/__runner/task/app.tasks.nope', 'bench-token', unknown],
  ];
  if (SERVERS[name].runner6) checks.push(['/__runner/task/add', 'bench-token', '200 {"ok":true,"result":8}']);
  for (const [p, token, want] of checks) {
    const got = await exchange('POST', p, '{"input":{"a":5,"b":3}}', token);
    if (got !== want) throw new Error(`${name}: wrong answer for POST ${p}:\n  want ${want}\n  got  ${got}`);
  }
}

function runWrk(scenario) {
  return new Promise((resolve, reject) => {
    const wrkArgs = ['-t1', `-c${scenario.conns}`, `-d${DURATION}s`, '--timeout', '5s', '-s', path.join(__dirname, 'lua', 'post.lua'), `http://127.0.0.1:${PORT}${scenario.path}`];
    const body = scenario.bodyBytes ? { WRK_BODY_BYTES: String(scenario.bodyBytes) } : { WRK_BODY: scenario.body };
    const child = spawn('wrk', wrkArgs, { env: { ...process.env, ...body, WRK_CONTENT_TYPE: scenario.contentType || 'application/json', WRK_PIPELINE: String(scenario.pipeline || 1), WRK_TOKEN: scenario.token || '' } });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('exit', () => {
      const m = out.match(/WRKJSON (\{.*\})/);
      if (!m) reject(new Error(`wrk failed: ${out}`));
      else resolve(JSON.parse(m[1]));
    });
  });
}

async function measureLoad(name, child, scenario) {
  await runWrk(scenario).catch(() => {}); // warm-up (JIT, pools): not measured
  const before = procStat(child.pid);
  const w = await runWrk(scenario);
  const after = procStat(child.pid);
  const errors = w.connect + w.read + w.write + w.status + w.timeout;
  if (errors > 0) throw new Error(`${name}/${scenario.name}: ${errors} errors (${JSON.stringify(w)})`);
  const seconds = w.duration_us / 1e6;
  return {
    rps: w.requests / seconds,
    p50: w.p50_us / 1000,
    p99: w.p99_us / 1000,
    cpuUs: ((after.cpuTicks - before.cpuTicks) / CLK_TCK) * 1e6 / w.requests,
    mainUs: ((after.mainTicks - before.mainTicks) / CLK_TCK) * 1e6 / w.requests,
    volPerReq: (after.vol - before.vol) / w.requests,
    involPerReq: (after.invol - before.invol) / w.requests,
    mainCsPerReq: (after.mainSwitches - before.mainSwitches) / w.requests,
  };
}

/** RSS growth per idle keep-alive connection. */
async function measureIdle(child) {
  const request = 'POST /__runner/task/app.tasks.add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{"input":{"a":5,"b":3}}';
  const open = async (n) => {
    const socks = [];
    for (let i = 0; i < n; i += 100) {
      socks.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise((resolve, reject) => {
        const s = net.connect(PORT, '127.0.0.1');
        s.on('connect', () => s.write(request));
        s.once('data', () => resolve(s));
        s.on('error', reject);
      }))));
    }
    return socks;
  };
  (await open(50)).forEach((s) => s.destroy()); // warm the server's pools
  await sleep(500);
  const before = procStatus(child.pid).rssKB;
  const socks = await open(IDLE_CONNS);
  await sleep(1000);
  const after = procStatus(child.pid).rssKB;
  // CPU while nothing happens but the idle connections being held: timers, watchdogs, the
  // Go runtime's own threads. An idle server should be near 0 %.
  const t0 = procStat(child.pid);
  const idleStarted = process.hrtime.bigint();
  await sleep(DURATION * 1000);
  const seconds = Number(process.hrtime.bigint() - idleStarted) / 1e9;
  const t1 = procStat(child.pid);
  socks.forEach((s) => s.destroy());
  return {
    bytesPerConn: ((after - before) * 1024) / IDLE_CONNS,
    idleCpuPct: (((t1.cpuTicks - t0.cpuTicks) / CLK_TCK) / seconds) * 100,
    idleSwitchesPerSec: (t1.vol + t1.invol - t0.vol - t0.invol) / seconds,
  };
}

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0].model;
  const version = (cmd, a) => { try { return execFileSync(cmd, a, { encoding: 'utf8' }).split('\n')[0].trim(); } catch (e) { return String(e.stdout || '').split('\n')[0].trim() || 'unknown'; } };
  return {
    cpu, cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(),
    node: process.version, go: version('go', ['version']), wrk: version('wrk', ['--version']),
    fastify: require('fastify/package.json').version, uws: competitors.VERSIONS.uwebsockets, bun: competitors.VERSIONS.bun,
  };
}

function fmt(x, digits = 0) {
  return x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function table(results, all, scenarios, shares) {
  const lines = [];
  for (const sc of scenarios) {
    const servers = all.filter((s) => scenariosOf(s, [sc]).length > 0);
    if (servers.length === 0) continue;
    lines.push(`\n### ${sc.name}: ${sc.what}\n`);
    if (sc.group === 'runner') {
      lines.push(...runnerTable(results, servers, sc, shares));
      continue;
    }
    if (sc.group === 'stream') {
      lines.push(...streamTable(results, servers, sc));
      continue;
    }
    if (sc.idle) {
      lines.push('| server | bytes per idle connection (median) | runs | idle CPU % (holding them) | ctx switches/s |', '|---|---:|---|---:|---:|');
      for (const s of servers) {
        const rs = results[s][sc.name];
        const runs = rs.map((r) => r.bytesPerConn);
        lines.push(`| ${SERVERS[s].label} | ${fmt(median(runs))} | ${runs.map((x) => fmt(x)).join(', ')} | ${fmt(median(rs.map((r) => r.idleCpuPct)), 2)} | ${fmt(median(rs.map((r) => r.idleSwitchesPerSec)))} |`);
      }
      continue;
    }
    lines.push('| server | req/s | vs node:http | vs Go ceiling | p50 ms | p99 ms | server CPU µs/req | of it, JS thread | ctx switches/req (vol + invol) | of them, JS thread |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const med = (s, k) => median(results[s][sc.name].map((r) => r[k]));
    for (const s of servers) {
      const rps = med(s, 'rps');
      const vsNode = results['node-http'] ? rps / med('node-http', 'rps') : NaN;
      const vsGo = results.go ? rps / med('go', 'rps') : NaN;
      const oneJsThread = s !== 'go' && !SERVERS[s].threads;
      lines.push(`| ${SERVERS[s].label} | ${fmt(rps)} | ${fmt(vsNode, 2)}× | ${fmt(vsGo, 2)}× | ${fmt(med(s, 'p50'), 2)} | ${sc.pipeline ? '–' : fmt(med(s, 'p99'), 2)} | ${fmt(med(s, 'cpuUs'), 1)} | ${oneJsThread ? fmt(med(s, 'mainUs'), 1) : '–'} | ${fmt(med(s, 'volPerReq') + med(s, 'involPerReq'), 2)} (${fmt(med(s, 'volPerReq'), 2)} + ${fmt(med(s, 'involPerReq'), 2)}) | ${oneJsThread ? fmt(med(s, 'mainCsPerReq'), 2) : '–'} |`);
    }
    if (results.native && results['native-2t']) {
      const two = med('native-2t', 'rps');
      const parts = [`2 JS threads: ${fmt(two / med('native', 'rps'), 2)}× one thread's req/s`];
      if (results['node-cluster']) parts.push(`${fmt(two / med('node-cluster', 'rps'), 2)}× node:cluster's`);
      lines.push('', `Ratios (medians): ${parts.join(', ')}.`);
    }
  }
  return lines.join('\n');
}

/**
 * The runner scenario's table: req/s against runner's own exposure of the same major
 * (nodeExposure for 5.x, rpcLanesResource for 6.x), server CPU per request against the
 * seed-protocol TunnelServer's (the targets: at least 3x runner's own req/s, at most 1.3x
 * the seed's CPU per request), and the serializer's share.
 */
function runnerTable(results, servers, sc, shares) {
  const med = (s, k) => median(results[s][sc.name].map((r) => r[k]));
  const has = (s) => servers.includes(s);
  const lines = ['| server | req/s | vs runner\'s exposure (nodeExposure; 6.x: rpcLanesResource) | p50 ms | p99 ms | server CPU µs/req | CPU vs seed protocol | main-thread CPU µs/req |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const s of servers) {
    const versus = SERVERS[s].versus || 'runner-node';
    const vsNode = has(versus) ? med(s, 'rps') / med(versus, 'rps') : NaN;
    const vsSeed = has('runner-seed') ? med(s, 'cpuUs') / med('runner-seed', 'cpuUs') : NaN;
    lines.push(`| ${SERVERS[s].label} | ${fmt(med(s, 'rps'))} | ${fmt(vsNode, 2)}× | ${fmt(med(s, 'p50'), 2)} | ${fmt(med(s, 'p99'), 2)} | ${fmt(med(s, 'cpuUs'), 1)} | ${fmt(vsSeed, 2)}× | ${fmt(med(s, 'mainUs'), 1)} |`);
  }
  if (shares.length > 0) {
    lines.push('', `Serializer (runner's Serializer.parse and .stringify, inclusive) share of the JavaScript thread's busy samples during one ${DURATION} s run (--cpu-prof): `
      + `${shares.map((x) => `${SERVERS[x.name].label} ${fmt(x.share * 100, 1)} % of ${fmt(x.samples)} samples`).join('; ')}.`);
  }
  return lines;
}

/**
 * The stream scenario's table: MiB moved per second (upload plus answer) and server CPU
 * per MiB, against node:http piping the same stream (the targets: at least 2x its MiB/s
 * at most 0.5x its CPU per MiB).
 */
function streamTable(results, servers, sc) {
  const med = (s, k) => median(results[s][sc.name].map((r) => r[k]));
  const mib = (2 * STREAM_BYTES) / 2 ** 20; // per request: the upload and the answer
  const has = (s) => servers.includes(s);
  const lines = ['| server | MiB/s (up + down) | vs node:http | p50 ms | p99 ms | server CPU µs/MiB | vs node:http | main-thread CPU µs/MiB | ctx switches/MiB |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const s of servers) {
    const rate = med(s, 'rps') * mib;
    const cpu = med(s, 'cpuUs') / mib;
    const vsRate = has('node-http') ? rate / (med('node-http', 'rps') * mib) : NaN;
    const vsCpu = has('node-http') ? cpu / (med('node-http', 'cpuUs') / mib) : NaN;
    lines.push(`| ${SERVERS[s].label} | ${fmt(rate)} | ${fmt(vsRate, 2)}× | ${fmt(med(s, 'p50'), 2)} | ${fmt(med(s, 'p99'), 2)} | ${fmt(cpu)} | ${fmt(vsCpu, 2)}× | ${fmt(med(s, 'mainUs') / mib)} | ${fmt((med(s, 'volPerReq') + med(s, 'involPerReq')) / mib, 1)} |`);
  }
  return lines;
}

/** One extra run per runner exposure under --cpu-prof: the serializer's share of the JS thread. */
async function serializerShares(servers, scenarios) {
  const sc = scenarios.find((x) => x.name === 'runner');
  if (!sc) return [];
  const out = [];
  for (const name of ['runner-native', 'runner-node'].filter((s) => servers.includes(s))) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-prof-'));
    const child = await startServer(name, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    let t0;
    let t1;
    try {
      await runWrk(sc).catch(() => {}); // warm-up
      t0 = process.hrtime.bigint() / 1000n;
      await runWrk(sc);
      t1 = process.hrtime.bigint() / 1000n;
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await sleep(200); // let the port go
    }
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${name}: no CPU profile written`);
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    out.push({ name, ...serializerShare(profile, Number(t0), Number(t1)) });
    console.log(`serializer share ${SERVERS[name].label}: ${fmt(out[out.length - 1].share * 100, 1)} %`);
  }
  return out;
}

/**
 * Samples of the JavaScript thread (idle excluded) taken in [t0, t1] (µs, the monotonic
 * clock V8 and process.hrtime share), and the fraction of them inside the app
 * serializer's parse or stringify (bench/servers/runner-app.js names them).
 */
function serializerShare(profile, t0, t1) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const memo = new Map();
  const inSerializer = (id) => {
    const chain = [];
    let found = false;
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      if (memo.has(cur)) { found = memo.get(cur); break; }
      chain.push(cur);
      if (/^benchSerializer/.test(byId.get(cur).callFrame.functionName)) { found = true; break; }
    }
    for (const c of chain) memo.set(c, found);
    return found;
  };
  let t = profile.startTime;
  let samples = 0;
  let inside = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < t0 || t > t1) continue;
    const node = byId.get(profile.samples[i]);
    if (node.callFrame.functionName === '(idle)') continue;
    samples++;
    if (inSerializer(node.id)) inside++;
  }
  return { share: samples > 0 ? inside / samples : NaN, samples };
}

async function main() {
  const servers = (args.servers ? String(args.servers).split(',') : Object.keys(SERVERS));
  if (args.baseline) {
    const baselines = String(args.baseline).split(',').map(addBaseline);
    servers.splice(servers.indexOf('native') + 1, 0, ...baselines);
    // With the 2-thread server, each baseline's 2-thread build beside it.
    if (servers.includes('native-2t')) servers.splice(servers.indexOf('native-2t') + 1, 0, ...baselines.map((b) => `${b}-2t`));
    // With the runner scenario's native rows, each baseline's beside them.
    for (const [row, suffix] of [['runner-native', 'runner'], ['runner6-native', 'runner6']]) {
      if (servers.includes(row)) servers.splice(servers.indexOf(row) + 1, 0, ...baselines.map((b) => `${b}-${suffix}`));
    }
  }
  const scenarios = args.scenarios ? SCENARIOS.filter((s) => String(args.scenarios).split(',').includes(s.name)) : SCENARIOS;
  if (servers.some((s) => SERVERS[s].runner6 && scenariosOf(s, scenarios).length > 0)) useRunner6(servers);
  ensureWrk();
  if (servers.includes('go')) buildGo();
  if (servers.some((s) => SERVERS[s].competitor)) competitors.install();
  const results = Object.fromEntries(servers.map((s) => [s, Object.fromEntries(scenarios.map((sc) => [sc.name, []]))]));
  const peakRss = Object.fromEntries(servers.map((s) => [s, []]));
  const started = Date.now();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of servers) {
      if (scenariosOf(name, scenarios).length === 0) continue;
      const child = await startServer(name);
      try {
        await verify(name, scenarios);
        for (const sc of scenariosOf(name, scenarios)) {
          const r = sc.idle ? await measureIdle(child) : await measureLoad(name, child, sc);
          results[name][sc.name].push(r);
          console.log(`round ${round} ${SERVERS[name].label.padEnd(18)} ${sc.name.padEnd(10)} ${sc.idle ? `${fmt(r.bytesPerConn)} B/conn  idle cpu ${fmt(r.idleCpuPct, 2)} %` : `${fmt(r.rps).padStart(8)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  cpu ${fmt(r.cpuUs, 1)} µs/req  cs ${fmt(r.volPerReq + r.involPerReq, 2)}/req`}`);
        }
        await verify(name, scenarios);
        peakRss[name].push(procStatus(child.pid).peakKB);
      } finally {
        await stopServer(child);
      }
    }
  }
  const shares = await serializerShares(servers, scenarios);
  const m = machine();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const rssLines = ['| server | peak RSS MB (median over rounds) |', '|---|---:|', ...servers.filter((s) => peakRss[s].length > 0).map((s) => `| ${SERVERS[s].label} | ${fmt(median(peakRss[s]) / 1024, 1)} |`)];
  const doc = [
    '# Benchmarks',
    '',
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)} in ${Math.round((Date.now() - started) / 1000)} s. Every number below comes from that run.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Linux ${m.kernel}. Node ${m.node}, ${m.go}, ${m.wrk.replace(/ Copyright.*/, '')}, Fastify ${m.fastify}, uWebSockets.js (npm \`uwebsockets\`) ${m.uws}, Bun ${m.bun}.`,
    '',
    `Method: each server in turn on 127.0.0.1, started fresh each round; ${ROUNDS} rounds interleaved; each load is wrk -t1 for ${DURATION} s after an unmeasured warm-up of the same length;`,
    'medians over rounds. Server and wrk share the two cores. "Server CPU" is utime+stime of the server process from /proc over the measured run, divided by requests;',
    '"main-thread CPU" is the same for the process\'s main thread alone: the JavaScript thread of the Node servers (for runner-native, the rest is Go). wrk reports no useful p99 for pipelined requests.',
    'Answers are checked before and after each server is measured; any socket error or non-2xx answer rejects the run.',
    table(results, servers, scenarios, shares),
    '',
    '### peak memory',
    '',
    ...rssLines,
    '',
  ].join('\n');
  console.log(`\n${doc}`);
  // Only a full run (every server and scenario) may rewrite docs/benchmarks.md.
  const partial = args.servers || args.scenarios;
  const target = SMOKE ? path.join(__dirname, 'results', 'smoke.md')
    : partial ? path.join(__dirname, 'results', 'partial.md') : path.join(root, 'docs', 'benchmarks.md');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, `${doc}\nWhere the time goes, and what was tried: [performance.md](performance.md).\n`);
  console.log(`wrote ${path.relative(root, target)}`);
}

main().catch((err) => { console.error(err.message || err); process.exit(1); });
