// The verdict test for in-page tests: every suite in tests/node-compat/ gives the same
// pass/fail/skip counts under `daebug --test` in headless Chromium as under `node --test`.
//
// One Daebug server serves a copy of the suites; each suite is run with `daebug --test <file>`
// (which finds that server and its connected page, or launches Chromium itself) and the final
// `N passed, N failed, N skipped` line is compared with Node's TAP summary.
// Counting: Daebug's fail = Node's fail + cancelled; skip = Node's skipped + todo.
// Files that use `only` run under `node --test --test-only` (Daebug honours `only` by itself).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, '..');
const bin = process.env.DAEBUG_BIN || path.join(repo, 'target', 'debug', 'daebug');
const chrome = process.env.CHROME_PATH || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function run(cmd, args, options = {}) {
  const env = { ...process.env, ...(options.env || {}) };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(cmd, args, { ...options, env, timeout: 180_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

const usesOnly = (source) => /\.only\s*\(|\bonly\s*:\s*true|\.runOnly\s*\(/.test(source);

async function nodeTotals(file) {
  const source = await readFile(file, 'utf8');
  const args = ['--test', '--test-reporter=tap', ...(usesOnly(source) ? ['--test-only'] : []), file];
  const { stdout } = await run(process.execPath, args);
  const n = (label) => Number((new RegExp(`^# ${label} (\\d+)$`, 'm').exec(stdout) || [])[1] ?? NaN);
  return { pass: n('pass'), fail: n('fail') + n('cancelled'), skip: n('skipped') + n('todo') };
}

function daebugTotals(stdout, stderr = "") {
  const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/m.exec(stdout);
  assert.ok(m, `daebug --test printed no totals line:\n${stdout}${stderr}`);
  return { pass: Number(m[1]), fail: Number(m[2]), skip: Number(m[3] ?? 0) };
}

describe('daebug --test gives the same verdict as node --test', { timeout: 300_000 }, () => {
  let root, port, server, browser;
  const suites = [];

  before(async () => {
    assert.ok(existsSync(bin), `${bin} is missing: run cargo build first`);
    assert.ok(existsSync(chrome), `${chrome} is missing: install chromium (apt-get install -y chromium) or set CHROME_PATH`);
    root = await mkdtemp(path.join(tmpdir(), 'daebug-compat-'));
    await cp(path.join(here, 'node-compat'), path.join(root, 'compat'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><html><head><title>compat</title></head><body>suites</body></html>');
    for (const name of (await readdir(path.join(root, 'compat'))).filter((n) => n.endsWith('.test.mjs'))) suites.push(`compat/${name}`);
    for (const name of await readdir(path.join(root, 'compat', 'suites'))) suites.push(`compat/suites/${name}`);
    port = await freePort();
    server = spawn(bin, ['--root', root, '--port', String(port)], { stdio: 'ignore' });
    const profile = await mkdtemp(path.join(tmpdir(), 'daebug-compat-profile-'));
    browser = spawn(chrome, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`,
      `http://localhost:${port}/`], { stdio: 'ignore' });
  });

  after(async () => {
    const exited = (p) => p && p.exitCode === null && p.signalCode === null
      ? new Promise((resolve) => p.once('exit', resolve)) : Promise.resolve();
    const gone = Promise.all([exited(browser), exited(server)]);
    browser?.kill('SIGKILL');
    server?.kill('SIGTERM');
    await gone; // the server rewrites daebug.md as it stops
    if (root) await rm(root, { recursive: true, force: true, maxRetries: 5 });
  });

  it('runs every suite in the page and matches Node counts', async () => {
    assert.ok(suites.length >= 9, `expected the compat suites, found ${suites.length}`);
    for (const suite of suites) {
      const expected = await nodeTotals(path.join(root, suite));
      const got = await run(bin, ['--test', '--root', root, '--port', String(port), suite]);
      const totals = daebugTotals(got.stdout, got.stderr);
      assert.deepEqual(totals, expected, `${suite}: daebug ${JSON.stringify(totals)} vs node ${JSON.stringify(expected)}\n${got.stdout}${got.stderr}`);
      assert.equal(got.code, expected.fail === 0 ? 0 : 1, `${suite}: exit code`);
    }
  });

  it('the whole default-pattern run matches too, and its summary is in the log', async () => {
    const expected = { pass: 0, fail: 0, skip: 0 };
    for (const suite of suites.filter((s) => s.endsWith('.test.mjs'))) {
      const t = await nodeTotals(path.join(root, suite));
      for (const k of Object.keys(expected)) expected[k] += t[k];
    }
    const got = await run(bin, ['--test', '--root', root, '--port', String(port)]);
    assert.deepEqual(daebugTotals(got.stdout, got.stderr), expected, got.stdout + got.stderr);
    assert.equal(got.code, 0);
    const registry = await readFile(path.join(root, 'daebug.md'), 'utf8');
    const log = /\]\((daebug\/[^)]+\.md)\) \(http/.exec(registry)[1];
    const text = await readFile(path.join(root, log), 'utf8');
    assert.match(text, new RegExp(`##### 🧪 tests: ${expected.pass} passed, 0 failed in `));
  });

  it('runs in the worker realm with --page <page>-webworker', async () => {
    const registry = await readFile(path.join(root, 'daebug.md'), 'utf8');
    const worker = /\* \[([^\]]+-webworker)\]/.exec(registry)?.[1];
    assert.ok(worker, `no worker realm in the registry:\n${registry}`);
    const suite = 'compat/data-structures.test.mjs';
    const expected = await nodeTotals(path.join(root, suite));
    const got = await run(bin, ['--test', '--root', root, '--port', String(port), '--page', worker, suite]);
    assert.deepEqual(daebugTotals(got.stdout, got.stderr), expected, got.stdout + got.stderr);
  });

  it('fails clearly when no test file matches', async () => {
    const got = await run(bin, ['--test', '--root', root, '--port', String(port), 'nothing/**/*.test.js']);
    assert.equal(got.code, 1);
    assert.match(got.stderr, /No test files found/);
  });
});
