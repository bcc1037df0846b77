// End-to-end: `vite dev` with @daebug/vite-plugin, driving headless Chromium. The shared host
// checks, plus: Vite's logger gets Daebug's lines, HMR still updates the page in place, and
// closing the dev server rewrites the registry as shut down.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT, runJs } from '../helpers/daebug.mjs';
import { copyExample, sharedHostChecks, waitForShutDownRegistry } from './checks.mjs';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'vite');

describe('vite dev with the Daebug plugin', () => {
  let server;
  let browser;
  let host;
  let realm;
  const lines = [];

  before(async () => {
    const { createServer, createLogger } = await import('vite');
    const { default: daebug } = await import('@daebug/vite-plugin');
    const root = copyExample(EXAMPLE);
    const logger = createLogger('info');
    for (const level of ['info', 'warn']) {
      logger[level] = (msg) => lines.push(msg);
    }
    const port = await freePort();
    server = await createServer({
      root,
      configFile: false,
      customLogger: logger,
      plugins: [daebug()],
      server: { port, strictPort: true, host: '127.0.0.1' },
    });
    await server.listen();
    host = { url: `http://127.0.0.1:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    browser = await launchBrowser();
    realm = await openRealm(host, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
    if (host) await removeTree(path.dirname(host.root));
  });

  sharedHostChecks(() => ({ host, realm }));

  test("the app's own import map was merged, not duplicated", async () => {
    const map = await realm.page.evaluate(() => [...document.querySelectorAll('script[type=importmap]')].map((s) => JSON.parse(s.textContent)));
    assert.equal(map.length, 1);
    assert.equal(map[0].imports['app/'], '/src/');
    assert.equal(map[0].imports['node:test'], '/-daebug-node:test.js');
  });

  test("realms reach the core on its own port, not through Vite's server", async () => {
    const requests = [];
    const onRequest = (r) => requests.push(r.url());
    realm.page.on('request', onRequest);
    try {
      const reply = await runJs(realm.log, '6 * 7');
      assert.equal(reply.body, '42');
      // The reply lands on disk before the browser's request events reach this process:
      // wait for the result's POST and the next long poll to be seen.
      const deadline = Date.now() + 5000;
      while (requests.filter((u) => u.includes('/-daebug-channel')).length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      realm.page.off('request', onRequest);
    }
    const port = await realm.page.evaluate(() => document.querySelector('script[data-daebug]').getAttribute('data-daebug-port'));
    assert.match(port, /^\d+$/);
    const channel = requests.filter((u) => u.includes('/-daebug-channel'));
    assert.ok(channel.length > 0 && channel.every((u) => new URL(u).port === port), channel.join('\n'));
  });

  test("Vite's logger shows Daebug's lines", () => {
    assert.ok(lines.some((l) => l.includes(`[daebug] + ${realm.name}`)), lines.join('\n'));
  });

  test('an HMR update still works, in place, and the realm keeps answering', async () => {
    await runJs(realm.log, "globalThis.beforeHmr = 'kept'; document.getElementById('message').textContent");
    const file = path.join(host.root, 'src', 'message.js');
    fs.writeFileSync(file, "export const message = 'Updated by HMR.';\n");
    await realm.page.waitForFunction(() => document.getElementById('message').textContent === 'Updated by HMR.', null, { timeout: 15000 });
    const reply = await runJs(realm.log, "[document.getElementById('message').textContent, globalThis.beforeHmr]");
    assert.deepEqual(JSON.parse(reply.body), ['Updated by HMR.', 'kept'], 'no full reload');
  });

  test('closing the dev server rewrites the registry as shut down', async () => {
    await server.close();
    server = null;
    const text = await waitForShutDownRegistry(host);
    // The restart line is the command that started this process (here, the test file).
    assert.match(text, /node \S*vite\.test\.mjs/);
  });
});
