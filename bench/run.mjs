#!/usr/bin/env node
// Daebug benchmark: `node bench/run.mjs [options]` (the release binary, real headless Chromium).
//
//   1. append→reply latency: sequential requests of a trivial expression appended to a live
//      page's log; time from just before the append until the reply is visible in the file.
//   2. static files: requests/s for a 10 KB .js file from the daebug server vs a plain Node
//      `http` server (fs.readFile + res.end), same load generator for both (wrk when installed,
//      else a Node keep-alive generator), and their ratio.
//   3. memory: RSS of the daebug process while 500 simulated realms hold long polls
//      (GET /-daebug-channel?name=sim-N), and how many of those requests failed.
//
// Options:
//   --requests N      latency samples (default 60, at least 50 recommended)
//   --duration S      seconds of load per static run (default 5)
//   --connections N   concurrent keep-alive connections for the static runs (default 50)
//   --realms N        simulated realms for the memory run (default 500)
//   --only LIST       comma-separated subset of latency,static,rss
//   --no-build        never run cargo; use the binary as it is
//   --generator node  force the Node load generator even when wrk is installed
//
// Binary: DAEBUG_BIN, else target/release/daebug; it is (re)built with
// `cargo build --release -p daebug-core` when missing or older than the core's sources.
// Chromium: CHROME_PATH, else /usr/bin/chromium (never downloaded).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  REPO_ROOT, copyFixture, freePort, launchBrowser, openRealm, parseRegistry, readText, removeTree,
  startServer, waitForFile,
} from '../tests/helpers/daebug.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(REPO_ROOT, 'tests', 'e2e', 'fixtures', 'counter');
const STATIC_FILE = '/assets/data.js'; // 10 KB

const STATIC_ROUNDS = 3;
const TARGETS = {
  latencyMedianMs: 20, // append→reply median < 20 ms
  staticRatio: 5, // daebug ≥ 5× Node's req/s
  rssMb: 60, // 500 realms < 60 MB
};

// ─── Options ─────────────────────────────────────────────────────────────────────────────────

function parseArgs(argv) {
  const opts = { requests: 60, duration: 5, connections: 50, realms: 500, only: null, build: true, generator: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--requests': opts.requests = Number(value()); break;
      case '--duration': opts.duration = Number(value()); break;
      case '--connections': opts.connections = Number(value()); break;
      case '--realms': opts.realms = Number(value()); break;
      case '--only': opts.only = new Set(value().split(',')); break;
      case '--no-build': opts.build = false; break;
      case '--generator': opts.generator = value(); break;
      case '--help': case '-h':
        console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 24)
          .map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
        process.exit(0);
        break;
      default:
        console.error(`bench: unknown option ${argv[i]} (see --help)`);
        process.exit(2);
    }
  }
  return opts;
}

