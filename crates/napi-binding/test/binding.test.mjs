// Tests of the binding itself: options, handle() without blocking Node during a long poll,
// cancel(), the host check, listen() as static server and as front proxy, %%SHUTDOWN%%, close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const { Daebug, injectHtml } = createRequire(import.meta.url)('../index.js');
const site = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-binding-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<html><head></head><body>hi</body></html>');
  return dir;
};
const channel = '/-daebug-channel?name=7-zen-1201-03&url=http%3A%2F%2Flocalhost%2F';

test('options are checked with one-line errors', () => {
  assert.throws(() => new Daebug({ root: '/no/such/dir' }), /^Error: daebug: root \/no\/such\/dir does not exist or is not a directory$/);
  assert.throws(() => new Daebug({ root: site(), timeout: 0 }), /daebug: timeout must be between 0 and 86400 seconds, got 0/);
});

test('a long poll does not block the event loop, and cancel() ends it', async () => {
  const d = new Daebug({ root: site() });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  const poll = d.handle({ id: 7, method: 'GET', url: channel, headers: { host: 'localhost:5173' } });
  setTimeout(() => d.cancel(7), 500);
  const res = await poll;
  clearInterval(timer);
  assert.equal(res.status, 499);
  assert.ok(Date.now() - started < 3000);
  assert.ok(ticks > 20, `event loop ran ${ticks} ticks during the poll`);
  assert.ok(fs.existsSync(path.join(d.root, 'daebug', '7-zen-1201-03.md')), 'realm log created');
  await d.close();
});

test('handle() answers scripts, refuses foreign hosts and cross-site requests', async () => {
  const d = new Daebug({ root: site(), allowedHosts: ['dev.test'] });
  const shim = await d.handle({ method: 'GET', url: '/-daebug-shim.js', headers: { host: 'dev.test:80' } });
  assert.equal(shim.status, 200);
  assert.match(shim.headers['content-type'], /javascript/);
  assert.ok(Buffer.isBuffer(shim.body) && shim.body.length > 1000);
  const evil = await d.handle({ method: 'GET', url: '/-daebug-info', headers: { host: 'evil.test' } });
  assert.equal(evil.status, 403);
  const cross = await d.handle({ method: 'POST', url: channel, headers: { host: 'localhost', origin: 'http://evil.test' }, body: Buffer.from('{}') });
  assert.equal(cross.status, 403);
  const bad = await d.handle({ method: 'POST', url: channel, headers: { host: 'localhost' }, body: Buffer.from('{oops') });
  assert.equal(bad.status, 400);
  await d.close();
});

test('injectHtml adds the shim and import map once', () => {
  const out = injectHtml('<html><head></head></html>');
  assert.match(out, /<head><script type="importmap"[^>]*>.*<\/script><script data-daebug src="\/-daebug-shim.js"><\/script><\/head>/);
  assert.equal(injectHtml(out), out);
});

test('listen() serves the root with injection; close() rewrites the registry', async () => {
  const d = new Daebug({ root: site(), commandName: 'my-host --again' });
  const info = await d.listen({ port: 0 });
  assert.match(info.url, /^http:\/\/localhost:\d+\/$/);
  const html = await (await fetch(info.url)).text();
  assert.match(html, /-daebug-shim\.js/);
  await assert.rejects(d.listen({ port: 0 }), /already listening/);
  await d.close();
  await d.close();
  const registry = fs.readFileSync(d.registryPath, 'utf8');
  assert.match(registry, /stopped at/);
  assert.match(registry, /my-host --again/);
  await assert.rejects(fetch(info.url));
});

test('listen({ proxyTo }) forwards to another server and injects its HTML', async () => {
  const upstream = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head></head><body>from upstream</body></html>');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
      res.end(`no ${req.url}`);
    }
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const d = new Daebug({ root: site() });
  const info = await d.listen({ port: 0, proxyTo: `http://127.0.0.1:${upstream.address().port}/` });
  const page = await (await fetch(info.url)).text();
  assert.match(page, /from upstream/);
  assert.match(page, /-daebug-shim\.js/);
  const missing = await fetch(new URL('/nope?x=1', info.url));
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-upstream'), 'yes');
  assert.equal(await missing.text(), 'no /nope?x=1');
  assert.equal((await fetch(new URL('/-daebug-info', info.url))).status, 200);
  await assert.rejects(d.listen({ proxyTo: 'ftp://x' }), /already listening/);
  await d.close();
  upstream.close();
  const other = new Daebug({ root: site() });
  await assert.rejects(other.listen({ port: 0, proxyTo: 'ftp://x/y' }), /proxyTo must look like 127.0.0.1:8001/);
  await other.close();
});

test('%%SHUTDOWN%% stops the listener, closes the engine and notifies', async () => {
  const d = new Daebug({ root: site() });
  const kinds = [];
  d.onNotice((n) => kinds.push(n.kind));
  const info = await d.listen({ port: 0 });
  fs.appendFileSync(d.registryPath, '\n%%SHUTDOWN%%\n');
  for (let i = 0; i < 100 && !kinds.includes('shutdown-requested'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(kinds, ['shutdown-requested']);
  for (let i = 0; i < 100 && !/stopped at/.test(fs.readFileSync(d.registryPath, 'utf8')); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(fs.readFileSync(d.registryPath, 'utf8'), /stopped at/);
  await assert.rejects(fetch(info.url));
  await d.close();
});

test('closeNow() rewrites the registry synchronously (for signal handlers)', async () => {
  const d = new Daebug({ root: site() });
  const info = await d.listen({ port: 0 });
  d.closeNow();
  assert.match(fs.readFileSync(d.registryPath, 'utf8'), /stopped at/);
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(fetch(info.url));
  await d.close();
});
