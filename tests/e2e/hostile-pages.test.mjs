// End-to-end, headless Chromium: the shim in pages that make its life hard (issue 10, items 3–7).
// Strict CSP by meta (with and without a nonce) and Trusted Types: jobs run in page and worker,
// with no CSP violation on load; a policy that still forbids something is explained in the log.
// Real file:line:col for errors and console calls; node:test / node:assert without our import
// map; a page that redefines JSON, fetch, Promise, timers… cannot break a job; streamed events
// show ~1 s into a job and the placeholder is not refreshed again before 5 s.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, openRealm, parseLog, readText, REPO_ROOT, runJs, appendToLog, jsBlock, startServer, removeTree } from '../helpers/daebug.mjs';

const FIXTURE = path.join(REPO_ROOT, 'tests', 'e2e', 'fixtures', 'hostile');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Record CSP violations (and "Refused to…" console errors) a page reports from its first byte. */
async function openWatched(server, browser, pathname, opts) {
  const seen = [];
  const realm = await openRealm(server, browser, pathname, {
    ...opts,
    init: () => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__violations.push(`${e.effectiveDirective || e.violatedDirective} ${e.blockedURI}`);
      });
    },
  });
  realm.page.on('console', (m) => { if (/Refused to|Content Security Policy|Trusted Type/i.test(m.text())) seen.push(m.text()); });
  realm.violations = async () => [...seen, ...await realm.page.evaluate(() => window.__violations)];
  return realm;
}

describe('the shim in hostile pages (Chromium)', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ fixture: FIXTURE });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (server) await removeTree(path.dirname(server.root));
  });

  for (const [file, what] of [['csp-self.html', "script-src 'self'"], ['csp-nonce.html', "script-src 'self' with a nonce"], ['tt.html', 'Trusted Types required']]) {
    test(`${what}: page and worker jobs run, no CSP violation`, async () => {
      const realm = await openWatched(server, browser, `/${file}`);
      const page = await runJs(realm.log, 'document.title + " " + (window.appRan || window.inlineRan || "-")');
      assert.equal(page.ok, true, page.body);
      assert.match(page.body, /^"(csp|trusted)/);
      const stmts = await runJs(realm.log, 'let x = 5; x * 2');
      assert.equal(stmts.body, '10');
      // node:test and node:assert resolve (through our import map, or the server's mapping
      // where the page's policy kept our map out).
      const tests = await runJs(realm.log, "const { test } = await import('node:test'); const assert = await import('node:assert/strict'); typeof test + ' ' + typeof assert.default.equal");
      assert.equal(tests.body, '"function function"', tests.body);
      const worker = await runJs(realm.workerLog, 'typeof WorkerGlobalScope + " " + (6 * 7)', { timeout: 20000 });
      assert.equal(worker.body, '"function 42"');
      assert.deepEqual(await realm.violations(), []);
      const html = await realm.page.content();
      if (file === 'csp-nonce.html') assert.match(html, /<script data-daebug="" nonce="t3stn0nce" src="\/-daebug-shim.js">/);
      if (file === 'csp-self.html') assert.doesNotMatch(html, /type="importmap"/);
      await realm.page.close();
    });
  }

  test('Trusted Types with an allow-list without daebug: page jobs still run, the log says how to get the worker', async () => {
    const realm = await openWatched(server, browser, '/tt-restricted.html');
    const page = await runJs(realm.log, '[document.title, typeof trustedTypes]');
    assert.equal(page.ok, true, page.body);
    assert.match(page.body, /trusted types, named policies only/);
    const text = await (async () => {
      for (let i = 0; i < 50; i++) {
        const t = readText(realm.log);
        if (t.includes('trusted-types directive')) return t;
        await sleep(100);
      }
      return readText(realm.log);
    })();
    assert.match(text, /the worker realm could not start.*add daebug to its trusted-types directive/s);
    await realm.page.close();
  });

  test('errors and console calls carry file:line:col of the job code', async () => {
    const realm = await openWatched(server, browser, '/');
    const thrown = await runJs(realm.log, 'const a = 1;\nthrow new Error("boom at line 2")');
    assert.equal(thrown.ok, false);
    assert.match(thrown.body, /boom at line 2\n\s+at .*\/-daebug-job\/[^/]+\/c-[a-z0-9-]+\.js:2:\d+/, thrown.body);
    const logged = await runJs(realm.log, '1;\n\nconsole.log("from line 3"); 7');
    assert.equal(logged.body, '7');
    assert.equal(logged.events.length, 1);
    assert.match(logged.events[0].caller || '', /^\/-daebug-job\/[^/]+\/c-[a-z0-9-]+\.js:3:\d+$/, JSON.stringify(logged.events[0]));
    const syntax = await runJs(realm.log, 'let = ;');
    assert.equal(syntax.ok, false);
    assert.match(syntax.body, /SyntaxError.*\n\s+at \/-daebug-job\/[^/]+\/c-s\.js:1:\d+/, syntax.body);
    const workerThrown = await runJs(realm.workerLog, '0;\nthrow new Error("worker boom")', { timeout: 20000 });
    assert.match(workerThrown.body, /worker boom\n\s+at .*\/-daebug-job\/[^/]+\/mn-[a-z0-9-]+\.js:2:\d+/, workerThrown.body);
    // Page state persists between jobs, as with eval: jobs are sloppy-mode scripts.
    await runJs(realm.log, 'globalCounter = 41');
    assert.equal((await runJs(realm.log, '++globalCounter')).body, '42');
    await realm.page.close();
  });

  test('a page that redefines JSON, fetch, Promise, timers, URL, WebSocket… cannot break a job', async () => {
    const realm = await openWatched(server, browser, '/hostile.html');
    assert.equal(await realm.page.evaluate(() => window.hostileRan), true);
    const value = await runJs(realm.log, '({ a: 1, list: [1, "two"], hostile: window.hostileRan })');
    assert.equal(value.ok, true, value.body);
    assert.deepEqual(JSON.parse(value.body), { a: 1, list: [1, 'two'], hostile: true });
    const logged = await runJs(realm.log, 'console.log("still captured", { n: 1 }); "ok"');
    assert.equal(logged.body, '"ok"');
    assert.equal(logged.events[0]?.body, 'still captured {"n":1}');
    const thrown = await runJs(realm.log, 'throw new TypeError("from the job")');
    assert.match(thrown.body, /TypeError: from the job/);
    const worker = await runJs(realm.workerLog, '"worker " + (1 + 1)', { timeout: 20000 });
    assert.equal(worker.body, '"worker 2"');
    await realm.page.close();
  });

  test('streamed events show ~1 s into a job; the placeholder is not refreshed again before 5 s', async () => {
    const realm = await openWatched(server, browser, '/');
    const code = 'console.log("early"); await new Promise((r) => setTimeout(r, 2000)); console.log("later"); await new Promise((r) => setTimeout(r, 2500)); "done"';
    appendToLog(realm.log, jsBlock(code));
    const started = Date.now();
    const placeholders = new Set();
    let earlyAt = null;
    let laterInPlaceholder = false;
    let reply = null;
    while (Date.now() - started < 15000 && !reply) {
      const parsed = parseLog(readText(realm.log));
      const running = parsed.entries.find((e) => e.kind === 'executing' && e.code === code);
      if (running) {
        placeholders.add(running.placeholder);
        if (earlyAt === null && running.events.some((e) => e.body === 'early')) earlyAt = Date.now() - started;
        if (running.events.some((e) => e.body === 'later')) laterInPlaceholder = true;
      }
      reply = parsed.replies.find((r) => r.code === code) || null;
      await sleep(50);
    }
    assert.ok(reply, 'the job finished');
    assert.equal(reply.body, '"done"');
    assert.deepEqual(reply.events.map((e) => e.body), ['early', 'later']);
    assert.ok(earlyAt !== null && earlyAt < 3000, `"early" showed at ${earlyAt} ms`);
    // Refreshed at ~1 s, then not before ~6 s: "later" (at 2 s) waits for the reply.
    assert.equal(laterInPlaceholder, false, 'placeholder refreshed again before 5 s');
    assert.deepEqual([...placeholders].filter((p) => !/^executing \([0-2]s\)$/.test(p)), [], [...placeholders].join(', '));
    await realm.page.close();
  });
});

