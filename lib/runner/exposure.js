'use strict';
/**
 * The part of nativeExposure that is the same for every runner version: a runner-protocol
 * TunnelServer whose tasks and events run through the application's task runner and
 * event manager. Go decides everything on the wire (routes, methods, auth order, CORS,
 * 403/404, body rules, envelopes); JavaScript runs calls, maps their errors and sets up
 * async contexts. What differs between runner versions is in the flavour (see
 * flavour-v5.js).
 *
 * When it listens: as nodeExposure, during its init, so the resources initialized after
 * it see the bound port. What it exposes is another matter: runner computes the
 * allow-list from the values of the tunnel resources, which exist only once those
 * resources are initialized, and runs tasks whose dependencies are computed only after
 * every resource is initialized. So the allow-list is computed and registered when runner
 * emits its ready event (before any other ready listener); a call that arrives before
 * gets runner's 403, and from then on every answer is the one runner gives once the
 * application is up. README.md ("Using with @bluelibs/runner") says why.
 */
const { TunnelServer } = require('../../index');
const W = require('../wire');
const { kDeclareMissing } = require('../symbols');
const { tunnelConfig } = require('./config');
const { toHandlerError, parallelEventError, safeLog } = require('./errors');
const { withUserContexts, ExposureRequest } = require('./contexts');
const { answerOf } = require('./response');
const { openUpload, runUpload } = require('./multipart');

/**
 * @typedef {object} Flavour what one runner version provides (see flavour-v5.js)
 * @property {string} name
 * @property {string} resourceId
 * @property {Function} defineResource
 * @property {Record<string, any>} dependencies store, taskRunner, eventManager, logger, serializer
 * @property {any} readyEvent emitted once every resource is initialized
 * @property {any} cancellationError runner's cancellation error helper
 * @property {any} exposureContext an async context with the id useExposureContext() reads
 * @property {any} NodeInputFile the class of the files an upload's task gets
 * @property {(store: any, deps: any) => any[]} authValidatorTasks
 * @property {(store: any, logger: any) => {enabled: boolean, tasks: Map<string, boolean>, events: Map<string, boolean>}} allowList
 * @property {(deps: any, task: any, input: any) => Promise<any>} runTask
 * @property {(deps: any, event: any, payload: any, withResult: boolean) => Promise<any>} emitEvent
 */

const TASK_ERROR = 'exposure.task.error';
const EVENT_ERROR = 'exposure.event.error';
const AUTH_FAILURE = 'exposure.auth.failure';
const LISTEN = 'node.exposure.listen';

class NativeExposure {
  /**
   * @param {{http?: object}|undefined} cfg the resource's config
   * @param {any} deps the resource's dependencies
   * @param {Flavour} flavour
   */
  constructor(cfg, deps, flavour) {
    const { tunnel, basePath, openExposure, maxFiles } = tunnelConfig(cfg && cfg.http);
    this.deps = deps;
    this.maxFiles = maxFiles;
    this.flavour = flavour;
    this.basePath = basePath;
    this.openExposure = openExposure;
    this.env = { store: deps.store, logger: deps.logger, cancellationError: flavour.cancellationError };
    // runner reads its validator tasks once, when the exposure is created.
    this.validators = flavour.authValidatorTasks(deps.store, deps);
    this.config = { ...tunnel, serializer: deps.serializer, onAuthFailure: (info) => this.authFailed(info) };
    if (this.validators.length > 0) this.config.authValidator = (req) => this.validate(req);
    /** @type {TunnelServer|null} */
    this.server = null;
    this.started = null;
    this.closed = false;
    // Checks the whole config now, so that a bad one fails the application's boot.
    void new TunnelServer({ ...this.config, exposure: 'closed' });
  }

  /**
   * Registers what it exposes and listens, once: for a flavour whose allow-list is known
   * at init (runner 6, rpc-lanes.js, which defines listen()). runner 5 binds and
   * publishes in two steps instead (bind, publish).
   */
  start() {
    if (this.started === null) this.started = this.listen();
    return this.started;
  }

  /**
   * runner 5: listens during init, as nodeExposure does (the port is known to the
   * resources initialized after this one), exposing nothing yet: the allow-list comes
   * from tunnel resources that may not be initialized, so publish() registers it at
   * the ready event. Until then a call gets runner's 403 (not exposed).
   */
  async bind() {
    const mode = this.openExposure ? 'open' : 'list';
    const server = new TunnelServer({ ...this.config, exposure: mode });
    await server.listen();
    this.server = server;
    this.mode = mode;
    safeLog(this.deps.logger, 'info', LISTEN, { basePath: this.basePath, port: this.config.port, host: this.config.host });
  }

