'use strict';
/** Shared helpers of the end-to-end tests: real servers on 127.0.0.1, real HTTP clients. */
const http = require('http');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const assert = require('assert');
const { TunnelServer } = require('..');

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

/** Every server started by a test, closed after it. */
const started = new Set();

/**
 * Starts a server on 127.0.0.1 with a free port.
 * @param {object} [config] extra TunnelConfig fields
 * @param {(s: TunnelServer) => void} [setup] registers handlers before listen()
 */
async function startServer(config = {}, setup) {
  const server = new TunnelServer({ port: 0, host: '127.0.0.1', ...config });
  if (setup) setup(server);
  await server.listen();
  started.add(server);
  return server;
}

async function closeAll() {
  const servers = [...started];
  started.clear();
  await Promise.all(servers.map((s) => s.close()));
}

/**
 * One HTTP request.
 * @returns {Promise<{status: number, headers: object, text: string, body: any, raw: Buffer}>}
 */
function request(port, method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(
      typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port, method, path: urlPath, agent,
      headers: { 'content-type': 'application/json', ...(payload ? { 'content-length': payload.length } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        let parsed;
        try { parsed = text ? JSON.parse(text) : undefined; } catch (_) { parsed = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, body: parsed, raw });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

const post = (port, urlPath, body, headers) => request(port, 'POST', urlPath, body, headers);

/** Counts the complete HTTP responses (Content-Length framed, or bodiless) at the start of latin1 text. */
function completeResponses(text) {
  let count = 0;
  let at = 0;
  for (;;) {
    const head = text.indexOf('\r\n\r\n', at);
    if (head < 0) return count;
    const lines = text.slice(at, head);
    const m = lines.match(/\r\ncontent-length:\s*(\d+)/i);
    const end = head + 4 + (m ? Number(m[1]) : 0);
    if (text.length < end) return count; // latin1: one character per byte
    count++;
    at = end;
  }
}

/**
 * Writes raw bytes on a fresh connection and collects everything the server sends,
 * until it closes the connection or `responses` complete responses have arrived.
 */
function rawExchange(port, bytes, responses = 1) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c) => {
      chunks.push(c);
      if (completeResponses(Buffer.concat(chunks).toString('latin1')) >= responses) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
  });
}

/**
 * Runs a script (or, with `file`, a file) in a child Node process.
 * @returns {Promise<{code: number|null, signal: string|null, stdout: string, stderr: string, ms: number}>}
 */
function runChild(script, { args = [], env = {}, timeoutMs = 15000, onSpawn, cwd, file } = {}) {
  return new Promise((resolve, reject) => {
    const began = Date.now();
    const child = spawn(process.execPath, file ? [file, ...args] : ['-e', script, ...args], {
      cwd: cwd || path.resolve(__dirname, '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out; stdout=${stdout} stderr=${stderr}`)); }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Give the pipes a moment to deliver the last bytes.
      setImmediate(() => resolve({ code, signal, stdout, stderr, ms: Date.now() - began }));
    });
    if (onSpawn) onSpawn(child);
  });
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Asserts a full error envelope whose HTTP status equals its code. */
function assertError(res, status, codeName, message) {
  assert.strictEqual(res.status, status, res.text);
  assert.strictEqual(res.headers['content-type'], JSON_TYPE);
  assert.deepStrictEqual(Object.keys(res.body), ['ok', 'error']);
  assert.strictEqual(res.body.ok, false);
  assert.deepStrictEqual(Object.keys(res.body.error), ['code', 'message', 'codeName']);
  assert.strictEqual(res.body.error.code, status);
  assert.strictEqual(res.body.error.codeName, codeName);
  assert.strictEqual(typeof res.body.error.message, 'string');
  if (message instanceof RegExp) assert.match(res.body.error.message, message);
  else if (message !== undefined) assert.strictEqual(res.body.error.message, message);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls cond (state, never time) until it holds; mocha's timeout ends a wait that
 * never does. Resolves with cond's truthy value.
 * @param {() => any} cond
 */
async function waitFor(cond) {
  for (;;) {
    const value = await cond();
    if (value) return value;
    await sleep(2);
  }
}

module.exports = { startServer, closeAll, request, post, rawExchange, runChild, sleep, waitFor, agent, assertError, TunnelServer };
