'use strict';
/**
 * One @bluelibs/runner 5.5.0 application, served by runner's own nodeExposure or by
 * nativeExposure (buildApp's `exposure` argument). The differential tests, the browser
 * test and the benchmark all use it.
 */
const { r, run, globals, nodeExposure, useExposureContext, hasExposureContext, cancellationError, Serializer, NodeInputFile, readInputFileToBuffer } = require('@bluelibs/runner');
const crypto = require('crypto');
const fs = require('fs');
const { EventEmitter } = require('events');
const { Readable } = require('stream');
const { pipeline } = require('stream/promises');
const { nativeExposure } = require('../../runner');

/** Tasks tell tests where they are ('started', 'aborted'), tagged with their input. */
const probe = new EventEmitter();

/** A custom serializer type: both servers' app serializer and the clients' know it. */
class Money {
  constructor(amount, currency) {
    this.amount = amount;
    this.currency = currency;
  }
}
const moneyType = {
  id: 'app.Money',
  is: (v) => v instanceof Money,
  serialize: (v) => ({ amount: v.amount, currency: v.currency }),
  deserialize: (v) => new Money(v.amount, v.currency),
};

/** A serializer as the clients need it (the custom type registered). */
function clientSerializer() {
  const s = new Serializer();
  s.addType(moneyType);
  return s;
}

// Typed errors, their helpers registered in the app (runner: store.errors).
const conflict = r.error('app.errors.conflict').httpCode(409).build();
const plainTyped = r.error('app.errors.plain').build(); // no httpCode: status 500, typed
const teapot = r.error('app.errors.teapot').httpCode(418).build(); // thrown without data

const userContext = r.asyncContext('app.ctx.user').build();

/** The ids of the tasks that ran, per runtime (a fresh array each run). */
const calls = r.resource('app.calls').init(async () => []).build();

