'use strict';
/**
 * nativeRpcLanes: runner 6's rpcLanesResource with its HTTP exposure served by
 * runner-native. `nativeRpcLanes.with(config)` takes rpcLanesResource's own config
 * ({profile, topology, mode, serializer, exposure: {http}}) and is registered in its
 * place: the swap is one identifier.
 *
 * Shape: a resource with rpcLanesResource's id ("rpcLanes"), so that it gets the
 * canonical id runner would give rpcLanesResource in the same place (and the calls'
 * `source` names it, as runner's do). It registers runner's own rpcLanesResource with the
 * same config minus `exposure`, so routing, topology checks, lane-auth readiness,
 * local-simulated and transparent modes, and the resource value stay runner's; this
 * resource serves what that value says is served, as runner 6.4.1's exposure does
 * (src/node/rpc-lanes/rpcLanes.exposure.ts and src/node/exposure/*):
 *
 * - exposure.http with a mode other than "network" fails the boot (rpcLanesExposureModeError);
 * - nothing served: nothing listens, and runner's warning rpc-lanes.exposure.skipped;
 * - URL ids resolve against the store (`/task/echo` reaches `app.tasks.echo`), and a
 *   403 names the resolved id;
 * - typed errors carry the canonical id of their helper;
 * - async contexts are hydrated per lane, from the lane's allow-list (none by default);
 * - calls get {source: {kind: "resource", id}, signal};
 * - lane JWT (a binding's auth) checked before each call and, with the body's hash,
 *   before the task or event runs (lib/runner/lane-auth.js): a refusal answers 401.
 *
 * It listens during init, as runner 6's exposure does.
 */
const { HandlerError } = require('../errors');
const { NativeExposure, settle } = require('./exposure');
const { toHandlerError, parallelEventError, safeLog } = require('./errors');
const { ExposureRequest } = require('./contexts');
const { answerOf, LaneAnswer } = require('./response');
const { openUpload, runUpload } = require('./multipart');
const { authorizeLaneRequest } = require('./lane-auth');
const {
  urlAliases, appErrorExtra, laneAssignments, lanePolicies, allowedContextIds,
} = require('./flavour-v6');

const TASK_ERROR = 'exposure.task.error';
const EVENT_ERROR = 'exposure.event.error';
const SKIPPED = 'rpc-lanes.exposure.skipped';
const CONTEXT_HEADER = 'x-runner-context';

const { ANSWERS } = require('../wire');

const unauthorized = () => new HandlerError(ANSWERS.UNAUTHORIZED.message, { status: ANSWERS.UNAUTHORIZED.status, code: ANSWERS.UNAUTHORIZED.code });

/**
 * @param {any} runner the @bluelibs/runner module (6.x)
 * @param {ReturnType<typeof import('./flavour-v6').createFlavour>} flavour
 */
function defineNativeRpcLanes(runner, flavour) {
  const { rpcLanesResource, resources } = runner;
  const inner = (config) => {
    const { exposure, ...rest } = config || {}; // eslint-disable-line no-unused-vars
    return rest;
  };
  const resource = runner.defineResource({
    id: flavour.resourceId,
    tags: [],
    meta: {
      title: 'Native RPC lanes (HTTP exposure by runner-native)',
      description: 'rpcLanesResource, with its HTTP exposure served by a Go server inside the Node process.',
    },
    register: (config) => [rpcLanesResource.with(inner(config))],
    dependencies: (config) => ({
      ...flavour.dependencies,
      lanes: rpcLanesResource,
      serializer: (config && config.serializer) || resources.serializer,
    }),
    async init(config, deps) {
      const value = deps.lanes;
      const http = config && config.exposure && config.exposure.http;
      const result = { ...value, exposure: null };
      if (!http) return result;
      if (value.mode !== 'network') runner.errors.rpcLanesExposureModeError.throw({ mode: value.mode });
      if (value.serveTaskIds.length === 0 && value.serveEventIds.length === 0) {
        safeWarn(deps.logger, SKIPPED, { profile: value.profile, mode: value.mode, reason: 'no-served-task-or-event' });
        return result;
      }
      const store = deps.store;
      const sourceId = store.findIdByDefinition(resource);
      const exposure = new NativeLanesExposure({ http }, deps, flavour, {
        value,
        source: { kind: 'resource', id: sourceId },
        assigned: laneAssignments(runner, store, config.topology),
        bindings: config.topology.bindings || [],
      });
      await exposure.start();
      const handle = exposure.value();
      result.exposure = {
        close: () => exposure.close(),
        getHandlers: () => null,
        get basePath() { return handle.basePath; },
        get host() { return handle.host; },
        get port() { return handle.port; },
        get server() { return handle.server; },
      };
      return result;
    },
    async cooldown(value) {
      if (value && value.exposure) await value.exposure.close();
    },
    async dispose(value) {
      if (value && value.exposure) await value.exposure.close();
    },
  });
  return resource;
}

