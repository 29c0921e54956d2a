'use strict';
/**
 * What nativeExposure needs to know about @bluelibs/runner 5.x, and nothing else: where
 * the allow-list comes from (tunnel resources), the ids of the globals, how tasks and
 * events are run. The rest of lib/runner/ is the same for every runner version; a 6.x
 * flavour (rpcLanesResource, same wire format) is another file with this shape.
 *
 * A flavour is built from the runner module the application itself loaded (see
 * runner.js), so that async contexts, errors and definitions are the
 * application's own instances, never a second copy of runner.
 */
const { safeLog } = require('./errors');

/** runner 5.5.0's source for exposure calls (handlers/eventHandler.ts). */
const EVENT_SOURCE = 'exposure:http';
/** The id of runner 5.5.0's ExposureRequestContext (src/node/exposure/requestContext.ts). */
const EXPOSURE_CONTEXT_ID = 'platform.node.ctx.exposureRequest';
const SELECTOR_FAILED = '[runner] Tunnel allow-list selector failed; item skipped.';

/**
 * @param {any} runner the @bluelibs/runner module (5.x)
 * @returns {import('./exposure').Flavour}
 */
function createFlavour(runner) {
  const { globals } = runner;
  return {
    name: 'runner-5',
    // nodeExposure's own id: runner's logs carry it as their source, so log filters and
    // dashboards written for nodeExposure match. (Register one of the two, not both.)
    resourceId: 'platform.node.resources.exposure',
    defineResource: runner.resource,
    dependencies: {
      store: globals.resources.store,
      taskRunner: globals.resources.taskRunner,
      eventManager: globals.resources.eventManager,
      logger: globals.resources.logger,
      serializer: globals.resources.serializer,
    },
    readyEvent: globals.events.ready,
    cancellationError: runner.cancellationError,
    exposureContext: runner.asyncContext({ id: EXPOSURE_CONTEXT_ID }),
    NodeInputFile: runner.NodeInputFile,
    authValidatorTasks: (store) => store.getTasksWithTag(globals.tags.authValidator),
    allowList: (store, logger) => computeAllowList(store, globals.tags.tunnel.id, logger),
    runTask: (deps, task, input) => deps.taskRunner.run(task, input),
    emitEvent: (deps, event, payload, withResult) => (withResult
      ? deps.eventManager.emitWithResult(event, payload, EVENT_SOURCE)
      : deps.eventManager.emit(event, payload, EVENT_SOURCE).then(() => undefined)),
  };
}

/**
 * runner 5.5.0's computeAllowList (src/node/tunnel/allowlist.ts), which no 5.5.0 entry
 * point exports: the tasks and events named by tunnel resources whose value is in
 * "server" or "both" mode over http, in store order, with their async-context policy
 * (AND-merged across tunnels). enabled: at least one such tunnel exists.
 *
 * @returns {{enabled: boolean, tasks: Map<string, boolean>, events: Map<string, boolean>}}
 *   id -> whether the id accepts x-runner-context
 */
function computeAllowList(store, tunnelTagId, logger) {
  const tasks = new Map();
  const events = new Map();
  let enabled = false;
  const merge = (target, id, accepts) => {
    const current = target.get(id);
    target.set(id, current === undefined ? accepts : current && accepts);
  };
  const select = (target, items, candidates, kind, tunnelResourceId, accepts) => {
    if (typeof items === 'function') {
      for (const candidate of candidates) {
        try {
          if (items(candidate)) merge(target, candidate.id, accepts);
        } catch (error) {
          safeLog(logger, 'warn', SELECTOR_FAILED, { selectorKind: kind, candidateId: candidate.id, tunnelResourceId, error: error instanceof Error ? error : new Error(String(error)) });
        }
      }
    } else if (Array.isArray(items)) {
      for (const item of items) {
        if (typeof item === 'string') merge(target, item, accepts);
        else if (item && typeof item === 'object' && item.id) merge(target, item.id, accepts);
      }
    }
  };
  for (const entry of store.resources.values()) {
    const tags = entry.resource.tags;
    if (!tags || !tags.some((t) => t && t.id === tunnelTagId)) continue;
    const v = entry.value;
    if (!v || typeof v !== 'object') continue;
    if (v.mode !== 'server' && v.mode !== 'both') continue;
    if (v.transport && v.transport !== 'http') continue;
    enabled = true;
    const accepts = v.allowAsyncContext !== false;
    if (v.tasks) select(tasks, v.tasks, Array.from(store.tasks.values(), (st) => st.task), 'task', entry.resource.id, accepts);
    if (v.events) select(events, v.events, Array.from(store.events.values(), (se) => se.event), 'event', entry.resource.id, accepts);
  }
  return { enabled, tasks, events };
}

module.exports = { createFlavour, computeAllowList, EXPOSURE_CONTEXT_ID, EVENT_SOURCE };