const tasks = {
  add: r.task('app.tasks.add').run(async (input) => input.a + input.b).build(),
  echo: r.task('app.tasks.echo').dependencies({ calls }).run(async (input, { calls: ran }) => { ran.push('app.tasks.echo'); return input; }).build(),
  kind: r.task('app.tasks.kind').run(async (input) => describe(input)).build(),
  nothing: r.task('app.tasks.nothing').run(async () => undefined).build(),
  typed: r.task('app.tasks.typed').run(async (input) => conflict.throw({ reason: 'taken', at: new Date(0), input })).build(),
  typed500: r.task('app.tasks.typed500').run(async () => plainTyped.throw({ n: 1 })).build(),
  teapot: r.task('app.tasks.teapot').run(async () => { teapot.throw(undefined); }).build(),
  untyped: r.task('app.tasks.untyped').run(async () => { throw new Error('secret database detail'); }).build(),
  thrownString: r.task('app.tasks.thrownString').run(async () => { throw 'a string'; }).build(), // eslint-disable-line no-throw-literal
  cancel: r.task('app.tasks.cancel').run(async () => cancellationError.throw({ reason: 'gave up' })).build(),
  unencodable: r.task('app.tasks.unencodable').run(async () => () => 1).build(),
  context: r.task('app.tasks.context').run(async () => {
    const user = safe(() => userContext.use());
    if (!hasExposureContext()) return { user, exposure: false };
    const x = useExposureContext();
    return {
      user,
      exposure: true,
      path: x.url.pathname,
      search: x.url.search,
      basePath: x.basePath,
      method: x.method,
      custom: x.headers['x-custom'],
      requestId: x.headers['x-runner-request-id'],
      aborted: x.signal.aborted,
    };
  }).build(),
  // What a task reads of the Node request (the response object is still a difference).
  nodeObjects: r.task('app.tasks.nodeObjects').run(async () => {
    const { req, res } = useExposureContext();
    return {
      req: {
        method: req.method,
        url: req.url,
        contentType: req.headers['content-type'],
        remoteAddress: req.socket.remoteAddress,
        remotePort: Number.isInteger(req.socket.remotePort) && req.socket.remotePort > 0,
        remoteFamily: req.socket.remoteFamily,
        readable: typeof req.pipe === 'function' && typeof req.on === 'function',
      },
      res: ['writeHead', 'setHeader', 'write', 'end', 'on'].every((m) => typeof res[m] === 'function') && res.headersSent === false && res.statusCode === 200,
    };
  }).build(),
  // Waits until the client goes away, and tells what useExposureContext().signal said.
  waitAbort: r.task('app.tasks.waitAbort').run(async (tag) => {
    const { signal } = useExposureContext();
    probe.emit('started', tag);
    const reason = await new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
    probe.emit('aborted', tag, { cancellation: cancellationError.is(reason), message: reason && reason.message });
    return 'too late';
  }).build(),
  // Runs until the test releases it (a shutdown with work in flight), then tells whether
  // useExposureContext().signal fired meanwhile.
  graceful: r.task('app.tasks.graceful').run(async (tag) => {
    const { signal } = useExposureContext();
    await new Promise((resolve) => probe.emit('graceful started', tag, resolve));
    return { done: tag, aborted: signal.aborted };
  }).build(),
  // Streamed answers, as runner pipes them (httpResponse.ts respondStream).
  stream: r.task('app.tasks.stream').run(async () => Readable.from([Buffer.from('hello '), Buffer.from('world')])).build(),
  streamWrapped: r.task('app.tasks.streamWrapped').run(async () => ({
    stream: Readable.from([Buffer.from('a,b\n')]),
    status: 201,
    contentType: 'text/csv',
    headers: { 'x-extra': 'yes', 'set-cookie': 'blocked=1', 'x-frame-options': 'SAMEORIGIN', 'access-control-allow-origin': 'http://evil.test' },
  })).build(),
  // A download whose content type and headers come from the client (a file name put
  // into content-disposition, as an application would): stream-headers.test.js.
  streamHeaders: r.task('app.tasks.streamHeaders').run(async (input) => ({
    stream: Readable.from([Buffer.from('data')]),
    contentType: input.contentType,
    headers: input.headers,
  })).build(),
  // Uploads (multipart: runner's NodeInputFile objects; octet-stream: the raw body).
  upload: r.task('app.tasks.upload').run(async (input) => {
    const { tag } = input;
    probe.emit('upload started', tag, useExposureContext().signal);
    const files = input.reverse ? [...input.files].reverse() : input.files;
    const out = [];
    try {
      for (const file of files) {
        if (input.gate) await new Promise((resolve) => probe.emit('upload gate', tag, resolve));
        out.push(await digestFile(file));
      }
    } catch (err) {
      probe.emit('upload failed', tag, err);
      throw err;
    }
    return { note: input.note, files: input.reverse ? out.reverse() : out };
  }).build(),
  uploadShape: r.task('app.tasks.uploadShape').run(async (input) => shape(input)).build(),
  uploadTemp: r.task('app.tasks.uploadTemp').run(async (input) => {
    const { path: file, bytesWritten } = await input.file.toTempFile();
    const digest = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    fs.unlinkSync(file);
    return { bytesWritten, digest };
  }).build(),
  uploadBuffer: r.task('app.tasks.uploadBuffer').run(async (input) => {
    const buffer = await readInputFileToBuffer(input.file);
    return { bytes: buffer.length, digest: crypto.createHash('sha256').update(buffer).digest('hex') };
  }).build(),
  uploadIgnore: r.task('app.tasks.uploadIgnore').run(async (input) => ({ ignored: Object.keys(input || {}) })).build(),
  uploadEcho: r.task('app.tasks.uploadEcho').run(async (input) => ({ stream: input.file.stream(), contentType: input.file.type })).build(),
  uploadTwice: r.task('app.tasks.uploadTwice').run(async (input) => { input.file.stream(); input.file.stream(); }).build(),
  uploadFails: r.task('app.tasks.uploadFails').run(async (input) => { await digestFile(input.file); throw new Error('after reading'); }).build(),
  rawBody: r.task('app.tasks.rawBody').run(async (input) => {
    const { req } = useExposureContext();
    const h = crypto.createHash('sha256');
    let bytes = 0;
    for await (const chunk of req) { h.update(chunk); bytes += chunk.length; }
    return { input: input === undefined ? 'undefined' : input, bytes, digest: h.digest('hex'), type: req.headers['content-type'] };
  }).build(),
  // Response hijack (runner's TUNNELS.md): the task writes its own response.
  hijack: r.task('app.tasks.hijack').run(async () => {
    const { res } = useExposureContext();
    res.setHeader('x-hijack', 'yes');
    res.writeHead(201, { 'content-type': 'text/plain; charset=utf-8' });
    res.write('hello ');
    await new Promise((resolve) => setImmediate(resolve));
    res.end('world');
    return 'ignored: the task answered itself';
  }).build(),
  hijackEcho: r.task('app.tasks.hijackEcho').run(async () => {
    const { req, res } = useExposureContext();
    res.setHeader('content-type', 'application/octet-stream');
    await pipeline(req, res);
  }).build(),
  hijackThenThrow: r.task('app.tasks.hijackThenThrow').run(async () => {
    const { res } = useExposureContext();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error('after the head');
  }).build(),
  hijackUntouched: r.task('app.tasks.hijackUntouched').run(async () => {
    const { res } = useExposureContext();
    return { headersSent: res.headersSent, code: res.statusCode };
  }).build(),
  // Tells the test it started (before reading its body), then reads the body whole.
  rawStart: r.task('app.tasks.rawStart').run(async () => {
    const { req } = useExposureContext();
    probe.emit('raw started');
    let bytes = 0;
    for await (const chunk of req) bytes += chunk.length;
    return { bytes };
  }).build(),
  download: r.task('app.tasks.download').run(async (input) => Readable.from(pattern(input.bytes, input.chunk || 65536))).build(),
  downloadRaw: r.task('app.tasks.downloadRaw').run(async () => {
    const parts = [];
    for await (const chunk of useExposureContext().req) parts.push(chunk);
    return Readable.from(pattern(Number(Buffer.concat(parts).toString()), 65536));
  }).build(),
  hidden: r.task('app.tasks.hidden').run(async () => 'hidden').build(),
  odd: r.task('app.tasks/ünï code').run(async () => 'odd').build(),
};

