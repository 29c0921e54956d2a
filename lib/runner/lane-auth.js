'use strict';
/**
 * Lane JWT verification for the runner 6 flavour: the second auth layer of runner 6.4.1's
 * rpc lanes (a binding's `auth`), verified as runner 6.4.1 verifies it
 * (src/node/remote-lanes/laneAuth*.ts and src/node/rpc-lanes/rpcLanes.auth.ts, read, not
 * copied; runner exports none of it):
 *
 * - policy: no auth or mode "none" verifies nothing; mode "jwt_asymmetric" (algorithm
 *   EdDSA by default, ES256 or RS256); anything else is HS256 ("jwt_hmac"). Header
 *   `authorization` by default (lower-cased), clock skew 30 s by default;
 * - the token: the header's first value; under `authorization` a "Bearer <jwt>" prefix is
 *   taken off (any case), else the value trimmed. No token: 401;
 * - then, each failure a 401: three non-empty dot-separated parts and no fourth;
 *   base64url JSON header and payload; payload lane, cap (strings), iat, exp (numbers);
 *   lane equals the lane's id; cap is "produce"; exp >= now - skew and iat <= now + skew
 *   (whole seconds); kind and target equal the call's; hash equals the body's when the
 *   body is known (sha256, base64url, of serializer.stringify({input}) for tasks,
 *   {payload[, returnPayload: true]} for events); the header's alg is HS256 (hmac) or the
 *   configured algorithm, and the signature verifies with consumeSecret ?? secret, or
 *   the public key (by kid, else publicKey, else the first of publicKeysByKid).
 *
 * Every answer is a refusal unless every check passed: a verifier that throws refuses.
 */
const crypto = require('crypto');

const DEFAULT_HEADER = 'authorization';
const DEFAULT_CLOCK_SKEW_MS = 30000;

/** A binding's auth as a verifier's policy, or null when the binding verifies nothing. */
function lanePolicy(auth) {
  if (!auth || auth.mode === 'none') return null;
  const asymmetric = auth.mode === 'jwt_asymmetric';
  return {
    asymmetric,
    algorithm: asymmetric ? auth.algorithm || 'EdDSA' : 'HS256',
    header: String(auth.header === undefined || auth.header === null ? DEFAULT_HEADER : auth.header).toLowerCase(),
    skewSeconds: Math.floor((auth.clockSkewMs === undefined || auth.clockSkewMs === null ? DEFAULT_CLOCK_SKEW_MS : auth.clockSkewMs) / 1000),
    auth,
  };
}

/** The key that verifies a token: the consume secret (hmac) or a public key, else undefined. */
function verifierKey(policy, kid) {
  const { auth } = policy;
  if (!policy.asymmetric) return auth.consumeSecret !== undefined && auth.consumeSecret !== null ? auth.consumeSecret : auth.secret;
  const byKid = auth.publicKeysByKid;
  if (kid && byKid && byKid[kid]) return byKid[kid];
  if (auth.publicKey) return auth.publicKey;
  if (!byKid) return undefined;
  return Object.values(byKid)[0];
}

/** The token a request carries, or undefined. */
function readToken(headers, policy) {
  let value = headers[policy.header];
  if (Array.isArray(value)) value = value[0];
  if (!value) return undefined;
  value = String(value);
  if (policy.header !== DEFAULT_HEADER) return value;
  const m = /^Bearer\s+(.+)$/i.exec(value);
  return m && m[1] ? m[1].trim() : value.trim();
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Buffer.from(b64 + '='.repeat((4 - (b64.length % 4 || 4)) % 4), 'base64');
}

function decodePart(part) {
  try {
    return { ok: true, value: JSON.parse(fromBase64Url(part).toString('utf8')) };
  } catch (_) {
    return { ok: false };
  }
}

function signatureValid(policy, encoded, signature, header) {
  const key = verifierKey(policy, header && header.kid);
  if (!key) return false;
  try {
    const given = fromBase64Url(signature);
    if (!policy.asymmetric) {
      const expected = crypto.createHmac('sha256', key).update(encoded).digest();
      return given.length === expected.length && crypto.timingSafeEqual(expected, given);
    }
    const data = Buffer.from(encoded);
    return policy.algorithm === 'EdDSA'
      ? crypto.verify(null, data, key, given)
      : crypto.verify('sha256', data, key, given);
  } catch (_) {
    return false;
  }
}

/**
 * Whether a token passes every check.
 * @param {object} policy from lanePolicy
 * @param {string} token
 * @param {{laneId: string, kind: string, targetId: string, payloadHash?: string}} expected
 * @param {number} [nowMs]
 */
function tokenValid(policy, token, expected, nowMs = Date.now()) {
  if (typeof token !== 'string') return false;
  const parts = token.split('.');
  const [h, p, s, extra] = parts;
  if (!h || !p || !s || extra) return false;
  const header = decodePart(h);
  const payload = decodePart(p);
  if (!header.ok || !payload.ok) return false;
  const claims = payload.value;
  const head = header.value;
  if (!claims || typeof claims !== 'object' || !head || typeof head !== 'object') return false;
  if (typeof claims.lane !== 'string' || typeof claims.cap !== 'string' ||
      typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return false;
  if (claims.lane !== expected.laneId || claims.cap !== 'produce') return false;
  const now = Math.floor(nowMs / 1000);
  if (claims.exp < now - policy.skewSeconds || claims.iat > now + policy.skewSeconds) return false;
  if (expected.kind && claims.kind !== expected.kind) return false;
  if (expected.targetId && claims.target !== expected.targetId) return false;
  if (expected.payloadHash && claims.hash !== expected.payloadHash) return false;
  if (head.alg !== policy.algorithm) return false;
  return signatureValid(policy, `${h}.${p}`, s, head);
}

/** sha256, base64url, of a body's text: the `hash` claim. */
function payloadHash(text) {
  return crypto.createHash('sha256').update(text).digest('base64url');
}

/**
 * Whether a request may make the call: true when the lane verifies nothing or the token
 * passes; false otherwise (runner answers 401 UNAUTHORIZED "Unauthorized").
 * @param {object|null} policy
 * @param {Record<string, string|string[]>} headers lower-case names
 * @param {{laneId: string, kind: string, targetId: string}} target
 * @param {string} [bodyText] the serialized body, when the body's hash is checked
 */
function authorizeLaneRequest(policy, headers, target, bodyText) {
  if (!policy) return true;
  try {
    const token = readToken(headers, policy);
    if (!token) return false;
    return tokenValid(policy, token, { ...target, payloadHash: bodyText ? payloadHash(bodyText) : undefined });
  } catch (_) {
    return false;
  }
}

/**
 * runner's boot check for a served lane: a binding with auth must be able to verify
 * (a consume secret or secret for hmac, a public key for asymmetric).
 * @returns {string|null} what is missing, or null
 */
function verifierMissing(auth) {
  const policy = lanePolicy(auth);
  if (!policy) return null;
  return verifierKey(policy, undefined) ? null : policy.asymmetric ? 'publicKey' : 'secret';
}

module.exports = { lanePolicy, authorizeLaneRequest, tokenValid, payloadHash, readToken, verifierMissing };
