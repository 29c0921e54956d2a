'use strict';
/**
 * The differential harness: the same application served by runner's nodeExposure and by
 * nativeExposure, the same call made against each, the observable outcomes compared.
 */
const assert = require('assert');
const http = require('http');
const { createHttpClient, createHttpSmartClient } = require('@bluelibs/runner');
const { startApp, clientSerializer, errors, userContext } = require('./app');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Response headers that legitimately differ between the two servers:
 * - date: the time of the answer;
 (connection and keep-alive are compared: both announce `Connection: keep-alive` and
 * `Keep-Alive: timeout=5`, and close after an early error alike.)
 * - "content-length: 0": it says nothing the (compared) empty body does not. runner sets it
 *   on 204 preflight answers, which fasthttp never gives one (RFC 9110 8.6 forbids it).
 * x-runner-request-id is compared apart: equal when the client chose it, a fresh UUID on
 * both sides otherwise.
 */
const HOP_HEADERS = new Set(['date']);
const ignoredHeader = (name, value) => HOP_HEADERS.has(name) || (name === 'content-length' && value === '0');

const TOKEN = { 'x-runner-token': 'secret' };
const JSON_CT = { 'content-type': 'application/json; charset=utf-8' };
/** A POST request for raw(), with the token and runner's content type. */
const post = (path, body, headers = {}) => ({ method: 'POST', path, body, headers: { ...TOKEN, ...JSON_CT, ...headers } });

/** Starts the application twice, once per exposure, with the same options. */
async function startPair(options = {}) {
  const [node, native] = await Promise.all([
    startApp({ ...options, exposure: 'node' }),
    startApp({ ...options, exposure: 'native' }),
  ]);
  return {
    node,
    native,
    async close() {
      await Promise.all([node.runtime.dispose(), native.runtime.dispose()]);
    },
  };
}

/** In a describe: starts a pair before its tests, closes it after; returns () => the pair. */
function usePair(options) {
  let pair;
  before(async () => {
    pair = await startPair(options);
  });
  after(async () => {
    if (pair) await pair.close();
  });
  return () => pair;
}

/** One test per [name, request, check]: the raw request made to both, compared, then checked. */
function rawCases(getPair, cases) {
  for (const [name, request, check] of cases) {
    it(name, async () => {
      check(await same(getPair(), (app) => raw(app, request.method, request.path, request)));
    });
  }
}

/**
 * Runs fn against both servers and checks that what a client observes is the same.
 * Returns node's outcome, for the case's own assertions on what that outcome is.
 */
async function same(pair, fn) {
  const [a, b] = await Promise.all([fn(pair.node), fn(pair.native)]);
  assert.deepStrictEqual(normalise(b), normalise(a), 'nativeExposure must answer as nodeExposure does');
  return normalise(a);
}

/** Generated request ids become '<uuid>' (they are random on both sides). */
function normalise(value) {
  if (typeof value === 'string') return UUID.test(value) ? '<uuid>' : value;
  if (Array.isArray(value)) return value.map(normalise);
  if (value && Object.getPrototypeOf(value) === Object.prototype) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalise(v);
    return out;
  }
  return value;
}

/**
 * One raw HTTP request; resolves with {status, headers, body}: headers without the
 * hop-by-hop ones, body parsed with runner's serializer when it is JSON.
 */
function raw(app, method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const h = { ...headers };
    if (payload !== undefined && !('content-length' in h)) h['content-length'] = String(payload.length);
    for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
    const req = http.request({ host: '127.0.0.1', port: app.port, method, path, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const out = { status: res.statusCode, headers: {}, body: text };
        for (const [k, v] of Object.entries(res.headers)) if (!ignoredHeader(k, v)) out.headers[k] = v;
        if (/^application\/json/.test(res.headers['content-type'] || '') && text) out.body = clientSerializer().parse(text);
        resolve(out);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** runner's fetch client for app, with the error registry and the user context. */
function fetchClient(app, { token = 'secret', header, onRequest } = {}) {
  return createHttpClient({
    baseUrl: app.url,
    auth: token === null ? undefined : { token, header },
    serializer: clientSerializer(),
    errorRegistry: new Map(Object.values(errors).map((e) => [e.id, e])),
    contexts: [userContext],
    onRequest,
  });
}

/**
 * runner's Node smart client for app, configured as fetchClient; it refuses to call
 * without every listed context provided, so contexts are opt-in here.
 */
function smartClient(app, { token = 'secret', contexts = [] } = {}) {
  return createHttpSmartClient({
    baseUrl: app.url,
    auth: { token },
    serializer: clientSerializer(),
    errorRegistry: new Map(Object.values(errors).map((e) => [e.id, e])),
    contexts,
  });
}

/**
 * What a client call gives: {value} or {error: {...}} with the error's class, message and
 * the fields runner's clients set (code, id, data, httpCode).
 */
async function outcome(promise) {
  try {
    return { value: await promise };
  } catch (err) {
    const e = err || {};
    return {
      error: {
        class: e.constructor && e.constructor.name,
        name: e.name,
        message: e.message,
        code: e.code,
        id: e.id,
        data: e.data,
        httpCode: e.httpCode,
        registered: Object.values(errors).some((helper) => helper.is(e)),
      },
    };
  }
}

/** Resolves with the first log of app matching pred (already there, or when it comes). */
function waitForLog(app, pred) {
  const found = app.logs.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    app.logWaiters.push({ pred, resolve });
  });
}

/**
 * A log as both servers should write it: no timestamp, no stack trace (the call sites
 * differ). The source is compared: nativeExposure has nodeExposure's id.
 */
function logView(log) {
  const { timestamp, ...rest } = log; // eslint-disable-line no-unused-vars
  const view = JSON.parse(JSON.stringify(rest));
  if (view.error) delete view.error.stack;
  return normalise(view);
}

module.exports = { post, TOKEN, JSON_CT, usePair, rawCases, startPair, same, raw, fetchClient, smartClient, outcome, waitForLog, logView, normalise, UUID, HOP_HEADERS };
