#!/usr/bin/env node
// Agent interfaces benchmark (`npm run bench`): three ways an agent runs a trivial expression in
// a live headless-Chromium page of the same server, side by side in one run, interleaved round by
// round so that machine noise hits all three alike:
//
//   file  append a ```js block to the realm's log; time until the reply is in the file
//   run   `daebug run --json EXPR` end to end: process start until its reply is printed
//         (and the process exits)
//   mcp   one MCP `evaluate` tool call over streamable HTTP (@modelcontextprotocol/sdk client,
//         connected once), call to result
//
// Prints median and p90 (ms) per way. Options: --requests N (default 50).
// Binary: DAEBUG_BIN, else target/release/daebug, built with cargo when missing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  REPO_ROOT, startServer, launchBrowser, openRealm, runJs, removeTree,
} from '../tests/helpers/daebug.mjs';
import { runCli, stats } from '../tests/agents/helpers.mjs';

const args = process.argv.slice(2);
const requests = Number(args[args.indexOf('--requests') + 1]) || 50;
const bin = process.env.DAEBUG_BIN || 'target/release/daebug';
const binPath = path.resolve(REPO_ROOT, bin);
if (!process.env.DAEBUG_BIN && !args.includes('--no-build')) {
  execFileSync('cargo', ['build', '--release', '-p', 'daebug-core'], { cwd: REPO_ROOT, stdio: 'inherit' });
}
if (!fs.existsSync(binPath)) throw new Error(`no daebug binary at ${binPath}`);

const server = await startServer({ fixture: path.join(REPO_ROOT, 'tests/e2e/fixtures/counter'), bin: binPath });
const browser = await launchBrowser();
const client = new Client({ name: 'bench', version: '1.0.0' });
try {
  const realm = await openRealm(server, browser);
  await client.connect(new StreamableHTTPClientTransport(new URL('/-daebug-mcp', server.url)));
  const times = { file: [], run: [], mcp: [] };
  for (let i = -3; i < requests; i++) {
    // Warm-up rounds (i < 0) are not counted.
    let t = performance.now();
    const reply = await runJs(realm.log, `(${i}) + 1`);
    if (reply.body !== String(i + 1)) throw new Error(`file: unexpected reply ${reply.body}`);
    const file = performance.now() - t;

    const r = await runCli(['run', '--json', '--realm', realm.name, `(${i}) + 2`], { cwd: server.root, cmd: [binPath] });
    if (r.code !== 0 || JSON.parse(r.stdout).value !== i + 2) throw new Error(`run: ${r.code} ${r.stdout} ${r.stderr}`);

    t = performance.now();
    const ev = await client.callTool({ name: 'evaluate', arguments: { code: `(${i}) + 3`, realm: realm.name } });
    if (ev.structuredContent?.value !== i + 3) throw new Error(`mcp: ${JSON.stringify(ev)}`);
    const mcp = performance.now() - t;

    if (i >= 0) {
      times.file.push(file);
      times.run.push(r.ms);
      times.mcp.push(mcp);
    }
  }
  console.log(`\nAgent interfaces: ${requests} requests each, same server and Chromium page, interleaved (${path.relative(REPO_ROOT, binPath)})`);
  console.log('  way                                   median      p90');
  const label = {
    file: 'file append → reply in the log',
    run: 'daebug run (process start → printed)',
    mcp: 'MCP evaluate (streamable HTTP)',
  };
  for (const k of ['file', 'run', 'mcp']) {
    const s = stats(times[k]);
    console.log(`  ${label[k].padEnd(38)} ${s.median.toFixed(1).padStart(6)} ms ${s.p90.toFixed(1).padStart(6)} ms`);
  }
} finally {
  await client.close().catch(() => {});
  await browser.close();
  await server.stop();
  await removeTree(path.dirname(server.root)).catch(() => {});
}
