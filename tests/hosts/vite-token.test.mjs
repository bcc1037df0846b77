// `vite dev --host` (Vite on a network address) with the Daebug plugin: Daebug's endpoints on
// Vite's port need Daebug's access token (SPEC 8), as the standalone server's do. The attack:
// requests without the token, or with a wrong one, are refused and write nothing; the owner's
// page, opened on the `…/?token=…` URL the plugin prints, gets the token in a cookie and runs
// code. A dev server on loopback needs no token (tests/hosts/vite.test.mjs).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT, runJs } from '../helpers/daebug.mjs';
import { copyExample } from './checks.mjs';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'vite');
/**
 * This machine's own network address, where Vite listens (not 0.0.0.0: nothing else is
 * exposed): a page opened there reaches Daebug only through Vite's port, as from another device
 * (the plugin's loopback endpoint is not on that address), so its requests need the cookie.
 */
const LAN = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('vite dev --host with the Daebug plugin', () => {
  let server;
  let browser;
  let host;
  let token;
  const lines = [];

  before(async () => {
    const { createServer, createLogger } = await import('vite');
    const { default: daebug } = await import('@daebug/vite-plugin');
    const root = copyExample(EXAMPLE);
    const logger = createLogger('info');
    for (const level of ['info', 'warn']) logger[level] = (msg) => lines.push(msg);
    const port = await freePort();
    server = await createServer({
      root,
      configFile: false,
      customLogger: logger,
      plugins: [daebug()],
      server: { port, strictPort: true, host: LAN ?? '0.0.0.0' },
    });
    await server.listen();
    host = { url: `http://${LAN ?? '127.0.0.1'}:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    const deadline = Date.now() + 15000;
    while (!token && Date.now() < deadline) {
      token = lines.join('\n').match(/\?token=([0-9a-f]{32})/)?.[1];
      if (!token) await new Promise((r) => setTimeout(r, 50));
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (host) await removeTree(path.dirname(host.root));
  });

  test('the plugin prints the page URL with the token', () => {
    assert.match(token ?? '', /^[0-9a-f]{32}$/, lines.join('\n'));
    assert.match(lines.join('\n'), /\[daebug\] Vite listens on the network: Daebug's endpoints need its token\. Open pages as http:\/\/\S+\/\?token=[0-9a-f]{32}/);
  });

  test("without the token Daebug's endpoints on Vite's port refuse and write nothing", async () => {
    for (const [p, init] of [
      ['/-daebug-api/realms', {}],
      ['/-daebug-channel?name=7-evil-0000-00&url=x', {}],
      ['/-daebug-channel?name=7-evil-0000-00&url=x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'background-flush', events: [] }) }],
      ['/-daebug-api/run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: '1' }) }],
      ['/-daebug-api/realms', { headers: { 'x-daebug-token': '0'.repeat(32) } }],
      [`/-daebug-api/realms?token=${'f'.repeat(32)}`, {}],
    ]) {
      const res = await fetch(new URL(p, host.url), init);
      assert.equal(res.status, 401, `${init.method || 'GET'} ${p}`);
      assert.match(await res.text(), /needs its token/);
    }
    assert.equal(fs.existsSync(path.join(host.logDir, '7-evil-0000-00.md')), false, 'no realm log was created');
    // A page requested with a wrong token gets no cookie.
    const page = await fetch(new URL(`/?token=${'f'.repeat(32)}`, host.url));
    assert.equal(page.headers.get('set-cookie'), null);
  });

  test('with the token: the header works, and a page opened on the ?token= URL runs code through Vite', { skip: LAN ? false : 'no network address on this machine: a page on loopback would use the plugin\'s loopback endpoint' }, async () => {
    const h = await fetch(new URL('/-daebug-api/health', host.url), { headers: { 'x-daebug-token': token } });
    assert.equal(h.status, 200);
    const realm = await openRealm(host, browser, `/?token=${token}`, { timeout: 20000 });
    const cookies = await realm.page.context().cookies();
    assert.ok(cookies.some((c) => c.name === 'daebug-token' && c.value === token && c.httpOnly), JSON.stringify(cookies));
    const reply = await runJs(realm.log, '6 * 7');
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.match(reply.body, /42/);
    await realm.page.close();
  });
});