/** runner's safeLogWarn. */
function safeWarn(logger, message, data) {
  safeLog(logger, 'warn', message, data);
}

/**
 * NativeExposure (lib/runner/exposure.js) with runner 6's rules: the served ids and
 * their context allow-lists from the rpc lanes value, URL aliases, lane JWT, {source,
 * signal}, canonical typed-error ids.
 */
class NativeLanesExposure extends NativeExposure {
  constructor(cfg, deps, flavour, lanes) {
    const { server, dangerouslyAllowOpenExposure, ...http } = cfg.http || {}; // eslint-disable-line no-unused-vars
    const { source } = lanes;
    // Auth validators run with the exposure's source too (runner's authenticator).
    super({ http }, deps, {
      ...flavour,
      runTask: (d, task, input, options) => flavour.runTask(d, task, input, options || { source }),
    });
    this.lanes = lanes;
    this.source = source;
    this.env = { ...this.env, appErrorExtra };
    const { value, assigned, bindings } = lanes;
    this.taskAuth = lanePolicies(value.serveTaskIds, assigned.tasks, bindings);
    this.eventAuth = lanePolicies(value.serveEventIds, assigned.events, bindings);
  }

  async listen() {
    if (this.closed) return;
    const { TunnelServer } = require('../../index');
    const { value } = this.lanes;
    const { store, logger } = this.deps;
    const server = new TunnelServer({ ...this.config, exposure: 'list' });
    const tasks = new Map();
    const events = new Map();
    for (const id of value.serveTaskIds) {
      const entry = store.tasks.get(id);
      if (!entry) continue;
      const handler = this.laneTaskHandler(id, entry.task, this.contextRule(id, value.taskAllowAsyncContext, value.taskAsyncContextAllowList));
      tasks.set(id, handler);
      server.registerTask(id, handler);
    }
    for (const id of value.serveEventIds) {
      const entry = store.events.get(id);
      if (!entry) continue;
      const handler = this.laneEventHandler(id, entry.event, this.contextRule(id, value.eventAllowAsyncContext, value.eventAsyncContextAllowList));
      events.set(id, handler);
      server.registerEvent(id, handler);
    }
    // URL ids runner resolves to another id: the served one's handler, or runner's 403
    // naming the resolved id. Not listed in discovery.
    for (const [alias, id] of urlAliases(store)) {
      if (!tasks.has(alias)) server.registerTask(alias, tasks.get(id) || forbidden('Task', id), { listed: false });
      if (!events.has(alias)) server.registerEvent(alias, events.get(id) || forbidden('Event', id), { listed: false });
    }
    await server.listen();
    this.server = server;
    safeLog(logger, 'info', 'node.exposure.listen', { basePath: this.basePath, port: this.config.port, host: this.config.host });
  }

  /** Which x-runner-context entries a call hydrates: {allow: false} or the allowed ids. */
  contextRule(id, decisions, allowLists) {
    const allow = decisions[id] === undefined ? true : decisions[id];
    return { allow, ids: allowedContextIds(this.deps.store.asyncContexts, allowLists[id]) };
  }

  /** runner 6's withSerializedAsyncContexts around fn. */
  withContexts(ctx, rule, fn) {
    const header = ctx.contextHeader;
    if (!rule.allow || !header) return fn;
    const { store, serializer } = this.deps;
    let wrapped = fn;
    try {
      const map = serializer.parse(header);
      for (const [id, context] of store.asyncContexts.entries()) {
        if (rule.ids && !rule.ids.has(id)) continue;
        const raw = map[id];
        if (typeof raw !== 'string') continue;
        try {
          const v = context.parse(raw);
          const prev = wrapped;
          wrapped = async () => await context.provide(v, prev);
        } catch (_) { /* a context that does not parse is ignored */ }
      }
    } catch (_) { /* a header that does not parse is ignored */ }
    return wrapped;
  }

