'use strict';
/**
 * runner 6: the signal of a lane call. runner 6.4.1's exposure runs tasks with
 * {source, signal}; the task's signal and useRpcLaneRequestContext().signal are one
 * signal that fires, with runner's cancellation error, when the client goes away
 * (compared with rpcLanesResource), and, served natively, when the call times out
 * (taskTimeoutMs) or close() reaches its deadline. A signal or response first read after
 * the abort is born aborted (destroyed).
 */
const assert = require('assert');
const http = require('http');
const { EventEmitter } = require('events');
const { requireRunner6 } = require('./runner6');
const { createRunnerExports } = require('../../lib/runner');

const TOKEN = 'secret';

describe('runner 6: the signal of a lane call', function () {
  const R = requireRunner6(this);
  if (!R) {
    it('runs with runner 6.4.1 (skipped: see the line above)', () => {});
    return;
  }
  const probe = new EventEmitter();
  const next = (event, tag) => new Promise((resolve) => probe.on(event, function on(t, info) {
    if (t === tag) { probe.off(event, on); resolve(info); }
  }));
  const explain = (reason) => ({ cancellation: R.cancellationError.is(reason), message: reason && reason.message });

  /** A runner 6 app whose lane `main` serves the probe tasks; kind: 'node' or 'native'. */
  async function start(kind, extraHttp = {}) {
    const { r, tags, rpcLanesResource, useRpcLaneRequestContext } = R;
    const { nativeRpcLanes } = createRunnerExports(R);
    const main = r.rpcLane('main').build();
    const on = [tags.rpcLane.with({ lane: main })];
    // Waits for its signal to fire and tells what it saw (defineTask: the fluent
    // builder's run does not pass the run context on).
    const waitAbort = R.defineTask({ id: 'waitAbort', tags: on, run: async (tag, _deps, context) => {
      const request = useRpcLaneRequestContext();
      probe.emit('started', tag);
      const { signal } = context;
      const reason = await new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
      probe.emit('aborted', tag, { same: request.signal === signal, ...explain(reason) });
      return 'too late';
    } });
    // Reads its raw body until the abort ends it, then reads its response and signal.
    const late = r.task('late').tags(on).run(async (tag) => {
      const { req } = useRpcLaneRequestContext();
      req.on('error', () => {});
      const ended = new Promise((resolve) => req.once('close', resolve));
      req.once('data', () => probe.emit('started', 'late'));
      req.resume();
      await ended;
      const request = useRpcLaneRequestContext();
      probe.emit('late', 'late', { resDestroyed: request.res.destroyed, aborted: request.signal.aborted, ...explain(request.signal.reason) });
      return 'too late';
    }).build();
    const comm = r.resource('comm').init(async () => ({ task: async () => undefined, event: async () => undefined })).build();
    const topology = r.rpcLane.topology({ profiles: { server: { serve: [main] } }, bindings: [{ lane: main, communicator: comm }] });
    const cfg = { profile: 'server', topology, mode: 'network', exposure: { http: { listen: { port: 0, host: '127.0.0.1' }, auth: { token: TOKEN }, ...extraHttp } } };
    const lanes = kind === 'native' ? nativeRpcLanes.with(cfg) : rpcLanesResource.with(cfg);
    const runtime = await R.run(r.resource('app').register([waitAbort, late, comm, lanes]).build(), { logs: { printThreshold: null }, shutdownHooks: false });
    const value = runtime.getResourceValue(kind === 'native' ? lanes.resource : rpcLanesResource);
    const port = kind === 'native' ? value.exposure.port : value.exposure.getHandlers().server.address().port;
    return { runtime, value, port };
  }

  /** POSTs {input: tag} to waitAbort; resolves with the request and its answer (or error). */
  function callWaitAbort(port, tag) {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/app.tasks.waitAbort', agent: false, headers: { 'x-runner-token': TOKEN, 'content-type': 'application/json' } });
    const answer = new Promise((resolve) => {
      req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', (err) => resolve(err.code));
    });
    req.end(JSON.stringify({ input: tag }));
    return { req, answer };
  }

  it('a client that goes away fires the task\'s signal, which is useRpcLaneRequestContext().signal, with runner\'s cancellation error', async () => {
    const seen = {};
    for (const kind of ['node', 'native']) {
      const app = await start(kind);
      try {
        const tag = `gone-${kind}`;
        const started = next('started', tag);
        const aborted = next('aborted', tag);
        const { req } = callWaitAbort(app.port, tag);
        await started;
        req.destroy();
        seen[kind] = await aborted;
      } finally {
        await app.runtime.dispose();
      }
    }
    assert.deepStrictEqual(seen.native, seen.node);
    assert.deepStrictEqual(seen.node, { same: true, cancellation: true, message: seen.node.message });
    assert.match(seen.node.message, /Client Closed Request/);
  });

  it('a signal and a response first read after the client went away are born aborted and destroyed', async () => {
    const app = await start('native');
    try {
      const started = next('started', 'late');
      const seen = next('late', 'late');
      const req = http.request({ host: '127.0.0.1', port: app.port, method: 'POST', path: '/__runner/task/app.tasks.late', agent: false, headers: { 'x-runner-token': TOKEN, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
      req.on('error', () => {});
      req.write('first chunk');
      await started;
      req.destroy();
      const got = await seen;
      assert.deepStrictEqual(got, { resDestroyed: true, aborted: true, cancellation: true, message: got.message });
      assert.match(got.message, /Client Closed Request/);
    } finally {
      await app.runtime.dispose();
    }
  });

  it('served natively, taskTimeoutMs answers 504 and fires the task\'s signal', async () => {
    const app = await start('native', { taskTimeoutMs: 50 });
    try {
      const aborted = next('aborted', 'timeout');
      const { answer } = callWaitAbort(app.port, 'timeout');
      assert.strictEqual(await answer, 504);
      const got = await aborted;
      assert.deepStrictEqual(got, { same: true, cancellation: true, message: got.message });
      assert.match(got.message, /taskTimeoutMs/);
    } finally {
      await app.runtime.dispose();
    }
  });

  it('served natively, close() past its deadline answers 503 and fires the task\'s signal', async () => {
    const app = await start('native');
    try {
      const started = next('started', 'deadline');
      const aborted = next('aborted', 'deadline');
      const { answer } = callWaitAbort(app.port, 'deadline');
      await started;
      await app.value.exposure.server.close({ timeoutMs: 0 });
      assert.strictEqual(await answer, 503);
      const got = await aborted;
      assert.deepStrictEqual(got, { same: true, cancellation: true, message: got.message });
      assert.match(got.message, /The server is closing/);
    } finally {
      await app.runtime.dispose();
    }
  });
});
