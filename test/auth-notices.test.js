'use strict';
/**
 * Auth failure notices (issue 16, defect 2): Go answers a refused request 401 at once and
 * tells JavaScript, for its logs. While the JavaScript thread is behind, the notices must
 * not queue up: at most one waits, the later ones are counted into it (`more`), and
 * getStats().authFailures counts every refused request. (The flood itself, its memory
 * and the delay it must not cause, is test/stress/auth-flood.test.js.)
 */
const assert = require('assert');
const { Worker } = require('worker_threads');
const { startServer, closeAll, post, waitFor } = require('./helpers');

/**
 * Sends count requests without a token from another thread while this one is blocked,
 * and returns once all were answered 401 (Go answers them without JavaScript).
 */
function refusedWhileBlocked(port, count) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`
    const { workerData: { port, count, flag } } = require('worker_threads');
    const http = require('http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const one = () => new Promise((resolve, reject) => {
      http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__runner/task/guarded', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject).end('{}');
    });
    (async () => {
      let refused = 0;
      for (let i = 0; i < count; i += 4) {
        const statuses = await Promise.all([one(), one(), one(), one()].slice(0, Math.min(4, count - i)));
        refused += statuses.filter((s) => s === 401).length;
      }
      agent.destroy();
      Atomics.store(flag, 0, refused === count ? 1 : 2);
      Atomics.notify(flag, 0);
    })().catch(() => { Atomics.store(flag, 0, 2); Atomics.notify(flag, 0); });`, { eval: true, workerData: { port, count, flag } });
  // This thread takes no notice while it waits here: every one of them is Go's to keep.
  const waited = Atomics.wait(flag, 0, 0, 60000); // the bound only keeps a broken run from hanging
  return worker.terminate().then(() => ({ waited, result: Atomics.load(flag, 0) }));
}

describe('auth failure notices', function () {
  this.timeout(60000);
  afterEach(closeAll);

  it('refused while the JavaScript thread is busy: one notice counting the others as `more`, every one in getStats().authFailures', async () => {
    const reports = [];
    const s = await startServer({ auth: { token: 'secret' }, onAuthFailure: (info) => reports.push(info) }, (srv) => srv.registerTask('guarded', () => 'in'));
    const count = 200;
    const { waited, result } = await refusedWhileBlocked(s.port, count);
    assert.deepStrictEqual([waited, result], ['ok', 1], 'every request was answered 401 while this thread was blocked');
    assert.strictEqual(s.getStats().authFailures, count);
    await waitFor(() => reports.length > 0);
    // One exchange hands JavaScript what waited: a single report, the rest counted in it.
    assert.deepStrictEqual(reports, [{ requestId: undefined, method: 'POST', path: '/__runner/task/guarded', status: 401, code: 'UNAUTHORIZED', more: count - 1 }]);
    // An occasional failure afterwards is reported alone, as before (no `more`).
    assert.strictEqual((await post(s.port, '/__runner/task/guarded', {})).status, 401);
    await waitFor(() => reports.length === 2);
    assert.deepStrictEqual(reports[1], { requestId: undefined, method: 'POST', path: '/__runner/task/guarded', status: 401, code: 'UNAUTHORIZED' });
    assert.strictEqual(s.getStats().authFailures, count + 1);
  });

  it('refused one at a time: one report each, without `more`, and a call after them answered', async () => {
    const reports = [];
    const s = await startServer({ auth: { token: 'secret' }, onAuthFailure: (info) => reports.push(info) }, (srv) => srv.registerTask('guarded', () => 'in'));
    for (let i = 0; i < 5; i++) {
      assert.strictEqual((await post(s.port, '/__runner/task/guarded', {})).status, 401);
      await waitFor(() => reports.length === i + 1);
    }
    assert.ok(reports.every((r) => !('more' in r) && r.code === 'UNAUTHORIZED'));
    assert.strictEqual(s.getStats().authFailures, 5);
    assert.strictEqual((await post(s.port, '/__runner/task/guarded', {}, { 'x-runner-token': 'secret' })).text, '{"ok":true,"result":"in"}');
    assert.strictEqual(s.getStats().authFailures, 5);
  });
});