  laneTaskHandler(id, task, rule) {
    const { deps, flavour, env, basePath, source } = this;
    const auth = this.taskAuth.get(id);
    const target = { laneId: auth.laneId, kind: 'rpc-task', targetId: id };
    // Made once per task, not per call: the error mapping takes the call's context as an
    // argument instead of closing over it.
    const fail = (err, ctx) => { throw toHandlerError(err, env, TASK_ERROR, ctx.requestId); };
    // The task runner itself, as flavour.runTask calls it, without its two wrappers' frames.
    const { exposureContext, cancellationError } = flavour;
    const { taskRunner } = deps;
    return (input, ctx) => {
      // Lane JWT, checked before anything runs (runner: before the body is read). A lane
      // without auth reads no header: asking Go for them costs a crossing and a parse.
      if (auth.policy !== null && !authorizeLaneRequest(auth.policy, ctx.headers, target)) return refuse(ctx);
      if (ctx.form) return this.laneUpload(task, rule, input, ctx);
      // JSON bodies: again, bound to the body's hash. Raw (octet-stream) bodies: no hash.
      if (auth.policy && !ctx.body && !authorizeLaneRequest(auth.policy, ctx.headers, target, deps.serializer.stringify({ input }))) {
        return refuse(ctx);
      }
      const request = new ExposureRequest(ctx, basePath, cancellationError);
      const run = this.withContexts(ctx, rule, () => taskRunner.run(task, input, { source, signal: request.signal }));
      // The answer (response.js LaneAnswer); a synchronous throw counts as a rejection.
      let result;
      try {
        result = exposureContext.provide(request, run);
      } catch (err) {
        result = Promise.reject(err);
      }
      return new LaneAnswer(result, request.hijack, fail, ctx);
    };
  }

  async laneUpload(task, rule, manifest, ctx) {
    const { deps, flavour, env, basePath, source } = this;
    const { upload, input } = await openUpload(ctx.form, manifest, flavour.NodeInputFile, this.maxFiles);
    const request = new ExposureRequest(ctx, basePath, flavour.cancellationError);
    const run = this.withContexts(ctx, rule, () => flavour.runTask(deps, task, input, { source, signal: request.signal }));
    return answerOf(runUpload(upload, () => flavour.exposureContext.provide(request, run), (err) => {
      throw toHandlerError(err, env, TASK_ERROR, ctx.requestId);
    }), request.hijack);
  }

  laneEventHandler(id, event, rule) {
    const { deps, flavour, env, basePath, source } = this;
    const auth = this.eventAuth.get(id);
    const target = { laneId: auth.laneId, kind: 'rpc-event', targetId: id };
    const fail = (ctx) => (err) => { throw toHandlerError(err, env, EVENT_ERROR, ctx.requestId); };
    return (payload, ctx) => {
      const withResult = Boolean(ctx.returnPayload);
      if (auth.policy !== null && !authorizeLaneRequest(auth.policy, ctx.headers, target)) return refuse(ctx);
      if (auth.policy) {
        const body = withResult ? { payload, returnPayload: true } : { payload };
        if (!authorizeLaneRequest(auth.policy, ctx.headers, target, deps.serializer.stringify(body))) return refuse(ctx);
      }
      if (withResult && event.parallel) throw parallelEventError(id);
      const request = new ExposureRequest(ctx, basePath, flavour.cancellationError);
      const run = this.withContexts(ctx, rule, () => flavour.emitEvent(deps, event, payload, withResult, { source, signal: request.signal }));
      return settle(run, fail(ctx));
    };
  }
}

/** Refuses a call with runner's 401; a form is let go first. */
function refuse(ctx) {
  if (ctx.form && typeof ctx.form.settled === 'function') ctx.form.settled();
  throw unauthorized();
}

/** runner's 403 for a URL id that resolves to an id the lanes do not serve. */
function forbidden(kind, id) {
  return (_input, ctx) => {
    if (ctx && ctx.form && typeof ctx.form.settled === 'function') ctx.form.settled();
    const { status, code, message } = kind === 'Task' ? ANSWERS.TASK_NOT_EXPOSED : ANSWERS.EVENT_NOT_EXPOSED;
    throw new HandlerError(message.replace('{}', () => id), { status, code });
  };
}

module.exports = { defineNativeRpcLanes, NativeLanesExposure, CONTEXT_HEADER };
