// Shared helpers for Daebug's Node-driven test suites and the benchmark:
//
//   daebugBin()                 the server binary (DAEBUG_BIN or target/debug/daebug), or a clear error
//   freePort()                  a free TCP port on 127.0.0.1
//   copyFixture(dir)            a temporary copy of a fixture site
//   startServer({...})          a `daebug` process on a temp copy, with stop() and exit tracking
//   launchBrowser()             headless Chromium (never downloaded) in a fresh profile
//   openRealm(server, browser)  a page opened on the server, its realm name and log path
//   waitForFile(path, pred)     resolve once the file's content satisfies a predicate
//   appendToLog(path, text)     append text to a log (as an agent would)
//   runJs(log, code)            append a ```js block and wait for its reply
//   parseLog(text) / parseRegistry(text)   structured views of the Markdown the server writes
//
// Everything here asserts on files on disk, the way an agent sees them.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FOOTER_PROMPT = '> Append your JavaScript snippet below to execute against this page.';
export const FOOTER_RULE = '-'.repeat(70);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ─── Binary, ports, fixtures ─────────────────────────────────────────────────────────────────

/** Absolute path of the daebug binary; throws a clear message if it has not been built. */
export function daebugBin(fallback = 'target/debug/daebug') {
  const bin = path.resolve(REPO_ROOT, process.env.DAEBUG_BIN || fallback);
  if (!fs.existsSync(bin)) {
    throw new Error(`daebug binary not found at ${bin}: run cargo build first (cargo build -p daebug-core), or set DAEBUG_BIN`);
  }
  return bin;
}

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Fresh temp directory with the given prefix. */
export function tempDir(prefix = 'daebug-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copy a fixture folder into a new temp directory (named after the fixture) and return its path. */
export function copyFixture(fixtureDir) {
  const parent = tempDir('daebug-site-');
  const dest = path.join(parent, path.basename(fixtureDir));
  fs.cpSync(fixtureDir, dest, { recursive: true });
  return dest;
}

// ─── Server ──────────────────────────────────────────────────────────────────────────────────

/**
 * Start `daebug --root <copy of fixture> --port <free port>`.
 * Options: fixture (folder to copy) or root (folder to serve as is), args (extra CLI args),
 * env, bin, readyTimeout. Resolves once the server answers HTTP.
 * Returns { root, port, url, registry, proc, output(), exited (promise of {code, signal}), stop() }.
 */
export async function startServer({ fixture, root, args = [], env = {}, bin, readyTimeout = 10000 } = {}) {
  const exe = bin || daebugBin();
  const siteRoot = root || copyFixture(fixture);
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn(exe, ['--root', siteRoot, '--port', String(port), ...args], {
      cwd: siteRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    let done = null;
    exited.then((r) => { done = r; });
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + readyTimeout;
    let ready = false;
    while (Date.now() < deadline && !done) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        ready = true;
        break;
      } catch (_) {
        await sleep(50);
      }
    }
    if (!ready) {
      try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
      lastError = new Error(`daebug did not start on port ${port} (exit: ${JSON.stringify(done)}):\n${out}`);
      continue; // the port may have been taken in between: try another
    }
    const server = {
      root: siteRoot,
      port,
      url,
      registry: path.join(siteRoot, 'daebug.md'),
      logDir: path.join(siteRoot, 'daebug'),
      proc,
      exited,
      output: () => out,
      get exitStatus() { return done; },
      /** SIGTERM, then SIGKILL after a grace period. Safe to call twice or after exit. */
      async stop(graceMs = 3000) {
        if (done) return done;
        try { proc.kill('SIGTERM'); } catch (_) { /* gone */ }
        const res = await Promise.race([exited, sleep(graceMs).then(() => null)]);
        if (res) return res;
        try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
        return exited;
      },
    };
    return server;
  }
  throw lastError;
}

// ─── Browser ─────────────────────────────────────────────────────────────────────────────────

export const CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
  // Background tabs must keep their timers running at full speed in tests.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows'];

/** Headless Chromium with a fresh profile. Returns { context, newPage(), close() }. */
export async function launchBrowser({ args = [] } = {}) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed (npm install): ${e.message}`);
  }
  const executablePath = process.env.CHROME_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: install it (apt-get install -y chromium) or set CHROME_PATH`);
  }
  const userDataDir = tempDir('daebug-chrome-');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...CHROME_ARGS, ...args],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      try { await context.close(); } catch (_) { /* already gone */ }
      try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
    },
  };
}

/**
 * Open `pathname` of the server in a new page and wait until its realm's log exists on disk.
 * `init` (optional) is a function run before any page script (page.addInitScript).
 * Returns { page, name, log, workerName, workerLog }.
 */
