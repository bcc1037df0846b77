#!/usr/bin/env node
// Benchmark: append→reply on the WebAssembly (WASI) build against the native build, same run.
// `node bench/wasi.mjs [--requests N]` (part of `npm run bench`).
//
// Three `npx daebug` servers (packages/cli) run side by side, one on the native binding, two with
// NAPI_RS_FORCE_WASI=1, each serving a copy of examples/basic with a page open in headless
// Chromium: on WASI the realm uses the WebSocket the Node host bridges onto the core, and, for
// comparison, the shared long poll that WASI realms used before that bridge (the shim is told to
// skip the socket with sessionStorage['daebug-channel'] = 'shared-poll'). Trivial expressions are appended to each page's log in alternating batches of 10
// (so machine noise hits both alike), timing append → reply visible in the file.
// Also, in-process for each build (no browser, no HTTP): append → the waiting long poll gets the
// job (fs watcher → engine → poll), and posted result → reply on disk; and the raw cost of one
// handle() call (a small /-daebug GET).
// Needs both builds in crates/napi-binding (npm run build -w @daebug/native; npm run build:wasm -w @daebug/native).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, launchBrowser, openRealm, readText, removeTree, REPO_ROOT } from '../tests/helpers/daebug.mjs';
import { copyExample } from '../tests/hosts/checks.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const REQUESTS = opt('--requests', 60);
const BATCH = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))]; };
const BUILDS = { native: {}, wasi: { NAPI_RS_FORCE_WASI: '1' }, 'wasi-poll': { NAPI_RS_FORCE_WASI: '1' } };
const INIT = { 'wasi-poll': () => sessionStorage.setItem('daebug-channel', 'shared-poll') };

if (!fs.existsSync(path.join(REPO_ROOT, 'crates/napi-binding/daebug.wasm32-wasi.wasm'))) {
  console.error('bench/wasi.mjs: no WASI build; run npm run build:wasm -w @daebug/native');
  process.exit(1);
}

async function start(name) {
  const root = copyExample(path.join(REPO_ROOT, 'examples', 'basic'));
  const port = await freePort();
  const env = { ...process.env, ...BUILDS[name] };
  delete env.NAPI_RS_FORCE_WASI;
  Object.assign(env, BUILDS[name]);
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'packages/cli/bin/daebug.js'), '--root', root, '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    try { await (await fetch(url)).arrayBuffer(); break; } catch { if (i > 300) throw new Error(`${name} server did not start`); await sleep(100); }
  }
  return { name, proc, root, url, logDir: path.join(root, 'daebug'), registry: path.join(root, 'daebug.md') };
}

async function roundTrip(log, n) {
  const needle = '```JSON\n' + (n + 1) + '\n```';
  const t0 = performance.now();
  fs.appendFileSync(log, '```js\n' + `${n} + 1` + '\n```\n');
  for (;;) {
    const text = readText(log) || '';
    if (text.indexOf(needle, text.lastIndexOf(`${n} + 1`)) >= 0) return performance.now() - t0;
    await sleep(1);
  }
}

/** Median µs of one in-process handle() for each build (child processes, 2000 calls). */
function handleCost(name) {
  const code = `
    const b = require('./crates/napi-binding');
    const d = new b.Daebug({ root: require('os').tmpdir() });
    (async () => {
      const req = { method: 'GET', url: '/-daebug-worker-bootstrap.js', headers: { host: 'localhost' } };
      for (let i = 0; i < 200; i++) await d.handle(req);
      const xs = [];
      for (let i = 0; i < 2000; i++) { const t = performance.now(); await d.handle(req); xs.push(performance.now() - t); }
      xs.sort((a, b) => a - b);
      console.log(JSON.stringify({ median: xs[1000], p90: xs[1800], target: b.__napiBindingTarget }));
      await d.close();
    })();`;
  const env = { ...process.env };
  delete env.NAPI_RS_FORCE_WASI;
  Object.assign(env, BUILDS[name]);
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: REPO_ROOT, env, encoding: 'utf8' }).trim().split('\n').pop());
}

/** In-process append→job and result→reply-on-disk medians (ms), in a child (bench/wasi-core.cjs). */
function coreRoundTrip(name) {
  const env = { ...process.env };
  delete env.NAPI_RS_FORCE_WASI;
  Object.assign(env, BUILDS[name]);
  const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'bench/wasi-core.cjs')], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

/** CPU seconds a server process used so far (Linux; null elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch { return null; }
}

const servers = [await start('native'), await start('wasi'), await start('wasi-poll')];
const browser = await launchBrowser();
const samples = { native: [], wasi: [], 'wasi-poll': [] };
const cpu = {};
try {
  const realms = {};
  for (const s of servers) realms[s.name] = await openRealm(s, browser, '/', { timeout: 30000, init: INIT[s.name] });
  await sleep(300);
  let n = 100000;
  for (const s of servers) for (let i = 0; i < 5; i++) await roundTrip(realms[s.name].log, n++); // warm-up
  for (const s of servers) cpu[s.name] = cpuSeconds(s.proc.pid);
  while (samples.native.length < REQUESTS) {
    for (const s of servers) for (let i = 0; i < BATCH; i++) samples[s.name].push(await roundTrip(realms[s.name].log, n++));
  }
  for (const s of servers) cpu[s.name] = cpu[s.name] === null ? null : cpuSeconds(s.proc.pid) - cpu[s.name];
} finally {
  await browser.close();
  for (const s of servers) {
    s.proc.kill('SIGTERM');
    await new Promise((r) => s.proc.once('exit', r));
    await removeTree(path.dirname(s.root));
  }
}
const cost = { native: handleCost('native'), wasi: handleCost('wasi') };
const core = { native: coreRoundTrip('native'), wasi: coreRoundTrip('wasi') };
const rows = [];
const label = { native: 'native', wasi: 'wasi (WebSocket)', 'wasi-poll': 'wasi (shared long poll)' };
for (const name of ['native', 'wasi', 'wasi-poll']) {
  rows.push([`append→reply via npx daebug, ${label[name]} (${samples[name].length} requests)`, `median ${pct(samples[name], 0.5).toFixed(1)} ms, p90 ${pct(samples[name], 0.9).toFixed(1)} ms`]);
}
for (const name of ['native', 'wasi', 'wasi-poll']) {
  if (cpu[name] != null) rows.push([`server CPU per request (all three running side by side), ${label[name]}`, `${(cpu[name] * 1000 / samples[name].length).toFixed(1)} ms`]);
}
rows.push(['append→reply median, WASI (WebSocket) − native', `${(pct(samples.wasi, 0.5) - pct(samples.native, 0.5)).toFixed(1)} ms (target: within 5 ms)`]);
rows.push(['append→reply median, WASI (long poll) − native', `${(pct(samples['wasi-poll'], 0.5) - pct(samples.native, 0.5)).toFixed(1)} ms`]);
for (const name of ['native', 'wasi']) {
  rows.push([`in-process append→job / result→reply on disk, ${name}`, `median ${core[name].toJob.toFixed(1)} ms / ${core[name].toReply.toFixed(1)} ms`]);
}
rows.push(['in-process append→reply (sum of medians), WASI − native', `${(core.wasi.toJob + core.wasi.toReply - core.native.toJob - core.native.toReply).toFixed(1)} ms`]);
for (const name of ['native', 'wasi']) {
  rows.push([`one handle() call in-process, ${name} (${cost[name].target})`, `median ${(cost[name].median * 1000).toFixed(0)} µs, p90 ${(cost[name].p90 * 1000).toFixed(0)} µs`]);
}
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
process.exit(0);
