'use strict';
/**
 * A RegExp CORS origin is asked of JavaScript once per origin and remembered (issue 16,
 * defect 5): only a real answer may be remembered. A check that could not be asked
 * (maxInFlight reached: 503) used to be cached as a refusal, and the allowed origin
 * never got Access-Control-Allow-Origin again.
 */
const assert = require('assert');
const { startServer, closeAll, request, waitFor } = require('./helpers');

const TOKEN = { 'x-runner-token': 'secret' };

/**
 * A runner server with a RegExp origin and maxInFlight 1, whose one place is taken by a
 * call (sent without Origin, so no origin check) that waits until release() is called.
 */
async function serverWithItsOnePlaceTaken() {
  let release;
  let entered = false;
  const s = await startServer({ protocol: 'runner', auth: { token: 'secret' }, cors: { origin: /^http:\/\/ok\.test$/ }, maxInFlight: 1 }, (srv) => {
    srv.registerTask('block', () => { entered = true; return new Promise((resolve) => { release = resolve; }); });
    srv.registerTask('ping', () => 'pong');
  });
  const blocked = request(s.port, 'POST', '/__runner/task/block', '{}', TOKEN);
  await waitFor(() => entered);
  return { s, blocked, release: (value) => release(value) };
}

describe('CORS: a RegExp origin\'s cache', function () {
  this.timeout(30000);
  afterEach(closeAll);

  it('an origin check refused by overload (maxInFlight) is not remembered: once JavaScript answers, the origin is allowed', async () => {
    const { s, blocked, release } = await serverWithItsOnePlaceTaken();
    const refused = await request(s.port, 'POST', '/__runner/task/ping', '{}', { ...TOKEN, origin: 'http://ok.test' });
    assert.strictEqual(refused.status, 503, refused.text);
    assert.strictEqual(refused.headers['access-control-allow-origin'], undefined, 'the check could not be asked');
    assert.ok(s.getStats().rejected >= 1);
    release('done');
    assert.strictEqual((await blocked).status, 200);
    const allowed = await request(s.port, 'POST', '/__runner/task/ping', '{}', { ...TOKEN, origin: 'http://ok.test' });
    assert.strictEqual(allowed.status, 200, allowed.text);
    assert.strictEqual(allowed.headers['access-control-allow-origin'], 'http://ok.test');
    // A real refusal is remembered as one, and a real answer too: both still hold.
    const other = await request(s.port, 'POST', '/__runner/task/ping', '{}', { ...TOKEN, origin: 'http://evil.test' });
    assert.strictEqual(other.headers['access-control-allow-origin'], undefined);
    const again = await request(s.port, 'POST', '/__runner/task/ping', '{}', { ...TOKEN, origin: 'http://ok.test' });
    assert.strictEqual(again.headers['access-control-allow-origin'], 'http://ok.test');
  });

  it('a preflight refused by overload is not remembered either', async () => {
    const { s, blocked, release } = await serverWithItsOnePlaceTaken();
    const preflight = { origin: 'http://ok.test', 'access-control-request-method': 'POST' };
    const refused = await request(s.port, 'OPTIONS', '/__runner/task/ping', undefined, preflight);
    assert.strictEqual(refused.headers['access-control-allow-origin'], undefined);
    release('done');
    await blocked;
    const allowed = await request(s.port, 'OPTIONS', '/__runner/task/ping', undefined, preflight);
    assert.strictEqual(allowed.status, 204);
    assert.strictEqual(allowed.headers['access-control-allow-origin'], 'http://ok.test');
  });
});
