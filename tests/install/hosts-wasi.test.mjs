// The host end-to-end suite a second time, on the WebAssembly build: every tests/hosts test file
// (npx daebug with the standalone checks, Vite, esbuild, signals) and the binding's own tests run
// in a child `node --test` with NAPI_RS_FORCE_WASI=1. (Not `error`: Vite's rolldown reads the same
// variable and has no WASI build installed; it ignores `1`, which @daebug/native reads as `error`:
// the WASI build or nothing, never a silent fall back to the native one.)
// A first check makes sure the WASI build is what loads there. Every tests/hosts/*.test.mjs is
// in the list but npx-test-flag (`daebug --test` launches a browser from the core, which the
// WASI build cannot; a check below says so in one line instead). A last check runs `npx daebug`
// on WASI through a realm's job and makes sure Node's "WASI is experimental" warning never
// reaches the terminal. New host files must be added here by name (a check below fails if one
// is neither listed nor named as left out).
//
// Needs the WASI build in crates/napi-binding (`npm run build:wasm -w @daebug/native`; CI does it
// in .ci/setup.d/40-wasi.sh). Skipped without it locally, fails when DAEBUG_REQUIRE_WASI=1 (CI).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { freePort, launchBrowser, openRealm, parseLog, readText, REPO_ROOT, startServer } from '../helpers/daebug.mjs';
import { runCli } from '../agents/helpers.mjs';

const BINDING = path.join(REPO_ROOT, 'crates/napi-binding');
const haveWasi = fs.existsSync(path.join(BINDING, 'daebug.wasm32-wasi.wasm'));
const required = process.env.DAEBUG_REQUIRE_WASI === '1';
const skip = !haveWasi && !required ? 'needs the WASI build in crates/napi-binding (npm run build:wasm -w @daebug/native)' : false;
const WASI_HOST_FILES = [
  'npx.test.mjs',
  'vite.test.mjs',
  'vite-exit.test.mjs',
  'vite-injection.test.mjs',
  'vite-shared.test.mjs',
  'vite-token.test.mjs',
  'esbuild.test.mjs',
  'esbuild-https.test.mjs',
  'signals.test.mjs',
];
const NATIVE_ONLY = ['npx-test-flag.test.mjs'];
const env = { ...process.env, NAPI_RS_FORCE_WASI: '1' };
// A nested `node --test` inheriting this marker reports to us instead of exiting non-zero on failure.
delete env.NODE_TEST_CONTEXT;

test('the WASI build is what loads under NAPI_RS_FORCE_WASI=1', { skip }, () => {
  assert.ok(haveWasi, 'DAEBUG_REQUIRE_WASI=1 but crates/napi-binding has no daebug.wasm32-wasi.wasm');
  const target = execFileSync(process.execPath, ['-e', "console.log(require('./crates/napi-binding').__napiBindingTarget)"], { cwd: REPO_ROOT, env, encoding: 'utf8' }).trim();
  assert.equal(target, 'wasm32-wasi');
});

test('every host test file is rerun on WASI or named as native-only', () => {
  const all = fs.readdirSync(path.join(REPO_ROOT, 'tests/hosts')).filter((f) => f.endsWith('.test.mjs')).sort();
  assert.deepEqual(all, [...WASI_HOST_FILES, ...NATIVE_ONLY].sort());
});

