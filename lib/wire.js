'use strict';
/**
 * The bridge's byte format, as Go defines it (internal/wire). Every number is read from
 * the Go library at load time, so the two sides cannot drift apart.
 */
const native = require('./native');

/** @type {Record<string, any>} */
const wire = Object.freeze(JSON.parse(native.constants()));

module.exports = wire;
