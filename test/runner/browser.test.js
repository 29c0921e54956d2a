'use strict';
/**
 * CORS as browsers enforce it: headless Chromium (Debian's chromium, driven by
 * playwright-core; nothing is downloaded) loads a page from one origin and calls a task
 * through runner's own browser build of createHttpClient. The page's origin is allowed,
 * the same page from another origin is not: the first gets the result, the second is
 * blocked by the browser at the preflight, so the task never runs. Run against
 * nodeExposure and nativeExposure alike.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it), or a Chromium
 * named by CHROMIUM_PATH. Without one, the test is skipped with a line that says so, except
 * under CI (CI=true, as CI services set it), where a missing browser fails the suite: CI
 * must not pass without having run it. RUNNER_NATIVE_SKIP_BROWSER=1 skips it on purpose.
 */
const assert = require('assert');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { startApp } = require('./app');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const runnerDir = path.dirname(require.resolve('@bluelibs/runner/package.json'));
/** lru-cache as runner resolves it (its package.json is not exported): the folder above its entry. */
const lruEntry = require.resolve('lru-cache', { paths: [runnerDir] });
const lruDir = lruEntry.slice(0, lruEntry.lastIndexOf(`${path.sep}lru-cache${path.sep}`) + '/lru-cache'.length);

/** The page and runner's browser build, served from one port (two origins: 127.0.0.1 and localhost). */
function startPageServer() {
  const files = {
    '/runner.mjs': path.join(runnerDir, 'dist/browser/index.mjs'),
    '/lru-cache.mjs': path.join(lruDir, 'dist/esm/browser/index.min.js'),
  };
  const page = `<!doctype html><meta charset="utf-8"><title>runner-native CORS</title>
<script type="importmap">{"imports":{"lru-cache":"/lru-cache.mjs","cron-parser":"/cron-parser.mjs","runner":"/runner.mjs"}}</script>
<script type="module">
import { createHttpClient, Serializer } from 'runner';
window.callTask = async (baseUrl, id, input) => {
  const client = createHttpClient({ baseUrl, auth: { token: 'secret' }, serializer: new Serializer() });
  try {
    const value = await client.task(id, input);
    return { ok: true, value: { sum: value.sum, isDate: value.when instanceof Date, when: value.when.toISOString() } };
  } catch (err) {
    return { ok: false, name: err.name, message: String(err.message) };
  }
};
window.ready = true;
</script>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (req.url === '/cron-parser.mjs') {
      // runner's browser build imports cron-parser (CommonJS only) for its cron resource,
      // which the client never uses.
      res.writeHead(200, { 'content-type': 'text/javascript' }).end('export const CronExpressionParser = { parse() { throw new Error("no cron in this page"); } };');
    } else if (files[req.url]) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(files[req.url]));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('runner: CORS in a real browser (headless Chromium)', function () {
  this.timeout(120000);
  let browser;
  let pageServer;
  let userDataDir;

  before(async function () {
    if (process.env.RUNNER_NATIVE_SKIP_BROWSER === '1') {
      console.log('      (skipped: RUNNER_NATIVE_SKIP_BROWSER=1)');
      this.skip();
    }
    if (!fs.existsSync(CHROMIUM)) {
      const how = 'install Debian\'s chromium (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary';
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} not found, and under CI the browser test must run: ${how}`);
      console.log(`      (skipped: ${CHROMIUM} not found; to run this test, ${how})`);
      this.skip();
    }
    const { chromium } = require('playwright-core');
    pageServer = await startPageServer();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-native-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (pageServer) pageServer.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  /** Loads the page from origin and calls the task at baseUrl from it. */
  async function callFrom(origin, baseUrl) {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => window.ready === true);
      return await page.evaluate(([url]) => window.callTask(url, 'app.tasks.echo', { sum: 3, when: new Date(Date.UTC(2024, 0, 2)) }), [baseUrl]);
    } finally {
      await page.close();
    }
  }

  for (const exposure of ['node', 'native']) {
    it(`${exposure}Exposure: the allowed origin gets the result, another is blocked at the preflight`, async () => {
      const port = pageServer.address().port;
      const allowed = `http://127.0.0.1:${port}`;
      const refused = `http://localhost:${port}`;
      const app = await startApp({ exposure, http: { auth: { token: 'secret' }, cors: { origin: [allowed] } } });
      const echoes = () => app.ran.filter((id) => id === 'app.tasks.echo').length;
      // Requests that reached the server: node's http.Server says, runner-native counts.
      const methods = [];
      if (exposure === 'node') app.value.server.on('request', (req) => methods.push(req.method));
      const requests = () => (exposure === 'node' ? methods.length : app.value.server.getStats().requests);
      try {
        const ok = await callFrom(allowed, app.url);
        assert.deepStrictEqual(ok, { ok: true, value: { sum: 3, isDate: true, when: '2024-01-02T00:00:00.000Z' } });
        assert.strictEqual(echoes(), 1, 'the allowed call ran the task once');
        assert.strictEqual(requests(), 2, 'a preflight, then the call');
        const blocked = await callFrom(refused, app.url);
        assert.strictEqual(blocked.ok, false);
        assert.match(blocked.message, /Failed to fetch/, 'the browser blocks the call');
        assert.strictEqual(requests(), 3, 'only the preflight reached the server');
        assert.strictEqual(echoes(), 1, 'the task never ran for the refused origin');
        if (exposure === 'node') assert.deepStrictEqual(methods, ['OPTIONS', 'POST', 'OPTIONS']);
      } finally {
        await app.runtime.dispose();
      }
    });
  }
});
