'use strict';
/**
 * Operating it (issue 18, point 5), as users would: the prom-client example
 * (examples/metrics.js) scraped over HTTP from a real registry, and the access-log
 * example (examples/access-log.js) run as a process of its own.
 */
const assert = require('assert');
const { startServer, closeAll, waitFor, post, runChild } = require('./helpers');
const { createMetrics, metricsServer } = require('../examples/metrics');

/** GET /metrics; resolves with the exposition text. */
async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.strictEqual(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  return res.text();
}

/** The value of one sample line of the exposition text, or undefined. */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics with prom-client, scraped over HTTP', function () {
  this.timeout(60000);
  let scrapeServer;
  afterEach(async () => {
    if (scrapeServer) await new Promise((resolve) => scrapeServer.close(resolve));
    scrapeServer = undefined;
    await closeAll();
  });

  it('exposes every answered request per task and status, and the server\'s own histogram and counters', async () => {
    const metrics = createMetrics();
    const s = await startServer({ onRequests: metrics.onRequests }, (srv) => srv.registerTask('app.tasks.add', ({ a, b }) => a + b));
    metrics.track(s);
    scrapeServer = metricsServer(metrics.registry);
    await new Promise((resolve) => scrapeServer.listen(0, '127.0.0.1', resolve));
    const port = scrapeServer.address().port;

    for (let i = 0; i < 3; i++) assert.strictEqual((await post(s.port, '/__runner/task/app.tasks.add', { input: { a: i, b: 1 } })).body.result, i + 1);
    assert.strictEqual((await post(s.port, '/__runner/task/nope', {})).status, 404);

    const task = 'runner_request_duration_seconds_count{method="POST",kind="task",id="app.tasks.add",status="200"}';
    const refused = 'runner_request_duration_seconds_count{method="POST",kind="none",id="",status="404"}';
    // Records arrive in batches: scrape until they are all in.
    const text = await waitFor(async () => {
      const t = await scrape(port);
      return sample(t, task) === 3 && sample(t, refused) === 1 ? t : null;
    });
    const cases = [
      // [series, expected value]
      ['runner_native_latency_seconds_count', 4],
      ['runner_native_latency_seconds_bucket{le="+Inf"}', 4],
      ['runner_native_requests_total', 4],
      ['runner_native_records_dropped_total', 0],
      ['runner_native_in_flight', 0],
    ];
    for (const [series, expected] of cases) assert.strictEqual(sample(text, series), expected, series);
    assert.match(text, /# TYPE runner_native_latency_seconds histogram/);
    assert.match(text, /# TYPE runner_request_duration_seconds histogram/);
    const sum = sample(text, 'runner_native_latency_seconds_sum');
    assert.ok(process.platform === 'win32' ? sum >= 0 : sum > 0, 'a coarse clock (Windows under Wine) may see 0');
    const buckets = [...text.matchAll(/^runner_native_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    assert.strictEqual(buckets.length, 17);
    assert.ok(buckets.every((n, i) => i === 0 || n >= buckets[i - 1]), 'cumulative buckets');
    assert.strictEqual(sample(text, 'runner_body_bytes_total{direction="in"}') > 0, true);
  });
});

describe('the access-log example', function () {
  this.timeout(60000);

  // Windows has no SIGTERM to catch: kill() ends the process at once.
  (process.platform === 'win32' ? it.skip : it)('writes one JSON line per answered request, and the last ones before it exits on SIGTERM', async () => {
    let child;
    const done = runChild(undefined, { file: 'examples/access-log.js', env: { PORT: '0', HOST: '127.0.0.1' }, timeoutMs: 30000, onSpawn: (c) => { child = c; } });
    let stderr = '';
    await waitFor(() => child);
    child.stderr.on('data', (c) => { stderr += c; });
    const port = Number((await waitFor(() => /listening on port (\d+)/.exec(stderr)))[1]);
    for (let i = 0; i < 3; i++) assert.strictEqual((await post(port, '/__runner/task/app.tasks.add', { input: { a: i, b: i } })).body.result, 2 * i);
    assert.strictEqual((await post(port, '/__runner/task/nope', {})).status, 404);
    child.kill('SIGTERM');
    const { code, stdout } = await done;
    assert.strictEqual(code, 0, 'it exits by itself once closed');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepStrictEqual(lines.map((l) => [l.path, l.status, l.id]), [
      ['/__runner/task/app.tasks.add', 200, 'app.tasks.add'],
      ['/__runner/task/app.tasks.add', 200, 'app.tasks.add'],
      ['/__runner/task/app.tasks.add', 200, 'app.tasks.add'],
      ['/__runner/task/nope', 404, undefined],
    ]);
    for (const l of lines) {
      assert.strictEqual(l.remote, '127.0.0.1');
      assert.ok(!Number.isNaN(Date.parse(l.time)) && l.ms >= 0 && l.out > 0, JSON.stringify(l));
    }
  });
});
