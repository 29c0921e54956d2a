'use strict';
/**
 * What runner-native's rpc lanes need to know about @bluelibs/runner 6.x (6.4.1 studied:
 * ../shared/runner6-protocol.md): its resources and events, how tasks and events are
 * called (with {source, signal}), its request context, and the store lookups runner 6's
 * exposure does (URL ids resolved to canonical ids, typed-error ids, the lane of each
 * task and event). Built from the runner module the application loaded.
 */
const { lanePolicy } = require('./lane-auth');

/** The id of runner 6's exposure request context (src/node/exposure/requestContext.ts@6.4.1). */
const REQUEST_CONTEXT_ID = 'platform-node-asyncContexts-exposureRequest';

/**
 * @param {any} runner the @bluelibs/runner module (6.x)
 * @returns {import('./exposure').Flavour & {runner: any}}
 */
function createFlavour(runner) {
  const { resources, events, tags } = runner;
  return {
    name: 'runner-6',
    resourceId: 'rpcLanes',
    runner,
    defineResource: runner.defineResource,
    dependencies: {
      store: resources.store,
      taskRunner: resources.taskRunner,
      eventManager: resources.eventManager,
      logger: resources.logger,
      serializer: resources.serializer,
      authValidators: tags.authValidator,
    },
    readyEvent: events.ready,
    cancellationError: runner.cancellationError,
    exposureContext: runner.defineAsyncContext({ id: REQUEST_CONTEXT_ID }),
    NodeInputFile: runner.NodeInputFile,
    // runner 6 reads its validators from the authValidator tag dependency.
    authValidatorTasks: (store, deps) => (deps && deps.authValidators && deps.authValidators.tasks
      ? Array.from(deps.authValidators.tasks, (entry) => entry.definition)
      : []),
    allowList: () => { throw new Error('runner 6: the allow-list comes from the rpc lanes resource'); },
    // The options runner 6.4.1's exposure gives every call: its own source, the request's signal.
    runTask: (deps, task, input, options) => deps.taskRunner.run(task, input, options),
    emitEvent: (deps, event, payload, withResult, options) => (withResult
      ? deps.eventManager.emitWithResult(event, payload, options)
      : deps.eventManager.emit(event, payload, options).then(() => undefined)),
  };
}

/**
 * runner 6.4.1's resolveRequestedIdFromStore for a string (models/store/StoreLookup.ts),
 * through the store's own lookups: a canonical id, or a source id (such as "echo" for
 * "app.tasks.echo") that names one definition; else the string itself.
 */
function resolveRequestedId(store, id) {
  try {
    const lookup = store.lookup;
    const canonical = lookup && typeof lookup.tryCanonicalId === 'function' ? lookup.tryCanonicalId(id) : null;
    if (canonical) return canonical;
    if (typeof store.hasDefinition === 'function' && typeof store.findIdByDefinition === 'function' && store.hasDefinition(id)) {
      return store.findIdByDefinition(id);
    }
    if (typeof store.resolveDefinitionId === 'function') {
      const resolved = store.resolveDefinitionId(id);
      if (typeof resolved === 'string' && resolved.length > 0) return resolved;
    }
  } catch (_) {
    // a lookup that fails resolves nothing, as an unknown id
  }
  return id;
}

const COLLECTIONS = ['tasks', 'events', 'resources', 'hooks', 'taskMiddlewares', 'resourceMiddlewares', 'errors', 'tags', 'asyncContexts'];

/**
 * Every URL id that resolves to another id than itself, with what it resolves to. The
 * candidates are the source ids the store's registry knows (runner resolves a source id
 * named by one definition) and every dot-suffix of every canonical id; each is resolved
 * by the store itself, so a candidate that does not resolve is dropped, never guessed.
 * @returns {Map<string, string>} URL id -> canonical id
 */
function urlAliases(store) {
  const candidates = new Set();
  const registry = store.registry;
  const bySource = registry && registry.definitionAliasesBySourceId;
  if (bySource && typeof bySource.keys === 'function') for (const k of bySource.keys()) candidates.add(k);
  for (const name of COLLECTIONS) {
    const map = store[name];
    if (!map || typeof map.keys !== 'function') continue;
    for (const id of map.keys()) {
      if (typeof id !== 'string') continue;
      for (let i = id.indexOf('.'); i >= 0; i = id.indexOf('.', i + 1)) candidates.add(id.slice(i + 1));
    }
  }
  const out = new Map();
  for (const c of candidates) {
    if (!c) continue;
    const resolved = resolveRequestedId(store, c);
    if (resolved !== c) out.set(c, resolved);
  }
  return out;
}

/**
 * runner 6.4.1's typed-error identity (handlers/errorHandlers.ts resolveAppErrorExtra):
 * the store's error helper that recognises the error (tasks: by is(), then by the
 * error's `id`; events: by is() or `id`) names it by its canonical id.
 * @returns {{id: string, data: unknown, httpCode: number|undefined}|undefined}
 */
