// Standalone server: static serving over real HTTP (SPEC 7, 8). No browser needed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTree, startServer } from '../helpers/daebug.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter');

/** One raw GET (no URL normalisation by the client), on an optional keep-alive agent. */
function get(server, rawPath, { headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static serving', () => {
  let server;

  before(async () => {
    server = await startServer({ fixture: FIXTURE });
    fs.writeFileSync(path.join(server.root, '.env'), 'SECRET=do-not-serve\n');
    fs.mkdirSync(path.join(server.root, 'sub'));
    fs.writeFileSync(path.join(server.root, 'sub', 'index.html'), '<!doctype html><title>sub</title><p id="sub">sub page</p>');
    fs.writeFileSync(path.join(path.dirname(server.root), 'outside.txt'), 'outside the root');
  });

  after(async () => {
    if (server) {
      await server.stop();
      await removeTree(path.dirname(server.root));
    }
  });

  test('files are served byte for byte with their MIME types', async () => {
    const js = await get(server, '/assets/data.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /javascript/);
    assert.ok(js.body.equals(fs.readFileSync(path.join(server.root, 'assets', 'data.js'))));
    const html = await get(server, '/other.html');
    assert.match(html.headers['content-type'], /text\/html/);
  });

  test('a directory serves its index.html, with the shim injected', async () => {
    const res = await get(server, '/sub/');
    assert.equal(res.status, 200);
    const text = res.body.toString();
    assert.ok(text.includes('<p id="sub">sub page</p>'));
    assert.ok(text.includes('/-daebug-shim.js'));
  });

  test('missing files are 404', async () => {
    assert.equal((await get(server, '/nope.js')).status, 404);
  });

  test('nothing outside the root, and no .env, is served', async () => {
    for (const p of ['/../outside.txt', '/..%2foutside.txt', '/%2e%2e/outside.txt', '/sub/../../outside.txt', '/.env', '/sub/..%2f.env']) {
      const res = await get(server, p);
      assert.notEqual(res.status, 200, `${p} was served`);
      assert.ok(!res.body.toString().includes('outside the root') && !res.body.toString().includes('do-not-serve'), `${p} leaked`);
    }
  });

  test('a non-loopback Host header is refused', async () => {
    const res = await get(server, '/index.html', { headers: { host: 'evil.example.com' } });
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
  });

  // Sequential requests on one keep-alive connection must not stall. Without TCP_NODELAY, a
  // response written as headers + body in two segments waits for the client's delayed ACK
  // (~40 ms on Linux) before the body goes out, so each keep-alive request takes 20–45 ms.
  test('keep-alive requests for a static file are not delayed (no Nagle/delayed-ACK stall)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const p of ['/assets/data.js', '/app.js']) {
        await get(server, p, { agent }); // open the connection
        const times = [];
        for (let i = 0; i < 40; i++) {
          const t0 = performance.now();
          assert.equal((await get(server, p, { agent })).status, 200);
          times.push(Math.round(performance.now() - t0));
        }
        const stalled = times.filter((t) => t >= 30).length;
        assert.ok(stalled <= 3, `${p}: ${stalled} of 40 keep-alive requests took ≥ 30 ms (ms each: ${times.join(' ')})`);
      }
    } finally {
      agent.destroy();
    }
  });
});
