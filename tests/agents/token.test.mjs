// A server listening on a non-loopback address (0.0.0.0) requires its token on every request —
// pages, shim channel, API and MCP — so nobody else on the network can run code or write logs.
// The attack: requests without (or with a wrong) token must be refused and write nothing; the
// owner's browser (opened on the printed ?token= URL) and `daebug run` (discovery file) work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT, startServer, launchBrowser, readText, parseLog, waitForFile, logPath, FOOTER_PROMPT,
} from '../helpers/daebug.mjs';
import { runCli } from './helpers.mjs';

const FIXTURE = path.join(REPO_ROOT, 'tests/e2e/fixtures/counter');
let server;
let browser;
let token;

before(async () => {
  server = await startServer({ fixture: FIXTURE, args: ['--host', '0.0.0.0'] });
  const deadline = Date.now() + 5000;
  while (!/token\s+([0-9a-f]{32})/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  token = server.output().match(/token\s+([0-9a-f]{32})/)?.[1];
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the token is printed at start', () => {
  assert.match(token ?? '', /^[0-9a-f]{32}$/, server.output());
});

test('without the token: pages, channel, API and MCP are refused and nothing is written', async () => {
  for (const [p, init] of [
    ['/', {}],
    ['/-daebug-channel?name=7-evil-0000-00&url=x', {}],
    ['/-daebug-channel?name=7-evil-0000-00&url=x', { method: 'POST', body: JSON.stringify({ type: 'background-flush', events: [] }) }],
    ['/-daebug-api/realms', {}],
    ['/-daebug-api/run', { method: 'POST', body: JSON.stringify({ code: '1' }) }],
    ['/-daebug-mcp', { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' }],
    ['/-daebug-api/realms', { headers: { 'x-daebug-token': '0'.repeat(32) } }],
    [`/?token=${'f'.repeat(32)}`, {}],
  ]) {
    const res = await fetch(new URL(p, server.url), init);
    assert.equal(res.status, 401, `${init.method || 'GET'} ${p}`);
    assert.match(await res.text(), /needs its token/);
  }
  assert.equal(fs.existsSync(path.join(server.root, 'daebug')), false, 'no realm log was created');
});

test('with the token: header, bearer, and the ?token= URL that sets a cookie for the page', async () => {
  const h = await fetch(new URL('/-daebug-api/health', server.url), { headers: { 'x-daebug-token': token } });
  assert.equal(h.status, 200);
  const b = await fetch(new URL('/-daebug-api/health', server.url), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(b.status, 200);
  const page = await browser.newPage();
  await page.goto(new URL(`/?token=${token}`, server.url).href);
  await page.waitForFunction(() => globalThis.__daebug && globalThis.__daebug.name, null, { timeout: 10000 });
  const name = await page.evaluate(() => globalThis.__daebug.name);
  const log = logPath(server, name);
  await waitForFile(log, (t) => t.includes(FOOTER_PROMPT), { what: `log of ${name}` });
  // `daebug run` reads the token from the discovery file.
  const r = await runCli(['run', '--json', '--realm', name, 'counter.value + 5'], { cwd: server.root });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).value, 5);
  assert.equal(parseLog(readText(log)).replies.at(-1).body, '5');
  // A wrong explicit token is refused.
  const wrong = await runCli(['run', '--token', 'nope', '1'], { cwd: server.root });
  assert.equal(wrong.code, 2);
  await page.close();
});