const events = {
  notify: r.event('app.events.notify').build(),
  parallel: r.event('app.events.parallel').parallel(true).build(),
  failing: r.event('app.events.failing').build(),
  hiddenEvent: r.event('app.events.hidden').build(),
};

/** Records what hooks saw, per app instance (see buildApp). */
function hooks(seen) {
  return [
    r.hook('app.hooks.notify').on(events.notify).run(async (ev) => {
      seen.push({ event: ev.id, data: ev.data, user: safe(() => userContext.use()), exposure: hasExposureContext() });
      if (ev.data && typeof ev.data === 'object' && 'double' in ev.data) ev.data = { ...ev.data, double: ev.data.double * 2 };
    }).build(),
    r.hook('app.hooks.parallel').on(events.parallel).run(async () => {}).build(),
    r.hook('app.hooks.failing').on(events.failing).run(async () => conflict.throw({ reason: 'event' })).build(),
  ];
}

const authValidator = r.task('app.auth.validator')
  .tags([globals.tags.authValidator])
  .run(async (req) => ({ ok: req.headers['x-custom-auth'] === 'let-me-in' && req.path.startsWith('/') && typeof req.url === 'string' }))
  .build();

const EXPOSED_TASKS = [
  'app.tasks.add', 'app.tasks.echo', 'app.tasks.kind', 'app.tasks.nothing', 'app.tasks.typed', 'app.tasks.typed500',
  'app.tasks.teapot', 'app.tasks.untyped', 'app.tasks.thrownString', 'app.tasks.cancel', 'app.tasks.unencodable',
  'app.tasks.context', 'app.tasks.nodeObjects', 'app.tasks.waitAbort', 'app.tasks.graceful', 'app.tasks.stream', 'app.tasks.streamWrapped', 'app.tasks.streamHeaders', 'app.tasks/ünï code',
  'app.tasks.upload', 'app.tasks.uploadShape', 'app.tasks.uploadTemp', 'app.tasks.uploadBuffer', 'app.tasks.uploadIgnore', 'app.tasks.uploadEcho',
  'app.tasks.uploadTwice', 'app.tasks.uploadFails', 'app.tasks.rawBody', 'app.tasks.rawStart',
  'app.tasks.hijack', 'app.tasks.hijackEcho', 'app.tasks.hijackThenThrow', 'app.tasks.hijackUntouched', 'app.tasks.download', 'app.tasks.downloadRaw',
];
const EXPOSED_EVENTS = ['app.events.notify', 'app.events.parallel', 'app.events.failing'];

