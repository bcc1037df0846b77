// How pages get the shim when Vite does not serve their HTML itself: Vite in middleware mode
// under a Node server of our own that answers some pages without ever passing them through
// Vite (the /@vite/client fallback), others after Vite's middleware as gzip or as a slow stream
// (the response rewriter), plus the one-line warning when pages are served and no realm
// connects. Real Vite, real Chromium.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { freePort, launchBrowser, openRealm, removeTree, runJs, tempDir } from '../helpers/daebug.mjs';

const PAGE = (title) => `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>${title}</title>
    <script type="module" src="/@vite/client"></script>
  </head>
  <body><p id="message">${title}</p></body>
</html>
`;

describe('Vite in middleware mode under a server of its own', () => {
  let vite;
  let server;
  let browser;
  let root;
  let url;
  const warnings = [];

  before(async () => {
    const { createServer, createLogger } = await import('vite');
    const { default: daebug } = await import('@daebug/vite-plugin');
    const dir = tempDir('daebug-vite-injection-');
    root = path.join(dir, 'app');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
    // An app module that imports node:test the way an in-page test file would.
    fs.writeFileSync(path.join(root, 'src', 'uses-node-test.js'), "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nexport const kinds = [typeof test, typeof assert.equal];\n");
    const logger = createLogger('info');
    logger.warn = (msg) => warnings.push(msg);
    process.env.DAEBUG_NO_REALM_WARNING_MS = '1500';
    vite = await createServer({
      root,
      configFile: false,
      customLogger: logger,
      appType: 'custom',
      plugins: [daebug()],
      server: { middlewareMode: true, hmr: false },
    });
    delete process.env.DAEBUG_NO_REALM_WARNING_MS;
    server = http.createServer((req, res) => {
      if (req.url === '/own') {
        // Never passes through Vite: only the client-module fallback can add the shim.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE('own'));
        return;
      }
      vite.middlewares(req, res, () => {
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': 0 });
          const body = zlib.gzipSync(PAGE('gzip'));
          res.setHeader('content-length', body.length);
          res.end(body);
        } else if (req.url === '/stream') {
          // The head arrives in pieces, `</head>` split across writes, the body much later.
          res.writeHead(200, { 'content-type': 'text/html' });
          const page = PAGE('stream');
          const cut = page.indexOf('</head>') + 3;
          res.write(page.slice(0, 40));
          setTimeout(() => res.write(page.slice(40, cut)), 50);
          setTimeout(() => res.write(page.slice(cut, cut + 20)), 100);
          setTimeout(() => res.end(page.slice(cut + 20)), 600);
        } else {
          res.writeHead(404).end();
        }
      });
    });
    const port = await freePort();
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${port}/`;
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    if (vite) await vite.close();
    if (root) await removeTree(path.dirname(root));
  });

  test('a page served without Vite warns after the delay, once, with the manual snippet', async () => {
    const res = await fetch(new URL('/own', url));
    assert.equal(res.status, 200);
    // What a page does first: load Vite's client (this is what tells the plugin pages are served).
    const client = await fetch(new URL('/@vite/client', url)).then((r) => r.text());
    assert.match(client, /data-daebug/);
    const deadline = Date.now() + 5000;
    while (!warnings.some((w) => w.includes('none connected')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const lines = warnings.filter((w) => w.includes('none connected'));
    assert.equal(lines.length, 1, warnings.join('\n'));
    assert.match(lines[0], /<script data-daebug src="\/-daebug-shim\.js"><\/script>/);
    assert.match(lines[0], /docs\/frameworks\.md/);
  });

  test('the Vite client fallback gives a page Vite never saw exactly one shim, and it answers', async () => {
    const realm = await openRealm({ url, root }, browser, '/own', { timeout: 20000 });
    const count = await realm.page.evaluate(() => document.querySelectorAll('script[data-daebug]').length);
    assert.equal(count, 1);
    const reply = await runJs(realm.log, "document.getElementById('message').textContent");
    assert.equal(reply.body, '"own"');
    const kinds = await runJs(realm.log, "(await import('node:test')).test.name.length >= 0 && (await import('/src/uses-node-test.js')).kinds");
    assert.equal(kinds.ok, true, kinds.body);
    assert.deepEqual(JSON.parse(kinds.body), ['function', 'function'], 'node:test resolves in jobs and in app modules');
    await realm.page.close();
  });

  test('a gzip page written after Vite\'s middleware is decompressed and injected', async () => {
    const res = await fetch(new URL('/gzip', url), { headers: { 'accept-encoding': 'identity' } });
    const text = await res.text();
    assert.equal(res.headers.get('content-encoding'), null);
    assert.equal((text.match(/<script data-daebug[ >]/g) ?? []).length, 1, text);
    assert.match(text, /<title>gzip<\/title>/);
    const realm = await openRealm({ url, root }, browser, '/gzip', { timeout: 20000 });
    assert.equal(await realm.page.evaluate(() => document.querySelectorAll('script[data-daebug]').length), 1);
    assert.equal((await runJs(realm.log, 'document.title')).body, '"gzip"');
    await realm.page.close();
  });

  test('a streamed page stays streamed and gets the shim once', async () => {
    const started = Date.now();
    const chunks = [];
    await new Promise((resolve, reject) => {
      http.get(new URL('/stream', url), (res) => {
        res.setEncoding('utf8');
        res.on('data', (d) => chunks.push({ at: Date.now() - started, d }));
        res.on('end', resolve);
      }).on('error', reject);
    });
    const text = chunks.map((c) => c.d).join('');
    assert.equal((text.match(/<script data-daebug[ >]/g) ?? []).length, 1, text);
    assert.ok(text.endsWith('</html>\n'));
    const head = chunks.find((c) => c.d.includes('data-daebug'));
    assert.ok(head.at < 500, `the injected head came before the body was finished (${head.at} ms)`);
  });
});
