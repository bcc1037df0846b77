// The binding's own listener (listen()) closes a connection that sends half a request, as the
// standalone server does (the core's READ_TIMEOUT, 10 s), and keeps serving everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const { Daebug } = createRequire(import.meta.url)('../index.js');

test('listen() closes a connection that sends half a header', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-binding-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<html><head></head><body>hi</body></html>');
  const d = new Daebug({ root });
  try {
    const info = await d.listen({ port: 0 });
    const started = Date.now();
    const closedAfter = await new Promise((resolve, reject) => {
      const sock = net.connect(info.port, '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nHost: local'));
      const timer = setTimeout(() => { sock.destroy(); reject(new Error('still open after 30 s')); }, 30_000);
      sock.on('data', () => {});
      sock.on('error', () => {});
      sock.on('close', () => { clearTimeout(timer); resolve(Date.now() - started); });
    });
    assert.ok(closedAfter >= 9_000, `closed by the 10 s timeout, not at once (${closedAfter} ms)`);
    const res = await fetch(info.url);
    assert.equal(res.status, 200, 'still serving');
    assert.match(await res.text(), /-daebug-shim\.js/);
  } finally {
    await d.close();
  }
});
