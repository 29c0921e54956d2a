'use strict';
/**
 * nativeExposure's `http` config (runner's NodeExposureHttpConfig) turned into a
 * runner-protocol TunnelConfig. Go validates the result; this file only maps names and
 * applies runner's own defaults where they differ from TunnelServer's.
 */

const DEFAULT_BASE_PATH = '/__runner';
/** runner's DEFAULT_LIMITS.files (src/node/exposure/multipart.ts). */
const DEFAULT_MAX_FILES = 10;
/** runner: listen.host ?? "127.0.0.1" (src/node/exposure/exposureServer.ts). */
const DEFAULT_HOST = '127.0.0.1';

/** The members of runner's NodeExposureHttpConfig, mapped below. */
const RUNNER_KEYS = new Set(['basePath', 'listen', 'server', 'cors', 'limits', 'auth', 'disableDiscovery', 'dangerouslyAllowOpenExposure']);

/**
 * TunnelConfig fields nativeExposure sets itself, from runner's own members: setting
 * them in `http` is refused, with where the setting lives instead. Every other member
 * goes to TunnelServer as is (taskTimeoutMs, maxInFlight, reusePort, the timeouts and
 * limits...), checked by Go's table, which refuses keys no option has.
 */
const OWNED = {
  protocol: 'nativeExposure always speaks runner\'s protocol',
  exposure: 'what is exposed comes from the tunnel resources (or http.dangerouslyAllowOpenExposure)',
  port: 'use http.listen.port',
  host: 'use http.listen.host',
  maxBodySize: 'use http.limits.json.maxSize',
  multipart: 'use http.limits.multipart',
  corsOrigins: 'use http.cors',
  serializer: 'runner\'s serializer resource is used',
  authValidator: 'runner\'s auth validator tasks are used',
  onAuthFailure: 'failures are logged through runner\'s logger',
};

/**
 * runner's resolveBasePath (src/node/exposure/router.ts): the base path runner reports
 * (useExposureContext().basePath, the listen log). Routing is Go's alone: Go normalises
 * what this returns again by its own rule (config.NormaliseBasePath, which trims every
 * slash), so the two rules never disagree on an answer; this one stays because runner
 * reports '/' and '//x/' where Go routes '' and '/x'.
 */
function resolveBasePath(basePath) {
  let p = basePath === undefined || basePath === null ? DEFAULT_BASE_PATH : String(basePath);
  if (!p.startsWith('/')) p = `/${p}`;
  if (p.endsWith('/') && p !== '/') p = p.slice(0, -1);
  return p;
}

/**
 * @param {object|undefined} http nativeExposure's config.http
 * @returns {{tunnel: object, basePath: string, openExposure: boolean, maxFiles: number|undefined}}
 *   the TunnelConfig without the fields decided at ready (exposure, hooks), the resolved
 *   base path, whether dangerouslyAllowOpenExposure is set, and runner's own files limit
 *   on uploads (undefined: none)
 * @throws {TypeError} for what nativeExposure cannot do (no listen, an http.Server)
 */
function tunnelConfig(http) {
  const h = http || {};
  if (h.server !== undefined) {
    throw new TypeError('nativeExposure: http.server is not supported: runner-native serves its own port; use http.listen');
  }
  if (!h.listen || typeof h.listen !== 'object') {
    throw new TypeError('nativeExposure: http.listen ({ port, host? }) is required: runner-native cannot be attached to another server');
  }
  const basePath = resolveBasePath(h.basePath);
  const tunnel = {
    protocol: 'runner',
    port: listenPort(h.listen.port),
    host: h.listen.host === undefined || h.listen.host === null ? DEFAULT_HOST : h.listen.host,
    basePath,
  };
  if (h.cors !== undefined && h.cors !== null) tunnel.cors = h.cors;
  const maxSize = h.limits && h.limits.json && h.limits.json.maxSize;
  if (maxSize !== undefined && maxSize !== null) tunnel.maxBodySize = maxSize;
  // runner hands limits.multipart to busboy as is (Go reads it the same way), and
  // counts files against its `files` member itself (lib/runner/multipart.js).
  const multipart = h.limits && h.limits.multipart;
  let maxFiles = DEFAULT_MAX_FILES;
  if (multipart !== undefined && multipart !== null) {
    tunnel.multipart = multipart;
    maxFiles = typeof multipart === 'object' && typeof multipart.files === 'number' ? multipart.files : undefined;
  }
  if (h.auth) tunnel.auth = authConfig(h.auth);
  if (h.disableDiscovery !== undefined) tunnel.disableDiscovery = Boolean(h.disableDiscovery);
  for (const key of Object.keys(h)) {
    if (RUNNER_KEYS.has(key) || h[key] === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(OWNED, key)) {
      const err = new TypeError(`nativeExposure: http.${key} cannot be set: ${OWNED[key]}`);
      err.code = 'ERR_INVALID_ARG_VALUE';
      throw err;
    }
    tunnel[key] = h[key]; // a runner-native setting: Go checks it, or refuses an unknown key
  }
  return { tunnel, basePath, openExposure: Boolean(h.dangerouslyAllowOpenExposure), maxFiles };
}

/**
 * The port as Node's server.listen takes it: a number, or a string of digits (such as
 * process.env.PORT). Anything else goes to Go as given, which names it in its error.
 */
function listenPort(port) {
  return typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
}

/**
 * runner's auth config: a falsy token is no token (runner tests `if (authCfg?.token)`),
 * header and allowAnonymous as given.
 */
function authConfig(auth) {
  const out = {};
  if (auth.token) out.token = auth.token;
  if (auth.header !== undefined) out.header = auth.header;
  if (auth.allowAnonymous !== undefined) out.allowAnonymous = auth.allowAnonymous === true;
  return out;
}

module.exports = { tunnelConfig, resolveBasePath, DEFAULT_HOST, OWNED, RUNNER_KEYS };