export async function openRealm(server, browser, pathname = '/', { init, initArg, timeout = 10000 } = {}) {
  const page = await browser.newPage();
  if (init) await page.addInitScript(init, initArg);
  await page.goto(new URL(pathname, server.url).href);
  await page.waitForFunction(() => globalThis.__daebug && globalThis.__daebug.name, null, { timeout });
  const name = await page.evaluate(() => globalThis.__daebug.name);
  const log = logPath(server, name);
  await waitForFile(log, (t) => t.includes(FOOTER_PROMPT), { timeout, what: `log of ${name}` });
  return { page, name, log, workerName: `${name}-webworker`, workerLog: logPath(server, `${name}-webworker`) };
}

/** File name rule of SPEC 2: lower-case, runs outside [a-z0-9] become '-', trimmed. */
export function sanitizeName(name) {
  return String(name).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

export function logPath(server, name) {
  return path.join(server.logDir || path.join(server.root, 'daebug'), `${sanitizeName(name)}.md`);
}

// ─── Files ───────────────────────────────────────────────────────────────────────────────────

export function readText(file) {
  try { return fs.readFileSync(file, 'utf8'); } catch (_) { return null; }
}

/**
 * Resolve with `predicate(content)`'s truthy result (or the content when it returns `true`) once
 * the file satisfies it. Watches the file's directory (the server renames a temp file over the
 * log, so watching the file itself would lose track) and also polls every `interval` ms.
 * A missing file reads as null; the predicate is only called with strings.
 */
export function waitForFile(file, predicate, { timeout = 10000, interval = 20, what } = {}) {
  return new Promise((resolve, reject) => {
    let last = null;
    let finished = false;
    let watcher = null;
    let timer = null;
    let poller = null;
    const finish = (fn, value) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(poller);
      try { watcher && watcher.close(); } catch (_) { /* ignore */ }
      fn(value);
    };
    const check = () => {
      if (finished) return;
      const text = readText(file);
      if (text === null) return;
      last = text;
      let result;
      try { result = predicate(text); } catch (e) { finish(reject, e); return; }
      if (result) finish(resolve, result === true ? text : result);
    };
    try {
      const dir = path.dirname(file);
      if (fs.existsSync(dir)) watcher = fs.watch(dir, () => check());
      if (watcher) watcher.on('error', () => {});
    } catch (_) { watcher = null; }
    poller = setInterval(check, interval);
    timer = setTimeout(() => {
      const tail = last === null ? '(file missing)' : last.slice(-3000);
      finish(reject, new Error(`timed out after ${timeout}ms waiting for ${what || file}; last content (tail):\n${tail}`));
    }, timeout);
    check();
  });
}

/** Append text to a file in one write, as an agent's editor would. */
export function appendToLog(file, text) {
  fs.appendFileSync(file, text);
}

/** A fenced js block, ready to append below the footer. */
export function jsBlock(code) {
  return '```js\n' + code + '\n```\n';
}

/**
 * Append `code` as a ```js block to the log and wait until its reply is written.
 * Returns the parsed reply ({ ok, lang, body, events, omitted, duration, ... }).
 */
export async function runJs(log, code, { timeout = 15000 } = {}) {
  const trimmed = code.trim();
  const before = readText(log);
  const count = before === null ? 0 : parseLog(before).replies.filter((r) => r.code === trimmed).length;
  appendToLog(log, jsBlock(code));
  return waitForFile(log, (text) => {
    const replies = parseLog(text).replies.filter((r) => r.code === trimmed);
    return replies.length > count ? replies[count] : null;
  }, { timeout, what: `reply to ${JSON.stringify(trimmed.slice(0, 60))}` });
}

// ─── Parsing what the server writes ──────────────────────────────────────────────────────────

