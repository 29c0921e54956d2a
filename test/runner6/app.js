'use strict';
/**
 * One runner 6 application served two ways: by runner 6.4.1's own rpcLanesResource
 * exposure ("node") and by nativeRpcLanes ("native"), with the same config. Lanes:
 * - main: served, hydrates the tenant context only;
 * - secure: served, lane JWT (HS256, secret SECRET);
 * - signedEd, signedEs, signedRs: served, lane JWT signed with a private key (jwt_asymmetric:
 *   EdDSA, ES256, RS256; KEYS), the last one verified through publicKeysByKid;
 * - bare: served, no context allow-list (runner's default: none hydrated);
 * - remote: not served by this profile.
 */
const crypto = require('crypto');
const { Readable } = require('stream');
const { createRunnerExports } = require('../../lib/runner');

const SECRET = 'lane-secret';
const TOKEN = 'secret';

/** Key pairs of the asymmetric lanes (PEM), and one nobody trusts. */
const pem = { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } };
const KEYS = {
  EdDSA: crypto.generateKeyPairSync('ed25519', pem),
  ES256: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256', ...pem }),
  RS256: crypto.generateKeyPairSync('rsa', { modulusLength: 2048, ...pem }),
  untrusted: crypto.generateKeyPairSync('ed25519', pem),
};
/** The asymmetric lanes: lane id, algorithm, its binding's auth. */
// With the private key too, as a topology shared by both ends has it (runner refuses to boot a
// profile that does not serve a jwt_asymmetric lane without signing material).
const SIGNED = [
  ['signedEd', 'EdDSA', { mode: 'jwt_asymmetric', publicKey: KEYS.EdDSA.publicKey, privateKey: KEYS.EdDSA.privateKey }],
  ['signedEs', 'ES256', { mode: 'jwt_asymmetric', algorithm: 'ES256', publicKey: KEYS.ES256.publicKey, privateKey: KEYS.ES256.privateKey }],
  ['signedRs', 'RS256', { mode: 'jwt_asymmetric', algorithm: 'RS256', publicKeysByKid: { old: KEYS.EdDSA.publicKey, k2: KEYS.RS256.publicKey }, privateKey: KEYS.RS256.privateKey, privateKeyKid: 'k2' }],
];

