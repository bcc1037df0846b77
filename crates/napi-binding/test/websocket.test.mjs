// The realms' WebSocket (`GET /-daebug-ws`) on a host's listen(): the native build serves it
// with the core's own listener, the WASI build through the Node host's `ws` server bridged onto
// the core's channel session (Daebug#socketBridge). The same checks pass on both (this file
// runs again with NAPI_RS_FORCE_WASI=1 in tests/install/hosts-wasi.test.mjs): welcome, a job
// pushed when an agent appends, a second live instance refused, cross-site upgrades refused
// before any handshake, a handshake without a key refused, the access token on a non-loopback
// address, other upgrades forwarded by the front proxy, and the socket closed when Daebug closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);
const { Daebug, __napiBindingTarget } = require('../index.js');
const NAME = '7-zen-1201-03';
const query = (instance) => `name=${NAME}&url=${encodeURIComponent('http://localhost/')}&instance=${instance}`;

/** A socket that collects its frames; `frame(pred)` waits for the next matching one. */
function connect(url, headers = {}) {
  const ws = new WebSocket(url, { headers });
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const f = JSON.parse(String(data));
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  const closed = new Promise((resolve) => ws.on('close', resolve));
  const opened = new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  });
  const frame = (pred, ms = 10000) => {
    const seen = frames.find(pred);
    if (seen) { frames.splice(frames.indexOf(seen), 1); return Promise.resolve(seen); }
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames)}`)), ms).unref();
    });
  };
  return { ws, opened, closed, frame };
}

test(`realm WebSocket on listen() (${__napiBindingTarget}): welcome, pushed job, refusals, close`, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-ws-'));
  const d = new Daebug({ root });
  try {
    const { port } = await d.listen({ port: 0, endpointsOnly: true });
    const base = `ws://127.0.0.1:${port}/-daebug-ws`;

    const a = connect(`${base}?${query('a1')}`);
    await a.opened;
    await a.frame((f) => f.type === 'welcome');
    a.ws.send(JSON.stringify({ type: 'ready' }));
    const log = path.join(root, 'daebug', `${NAME}.md`);
    for (let i = 0; !fs.existsSync(log); i++) {
      assert.ok(i < 200, 'the realm log was created');
      await new Promise((r) => setTimeout(r, 25));
    }
    fs.appendFileSync(log, '```js\n6 * 7\n```\n');
    const job = await a.frame((f) => f.type === 'job');
    assert.match(job.code, /6 \* 7/);
    assert.equal(typeof job.id, 'string');

    // Another live instance under the same name: refused, then closed.
    const b = connect(`${base}?${query('b2')}`);
    await b.opened;
    const refused = await b.frame((f) => f.type === 'refused');
    assert.match(refused.reason, new RegExp(NAME));
    await b.closed;

    // Cross-site and foreign-host upgrades get an HTTP refusal, no WebSocket.
    const evil = connect(`${base}?${query('c3')}`, { origin: 'http://evil.test' });
    await assert.rejects(evil.opened, (e) => e.status === 403);
    const foreign = connect(`${base}?${query('d4')}`, { host: 'evil.test' });
    await assert.rejects(foreign.opened, (e) => e.status === 403);
    // Missing instance: a clear 400.
    const bare = connect(`${base}?name=${NAME}`);
    await assert.rejects(bare.opened, (e) => e.status === 400);

    // Closing Daebug ends the realm's socket.
    await d.close();
    await Promise.race([a.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('socket still open after close()')), 5000))]);
  } finally {
    await d.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test(`listen() on a non-loopback address requires the access token (${__napiBindingTarget})`, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-token-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  const d = new Daebug({ root });
  try {
    // 0.0.0.0 is what makes the token required; the requests below stay on loopback.
    const info = await d.listen({ port: 0, host: '0.0.0.0' });
    const token = new URL(info.url).searchParams.get('token');
    assert.match(token ?? '', /^[0-9a-f]{32}$/, info.url);
    const base = `http://127.0.0.1:${info.port}`;
    assert.equal((await fetch(`${base}/`)).status, 401);
    assert.equal((await fetch(`${base}/-daebug-channel?name=${NAME}&url=x`, { method: 'POST', body: '{"type":"background-flush","events":[]}' })).status, 401);
    assert.equal(fs.existsSync(path.join(root, 'daebug', `${NAME}.md`)), false, 'nothing written without the token');
    const ws = connect(`ws://127.0.0.1:${info.port}/-daebug-ws?${query('t1')}`);
    await assert.rejects(ws.opened, (e) => e.status === 401);
    const page = await fetch(`${base}/`, { headers: { 'x-daebug-token': token } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>t<\/title>/);
    const ok = connect(`ws://127.0.0.1:${info.port}/-daebug-ws?${query('t2')}`, { 'x-daebug-token': token });
    await ok.opened;
    await ok.frame((f) => f.type === 'welcome');
    ok.ws.close();
  } finally {
    await d.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test(`listen({ proxyTo }) forwards other WebSocket upgrades both ways (${__napiBindingTarget})`, async () => {
  const { WebSocketServer } = await import('ws');
  const http = await import('node:http');
  const upstream = http.createServer((_req, res) => res.end('upstream'));
  const echo = new WebSocketServer({ server: upstream });
  echo.on('connection', (s, req) => s.on('message', (m) => s.send(JSON.stringify({ url: req.url, got: String(m) }))));
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-wsproxy-'));
  const d = new Daebug({ root });
  try {
    const { port } = await d.listen({ port: 0, proxyTo: `127.0.0.1:${upstream.address().port}` });
    const c = connect(`ws://127.0.0.1:${port}/app-socket`);
    await c.opened;
    c.ws.send('hello');
    assert.deepEqual(await c.frame((f) => 'got' in f), { url: '/app-socket', got: 'hello' });
    c.ws.close();
    const foreign = connect(`ws://127.0.0.1:${port}/app-socket`, { host: 'evil.test' });
    await assert.rejects(foreign.opened, (e) => e.status === 403);
  } finally {
    await d.close();
    echo.close();
    upstream.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test(`a WebSocket handshake without a key is refused with 400 and leaves the name free (${__napiBindingTarget})`, async () => {
  const http = await import('node:http');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-ws-bad-'));
  const d = new Daebug({ root });
  try {
    const { port } = await d.listen({ port: 0, endpointsOnly: true });
    const status = await new Promise((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', path: `/-daebug-ws?${query('x9')}`, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13'} });
      req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
      req.on('upgrade', () => reject(new Error('upgraded without a key')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 400);
    // The name is still free: a proper socket gets it.
    const c = connect(`ws://127.0.0.1:${port}/-daebug-ws?${query('y8')}`);
    await c.opened;
    await c.frame((f) => f.type === 'welcome');
    c.ws.close();
  } finally {
    await d.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