/**
 * @param {object} options
 * @param {'node'|'native'} options.exposure which server serves the app
 * @param {object} [options.http] the exposure's http config (listen defaults to port 0)
 * @param {false|object|(() => object)} [options.tunnel] the server tunnel's value (or a
 *   function making one per app); false: no tunnel
 * @param {boolean} [options.validator] register the auth validator task (default true)
 * @param {Function[]} [options.onLog] log listeners
 * @returns {Promise<{url: string, port: number, runtime: any, seen: any[], logs: any[], logWaiters: any[], value: any, ran: string[]}>}
 */
async function startApp(options) {
  const seen = [];
  const logs = [];
  const logWaiters = [];
  const http = { basePath: '/__runner', ...options.http, listen: { port: 0, ...(options.http && options.http.listen) } };
  const exposure = (options.exposure === 'native' ? nativeExposure : nodeExposure).with({ http });
  const tunnelValue = options.tunnel === undefined
    ? { mode: 'server', transport: 'http', tasks: EXPOSED_TASKS, events: EXPOSED_EVENTS }
    : typeof options.tunnel === 'function' ? options.tunnel() : options.tunnel;
  const register = [...Object.values(tasks), ...Object.values(events), ...hooks(seen), userContext, calls, conflict, plainTyped, teapot];
  if (options.validator !== false) register.push(authValidator);
  if (tunnelValue) {
    register.push(r.resource('app.tunnel').tags([globals.tags.tunnel]).init(async () => tunnelValue).build());
  }
  register.push(r.resource('app.serializer.types')
    .dependencies({ serializer: globals.resources.serializer, logger: globals.resources.logger })
    .init(async (_, { serializer, logger }) => {
      serializer.addType(moneyType);
      logger.onLog((log) => {
        logs.push(log);
        for (const w of logWaiters.splice(0)) {
          if (w.pred(log)) w.resolve(log);
          else logWaiters.push(w);
        }
      });
    }).build());
  register.push(exposure);
  const app = r.resource('app').register(register).build();
  const runtime = await run(app, { logs: { printThreshold: null }, shutdownHooks: false });
  const value = runtime.getResourceValue(exposure);
  const port = options.exposure === 'native' ? value.port : value.server.address().port;
  const ran = runtime.getResourceValue(calls);
  return { url: `http://127.0.0.1:${port}${value.basePath}`, port, runtime, seen, logs, logWaiters, value, ran };
}

function safe(fn) {
  try {
    return fn();
  } catch (_) {
    return undefined;
  }
}

/** A file's name, type, declared size and its bytes read whole (count and digest). */
async function digestFile(file) {
  if (!(file instanceof NodeInputFile)) return { notAFile: describe(file) };
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of file.stream()) { h.update(chunk); bytes += chunk.length; }
  return { name: file.name, type: file.type, size: file.size, lastModified: file.lastModified, extra: file.extra, bytes, digest: h.digest('hex') };
}

/** An input as the task sees it: files become "file <name> <type>", the rest its kind. */
function shape(v) {
  if (v instanceof NodeInputFile) return `file ${v.name} ${v.type}`;
  if (Array.isArray(v)) return v.map(shape);
  if (v && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return describe(v) === typeof v && typeof v !== 'object' ? v : describe(v);
}

/** bytes of a fixed pattern, in chunks: what download sends and tests check. */
function* pattern(bytes, chunk) {
  for (let off = 0; off < bytes; off += chunk) {
    const n = Math.min(chunk, bytes - off);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (off + i) % 251;
    yield b;
  }
}

/** What a value is, as seen by the task: its type survives only through runner's serializer. */
function describe(v) {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof Date) return 'Date';
  if (v instanceof Map) return 'Map';
  if (v instanceof Set) return 'Set';
  if (Buffer.isBuffer(v)) return 'Buffer';
  if (v instanceof Money) return 'Money';
  if (Array.isArray(v)) return 'Array';
  return typeof v;
}

module.exports = { pattern, probe, startApp, clientSerializer, Money, tasks, events, errors: { conflict, plainTyped, teapot }, userContext, EXPOSED_TASKS, EXPOSED_EVENTS };