describe('a CSP response header with a nonce and Trusted Types, through the front proxy (Chromium)', () => {
  let origin;
  let daebug;
  let browser;
  let root;

  before(async () => {
    const { createRequire } = await import('node:module');
    const http = await import('node:http');
    const { Daebug } = createRequire(import.meta.url)('@daebug/native');
    const { copyFixture } = await import('../helpers/daebug.mjs');
    root = copyFixture(FIXTURE);
    const policy = "default-src 'self'; script-src 'self' 'nonce-h3ad3rN0nce'; require-trusted-types-for 'script'";
    origin = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': policy });
      res.end('<!doctype html><html><head><title>header policy</title><script nonce="h3ad3rN0nce">window.inlineRan = true;</script></head><body>header</body></html>');
    });
    await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
    daebug = new Daebug({ root });
    const info = await daebug.listen({ port: 0, proxyTo: `127.0.0.1:${origin.address().port}` });
    browser = await launchBrowser();
    browser.server = { url: `http://127.0.0.1:${info.port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
  });
  after(async () => {
    await browser?.close();
    await daebug?.close();
    if (root) await removeTree(path.dirname(root));
    await new Promise((resolve) => origin?.close(resolve));
  });

  test('page and worker jobs run, node:test resolves, no CSP or Trusted Types violation', async () => {
    const realm = await openWatched(browser.server, browser, '/');
    const page = await runJs(realm.log, '[document.title, window.inlineRan, typeof trustedTypes]');
    assert.equal(page.ok, true, page.body);
    assert.deepEqual(JSON.parse(page.body), ['header policy', true, 'object']);
    const tests = await runJs(realm.log, "const { test } = await import('node:test'); typeof test");
    assert.equal(tests.body, '"function"');
    const worker = await runJs(realm.workerLog, '"worker " + (2 + 2)', { timeout: 20000 });
    assert.equal(worker.body, '"worker 4"');
    assert.deepEqual(await realm.violations(), []);
    // Our tags carry the header's nonce (browsers hide it from the serialized DOM).
    const nonces = await realm.page.evaluate(() => [...document.querySelectorAll('script[data-daebug], script[data-daebug-importmap]')].map((el) => el.nonce));
    assert.deepEqual(nonces, ['h3ad3rN0nce', 'h3ad3rN0nce']);
  });
});