  /** runner 5, at ready: registers what the allow-list exposes on the bound server. Once. */
  publish() {
    if (this.started === null) this.started = this.publishOnce();
    return this.started;
  }

  async publishOnce() {
    if (this.closed || this.server === null) return;
    const { store, logger } = this.deps;
    const list = this.flavour.allowList(store, logger);
    // runner: no server-mode tunnel → 403 "Exposure not enabled", unless the app opts
    // into open exposure, where every id of the store is callable and none is listed.
    const mode = list.enabled ? 'list' : this.openExposure ? 'open' : 'closed';
    if (mode !== this.mode) {
      // Rare (no server-mode tunnel, or open exposure and a tunnel): the exposure mode is
      // part of the server's config, so the server listens again on the port it had.
      const { port } = this.server;
      await this.server.close();
      if (this.closed) return;
      const server = new TunnelServer({ ...this.config, port, exposure: mode });
      this.server = server;
      this.mode = mode;
      this.register(server, mode, list);
      await server.listen();
      return;
    }
    this.register(this.server, mode, list);
  }

  /** Registers what mode and the allow-list expose (nothing when closed). */
  register(server, mode, list) {
    const { store } = this.deps;
    if (mode === 'list') {
      this.expose(server, list.tasks, list.events);
    } else if (mode === 'open') {
      const all = (entries, key) => new Map(Array.from(entries, (e) => [e[key].id, true]));
      this.expose(server, all(store.tasks.values(), 'task'), all(store.events.values(), 'event'), false);
    }
  }

  /**
   * Registers every id: a handler for those in the store, a 404 for allow-listed ids the
   * store does not have (runner: "Task <id> not found").
   */
  expose(server, tasks, events, listed = true) {
    const { store } = this.deps;
    for (const [id, acceptsContext] of tasks) {
      const entry = store.tasks.get(id);
      if (entry) server.registerTask(id, this.taskHandler(entry.task, acceptsContext), { listed });
      else server[kDeclareMissing](W.KIND_TASK, id, listed);
    }
    for (const [id, acceptsContext] of events) {
      const entry = store.events.get(id);
      if (entry) server.registerEvent(id, this.eventHandler(entry.event, acceptsContext), { listed });
      else server[kDeclareMissing](W.KIND_EVENT, id, listed);
    }
  }

  /** runner's task path; a multipart form goes through upload first. */
  taskHandler(task, acceptsContext) {
    return (input, ctx) => (ctx.form
      ? this.upload(task, acceptsContext, input, ctx)
      : this.runTask(task, acceptsContext, input, ctx, settle));
  }

  /**
   * runner's task run, shared by both task paths: user contexts, the exposure request
   * context, the task runner; `finish(fn, onError)` runs it (settle, or runUpload for a
   * form) and a failure becomes runner's answer.
   */
  runTask(task, acceptsContext, input, ctx, finish) {
    const { deps, flavour, env, basePath } = this;
    let run = () => flavour.runTask(deps, task, input);
    if (acceptsContext) run = withUserContexts(ctx.contextHeader, deps.store, deps.serializer, run);
    const request = new ExposureRequest(ctx, basePath, flavour.cancellationError);
    // The task's answer, unless it writes its own response first (res: response.js).
    return answerOf(finish(() => flavour.exposureContext.provide(request, run), (err) => {
      throw toHandlerError(err, env, TASK_ERROR, ctx.requestId);
    }), request.hijack);
  }

  /**
   * runner's task path for a multipart upload (lib/runner/multipart.js): the manifest
   * is the call's input, its files runner's NodeInputFile objects; a refused form
   * answers as runner answers it, without a log.
   */
  async upload(task, acceptsContext, manifest, ctx) {
    const { upload, input } = await openUpload(ctx.form, manifest, this.flavour.NodeInputFile, this.maxFiles);
    return this.runTask(task, acceptsContext, input, ctx, (fn, onError) => runUpload(upload, fn, onError));
  }