// ─── Binary ──────────────────────────────────────────────────────────────────────────────────

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBinary(opts) {
  if (process.env.DAEBUG_BIN) {
    const bin = path.resolve(REPO_ROOT, process.env.DAEBUG_BIN);
    if (!fs.existsSync(bin)) throw new Error(`DAEBUG_BIN=${bin} does not exist`);
    return bin;
  }
  const bin = path.join(REPO_ROOT, 'target', 'release', 'daebug');
  const core = path.join(REPO_ROOT, 'crates', 'core');
  const sources = Math.max(newestMtime(path.join(core, 'src')), fs.statSync(path.join(core, 'Cargo.toml')).mtimeMs);
  const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < sources;
  if (stale && opts.build) {
    console.log(`Building the release binary (${fs.existsSync(bin) ? 'older than its sources' : 'missing'}): cargo build --release -p daebug-core`);
    const res = spawnSync('cargo', ['build', '--release', '-p', 'daebug-core'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (res.status !== 0) throw new Error('cargo build --release failed');
  } else if (stale) {
    console.log('Note: target/release/daebug is older than its sources (--no-build given).');
  }
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run cargo build --release -p daebug-core`);
  return bin;
}

// ─── Small utilities ─────────────────────────────────────────────────────────────────────────

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Median of unsorted numbers. */
function median(xs) {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number((new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status) || [])[1] || NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), threads: Number((/^Threads:\s+(\d+)/m.exec(status) || [])[1]) };
}

/** CPU seconds (user + system) the process has used so far; USER_HZ is 100 on Linux. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14 and 15)
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

// ─── 1. append→reply latency ─────────────────────────────────────────────────────────────────

/**
 * Method: for each sample, take performance.now() immediately before the synchronous
 * fs.appendFileSync of the ```js block, then wait until the reply is readable in the log.
 * Detection uses fs.watch on the log's directory (the server renames a temp file over the log,
 * so the directory sees the event) AND a 1 ms stat poll (inode/size/mtime; the file is only read
 * when one of them changed), so whichever notices first wins and detection adds well under a
 * millisecond on top of the real latency. "Visible" means the file holds, after the request's
 * unique code, a ```JSON block with the expected value. Requests are sequential (the next
 * append only after the previous reply), after a few unmeasured warm-up requests.
 */
function waitForReply(log, code, expected, timeoutMs = 10000) {
  const needle = '```JSON\n' + expected + '\n```';
  return new Promise((resolve, reject) => {
    let lastSig = '';
    let done = false;
    const check = () => {
      if (done) return;
      let st;
      try { st = fs.statSync(log, { bigint: true }); } catch (_) { return; }
      const sig = `${st.ino}:${st.size}:${st.mtimeNs}`;
      if (sig === lastSig) return;
      lastSig = sig;
      const text = readText(log);
      if (text === null) return;
      const at = text.lastIndexOf(code);
      if (at >= 0 && text.indexOf(needle, at + code.length) >= 0) {
        const t = performance.now();
        const header = /\n#### 👍\S+ to \S+ at [\d:]+ \((\d+)ms\)/.exec(text.slice(at));
        finish(null, { t, jobMs: header ? Number(header[1]) : NaN });
      }
    };
    const watcher = fs.watch(path.dirname(log), check);
    watcher.on('error', () => {});
    const poll = setInterval(check, 1);
    const timer = setTimeout(() => finish(new Error(`no reply to ${code} within ${timeoutMs}ms`)), timeoutMs);
    function finish(err, result) {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      watcher.close();
      if (err) reject(err); else resolve(result);
    }
    check();
  });
}

async function benchLatency(bin, opts) {
  const server = await startServer({ fixture: FIXTURE, bin });
  const browser = await launchBrowser();
  try {
    const realm = await openRealm(server, browser, '/');
    await sleep(300); // let the worker realm register too
    const samples = [];
    const jobMs = [];
    const total = opts.requests + 5;
    for (let i = 0; i < total; i++) {
      const n = 100000 + i;
      const code = `${n} + 1`;
      const t0 = performance.now();
      fs.appendFileSync(realm.log, '```js\n' + code + '\n```\n');
      const { t: t1, jobMs: ms } = await waitForReply(realm.log, code, String(n + 1));
      if (i >= 5) { samples.push(t1 - t0); jobMs.push(ms); }
    }
    samples.sort((a, b) => a - b);
    jobMs.sort((a, b) => a - b);
    return {
      n: samples.length,
      median: percentile(samples, 50),
      p90: percentile(samples, 90),
      min: samples[0],
      max: samples[samples.length - 1],
      jobMedian: percentile(jobMs, 50), // the reply header's duration: realm took the job → result
    };
  } finally {
    await browser.close();
    await server.stop();
    await removeTree(path.dirname(server.root));
  }
}

// ─── 2. static files ─────────────────────────────────────────────────────────────────────────

function hasWrk() {
  try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }); return true; } catch (e) { return e.status === 1; }
}

/** wrk: requests/s and non-2xx/3xx + socket errors. */
function runWrk(url, { duration, connections }) {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, url], { encoding: 'utf8' });
  const rps = Number((/Requests\/sec:\s+([\d.]+)/.exec(out) || [])[1]);
  const requests = Number((/(\d+) requests in/.exec(out) || [])[1]);
  const non2xx = Number((/Non-2xx or 3xx responses:\s+(\d+)/.exec(out) || [0, 0])[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps, requests, failed: non2xx + errors };
}

/** Node keep-alive generator: `connections` request loops over one keep-alive agent. */
async function runNodeLoad(url, { duration, connections }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const deadline = performance.now() + duration * 1000;
  let ok = 0;
  let failed = 0;
  const one = () => new Promise((resolve) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => { if (res.statusCode === 200) ok++; else failed++; resolve(); });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end();
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await one();
  }));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { rps: ok / elapsed, requests: ok + failed, failed };
}

async function startNodeStatic(root) {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(HERE, 'node-static-server.mjs'), root, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
    proc.on('exit', (code) => reject(new Error(`node static server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/`, pid: proc.pid, stop: () => new Promise((resolve) => { proc.once('exit', resolve); proc.kill('SIGTERM'); setTimeout(() => proc.kill('SIGKILL'), 2000).unref(); }) };
}

/**
 * Both servers run side by side and are loaded in alternating rounds (daebug, node, daebug, …):
 * on a small shared machine the load generator and the server compete for the same cores, so
 * single runs swing by ±20%; the ratio is of the medians.
 */
async function benchStatic(bin, opts) {
  const useWrk = opts.generator !== 'node' && hasWrk();
  const load = useWrk ? runWrk : runNodeLoad;
  const generator = useWrk ? `wrk -t1 -c${opts.connections} -d${opts.duration}s` : `node keep-alive generator, ${opts.connections} connections, ${opts.duration}s`;
  const site = copyFixture(FIXTURE);
  const rounds = { daebug: [], node: [] };
  let daebug;
  let node;
  try {
    const expected = fs.readFileSync(path.join(site, STATIC_FILE));
    daebug = await startServer({ root: site, bin });
    node = await startNodeStatic(site);
    const targets = {
      daebug: { url: new URL(STATIC_FILE, daebug.url).href, pid: daebug.proc.pid },
      node: { url: new URL(STATIC_FILE, node.url).href, pid: node.pid },
    };
    const body = Buffer.from(await (await fetch(targets.daebug.url)).arrayBuffer());
    if (!body.equals(expected)) throw new Error('daebug served different bytes for the static file');
    for (const t of Object.values(targets)) await load(t.url, { duration: 1, connections: opts.connections }); // warm-up
    for (let round = 0; round < STATIC_ROUNDS; round++) {
      for (const [name, t] of Object.entries(targets)) {
        const cpu0 = cpuSeconds(t.pid);
        const r = await load(t.url, { duration: opts.duration, connections: opts.connections });
        r.cpuUsPerReq = ((cpuSeconds(t.pid) - cpu0) * 1e6) / r.requests;
        rounds[name].push(r);
      }
    }
  } finally {
    if (daebug) await daebug.stop();
    if (node) await node.stop();
    await removeTree(path.dirname(site));
  }
  const summarize = (rs) => ({
    rps: median(rs.map((r) => r.rps)),
    cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
    failed: rs.reduce((n, r) => n + (r.failed || 0), 0),
    rounds: rs.map((r) => Math.round(r.rps)),
  });
  const results = { daebug: summarize(rounds.daebug), node: summarize(rounds.node) };
  return { generator, ...results, ratio: results.daebug.rps / results.node.rps };
}

// ─── 3. memory with N realms in long polls ───────────────────────────────────────────────────

async function benchRss(bin, opts) {
  const site = copyFixture(FIXTURE);
  const server = await startServer({ root: site, bin });
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const requests = [];
  const outcome = { ok: 0, non200: 0, errors: 0, earlyEmpty: 0 };
  try {
    await sleep(200);
    const idle = rssOf(server.proc.pid);
    const started = performance.now();
    const pending = [];
    for (let i = 0; i < opts.realms; i++) {
      const url = `${server.url}-daebug-channel?name=sim-${i}&url=${encodeURIComponent(`${server.url}sim-${i}.html`)}`;
      pending.push(new Promise((resolve) => {
        const sentAt = performance.now();
        const req = http.get(url, { agent }, (res) => {
          let len = 0;
          res.on('data', (d) => { len += d.length; });
          res.on('end', () => {
            if (res.statusCode === 200) outcome.ok++; else outcome.non200++;
            if (performance.now() - sentAt < 5000) outcome.earlyEmpty++; // answered before a long poll could end
            resolve();
          });
        });
        req.on('error', () => { outcome.errors++; resolve(); });
        requests.push(req);
      }));
    }
    // All registered = all N realms listed in daebug.md; the polls are then held open by the server.
    let registered = 0;
    try {
      await waitForFile(server.registry, (t) => {
        registered = parseRegistry(t).filter((r) => r.name.startsWith('sim-')).length;
        return registered >= opts.realms;
      }, { timeout: 8000, interval: 50, what: `${opts.realms} realms in daebug.md` });
    } catch (_) { /* reported below as registered < N */ }
    const registerMs = performance.now() - started;
    await sleep(300);
    const held = rssOf(server.proc.pid);
    const stillPending = opts.realms - outcome.ok - outcome.non200 - outcome.errors;
    const logs = fs.existsSync(path.join(site, 'daebug')) ? fs.readdirSync(path.join(site, 'daebug')).length : 0;
    // Let the long polls finish on their own (empty 200s after ~10–15 s) and count failures.
    await Promise.race([Promise.all(pending), sleep(25000)]);
    const unanswered = opts.realms - outcome.ok - outcome.non200 - outcome.errors;
    return {
      realms: opts.realms, registered, registerMs, idle, held, stillPending, logs,
      ok: outcome.ok, non200: outcome.non200, errors: outcome.errors, unanswered, earlyEmpty: outcome.earlyEmpty,
      failed: outcome.non200 + outcome.errors + unanswered,
    };
  } finally {
    requests.forEach((r) => r.destroy());
    agent.destroy();
    await server.stop();
    await removeTree(path.dirname(site));
  }
}

// ─── Report ──────────────────────────────────────────────────────────────────────────────────

function table(rows) {
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) => r.map((cell, c) => String(cell ?? '').padEnd(widths[c])).join('   ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('   '), ...rows.slice(1).map(line)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const want = (k) => !opts.only || opts.only.has(k);
  const bin = ensureBinary(opts);
  console.log(`Daebug benchmark — ${path.relative(REPO_ROOT, bin) || bin}, ${os.cpus().length} CPUs, Node ${process.version}`);
  const rows = [['measure', 'value', 'target', 'result']];
  const verdicts = [];
  const verdict = (pass) => { verdicts.push(pass); return pass ? 'PASS' : 'MISS'; };

  if (want('latency')) {
    process.stdout.write(`1. append→reply latency: ${opts.requests} sequential requests to headless Chromium…\n`);
    const lat = await benchLatency(bin, opts);
    rows.push([`append→reply median (n=${lat.n})`, `${fmt(lat.median, 2)} ms`, `< ${TARGETS.latencyMedianMs} ms`, verdict(lat.median < TARGETS.latencyMedianMs)]);
    rows.push(['append→reply p90', `${fmt(lat.p90, 2)} ms`, '', '']);
    rows.push(['append→reply min / max', `${fmt(lat.min, 2)} / ${fmt(lat.max, 2)} ms`, '', '']);
    rows.push(['  of which in the page (reply header, median)', `${fmt(lat.jobMedian, 0)} ms`, '', '']);
  }
  if (want('static')) {
    process.stdout.write('2. static 10 KB .js: daebug vs plain Node http…\n');
    const st = await benchStatic(bin, opts);
    rows.push([`static req/s, daebug (median of ${STATIC_ROUNDS})`, `${fmt(st.daebug.rps, 0)}${st.daebug.failed ? ` (${st.daebug.failed} failed)` : ''}  [${st.daebug.rounds.join(', ')}]`, '', '']);
    rows.push([`static req/s, node http (median of ${STATIC_ROUNDS})`, `${fmt(st.node.rps, 0)}${st.node.failed ? ` (${st.node.failed} failed)` : ''}  [${st.node.rounds.join(', ')}]`, '', '']);
    rows.push(['  server CPU per request, daebug / node', `${fmt(st.daebug.cpuUsPerReq, 0)} / ${fmt(st.node.cpuUsPerReq, 0)} µs`, '', '']);
    rows.push(['static ratio daebug / node', `${fmt(st.ratio, 2)}×`, `≥ ${TARGETS.staticRatio}×`, verdict(st.ratio >= TARGETS.staticRatio && st.daebug.failed === 0)]);
    rows.push(['  load generator', st.generator, '', '']);
  }
  if (want('rss')) {
    process.stdout.write(`3. RSS with ${opts.realms} realms long-polling (waits for the polls to end, ~15 s)…\n`);
    const m = await benchRss(bin, opts);
    const mb = m.held.rssKb / 1024;
    rows.push([`RSS, ${m.realms} realms in long polls`, `${fmt(mb, 1)} MB`, `< ${TARGETS.rssMb} MB`, verdict(mb < TARGETS.rssMb)]);
    rows.push(['  RSS idle / peak (VmHWM)', `${fmt(m.idle.rssKb / 1024, 1)} / ${fmt(m.held.hwmKb / 1024, 1)} MB`, '', '']);
    rows.push(['  realms listed in daebug.md', `${m.registered} in ${fmt(m.registerMs, 0)} ms; ${m.stillPending} polls held; ${m.logs} logs`, '', '']);
    rows.push(['failed long polls', `${m.failed} (non-200 ${m.non200}, errors ${m.errors}, unanswered ${m.unanswered})`, '0', verdict(m.failed === 0 && m.registered >= m.realms)]);
    if (m.earlyEmpty) rows.push(['  polls answered in < 5 s', String(m.earlyEmpty), '', '']);
  }
  console.log('\n' + table(rows));
  const missed = verdicts.filter((v) => !v).length;
  console.log(`\n${verdicts.length - missed} PASS, ${missed} MISS`);
}

main().catch((err) => {
  console.error(`bench: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
