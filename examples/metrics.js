'use strict';
// Prometheus metrics for a TunnelServer with prom-client (npm install prom-client):
// - runner_request_duration_seconds, a histogram per method, kind, id and status, fed
//   by onRequests (one record per answered request, in batches from Go);
// - runner_native_latency_seconds, the server's own histogram (getStats().latency),
//   and its counters, read at each scrape: they cost nothing between scrapes.
// Run it, call a task, then: curl -s localhost:9464/metrics
const http = require('http');
const client = require('prom-client');
const { TunnelServer } = require('..');

/**
 * The metrics of one server, in their own registry.
 * @returns {{ registry: import('prom-client').Registry, onRequests: NonNullable<import('..').TunnelConfig['onRequests']>, track(server: import('..').TunnelServer): void }}
 */
function createMetrics() {
  const registry = new client.Registry();
  const duration = new client.Histogram({
    name: 'runner_request_duration_seconds',
    help: 'Answered requests by method, kind (task, event, none), id and status',
    labelNames: ['method', 'kind', 'id', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const bytes = new client.Counter({
    name: 'runner_body_bytes_total',
    help: 'Request (in) and response (out) body bytes',
    labelNames: ['direction'],
    registers: [registry],
  });
  /** @type {import('..').TunnelServer | null} */
  let server = null;
  const stats = () => (server ? server.getStats() : null);

  // The server's counters, read when scraped.
  for (const [name, help, read] of [
    ['runner_native_requests_total', 'Requests seen, malformed ones included', (s) => s.requests],
    ['runner_native_open_connections', 'Open client connections', (s) => s.connections],
    ['runner_native_in_flight', 'Calls inside a handler', (s) => s.inFlight],
    ['runner_native_records_dropped_total', 'Access records dropped (the JavaScript thread was behind)', (s) => s.recordsDropped],
  ]) {
    new client.Gauge({ name, help, registers: [registry], collect() { const s = stats(); if (s) this.set(read(s)); } });
  }

  // getStats().latency as a Prometheus histogram: cumulative buckets, sum and count.
  const latencyName = 'runner_native_latency_seconds';
  registry.registerMetric({
    name: latencyName,
    help: 'How long answers took, every answered request counted',
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values = [];
      const s = stats();
      if (s) {
        const { boundsMs, counts, count, sumMs } = s.latency;
        let cumulative = 0;
        boundsMs.forEach((ms, i) => {
          cumulative += counts[i];
          values.push({ metricName: `${latencyName}_bucket`, labels: { le: ms / 1000 }, value: cumulative });
        });
        values.push({ metricName: `${latencyName}_bucket`, labels: { le: '+Inf' }, value: count });
        values.push({ metricName: `${latencyName}_sum`, labels: {}, value: sumMs / 1000 });
        values.push({ metricName: `${latencyName}_count`, labels: {}, value: count });
      }
      return { name: latencyName, help: this.help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {},
  });

  return {
    registry,
    onRequests(records) {
      for (const r of records) {
        // Requests no handler answered (404s, refusals) share one series: an id from the
        // path would let any client create series without end.
        duration.observe({ method: r.method, kind: r.kind || 'none', id: r.id || '', status: r.status }, r.durationMs / 1000);
        bytes.inc({ direction: 'in' }, r.bytesIn);
        bytes.inc({ direction: 'out' }, r.bytesOut);
      }
    },
    track(s) { server = s; },
  };
}

/**
 * Serves registry on GET /metrics.
 * @returns {http.Server}
 */
function metricsServer(registry) {
  return http.createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
}

module.exports = { createMetrics, metricsServer };

if (require.main === module) {
  const metrics = createMetrics();
  const server = new TunnelServer({ port: Number(process.env.PORT) || 7070, onRequests: metrics.onRequests });
  metrics.track(server);
  server.registerTask('app.tasks.add', async (input) => input.a + input.b);
  const scrape = metricsServer(metrics.registry);
  server.listen().then(() => {
    scrape.listen(Number(process.env.METRICS_PORT) || 9464, () => {
      console.log(`runner-native on port ${server.port}, metrics on http://localhost:${scrape.address().port}/metrics`);
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => { scrape.close(); server.close(); });
  }
}
