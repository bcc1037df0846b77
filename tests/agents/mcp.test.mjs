// The MCP server, driven by the official MCP client SDK (@modelcontextprotocol/sdk) over both
// transports — streamable HTTP at /-daebug-mcp and stdio through `daebug mcp` — against a real
// Chromium page. Every tool call that runs code must appear in the realm's log as a request
// from the MCP client's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  REPO_ROOT, startServer, launchBrowser, openRealm, readText, parseLog, daebugBin,
} from '../helpers/daebug.mjs';

const FIXTURE = path.join(REPO_ROOT, 'tests/e2e/fixtures/counter');

let server;
let browser;
let realm;

before(async () => {
  server = await startServer({ fixture: FIXTURE });
  fs.writeFileSync(path.join(server.root, 'ok.test.js'), `
import { test } from 'node:test';
import assert from 'node:assert';
test('sums', () => assert.equal(2 + 2, 4));
`);
  browser = await launchBrowser();
  realm = await openRealm(server, browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const transports = {
  'streamable HTTP': () => new StreamableHTTPClientTransport(new URL('/-daebug-mcp', server.url)),
  stdio: () => new StdioClientTransport({ command: daebugBin(), args: ['mcp', '--root', server.root], stderr: 'pipe' }),
};

for (const [kind, makeTransport] of Object.entries(transports)) {
  const clientName = `mcp-${kind === 'stdio' ? 'stdio' : 'http'}-tester`;

  test(`MCP over ${kind}: tools, evaluate, read_log, run_tests — all in the realm's log`, async () => {
    const client = new Client({ name: clientName, version: '1.0.0' });
    await client.connect(makeTransport());
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['evaluate', 'list_realms', 'read_log', 'run_tests']);
      assert.deepEqual(tools.find((t) => t.name === 'evaluate').inputSchema.required, ['code']);

      const listed = await client.callTool({ name: 'list_realms', arguments: {} });
      assert.ok(!listed.isError);
      const names = listed.structuredContent.realms.map((r) => r.name);
      assert.ok(names.includes(realm.name), names.join());

      const marker = `${kind}-${Date.now()}`;
      const ev = await client.callTool({ name: 'evaluate', arguments: { code: `console.info(${JSON.stringify(marker)}); document.querySelectorAll('button').length + 1` } });
      assert.ok(!ev.isError, JSON.stringify(ev));
      assert.equal(ev.structuredContent.value, 2);
      assert.equal(ev.structuredContent.realm, realm.name);
      assert.equal(ev.structuredContent.agent, clientName);
      assert.match(ev.content[0].text, new RegExp(`^#### 👍${realm.name} to ${clientName} at `));
      assert.ok(ev.content[0].text.includes(marker));
      const log = parseLog(readText(realm.log));
      const req = log.requests.at(-1);
      assert.equal(req.agent, clientName);
      assert.match(req.blocks[0], new RegExp(marker));
      assert.equal(log.replies.at(-1).agent, clientName);
      assert.equal(log.replies.at(-1).body, '2');

      const err = await client.callTool({ name: 'evaluate', arguments: { code: `null.${kind === 'stdio' ? 'viaStdio' : 'viaHttp'}`, realm: realm.name } });
      assert.equal(err.isError, true);
      assert.match(err.content[0].text, /```Error\nTypeError/);

      const none = await client.callTool({ name: 'evaluate', arguments: { code: '1', realm: 'no-such-realm' } });
      assert.equal(none.isError, true);
      assert.match(none.content[0].text, /no realm named no-such-realm/);

      const bad = await client.callTool({ name: 'evaluate', arguments: { kode: '1' } });
      assert.equal(bad.isError, true);
      assert.match(bad.content[0].text, /bad arguments for evaluate/);

      const tail = await client.callTool({ name: 'read_log', arguments: { realm: realm.name, last: 2 } });
      assert.ok(!tail.isError);
      assert.match(tail.content[0].text, new RegExp(`^### 🗣️${clientName} to ${realm.name}`), readText(realm.log).slice(-3000));
      assert.match(tail.content[0].text, /#### 🚫/);

      const tests = await client.callTool({ name: 'run_tests', arguments: { files: ['ok.test.js'] } });
      assert.ok(!tests.isError, JSON.stringify(tests));
      assert.equal(tests.structuredContent.passed, true);
      assert.equal(tests.structuredContent.totals.pass, 1);
      assert.equal(parseLog(readText(realm.log)).requests.at(-1).agent, clientName);
    } finally {
      await client.close();
    }
  });
}

test('MCP over HTTP refuses cross-site requests', async () => {
  const res = await fetch(new URL('/-daebug-mcp', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'evil', version: '1' } } }),
  });
  assert.equal(res.status, 403);
});
