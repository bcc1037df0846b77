// Helpers for the framework tests: a Node 22 from the npm registry (Astro 7 and Nuxt 4 need it),
// installing a committed fixture project into a temporary copy, running its real CLI, and
// stopping it the way a terminal does.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/daebug.mjs';

const run = promisify(execFile);
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.join(HERE, 'fixtures');
const NODE22_DIR = path.join(HERE, '.node22');
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

let node22;
/** Path of a Node >= 22 binary: this one, or `node-linux-<arch>@22` from npm (installed once). */
export function nodeBinary22() {
  node22 ??= (async () => {
    if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
    const pkg = `node-${process.platform}-${process.arch}`;
    const bin = path.join(NODE22_DIR, 'node_modules', pkg, 'bin', 'node');
    if (!fs.existsSync(bin)) {
      fs.mkdirSync(NODE22_DIR, { recursive: true });
      await run('npm', ['install', '--prefix', NODE22_DIR, '--no-save', ...NPM_FLAGS, `${pkg}@22`], { timeout: 180_000 });
    }
    const { stdout } = await run(bin, ['--version']);
    if (!stdout.startsWith('v22')) throw new Error(`expected Node 22 at ${bin}, got ${stdout}`);
    return bin;
  })();
  return node22;
}

/**
 * A temporary copy of `fixtures/<name>` with its lockfile installed (`npm install`: `npm ci` refuses lockfiles whose optional dependencies the registry lacks) and
 * `@daebug/vite-plugin` linked to this repo's package, as a user's `npm install` of it would.
 */
export async function installFixture(name, nodeBin) {
  const src = path.join(FIXTURES, name);
  const dir = path.join(tempDir(`daebug-fw-${name}-`), name);
  fs.cpSync(src, dir, { recursive: true, filter: (p) => !/(^|[/\\])(node_modules|daebug|daebug\.md|dist|build|\.svelte-kit|\.nuxt|\.output|\.astro|\.react-router)$/.test(path.relative(src, p)) });
  // npm runs with the Node the framework needs, so engine checks see the right version.
  const env = { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}` };
  await run('npm', ['install', ...NPM_FLAGS], { cwd: dir, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  const scope = path.join(dir, 'node_modules', '@daebug');
  fs.mkdirSync(scope, { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'packages', 'vite-plugin'), path.join(scope, 'vite-plugin'), 'dir');
  return dir;
}

/**
 * Run a package's command (`node_modules/.bin/<bin>`) in `dir` in its own process group, as a
 * terminal would. Returns { proc, output(), exited, stop(signal, { group }) }.
 */
export function runBin(dir, nodeBin, bin, args, { env = {} } = {}) {
  let out = '';
  const proc = spawn(nodeBin, [path.join(dir, 'node_modules', '.bin', bin), ...args], {
    cwd: dir,
    detached: true,
    env: {
      ...process.env,
      PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}`,
      BROWSER: 'none',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      ASTRO_TELEMETRY_DISABLED: '1',
      NUXT_TELEMETRY_DISABLED: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    exited,
    output: () => out,
    /** Ctrl-C in a terminal signals the whole process group; `kill` signals one process. */
    stop(signal, { group = true } = {}) {
      try { process.kill(group ? -proc.pid : proc.pid, signal); } catch (_) { /* gone */ }
    },
    kill() {
      try { process.kill(-proc.pid, 'SIGKILL'); } catch (_) { /* gone */ }
    },
  };
}

/** Run a command to completion (a production build); rejects with its output on failure. */
export async function runToEnd(dir, nodeBin, bin, args, timeout = 180_000) {
  const env = { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}`, NO_COLOR: '1', ASTRO_TELEMETRY_DISABLED: '1', NUXT_TELEMETRY_DISABLED: '1' };
  try {
    const script = path.isAbsolute(bin) ? bin : path.join(dir, 'node_modules', '.bin', bin);
    return await run(nodeBin, [script, ...args], { cwd: dir, env, timeout, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** GET `url` until it answers 200 with HTML; bounded. */
export async function waitForPage(url, { timeout = 90_000, what = url, output = () => '' } = {}) {
  const deadline = Date.now() + timeout;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const res = await get(url).catch((e) => ({ status: 0, body: e.message }));
    if (res.status === 200 && /<html/i.test(res.body)) return res.body;
    last = `${res.status} ${res.body.slice(0, 200)}`;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not serve a page within ${timeout} ms (last: ${last})\n${output()}`);
}

export function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/html', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Every file under `dir` whose text mentions Daebug (case-insensitive). */
export function filesMentioning(dir, needle = /daebug/i) {
  const hits = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
      } else if (entry.isFile() && fs.statSync(p).size < 20 * 1024 * 1024) {
        if (needle.test(fs.readFileSync(p, 'latin1')) || needle.test(entry.name)) hits.push(path.relative(dir, p));
      }
    }
  };
  walk(dir);
  return hits;
}

/** Count of files under `dir` (to prove a build produced something). */
export function countFiles(dir) {
  let n = 0;
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(d, entry.name));
      else n++;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return n;
}
