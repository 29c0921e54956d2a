'use strict';
/**
 * How a task's or an event's failure reaches the client, as runner 5.5.0 decides it
 * (src/node/exposure/handlers/errorHandlers.ts, taskHandler.ts, eventHandler.ts):
 *
 * - a cancellation error: 499 REQUEST_ABORTED "Client Closed Request", not logged;
 * - an error one of the store's error helpers recognises (a typed error): its httpCode
 *   (else the helper's, else 500), its message, code INTERNAL_ERROR, id (err.name),
 *   data and httpCode;
 * - anything else: 500 "Internal Error", code INTERNAL_ERROR;
 * and every failure but a cancellation is logged as exposure.task.error or
 * exposure.event.error with its message and request id.
 *
 * The result is a HandlerError; Go writes it with runner's sanitising rule (at 500 only
 * a typed error keeps its message, undefined data is dropped).
 */
const { HandlerError } = require('../errors');
const { ANSWERS } = require('../wire');

const { code: INTERNAL_ERROR, message: INTERNAL_MESSAGE } = ANSWERS.INTERNAL;

function isRecord(value) {
  return !!value && typeof value === 'object';
}

function isValidHttpCode(value) {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}

/** runner's resolveAppErrorExtra: {id, data, httpCode} of a typed error, else undefined. */
function appErrorExtra(store, error) {
  try {
    for (const helper of store.errors.values()) {
      if (!helper.is(error)) continue;
      const helperCode = isValidHttpCode(helper.httpCode) ? helper.httpCode : undefined;
      if (!isRecord(error)) return { id: undefined, data: undefined, httpCode: helperCode };
      const name = error.name;
      const runtimeCode = error.httpCode;
      return {
        id: typeof name === 'string' ? name : undefined,
        data: error.data,
        httpCode: isValidHttpCode(runtimeCode) ? runtimeCode : helperCode,
      };
    }
  } catch (_) {
    // best-effort, as runner's
  }
  return undefined;
}

/**
 * @param {unknown} error what the task, the event or the serializer threw
 * @param {{store: any, logger: any, cancellationError: any, appErrorExtra?: Function}} env
 * @param {string} logKey exposure.task.error or exposure.event.error
 * @param {string|undefined} requestId
 * @returns {HandlerError}
 */
function toHandlerError(error, env, logKey, requestId) {
  if (env.cancellationError.is(error)) {
    const { status, code, message } = ANSWERS.CLIENT_GONE;
    return new HandlerError(message, { status, code });
  }
  // A flavour may name typed errors its own way (runner 6: by canonical helper id).
  const extra = (env.appErrorExtra || appErrorExtra)(env.store, error);
  const logData = { error: error instanceof Error ? error.message : String(error) };
  if (requestId) logData.requestId = requestId;
  safeLog(env.logger, 'error', logKey, logData);
  if (!extra) return new HandlerError(INTERNAL_MESSAGE, { status: 500, code: INTERNAL_ERROR });
  const message = error instanceof Error && error.message ? error.message : INTERNAL_MESSAGE;
  const answer = new HandlerError(message, { status: 500, code: INTERNAL_ERROR, id: extra.id, data: extra.data });
  // runner lets a typed error choose any status from 100 to 599 (its error helper checks
  // that), where HandlerError takes only error statuses: set runner's as runner sends it.
  if (extra.httpCode !== undefined) answer.status = answer.httpCode = extra.httpCode;
  return answer;
}

/** runner's PARALLEL_EVENT_RETURN_UNSUPPORTED answer. */
function parallelEventError(eventId) {
  const { status, code, message } = ANSWERS.PARALLEL_EVENT_RETURN;
  return new HandlerError(message.replace('{}', () => eventId), { status, code });
}

/** Calls logger[level](message, data), ignoring the logger's own failures, as runner's safeLog* do. */
function safeLog(logger, level, message, data) {
  try {
    Promise.resolve(logger[level](message, data)).catch(() => {});
  } catch (_) { /* ignore logger failures */ }
}

module.exports = { toHandlerError, parallelEventError, appErrorExtra, safeLog };