test('npx daebug --test on WASI: one line saying it needs the native build', { skip }, () => {
  const r = spawnSync('npx', ['--no-install', 'daebug', '--test'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr.replace(/^npm warn .*\n/gm, '').trim(), /^daebug: --test needs the native build[^\n]*$/);
});

test('tests/hosts and the binding tests pass on the WASI build', { skip, timeout: 300000 }, async () => {
  const hosts = WASI_HOST_FILES.map((f) => path.join('tests/hosts', f));
  const files = [...hosts, 'crates/napi-binding/test/'];
  const child = spawn(process.execPath, ['--test', '--test-timeout=120000', '--test-concurrency=1', '--test-reporter=dot', ...files], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0, `the host suite failed on WASI:\n${out.slice(-8000)}`);
});

test("npx daebug on WASI: Node's experimental-WASI warning never reaches stderr", { skip, timeout: 60000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-wasi-quiet-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>quiet</title>');
  const port = await freePort();
  const child = spawn('npx', ['--no-install', 'daebug', '--root', root, '--port', String(port)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { await (await fetch(`${base}/`)).text(); break; } catch { assert.ok(i < 300, `npx daebug did not start:\n${stdout}${stderr}`); await new Promise((r) => setTimeout(r, 100)); }
    }
    // A realm's long poll and a job for it: the engine's file sync runs on threads the WASI
    // build starts on demand, after loading.
    const name = '7-zen-1201-03';
    const poll = fetch(`${base}/-daebug-channel?name=${name}&url=${encodeURIComponent(base + '/')}&instance=q1`);
    const log = path.join(root, 'daebug', `${name}.md`);
    for (let i = 0; !fs.existsSync(log); i++) { assert.ok(i < 200, 'realm log created'); await new Promise((r) => setTimeout(r, 25)); }
    fs.appendFileSync(log, '```js\n1 + 1\n```\n');
    const res = await poll;
    assert.equal(res.headers.get('x-job-id') !== null, true, 'the poll got the job');
    await res.text();
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    process.kill(-child.pid, 'SIGTERM');
    await exited;
    fs.rmSync(root, { recursive: true, force: true });
  }
  const lines = stderr.split('\n').filter((l) => l && !/^npm warn /.test(l));
  assert.doesNotMatch(stderr, /ExperimentalWarning|experimental feature/i);
  assert.deepEqual(lines, [], `nothing on stderr:\n${stderr}`);
});

// `daebug run` / `daebug realms` / `daebug mcp` on the WASI build (issue 11): the WASI host
// writes the discovery file as native hosts do, and the WASI CLI finds a server through it (its
// HTTP requests go through the Node host; discovery, output and exit codes are the core's).
// Against a real Chromium page served by a WASI `npx daebug`, and one served by the native binary.
describe('daebug run and realms on the WASI build', { skip }, () => {
  const CLI = [process.execPath, path.join(REPO_ROOT, 'packages/cli/bin/daebug.js')];
  const FIXTURE = path.join(REPO_ROOT, 'tests/e2e/fixtures/counter');
  const wasiRun = (args, opts = {}) => runCli(args, { ...opts, cmd: CLI, env: { NAPI_RS_FORCE_WASI: '1' } });
  /** The discovery file of a root: `<tmp>/daebug-servers/<FNV-1a 64 of the canonical root>.json`. */
  const discoveryFile = (root) => {
    let h = 0xcbf29ce484222325n;
    for (const b of Buffer.from(fs.realpathSync(root))) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
    return path.join(os.tmpdir(), 'daebug-servers', `${h.toString(16).padStart(16, '0')}.json`);
  };
  let server;
  let browser;
  let realm;

  before(async () => {
    server = await startServer({ fixture: FIXTURE, bin: CLI[1], env: { NAPI_RS_FORCE_WASI: '1' }, readyTimeout: 30000 });
    browser = await launchBrowser();
    realm = await openRealm(server, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the WASI host writes the discovery file for its root', () => {
    const a = JSON.parse(fs.readFileSync(discoveryFile(server.root), 'utf8'));
    assert.equal(a.url, `http://127.0.0.1:${server.port}`);
    assert.equal(a.root, fs.realpathSync(server.root));
    assert.equal(a.pid, server.proc.pid);
  });

  test('run: 👍 exits 0 with the value, 🚫 exits 1, an unknown realm exits 2; all in the log', async () => {
    const ok = await wasiRun(['run', '--agent', 'wasi-agent', 'counter.value + 41'], { cwd: server.root });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^#### 👍${realm.name} to wasi-agent at \\d\\d:\\d\\d:\\d\\d \\(\\d+ms\\)\\n\`\`\`JSON\\n41\\n\`\`\`\\n$`));
    assert.equal(ok.stderr, '');
    const log = parseLog(readText(realm.log));
    assert.equal(log.requests.at(-1).agent, 'wasi-agent');
    assert.deepEqual(log.requests.at(-1).blocks, ['counter.value + 41']);
    assert.equal(log.replies.at(-1).body, '41');
    const bad = await wasiRun(['run', '--json', '-'], { cwd: server.root, input: 'nope_wasi()' });
    assert.equal(bad.code, 1, bad.stderr);
    const v = JSON.parse(bad.stdout);
    assert.equal(v.ok, false);
    assert.equal(v.realm, realm.name);
    assert.match(v.error, /ReferenceError: nope_wasi is not defined/);
    const none = await wasiRun(['run', '--realm', 'no-such-realm', '1'], { cwd: server.root });
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^daebug: .*no-such-realm/);
  });

  test('realms --json lists the live page', async () => {
    const r = await wasiRun(['realms', '--json', '--root', server.root]);
    assert.equal(r.code, 0, r.stderr);
    const me = JSON.parse(r.stdout).realms.find((x) => x.name === realm.name);
    assert.ok(me, r.stdout);
    assert.equal(me.state, 'live');
  });

  test('mcp on WASI says in one line that it needs the native build and where MCP is', async () => {
    const m = await wasiRun(['mcp'], { cwd: server.root });
    assert.equal(m.code, 1);
    assert.equal(m.stdout, '');
    assert.match(m.stderr, /^daebug: `daebug mcp` needs the native build;[^\n]*\/-daebug-mcp[^\n]*\n$/);
  });

  test('the WASI client runs code in a page served by the native binary; no server exits 2', async () => {
    const native = await startServer({ fixture: FIXTURE });
    try {
      const page = await openRealm(native, browser);
      const r = await wasiRun(['run', '--json', 'document.title'], { cwd: native.root });
      assert.equal(r.code, 0, r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.value, 'Daebug e2e counter');
      assert.equal(v.realm, page.name);
      await page.page.close();
    } finally {
      await native.stop();
    }
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-wasi-none-'));
    const r = await wasiRun(['run', '1'], { cwd: empty });
    fs.rmSync(empty, { recursive: true, force: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^daebug: no Daebug server is running for .*start one[^\n]*\n$/);
  });

  test('the discovery file is removed when the WASI host stops', async () => {
    const file = discoveryFile(server.root);
    assert.ok(fs.existsSync(file));
    await server.stop();
    assert.equal(server.exitStatus?.code, 0, server.output());
    assert.equal(fs.existsSync(file), false);
  });
});