function appErrorExtra(store, error) {
  const valid = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
  const record = error && typeof error === 'object' ? error : undefined;
  try {
    const entries = Array.from(store.errors.entries());
    // Tasks: the id of the first helper whose is() matches, else the error's own id.
    let wanted;
    for (const [helperId, helper] of entries) {
      try {
        if (helper.is(error)) { wanted = helperId; break; }
      } catch (_) { /* next */ }
    }
    if (wanted === undefined && record && typeof record.id === 'string') wanted = record.id;
    for (const [helperId, helper] of entries) {
      const canonical = typeof helper.id === 'string' ? helper.id : helperId;
      const matches = (typeof helper.is === 'function' && helper.is(error) === true) ||
        (wanted !== undefined && (wanted === helperId || wanted === canonical));
      if (!matches) continue;
      const helperCode = valid(helper.httpCode) ? helper.httpCode : undefined;
      if (!record) return { id: canonical, data: undefined, httpCode: helperCode };
      return { id: canonical, data: record.data, httpCode: valid(record.httpCode) ? record.httpCode : helperCode };
    }
  } catch (_) {
    // best-effort, as runner's
  }
  return undefined;
}

/** The lanes a topology names (bindings, then every profile's serve list), one per id. */
function topologyLanes(topology) {
  const lanes = new Map();
  for (const b of topology.bindings || []) if (b && b.lane && !lanes.has(b.lane.id)) lanes.set(b.lane.id, b.lane);
  for (const profile of Object.values(topology.profiles || {})) {
    for (const lane of (profile && profile.serve) || []) if (lane && !lanes.has(lane.id)) lanes.set(lane.id, lane);
  }
  return Array.from(lanes.values());
}

/**
 * runner 6.4.1's lane assignment (rpc-lanes/RpcLaneAssignments.ts) for the served ids:
 * a lane's applyTo (a predicate over the canonical definitions, or a list of ids or
 * definitions) wins over a task's or event's rpcLane tag. rpcLanesResource has already
 * checked the topology (conflicts, unknown targets) when this runs.
 * @returns {{tasks: Map<string, any>, events: Map<string, any>}} canonical id -> lane
 */
function laneAssignments(runner, store, topology) {
  const tasks = new Map();
  const events = new Map();
  const canonical = (def) => ({ ...def, id: resolveRequestedId(store, def.id), path: resolveRequestedId(store, def.id) });
  for (const lane of topologyLanes(topology)) {
    const applyTo = lane.applyTo;
    if (applyTo === undefined) continue;
    if (typeof applyTo === 'function') {
      for (const e of store.tasks.values()) if (applyTo(canonical(e.task)) && !tasks.has(e.task.id)) tasks.set(e.task.id, lane);
      for (const e of store.events.values()) if (applyTo(canonical(e.event)) && !events.has(e.event.id)) events.set(e.event.id, lane);
      continue;
    }
    if (!Array.isArray(applyTo)) continue;
    for (const target of applyTo) {
      const id = typeof target === 'string' ? target : target && target.id;
      if (typeof id !== 'string') continue;
      const t = store.tasks.get(id);
      if (t) { if (!tasks.has(t.task.id)) tasks.set(t.task.id, lane); continue; }
      const ev = store.events.get(id);
      if (ev && !events.has(ev.event.id)) events.set(ev.event.id, lane);
    }
  }
  const tag = runner.tags.rpcLane;
  for (const e of store.tasks.values()) {
    const cfg = tag.extract(e.task.tags);
    if (cfg && cfg.lane && !tasks.has(e.task.id)) tasks.set(e.task.id, cfg.lane);
  }
  for (const e of store.events.values()) {
    const cfg = tag.extract(e.event.tags);
    if (cfg && cfg.lane && !events.has(e.event.id)) events.set(e.event.id, cfg.lane);
  }
  return { tasks, events };
}

/**
 * The lane-JWT policy of each served id: its lane's id and its binding's verifier, or
 * null for a lane whose binding has no auth. A served id whose lane cannot be found gets
 * a policy that refuses everything (never fail open).
 */
function lanePolicies(ids, assigned, bindings) {
  const out = new Map();
  for (const id of ids) {
    const lane = assigned.get(id);
    if (!lane) { out.set(id, { laneId: undefined, policy: REFUSE }); continue; }
    const binding = bindings.find((b) => b && b.lane && b.lane.id === lane.id);
    out.set(id, { laneId: lane.id, policy: lanePolicy(binding && binding.auth) });
  }
  return out;
}

/** A policy no token satisfies. */
const REFUSE = Object.freeze({ asymmetric: false, algorithm: 'HS256', header: 'authorization', skewSeconds: 0, auth: Object.freeze({}) });

/**
 * runner 6.4.1's resolveRegistryAsyncContextIds: the allow-list's ids as the registry
 * keys them (an id may name a context registered under its canonical id).
 * @returns {Set<string>|undefined} undefined: every context
 */
function allowedContextIds(registry, allowList) {
  if (allowList === undefined) return undefined;
  const keys = Array.from(registry.keys());
  const out = new Set();
  for (const id of allowList) {
    if (keys.includes(id)) { out.add(id); continue; }
    const ctx = registry.get(id);
    const key = ctx ? keys.find((k) => registry.get(k) === ctx) : undefined;
    out.add(key || id);
  }
  return out;
}

module.exports = {
  createFlavour, resolveRequestedId, urlAliases, appErrorExtra, laneAssignments, lanePolicies,
  allowedContextIds, REQUEST_CONTEXT_ID,
};
