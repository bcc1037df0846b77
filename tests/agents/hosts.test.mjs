// `daebug run`, the API and MCP against the other hosts: the Vite plugin (core on a port of its
// own, found through the discovery file) and esbuild's serve mode; and the npm CLI path
// (`npx daebug run|mcp`, the core running inside Node through the native binding).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT, readText, parseLog } from '../helpers/daebug.mjs';
import { copyExample } from '../hosts/checks.mjs';
import { runCli } from './helpers.mjs';

const NPX = [process.execPath, path.join(REPO_ROOT, 'packages/cli/bin/daebug.js')];

describe('Vite dev server with the Daebug plugin', () => {
  let server;
  let browser;
  let host;
  let realm;

  before(async () => {
    const { createServer } = await import('vite');
    const { default: daebug } = await import('@daebug/vite-plugin');
    const root = copyExample(path.join(REPO_ROOT, 'examples', 'vite'));
    const port = await freePort();
    server = await createServer({ root, configFile: false, logLevel: 'silent', plugins: [daebug()], server: { port, strictPort: true, host: '127.0.0.1' } });
    await server.listen();
    host = { url: `http://127.0.0.1:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    browser = await launchBrowser();
    realm = await openRealm(host, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (host) await removeTree(path.dirname(host.root));
  });

  test('daebug run finds the Vite-hosted core (its port is not derived from the root) and waits for the reply', async () => {
    const r = await runCli(['run', '--json', '--agent', 'vite-agent', "document.getElementById('message').textContent.length > 0"], { cwd: host.root });
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.value, true);
    assert.equal(v.realm, realm.name);
    assert.equal(parseLog(readText(realm.log)).requests.at(-1).agent, 'vite-agent');
  });

  test('npx daebug run (the core inside Node) prints the reply and exits with its code', async () => {
    const ok = await runCli(['run', '40 + 2'], { cwd: host.root, cmd: NPX });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^#### 👍.*\n```JSON\n42\n```\n$/);
    const bad = await runCli(['run', '--json', 'nope()'], { cwd: host.root, cmd: NPX });
    assert.equal(bad.code, 1);
    assert.match(JSON.parse(bad.stdout).error, /ReferenceError/);
  });

  test("the API and MCP answer on Vite's own port too", async () => {
    const res = await fetch(new URL('/-daebug-api/run', host.url), { method: 'POST', body: JSON.stringify({ code: '1 + 1', agent: 'through-vite' }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).value, 2);
    const client = new Client({ name: 'vite-mcp-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/-daebug-mcp', host.url)));
    try {
      const ev = await client.callTool({ name: 'evaluate', arguments: { code: '3 * 3' } });
      assert.equal(ev.structuredContent.value, 9, JSON.stringify(ev));
      assert.equal(parseLog(readText(realm.log)).requests.at(-1).agent, 'vite-mcp-client');
    } finally {
      await client.close();
    }
  });

  test('npx daebug mcp serves MCP on stdio through the running host', async () => {
    const client = new Client({ name: 'npx-stdio-client', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: NPX[0], args: [NPX[1], 'mcp'], cwd: host.root, stderr: 'pipe' }));
    try {
      const ev = await client.callTool({ name: 'evaluate', arguments: { code: '"via npx"' } });
      assert.equal(ev.structuredContent.value, 'via npx', JSON.stringify(ev));
      assert.equal(parseLog(readText(realm.log)).requests.at(-1).agent, 'npx-stdio-client');
    } finally {
      await client.close();
    }
  });
});

describe('esbuild serve with the Daebug plugin', () => {
  let ctx;
  let browser;
  let host;
  let realm;

  before(async () => {
    const esbuild = await import('esbuild');
    const { default: daebug } = await import('@daebug/esbuild-plugin');
    const root = copyExample(path.join(REPO_ROOT, 'examples', 'esbuild'));
    const dbg = daebug({ log: () => {} });
    ctx = await esbuild.context({ absWorkingDir: root, entryPoints: ['src/app.js'], bundle: true, outdir: 'www/js', logLevel: 'silent', plugins: [dbg] });
    await ctx.watch();
    const served = await dbg.serve(ctx, { servedir: path.join(root, 'www'), port: await freePort() });
    host = { url: `http://127.0.0.1:${served.port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    browser = await launchBrowser();
    realm = await openRealm(host, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    await browser?.close();
    await ctx?.dispose();
    if (host) await removeTree(path.dirname(host.root));
  });

  test('daebug run and daebug realms work against the esbuild host', async () => {
    const r = await runCli(['run', '--json', '--agent', 'esb', 'typeof document.body'], { cwd: host.root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).value, 'object');
    assert.equal(parseLog(readText(realm.log)).requests.at(-1).agent, 'esb');
    const list = await runCli(['realms'], { cwd: host.root });
    assert.equal(list.code, 0);
    assert.ok(list.stdout.includes(realm.name), list.stdout);
  });
});
