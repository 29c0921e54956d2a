'use strict';
/**
 * TunnelConfig checking. The rules, ranges, defaults and messages live in Go
 * (internal/config); this file only encodes the object for Go and turns Go's verdict
 * into the TypeError or RangeError JavaScript users expect.
 */
const native = require('./native');

/**
 * JSON.stringify replacer: values JSON cannot carry become markers Go understands,
 * {"$js": kind, "text": String(value)}, so Go can validate them and name them in its
 * messages. An explicit undefined is kept as a marker too (Go treats it as absent).
 */
function replacer(key, value) {
  if (value === undefined) return key === '' ? value : { $js: 'undefined', text: 'undefined' };
  switch (typeof value) {
    case 'function': return { $js: 'function', text: describeFunction(value) };
    case 'bigint': return { $js: 'bigint', text: `${value}n` };
    case 'symbol': return { $js: 'symbol', text: String(value) };
    case 'number': return Number.isFinite(value) ? value : { $js: 'number', text: String(value) };
    default: break;
  }
  if (value instanceof RegExp) return { $js: 'regexp', text: String(value) };
  // A serializer is usually a class instance (runner's Serializer) whose methods live on
  // its prototype, where JSON.stringify does not look: show Go the two it needs.
  if (key === 'serializer' && value !== null && typeof value === 'object') {
    return { parse: value.parse, stringify: value.stringify };
  }
  if (value instanceof Map || value instanceof Set) return { $js: 'object', text: String(value) };
  return value;
}

function describeFunction(fn) {
  return fn.name ? `[function ${fn.name}]` : '[function]';
}

/**
 * Encodes a TunnelConfig for Go.
 * @param {unknown} config
 * @returns {string}
 */
function encodeConfig(config) {
  try {
    const text = JSON.stringify(config, replacer);
    return text === undefined ? 'null' : text;
  } catch (err) {
    // A cycle, or a getter that throws: not a config Go could read.
    const error = new TypeError(`TunnelServer: config could not be read: ${err && err.message}`);
    error.code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
}

/**
 * Turns an error JSON from Go ({kind, field?, message, code?, errno?, syscall?}) into
 * an Error of the right class.
 * @param {string} text
 * @param {string} prefix prepended to the message
 */
function errorFromGo(text, prefix) {
  let info;
  try {
    info = JSON.parse(text);
  } catch (_) {
    info = { kind: 'Error', message: text };
  }
  const Kind = info.kind === 'TypeError' ? TypeError : info.kind === 'RangeError' ? RangeError : Error;
  const err = new Kind(`${prefix}${info.message}`);
  if (info.field) err.field = info.field;
  if (info.code) err.code = info.code;
  return err;
}

/**
 * Checks config in Go and returns its encoding, ready for native.create.
 * @param {unknown} config
 * @returns {string}
 * @throws {TypeError|RangeError} naming the invalid field
 */
function checkConfig(config) {
  const encoded = encodeConfig(config);
  const error = native.checkConfig(encoded);
  if (error !== undefined) throw errorFromGo(error, 'TunnelServer: ');
  return encoded;
}

module.exports = { checkConfig, errorFromGo };
