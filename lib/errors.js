'use strict';
/** Errors of runner-native's public API, shaped like Node's own. */

/**
 * A handler failure with an HTTP status and a structured error: throw (or reject with)
 * one to choose what the client sees. Any other thrown value is a 500.
 *
 * Seed protocol: `{"ok":false,"error":{"code":<status>,"message":...,"codeName":<code>,
 * "id"?,"data"?,"httpCode"?}}`. Runner protocol: `{"ok":false,"error":{"message":...,
 * "code":<code>,"id"?,"data"?,"httpCode"?}}`, where at status 500 only an error with an
 * `id` (a typed error) keeps its message, as runner does.
 */
class HandlerError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, id?: string, data?: unknown, httpCode?: number, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HandlerError';
    /** HTTP status of the answer: an error status, 400-599. Default 500. */
    this.status = options.status === undefined ? 500 : errorStatus('status', options.status);
    /** Machine-readable code. Default: internal/protocol's INTERNAL_ERROR. */
    this.code = typeof options.code === 'string' && options.code ? options.code : require('./wire').ANSWERS.INTERNAL.code;
    if (options.id !== undefined) this.id = String(options.id);
    if (Object.prototype.hasOwnProperty.call(options, 'data')) this.data = options.data;
    if (options.httpCode !== undefined) this.httpCode = errorStatus('httpCode', options.httpCode);
  }
}

/**
 * Checks an error status given to HandlerError: an answer with `ok:false` under a
 * 2xx (or a status that is no HTTP status at all) would mislead every client, so a
 * wrong one is the programmer's error, thrown where it was written.
 */
function errorStatus(name, value) {
  if (typeof value !== 'number') {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `HandlerError: options.${name} must be an HTTP error status (an integer from 400 to 599), got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < 400 || value > 599) {
    throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `HandlerError: options.${name} must be an HTTP error status (an integer from 400 to 599), got ${value}`);
  }
  return value;
}

/** An Error with a Node-style `code` (ERR_*). */
function nodeError(Kind, code, message) {
  const err = new Kind(message);
  err.code = code;
  return err;
}

/**
 * The error of a failed listen, shaped like Node's: `listen EADDRINUSE: address already
 * in use 127.0.0.1:7070` with code, errno, syscall, address and port.
 * @param {{code: string, errno: number, syscall: string, message: string}} info from Go
 */
function listenError(info, host, port) {
  const address = host || '::';
  const err = new Error(`${info.syscall} ${info.code}: ${info.message} ${address}:${port}`);
  err.code = info.code;
  err.errno = info.errno;
  err.syscall = info.syscall;
  err.address = address;
  err.port = port;
  return err;
}

module.exports = { HandlerError, nodeError, listenError };