function buildApp(R, kind, { profile = 'server', mode = 'network', http = {}, serveNothing = false } = {}) {
  const { r, tags, rpcLanesResource, useRpcLaneRequestContext } = R;
  const { nativeRpcLanes } = createRunnerExports(R);
  const logs = [];
  const tenant = r.asyncContext('tenant').configSchema(undefined).build();
  const other = r.asyncContext('other').build();
  const main = r.rpcLane('main').asyncContexts([tenant]).build();
  const secure = r.rpcLane('secure').build();
  const bare = r.rpcLane('bare').build();
  const remote = r.rpcLane('remote').build();
  const signed = SIGNED.map(([id]) => r.rpcLane(id).build());
  const boom = r.error('boom').httpCode(409).build();
  const plain = r.error('plain').build();
  const on = (lane) => [tags.rpcLane.with({ lane })];
  const ctxValue = (c) => { try { return c.use(); } catch (_) { return 'none'; } };
  const t = (id, lane, run) => r.task(id).tags(lane ? on(lane) : []).run(run).build();
  const defs = [
    t('echo', main, async (input) => input),
    t('kind', main, async (input) => (input === undefined ? 'undefined' : input === null ? 'null' : input.constructor.name)),
    t('typed', main, async (input) => boom.throw({ input })),
    t('typed500', main, async () => plain.throw({ n: 1 })),
    t('untyped', main, async () => { throw new Error('secret details'); }),
    t('contexts', main, async () => ({ tenant: ctxValue(tenant), other: ctxValue(other) })),
    t('bareContexts', bare, async () => ({ tenant: ctxValue(tenant) })),
    t('request', main, async () => {
      const c = useRpcLaneRequestContext();
      return { url: c.url.pathname + c.url.search, basePath: c.basePath, method: c.method, custom: c.headers['x-custom'], aborted: c.signal.aborted };
    }),
    t('upload', main, async (input) => {
      const files = [];
      for (const f of input.files) {
        const chunks = [];
        for await (const c of f.resolve ? (await f.resolve()).stream : f.stream()) chunks.push(c);
        files.push({ name: f.name, type: f.type, text: Buffer.concat(chunks).toString() });
      }
      return { note: input.note, files };
    }),
    t('duplex', main, async () => {
      const c = useRpcLaneRequestContext();
      const chunks = [];
      for await (const chunk of c.req) chunks.push(chunk);
      return Readable.from([Buffer.from('got:'), Buffer.concat(chunks)]);
    }),
    t('streamed', main, async () => Readable.from(['a', 'b', 'c'])),
    t('secureEcho', secure, async (input) => ({ secure: input })),
    t('remoteEcho', remote, async (input) => input),
    ...signed.map((lane, i) => t(`${SIGNED[i][0]}Echo`, lane, async (input) => ({ [SIGNED[i][1]]: input }))),
    t('hidden', null, async () => 'hidden'),
  ];
  const ping = r.event('ping').tags(on(main)).build();
  const securePing = r.event('securePing').tags(on(secure)).build();
  const par = r.event('par').parallel(true).tags(on(main)).build();
  const hooks = [
    r.hook('onPing').on(ping).run(async (e) => { if (e.data && typeof e.data === 'object') e.data.seen = true; }).build(),
    r.hook('onSecurePing').on(securePing).run(async (e) => { if (e.data && typeof e.data === 'object') e.data.secure = true; }).build(),
  ];
  const comm = r.resource('comm').init(async () => ({ task: async () => 'remote', event: async () => undefined })).build();
  const serve = serveNothing ? [] : [main, secure, bare, ...signed];
  const topology = r.rpcLane.topology({
    profiles: { server: { serve }, client: { serve: [] } },
    bindings: [
      { lane: main, communicator: comm },
      { lane: secure, communicator: comm, auth: { mode: 'jwt_hmac', secret: SECRET } },
      { lane: bare, communicator: comm },
      { lane: remote, communicator: comm },
      ...signed.map((lane, i) => ({ lane, communicator: comm, auth: SIGNED[i][2] })),
    ],
  });
  const cfg = {
    profile, topology, mode,
    exposure: { http: { listen: { port: 0, host: '127.0.0.1' }, auth: { token: TOKEN }, ...http } },
  };
  const lanes = kind === 'native' ? nativeRpcLanes.with(cfg) : rpcLanesResource.with(cfg);
  const logger = r.resource('logCatcher').dependencies({ logger: R.resources.logger }).init(async (_c, { logger: l }) => {
    l.onLog((log) => { logs.push(log); });
  }).build();
  const app = r.resource('app').register([logger, tenant, other, boom, plain, ...defs, ping, securePing, par, ...hooks, comm, lanes]).build();
  return { app, lanes, logs, errors: { boom, plain }, contexts: { tenant, other }, lanesDef: { main, secure, bare, remote }, events: { ping, securePing, par } };
}

/** Boots the app; resolves with {runtime, port, url, logs, ...}. */
async function startApp(R, kind, options) {
  const built = buildApp(R, kind, options);
  const runtime = await R.run(built.app, { logs: { printThreshold: null } });
  const value = runtime.getResourceValue(kind === 'native' ? built.lanes.resource : R.rpcLanesResource);
  let port = null;
  if (value && value.exposure) {
    port = kind === 'native' ? value.exposure.port : value.exposure.getHandlers().server.address().port;
  }
  return { ...built, runtime, value, port, url: port && `http://127.0.0.1:${port}/__runner` };
}

/** A lane JWT as runner's signer makes one (HS256), with any claim overridden. */
function laneJwt(claims, secret = SECRET, header = { alg: 'HS256', typ: 'JWT' }) {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${enc(header)}.${enc({ lane: 'secure', cap: 'produce', iat: now, exp: now + 60, ...claims })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/**
 * A lane JWT as runner's signer makes one with a private key (crypto.sign: EdDSA, or
 * sha256 with an EC or RSA key, DER for EC), with any claim or header member overridden.
 */
function signedLaneJwt(lane, algorithm, claims, { privateKey = KEYS[algorithm].privateKey, header = {}, p1363 = false } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${enc({ alg: algorithm, typ: 'JWT', ...header })}.${enc({ lane, cap: 'produce', iat: now, exp: now + 60, ...claims })}`;
  const key = p1363 ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey;
  const signature = crypto.sign(algorithm === 'EdDSA' ? null : 'sha256', Buffer.from(body), key);
  return `${body}.${signature.toString('base64url')}`;
}

/** The hash claim of a body text. */
const bodyHash = (text) => crypto.createHash('sha256').update(text).digest('base64url');

module.exports = { buildApp, startApp, laneJwt, signedLaneJwt, bodyHash, SECRET, TOKEN, KEYS, SIGNED };