const REQUEST_RE = /^### 🗣️(\S+) to (\S+) at (\d\d:\d\d:\d\d)\s*$/;
const REPLY_RE = /^#### (👍|🚫)(\S+) to (\S+) at (\d\d:\d\d:\d\d)(?: \(([^)]*)\))?\s*$/;
const BACKGROUND_RE = /^#### 📣(\S+) background at (\d\d:\d\d:\d\d)\s*$/;
const DIAGNOSTIC_RE = /^#### ⚠️(\S+) diagnostic at (\d\d:\d\d:\d\d)\s*$/;
const EVENT_RE = /^##### (\S+?)([A-Za-z][\w.]*) at (\d\d:\d\d:\d\d)(?: from (.*))?\s*$/u;
const OMITTED_RE = /^\.\.\. \((\d+) more background events omitted\) \.\.\.$/;
const FENCE_RE = /^(`{3,}|~{3,})(.*)$/;

/**
 * Structured view of a realm log:
 *   { entries, requests, replies, backgrounds, diagnostics, pending, footerCount, afterFooter }
 * entries are, in file order:
 *   { kind: 'request', agent, realm, time, blocks: [code...] }
 *   { kind: 'reply', ok, realm, agent, time, duration, lang, body, code, events, omitted }
 *   { kind: 'executing' | 'queued', realm, agent, time, code, events, placeholder }
 *   { kind: 'background', realm, time, events, omitted }
 *   { kind: 'diagnostic', realm, time, lang, body }
 * events: { emoji, source, time, caller, lang, info, body }.
 * `code` of a reply is the trimmed code of the js block directly above it.
 */
export function parseLog(text) {
  const lines = text.split('\n');
  const entries = [];
  let entry = null; // current level-4 section, or request
  let event = null; // current level-5 event inside it
  let lastCode = null; // code of the last js block seen in a request
  let footerCount = 0;
  let footerLine = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE_RE.exec(line);
    if (fence) {
      // Read the whole fenced block; the closing fence is the same char, at least as long.
      const marker = fence[1];
      const info = fence[2].trim();
      const body = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const m = /^(`{3,}|~{3,})\s*$/.exec(lines[j]);
        if (m && m[1][0] === marker[0] && m[1].length >= marker.length) break;
        body.push(lines[j]);
      }
      const closed = j < lines.length;
      i = j;
      const content = body.join('\n');
      const lang = info.split(/\s+/)[0] || '';
      if (event && event.body === undefined) {
        event.lang = lang; event.info = info; event.body = content;
      } else if (entry && (entry.kind === 'reply' || entry.kind === 'diagnostic') && entry.body === undefined) {
        entry.lang = lang; entry.body = content;
      } else if (closed && /^(js|javascript)?$/i.test(lang)) {
        lastCode = content.trim();
        if (entry && entry.kind === 'request') entry.blocks.push(lastCode);
        event = null;
      }
      continue;
    }
    let m;
    if (line === FOOTER_RULE && (lines[i + 1] || '').startsWith('> Append your JavaScript snippet below')) {
      footerCount++;
      footerLine = i;
      entry = null; event = null;
      i++;
      continue;
    }
    if ((m = REQUEST_RE.exec(line))) {
      entry = { kind: 'request', agent: m[1], realm: m[2], time: m[3], blocks: [], line: i };
      entries.push(entry); event = null;
    } else if ((m = REPLY_RE.exec(line))) {
      entry = { kind: 'reply', ok: m[1] === '👍', realm: m[2], agent: m[3], time: m[4], duration: m[5] || null,
        code: lastCode, events: [], omitted: 0, line: i };
      entries.push(entry); event = null;
    } else if ((m = BACKGROUND_RE.exec(line))) {
      entry = { kind: 'background', realm: m[1], time: m[2], events: [], omitted: 0, line: i };
      entries.push(entry); event = null;
    } else if ((m = DIAGNOSTIC_RE.exec(line))) {
      entry = { kind: 'diagnostic', realm: m[1], time: m[2], line: i };
      entries.push(entry); event = null;
    } else if ((m = EVENT_RE.exec(line)) && entry && entry.events) {
      event = { emoji: m[1], source: m[2], time: m[3], caller: m[4] || null };
      entry.events.push(event);
    } else if ((m = OMITTED_RE.exec(line.trim())) && entry && entry.events) {
      entry.omitted += Number(m[1]);
      entry.omittedAt = entry.events.length;
      event = null;
    } else if (entry && entry.kind === 'reply' && entry.body === undefined && /^(executing \(\d+s\)|queued)\s*$/.test(line.trim())) {
      // A header with a placeholder instead of a fenced value: the job has not finished.
      entry.kind = line.trim() === 'queued' ? 'queued' : 'executing';
      entry.placeholder = line.trim();
      event = null;
    } else if (entry && (entry.kind === 'executing') && /^executing \(\d+s\)\s*$/.test(line.trim())) {
      entry.placeholder = line.trim();
    }
  }
  const tail = footerLine >= 0 ? lines.slice(footerLine + 2).join('\n') : '';
  return {
    entries,
    requests: entries.filter((e) => e.kind === 'request'),
    replies: entries.filter((e) => e.kind === 'reply'),
    backgrounds: entries.filter((e) => e.kind === 'background'),
    diagnostics: entries.filter((e) => e.kind === 'diagnostic'),
    pending: entries.filter((e) => e.kind === 'executing' || e.kind === 'queued'),
    footerCount,
    afterFooter: tail,
  };
}

/**
 * Realm lines of daebug.md:
 *   [{ name, file, where, url, workerOf, time, state }]
 */
export function parseRegistry(text) {
  const realms = [];
  const re = /^\* \[([^\]]+)\]\(([^)]+)\) \(([^)]*)\) at (\d\d:\d\d:\d\d): (.+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line.trim());
    if (!m) continue;
    const where = m[3];
    const worker = /^worker of (.+)$/.exec(where);
    realms.push({ name: m[1], file: m[2], where, url: worker ? null : where, workerOf: worker ? worker[1] : null,
      time: m[4], state: m[5].trim(), line: line.trim() });
  }
  return realms;
}

/** Wait until daebug.md lists a realm matching `predicate(realm)`; resolves with that realm. */
export function waitForRealm(server, predicate, opts = {}) {
  return waitForFile(server.registry, (text) => parseRegistry(text).find(predicate) || null,
    { what: 'realm in daebug.md', ...opts });
}

/** Remove a temp site (best effort). */
export async function removeTree(dir) {
  if (!dir) return;
  try { await fsp.rm(dir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
}