  /** runner's event path: user contexts (no request context), emit or emitWithResult. */
  eventHandler(event, acceptsContext) {
    const { deps, flavour, env } = this;
    const fail = (ctx) => (err) => { throw toHandlerError(err, env, EVENT_ERROR, ctx.requestId); };
    return (payload, ctx) => {
      const withResult = ctx.returnPayload;
      if (withResult && event.parallel) throw parallelEventError(event.id);
      let run = () => flavour.emitEvent(deps, event, payload, withResult);
      if (acceptsContext) run = withUserContexts(ctx.contextHeader, deps.store, deps.serializer, run);
      return settle(run, fail(ctx));
    };
  }

  /**
   * runner's authenticator, step 2: the validator tasks in turn, the first {ok: true}
   * wins, a throw counts as a refusal. They get runner's input: the headers (with the
   * request id runner writes into them), method, url and the URL's pathname.
   */
  async validate(req) {
    const url = req.url || '/';
    const headers = { ...req.headers }; // Go wrote the request id among them, as runner does
    // runner gives its validators the WHATWG URL's pathname (dot segments resolved,
    // percent-encoding kept), which is not the path Go routes by: derived here.
    let path;
    try {
      path = new URL(url, 'http://localhost').pathname;
    } catch (_) {
      return false;
    }
    const input = { headers, method: req.method || 'GET', url, path };
    for (const task of this.validators) {
      try {
        const result = await this.flavour.runTask(this.deps, task, input);
        if (result && result.ok) return true;
      } catch (_) {
        // a validator that throws refuses; the next one is asked
      }
    }
    return false;
  }

  /** Logs a refused request as runner does; `more` (a flood, coalesced by Go) only when there are. */
  authFailed({ requestId, method, path, status, code, more }) {
    const data = { requestId, method, path, status, code };
    if (more > 0) data.more = more;
    safeLog(this.deps.logger, 'warn', AUTH_FAILURE, data);
  }

  async close() {
    this.closed = true;
    if (this.started) await this.started.catch(() => {});
    if (this.server) await this.server.close();
  }

  /** What the resource gives the application. */
  value() {
    const self = this;
    return {
      /** The resolved base path, e.g. "/__runner". */
      basePath: this.basePath,
      /** The configured host (runner's default: 127.0.0.1). */
      host: this.config.host,
      /** The bound port once listening (the real one with port 0), else null. */
      get port() { return self.server ? self.server.port : null; },
      /** The TunnelServer once listening (getStats(), closeIdleConnections()...), else null. */
      get server() { return self.server; },
      /** Stops serving: answers every accepted request, then releases the port. */
      close: () => self.close(),
      // nodeExposure's embedding members: a native listener cannot serve another server's
      // requests, so each says so and what to use instead of failing as "not a function".
      handleRequest: embedding('handleRequest'),
      createRequestListener: embedding('createRequestListener'),
      createServer: embedding('createServer'),
      attachTo: embedding('attachTo'),
    };
  }
}

/** A member of nodeExposure's value that cannot exist here: throws why, and what to use. */
function embedding(name) {
  return () => {
    const err = new Error(`nativeExposure: ${name}() is not supported: runner-native serves requests on its own native listener (http.listen), never through a Node http.Server; use nodeExposure to embed the exposure in your own server`);
    err.code = 'ERR_METHOD_NOT_IMPLEMENTED';
    throw err;
  };
}

/** fn() as a promise whose rejection (or synchronous throw) goes through onError. */
function settle(fn, onError) {
  let ret;
  try {
    ret = fn();
  } catch (err) {
    return Promise.reject(err).catch(onError);
  }
  return Promise.resolve(ret).catch(onError);
}

/**
 * Creates the exposure during the resource's init: the config is checked and the port
 * bound now, as nodeExposure binds it; what is exposed is registered at the ready event
 * (at once when the event manager is already locked, as for a resource initialized
 * lazily after boot).
 * @param {{http?: object}|undefined} cfg
 * @param {any} deps
 * @param {Flavour} flavour
 */
async function createNativeExposure(cfg, deps, flavour) {
  const exposure = new NativeExposure(cfg, deps, flavour);
  const { eventManager } = deps;
  await exposure.bind();
  if (eventManager.isLocked) {
    await exposure.publish();
  } else {
    eventManager.addListener(flavour.readyEvent, () => exposure.publish(), {
      order: Number.MIN_SAFE_INTEGER, id: flavour.resourceId,
    });
  }
  return exposure.value();
}

module.exports = { createNativeExposure, NativeExposure, settle };
