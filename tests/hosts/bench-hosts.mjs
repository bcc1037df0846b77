#!/usr/bin/env node
// Benchmark of the Node hosts: `node tests/hosts/bench-hosts.mjs [--requests N] [--duration S]`.
//
//   1. requests/s of a Vite dev server for the same 10 KB static asset (public/data.js), with
//      and without @daebug/vite-plugin, and their ratio (wrk when installed, else a Node
//      keep-alive generator; 50 connections).
//   2. append→reply median (sequential trivial expressions appended to a live page's log, until
//      the reply is visible in the file) through Vite and through esbuild (Daebug as front proxy).
// Needs the binding built (npm run build -w @daebug/native) and Chromium at /usr/bin/chromium.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, launchBrowser, openRealm, readText, removeTree, REPO_ROOT } from '../helpers/daebug.mjs';
import { copyExample } from './checks.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const REQUESTS = opt('--requests', 40);
const DURATION = opt('--duration', 4);
const CONNECTIONS = 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

async function startVite(root, withPlugin) {
  const { createServer } = await import('vite');
  const { default: daebug } = await import('@daebug/vite-plugin');
  const port = await freePort();
  const server = await createServer({ root, configFile: false, logLevel: 'silent', plugins: withPlugin ? [daebug()] : [], server: { port, strictPort: true, host: '127.0.0.1' } });
  await server.listen();
  return { server, url: `http://127.0.0.1:${port}/`, root, logDir: path.join(root, 'daebug'), registry: path.join(root, 'daebug.md') };
}

async function startEsbuild(root) {
  const esbuild = await import('esbuild');
  const { default: daebug } = await import('@daebug/esbuild-plugin');
  const dbg = daebug({ log: () => {} });
  const ctx = await esbuild.context({ absWorkingDir: root, entryPoints: ['src/app.js'], bundle: true, outdir: 'www/js', logLevel: 'silent', plugins: [dbg] });
  await ctx.watch();
  const { port } = await dbg.serve(ctx, { servedir: path.join(root, 'www'), port: await freePort() });
  return { ctx, url: `http://127.0.0.1:${port}/`, root, logDir: path.join(root, 'daebug'), registry: path.join(root, 'daebug.md') };
}

/** Requests/s for `url`; wrk runs asynchronously, since Vite serves from this process. */
function load(url) {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, url], { encoding: 'utf8' }, (err, out) => {
      if (err && err.code === 'ENOENT') resolve(nodeLoad(url));
      else if (err) reject(err);
      else resolve(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]));
    });
  });
}

async function nodeLoad(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const deadline = performance.now() + DURATION * 1000;
  let ok = 0;
  const one = () => new Promise((resolve) => {
    http.get(url, { agent }, (res) => { res.resume(); res.on('end', () => { ok += res.statusCode === 200; resolve(); }); }).on('error', resolve);
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => { while (performance.now() < deadline) await one(); }));
  agent.destroy();
  return ok / ((performance.now() - t0) / 1000);
}

/** Sequential append→reply times (ms) for `REQUESTS` trivial expressions, after 5 warm-ups. */
async function latency(host) {
  const browser = await launchBrowser();
  try {
    const realm = await openRealm(host, browser, '/', { timeout: 20000 });
    await sleep(300);
    const samples = [];
    for (let i = 0; i < REQUESTS + 5; i++) {
      const n = 100000 + i;
      const needle = '```JSON\n' + (n + 1) + '\n```';
      const t0 = performance.now();
      fs.appendFileSync(realm.log, '```js\n' + `${n} + 1` + '\n```\n');
      for (;;) {
        const text = readText(realm.log) || '';
        if (text.indexOf(needle, text.lastIndexOf(`${n} + 1`)) >= 0) break;
        await sleep(1);
      }
      if (i >= 5) samples.push(performance.now() - t0);
    }
    return median(samples);
  } finally {
    await browser.close();
  }
}

const viteRoot = copyExample(path.join(REPO_ROOT, 'examples', 'vite'));
fs.mkdirSync(path.join(viteRoot, 'public'), { recursive: true });
fs.writeFileSync(path.join(viteRoot, 'public', 'data.js'), `export const data = ${JSON.stringify('x'.repeat(10 * 1024 - 30))};\n`);
const esbuildRoot = copyExample(path.join(REPO_ROOT, 'examples', 'esbuild'));
const rows = [];
try {
  const rps = {};
  for (const withPlugin of [false, true]) {
    const v = await startVite(viteRoot, withPlugin);
    await load(`${v.url}data.js`); // warm-up
    rps[withPlugin] = await load(`${v.url}data.js`);
    if (withPlugin) rows.push(['append→reply median via Vite', `${(await latency(v)).toFixed(1)} ms`]);
    await v.server.close();
  }
  rows.unshift(['Vite req/s, 10 KB static asset, without plugin', rps[false].toFixed(0)],
    ['Vite req/s, same asset, with @daebug/vite-plugin', rps[true].toFixed(0)],
    ['ratio with/without', (rps[true] / rps[false]).toFixed(3)]);
  const e = await startEsbuild(esbuildRoot);
  rows.push(['append→reply median via esbuild (front proxy)', `${(await latency(e)).toFixed(1)} ms`]);
  await e.ctx.dispose();
} finally {
  await removeTree(path.dirname(viteRoot));
  await removeTree(path.dirname(esbuildRoot));
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
process.exit(0);
