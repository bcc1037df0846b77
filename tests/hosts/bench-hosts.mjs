#!/usr/bin/env node
// Benchmark of the Node hosts: `node tests/hosts/bench-hosts.mjs [--requests N] [--duration S]`.
//
//   1. requests/s of a Vite dev server for the same 10 KB static asset (public/data.js), with
//      and without @daebug/vite-plugin, and their ratio (wrk when installed, else a Node
//      keep-alive generator; 50 connections).
//   2. append→reply median (sequential trivial expressions appended to a live page's log, until
//      the reply is visible in the file) through Vite and through esbuild (Daebug as front proxy).
// Needs the binding built (npm run build -w @daebug/native) and Chromium at /usr/bin/chromium.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, launchBrowser, openRealm, readText, removeTree, REPO_ROOT, startServer } from '../helpers/daebug.mjs';
import { copyExample } from './checks.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const REQUESTS = opt('--requests', 40);
const DURATION = opt('--duration', 4);
const CONNECTIONS = 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

/** A Vite dev server in a child process (see vite-child.mjs), with or without the plugin. */
async function startVite(root, withPlugin) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'tests', 'hosts', 'vite-child.mjs'), root, String(port), withPlugin ? '1' : '0'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('READY')) resolve(); });
    child.once('exit', (code) => reject(new Error(`vite exited with ${code} before it was ready`)));
  });
  const close = () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
  return { server: { close }, url: `http://127.0.0.1:${port}/`, root, logDir: path.join(root, 'daebug'), registry: path.join(root, 'daebug.md') };
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

/** Requests/s for `url` (wrk when installed, else a Node keep-alive generator). */
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
const ROUNDS = 3;
const rows = [];
try {
  // Both Vite servers run side by side in this process and are loaded in alternating rounds, so
  // machine noise hits both alike; the ratio is of the medians.
  const plain = await startVite(viteRoot, false);
  const withDaebug = await startVite(viteRoot, true);
  const rps = { plain: [], daebug: [] };
  await load(`${plain.url}data.js`); // warm-up
  await load(`${withDaebug.url}data.js`);
  for (let round = 0; round < ROUNDS; round++) {
    rps.plain.push(await load(`${plain.url}data.js`));
    rps.daebug.push(await load(`${withDaebug.url}data.js`));
  }
  await plain.server.close();
  const fmt = (xs) => `${median(xs).toFixed(0)} (rounds: ${xs.map((x) => x.toFixed(0)).join(', ')})`;
  rows.push(['Vite req/s, 10 KB static asset, without plugin', fmt(rps.plain)],
    ['Vite req/s, same asset, with @daebug/vite-plugin', fmt(rps.daebug)],
    ['ratio with/without (medians)', (median(rps.daebug) / median(rps.plain)).toFixed(3)]);
  const vite = await latency(withDaebug);
  await withDaebug.server.close();
  const e = await startEsbuild(esbuildRoot);
  const esb = await latency(e);
  await e.ctx.dispose();
  // The standalone server on the same machine, same method, for the "within 5 ms" comparison.
  const standaloneRoot = copyExample(path.join(REPO_ROOT, 'examples', 'basic'));
  const bin = fs.existsSync(path.join(REPO_ROOT, 'target', 'release', 'daebug')) ? 'target/release/daebug' : undefined;
  const s = await startServer({ root: standaloneRoot, bin: bin && path.join(REPO_ROOT, bin) });
  const standalone = await latency(s);
  await s.stop();
  await removeTree(path.dirname(standaloneRoot));
  rows.push(['append→reply median, standalone server', `${standalone.toFixed(1)} ms`],
    ['append→reply median via Vite', `${vite.toFixed(1)} ms (${(vite - standalone).toFixed(1)} ms vs standalone)`],
    ['append→reply median via esbuild (front proxy)', `${esb.toFixed(1)} ms (${(esb - standalone).toFixed(1)} ms vs standalone)`]);
} finally {
  await removeTree(path.dirname(viteRoot));
  await removeTree(path.dirname(esbuildRoot));
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
process.exit(0);
