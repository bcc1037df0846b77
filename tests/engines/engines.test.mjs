// Acceptance in three engines, driven only through the Markdown files (issue 10, items 4 and 8):
// Chromium (playwright-core only to open the tabs), Firefox ESR (headless) and WebKitGTK's
// MiniBrowser (under Xvfb) are opened at two page URLs — a plain page and one with
// `script-src 'self'` — and everything else happens by appending ```js blocks to the logs the
// server lists in daebug.md: values, statements, errors and console calls with file:line:col of
// the job's code, node:test / node:assert, the worker realm, and no CSP violation from our scripts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, logPath, parseRegistry, readText, REPO_ROOT, runJs, startServer, waitForFile, removeTree } from '../helpers/daebug.mjs';
import { launchFirefox, launchWebKit } from './browsers.mjs';

const FIXTURE = path.join(REPO_ROOT, 'tests', 'e2e', 'fixtures', 'hostile');
const PAGES = ['/?engine', '/csp-self.html'];

async function launchChromium(urls) {
  const browser = await launchBrowser();
  for (const url of urls) await (await browser.newPage()).goto(url);
  return { name: 'Chromium', output: () => '', close: () => browser.close() };
}

const ENGINES = [
  { name: 'Chromium', launch: launchChromium, trace: /\/-daebug-job\/[^/]+\/c-[a-z0-9-]+\.js:2:\d+/ },
  { name: 'Firefox ESR', launch: launchFirefox, trace: /\/-daebug-job\/[^/]+\/c-[a-z0-9-]+\.js:2:\d+/ },
  { name: 'WebKitGTK', launch: launchWebKit, trace: /\/-daebug-job\/[^/]+\/c-[a-z0-9-]+\.js:2:\d+/ },
];

for (const engine of ENGINES) {
  describe(`${engine.name}, driven through the Markdown files`, () => {
    let server;
    let browser;
    const realms = {};

    before(async () => {
      server = await startServer({ fixture: FIXTURE });
      browser = await engine.launch(PAGES.map((p) => new URL(p, server.url).href));
      // The registry lists each page and its worker realm.
      const listed = await waitForFile(server.registry, (text) => {
        const all = parseRegistry(text);
        const pageOf = (part) => all.find((r) => r.url && r.url.includes(part) && !r.state.startsWith('gone'));
        const plain = pageOf('?engine');
        const csp = pageOf('csp-self');
        const workers = [plain, csp].map((p) => p && all.find((r) => r.workerOf === p.name));
        return plain && csp && workers.every(Boolean) ? { plain, csp, workers } : null;
      }, { timeout: 45000, what: `${engine.name}: two pages and their workers in daebug.md` }).catch((e) => {
        throw new Error(`${e.message}\nbrowser output:\n${browser.output()}`);
      });
      realms.plain = logPath(server, listed.plain.name);
      realms.csp = logPath(server, listed.csp.name);
      realms.worker = logPath(server, listed.workers[0].name);
      realms.cspWorker = logPath(server, listed.workers[1].name);
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    if (server) await removeTree(path.dirname(server.root));
    });

    test('values, statements, the channel', async () => {
      assert.equal((await runJs(realms.plain, '1 + 1')).body, '2');
      assert.equal((await runJs(realms.plain, 'let x = 5; x * 2')).body, '10');
      assert.equal((await runJs(realms.plain, '__daebug.channel')).body, '"websocket"');
      assert.equal((await runJs(realms.plain, 'globalThis.kept = 41; kept + 1')).body, '42');
    });

    test('errors and console calls carry file:line:col of the job code', async () => {
      const thrown = await runJs(realms.plain, '0;\nthrow new Error("boom")');
      assert.equal(thrown.ok, false);
      assert.match(thrown.body, /boom/);
      assert.match(thrown.body, engine.trace, thrown.body);
      const logged = await runJs(realms.plain, '0;\nconsole.log("hello"); 7');
      assert.equal(logged.body, '7');
      assert.match(logged.events[0]?.caller || '', engine.trace, JSON.stringify(logged.events));
      const worker = await runJs(realms.worker, '0;\nthrow new Error("worker boom")', { timeout: 20000 });
      assert.match(worker.body, /worker boom/);
      assert.match(worker.body, /\/-daebug-job\/[^/]+\/mn-[a-z0-9-]+\.js:2:\d+/, worker.body);
      console.log(`${engine.name}: ${JSON.stringify(thrown.body)}; console caller ${logged.events[0].caller}; worker ${JSON.stringify(worker.body)}`);
    });

    test('node:test and node:assert in page and worker', async () => {
      const code = "const { test } = await import('node:test'); const assert = await import('node:assert'); typeof test + ' ' + typeof assert.default.deepStrictEqual";
      assert.equal((await runJs(realms.plain, code)).body, '"function function"');
      assert.equal((await runJs(realms.worker, code, { timeout: 20000 })).body, '"function function"');
    });

    test("script-src 'self': page and worker jobs run, with no CSP violation", async () => {
      const page = await runJs(realms.csp, '[document.title, window.appRan, window.violations]');
      assert.equal(page.ok, true, page.body);
      assert.deepEqual(JSON.parse(page.body), ['csp self', true, []]);
      const code = "const assert = await import('node:assert/strict'); assert.default.equal(1, 1); 'asserted'";
      assert.equal((await runJs(realms.csp, code)).body, '"asserted"');
      assert.equal((await runJs(realms.cspWorker, '"worker " + typeof importScripts', { timeout: 20000 })).body, '"worker function"');
      assert.deepEqual(JSON.parse((await runJs(realms.csp, 'window.violations')).body), []);
      assert.ok(readText(realms.csp).includes('csp self'));
    });
  });
}
