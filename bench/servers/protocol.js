'use strict';
/**
 * The tunnel protocol in plain JavaScript, for the node:http and Fastify baselines: the
 * same routes, envelopes, CORS header and error codes as the native server, so that the
 * comparison is like for like.
 */
const { tasks, events } = require('../handlers');

const BASE = '/__runner';
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*' };

const fail = (code, codeName, message) => ({ status: code, body: JSON.stringify({ ok: false, error: { code, message, codeName } }) });

/**
 * @param {string} method
 * @param {string} url
 * @param {string} rawBody
 * @returns {Promise<{status: number, body: string}>}
 */
async function handle(method, url, rawBody) {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith(`${BASE}/`)) return fail(404, 'NOT_FOUND', 'Route not found');
  const rest = path.slice(BASE.length + 1);
  if (rest === 'discovery') {
    return { status: 200, body: JSON.stringify({ ok: true, result: { allowList: { enabled: true, tasks: Object.keys(tasks), events: Object.keys(events) } } }) };
  }
  const slash = rest.indexOf('/');
  const kind = rest.slice(0, slash);
  const table = kind === 'task' ? tasks : kind === 'event' ? events : null;
  if (!table || slash === -1) return fail(404, 'NOT_FOUND', 'Route not found');
  if (method !== 'POST') return fail(405, 'METHOD_NOT_ALLOWED', 'Method not allowed: use POST');
  let id;
  try { id = decodeURIComponent(rest.slice(slash + 1)); } catch (_) { return fail(400, 'BAD_REQUEST', 'Invalid id'); }
  const fn = Object.prototype.hasOwnProperty.call(table, id) ? table[id] : null;
  if (!fn) return fail(404, 'NOT_FOUND', `${kind === 'task' ? 'Task' : 'Event'} not found: ${id}`);
  let body;
  try { body = rawBody ? JSON.parse(rawBody) : {}; } catch (_) { return fail(400, 'INVALID_JSON', 'Invalid JSON body'); }
  try {
    const result = await fn(kind === 'task' ? body.input : body.payload);
    if (kind === 'event' || result === undefined) return { status: 200, body: '{"ok":true}' };
    return { status: 200, body: JSON.stringify({ ok: true, result }) };
  } catch (err) {
    return fail(500, 'INTERNAL_ERROR', (err && err.message) || 'Task execution failed');
  }
}

module.exports = { handle, HEADERS };
