// Installation as a user gets it: `npm run pack` writes the tarballs, a clean project outside the
// repo installs them with no Rust toolchain on PATH, then `npx daebug` serves a page that
// headless Chromium opens and an agent drives through its log, and `vite dev` does the same
// with the plugin — once on the native package, once on the WebAssembly package alone (no
// native package installed, NAPI_RS_FORCE_WASI=1). Also: with neither installed, `npx daebug`
// says in one line what is missing.
//
// The linux-x64-gnu package installed is the release build against glibc 2.17 that users get
// (target/npm-release, see release.mjs; CI builds it in .ci/setup.d/50-native-release.sh) when it
// exists, and must be when DAEBUG_REQUIRE_RELEASE=1 (CI). Without it, locally, the debug build in
// crates/napi-binding (`npm run build:debug -w @daebug/native`) is packed and installed instead.
// Every tarball must carry the LICENSE; the test logs each one's packed size.
//
// Needs the WASI build in crates/napi-binding (`npm run build:wasm -w @daebug/native`; CI does
// it in .ci/setup.d/40-wasi.sh). Without it the suite is skipped locally, and fails when
// DAEBUG_REQUIRE_WASI=1 (CI).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { freePort, launchBrowser, openRealm, REPO_ROOT, removeTree, runJs, tempDir } from '../helpers/daebug.mjs';
import { compareVersions, elf, MAX_GLIBC, RELEASE_REQUIRED, releaseTarball, size, untar } from './release.mjs';

const BINDING = path.join(REPO_ROOT, 'crates/napi-binding');
const haveWasi = fs.existsSync(path.join(BINDING, 'daebug.wasm32-wasi.wasm'));
const haveNative = fs.existsSync(path.join(BINDING, 'daebug.linux-x64-gnu.node'));
const RELEASE_X64 = releaseTarball('linux-x64-gnu');
/** Install the glibc 2.17 release build of linux-x64-gnu (what users get), not the local debug build. */
const useRelease = fs.existsSync(RELEASE_X64) || RELEASE_REQUIRED;
const required = process.env.DAEBUG_REQUIRE_WASI === '1';
const skip = !(haveWasi && (useRelease || haveNative)) && !required
  ? 'needs the WASI build and a native build in crates/napi-binding (npm run build:wasm|build:debug -w @daebug/native)'
  : false;
const PACKAGES = ['daebug', '@daebug/vite-plugin', '@daebug/esbuild-plugin', '@daebug/native', '@daebug/native-linux-x64-gnu', '@daebug/native-wasm32-wasi'];
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const VITE_VERSION = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules/vite/package.json'), 'utf8')).version;

/** PATH without any Rust toolchain (cargo, rustc, rustup), as on a user's machine. */
function pathWithoutRust() {
  return process.env.PATH.split(path.delimiter)
    .filter((dir) => !['cargo', 'rustc', 'rustup'].some((exe) => fs.existsSync(path.join(dir, exe))))
    .join(path.delimiter);
}
const USER_ENV = { ...process.env, PATH: pathWithoutRust(), CARGO_HOME: '/nonexistent', RUSTUP_HOME: '/nonexistent' };
delete USER_ENV.NAPI_RS_FORCE_WASI;
delete USER_ENV.NAPI_RS_NATIVE_LIBRARY_PATH;

let dist;
let browser;
const tarball = (name) => {
  const file = fs.readdirSync(dist).find((f) => f === `${name.replace('@', '').replace('/', '-')}-0.1.0.tgz`);
  assert.ok(file, `no tarball for ${name} in ${dist}: ${fs.readdirSync(dist).join(', ')}`);
  return path.join(dist, file);
};

/** A clean project with the given platform packages (tarballs) in place of the registry's. */
function project(name, platforms) {
  const dir = path.join(tempDir('daebug-install-'), name);
  fs.mkdirSync(path.join(dir, 'site'), { recursive: true });
  const overrides = Object.fromEntries(platforms.map((p) => [`@daebug/native-${p}`, `file:${tarball(`@daebug/native-${p}`)}`]));
  overrides['@daebug/native'] = `file:${tarball('@daebug/native')}`;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module', overrides }, null, 2));
  fs.writeFileSync(path.join(dir, 'site/index.html'), '<!doctype html><html><head><title>site</title></head><body><h1>installed</h1></body></html>');
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><head><title>vite</title></head><body><script type="module">window.fromVite = 41 + 1;</script></body></html>');
  fs.writeFileSync(path.join(dir, 'vite.config.js'), "import daebug from '@daebug/vite-plugin';\nexport default { plugins: [daebug({ root: 'site' })], logLevel: 'info' };\n");
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
    tarball('daebug'), tarball('@daebug/vite-plugin'), `vite@${VITE_VERSION}`], { cwd: dir, env: USER_ENV, encoding: 'utf8', timeout: 240000 });
  assert.equal(r.status, 0, `npm install failed:\n${r.stdout}\n${r.stderr}`);
  return dir;
}

function loadedTarget(dir, env) {
  return execFileSync(process.execPath, ['-e', "console.log(require('@daebug/native').__napiBindingTarget)"], { cwd: dir, env, encoding: 'utf8' }).trim();
}

/** Start `cmd` in `dir`, wait until `url` answers; returns the child and its output so far. */
async function startServer(dir, cmd, args, env, url) {
  const proc = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = { text: '' };
  proc.stdout.on('data', (d) => { out.text += d; });
  proc.stderr.on('data', (d) => { out.text += d; });
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      await (await fetch(url)).arrayBuffer();
      return { proc, out };
    } catch {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${cmd} ${args.join(' ')} did not start:\n${out.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the whole process group, as a terminal or process manager sends it, then wait until
 * every process in it is gone: npm dies of the signal at once, while the daebug process under it
 * still writes `stopped` to the registry on its way out.
 */
async function stop(proc) {
  if (!groupAlive(proc.pid)) return;
  process.kill(-proc.pid, 'SIGTERM');
  const deadline = Date.now() + 8000;
  while (groupAlive(proc.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (groupAlive(proc.pid)) process.kill(-proc.pid, 'SIGKILL');
}

/** `npx daebug` serves site/, the page connects, and a request gets its reply on disk. */
async function checkNpx(dir, env) {
  const port = await freePort();
  const root = path.join(dir, 'site');
  const host = { url: `http://127.0.0.1:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
  const { proc, out } = await startServer(dir, 'npx', ['--no-install', 'daebug', '--root', 'site', '--port', String(port)], env, host.url);
  try {
    assert.match(out.text, /👾 Daebug \d+\.\d+\.\d+/);
    const realm = await openRealm(host, browser, '/', { timeout: 20000 });
    const reply = await runJs(realm.log, "document.querySelector('h1').textContent + ' ' + (6 * 7)");
    assert.equal(reply.body, '"installed 42"');
    assert.equal(reply.ok, true);
  } finally {
    await stop(proc);
  }
  assert.match(fs.readFileSync(host.registry, 'utf8'), /stopped at \d\d:\d\d:\d\d/);
}

/** `vite dev` with the plugin: the app's page connects and answers. */
async function checkVite(dir, env) {
  const port = await freePort();
  const root = path.join(dir, 'site');
  const host = { url: `http://127.0.0.1:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
  for (const f of ['daebug.md', 'daebug']) fs.rmSync(path.join(root, f), { recursive: true, force: true });
  const { proc, out } = await startServer(dir, 'npx', ['--no-install', 'vite', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], env, host.url);
  try {
    const realm = await openRealm(host, browser, '/', { timeout: 30000 });
    const reply = await runJs(realm.log, 'window.fromVite');
    assert.equal(reply.body, '42', out.text);
  } finally {
    await stop(proc);
  }
}

describe('installing the packed tarballs in a clean project without Rust', { skip, timeout: 600000 }, () => {
  before(async () => {
    assert.ok(haveWasi, 'DAEBUG_REQUIRE_WASI=1 but the WASI build is missing in crates/napi-binding');
    if (useRelease) assert.ok(fs.existsSync(RELEASE_X64), `DAEBUG_REQUIRE_RELEASE=1 but the glibc 2.17 release build is missing: no ${RELEASE_X64}`);
    else assert.ok(haveNative, 'DAEBUG_REQUIRE_WASI=1 but no native build: neither a release tarball in target/npm-release nor a build in crates/napi-binding');
    assert.notEqual(spawnSync('cargo', ['--version'], { env: USER_ENV }).status, 0, 'cargo is still on PATH');
    dist = tempDir('daebug-dist-');
    // The JavaScript packages and the WASI package from this tree; linux-x64-gnu as released, or
    // (without a release build, locally) packed from the debug build.
    const targets = useRelease ? 'wasm32-wasi' : 'linux-x64-gnu,wasm32-wasi';
    const r = spawnSync(process.execPath, ['scripts/pack.mjs', dist, '--local', '--targets', targets], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120000 });
    assert.equal(r.status, 0, `npm run pack failed:\n${r.stdout}\n${r.stderr}`);
    if (useRelease) fs.copyFileSync(RELEASE_X64, path.join(dist, path.basename(RELEASE_X64)));
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (dist) await removeTree(dist);
  });

  test('the packs: every publishable package with its LICENSE, JavaScript-only @daebug/native, a stripped binary', (t) => {
    // (A release build left in target/npm-release by an older checkout is used too: its date says so.)
    t.diagnostic(`linux-x64-gnu: ${useRelease ? `the glibc ${MAX_GLIBC} release build (${RELEASE_X64}, packed ${fs.statSync(RELEASE_X64).mtime.toISOString()})` : 'the local debug build, stripped (no release build in target/npm-release)'}`);
    for (const name of PACKAGES) {
      const file = tarball(name);
      t.diagnostic(`${path.basename(file).padEnd(44)} ${size(fs.statSync(file).size).padStart(9)} packed`);
      const entries = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n');
      assert.ok(entries.includes('package/LICENSE'), `${name}: no LICENSE in ${entries.join(' ')}`);
      assert.ok(entries.includes('package/package.json'), `${name}: no package.json`);
    }
    const list = execFileSync('tar', ['-tzf', tarball('@daebug/native')], { encoding: 'utf8' });
    assert.doesNotMatch(list, /\.node|\.wasm/, list);
    const native = execFileSync('tar', ['-tzvf', tarball('@daebug/native-linux-x64-gnu')], { encoding: 'utf8' });
    assert.match(native, /package\/daebug\.linux-x64-gnu\.node/);
    const x = path.join(tempDir('daebug-strip-'), 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['-xzf', tarball('@daebug/native-linux-x64-gnu'), '-C', x]);
    const file = execFileSync('file', [path.join(x, 'package/daebug.linux-x64-gnu.node')], { encoding: 'utf8' });
    assert.match(file, /stripped/);
    assert.doesNotMatch(file, /not stripped|with debug_info/);
  });

  describe('native', () => {
    let dir;
    before(() => {
      dir = project('native-app', ['linux-x64-gnu', 'wasm32-wasi']);
    });
    test('loads the native package', () => assert.equal(loadedTarget(dir, USER_ENV), 'native'));
    test('the installed binary is the one packed (the glibc 2.17 release build when there is one)', { skip: !useRelease && 'no release build: the debug build is installed' }, (t) => {
      const installed = path.join(dir, 'node_modules/@daebug/native-linux-x64-gnu/daebug.linux-x64-gnu.node');
      const x = tempDir('daebug-release-x64-');
      untar(RELEASE_X64, x);
      assert.equal(sha256(installed), sha256(path.join(x, 'package/daebug.linux-x64-gnu.node')));
      const { glibc } = elf(installed);
      t.diagnostic(`installed binary needs up to GLIBC_${glibc.at(-1)}`);
      assert.ok(glibc.length > 0 && compareVersions(glibc.at(-1), MAX_GLIBC) <= 0, glibc.join(', '));
    });
    test('npx daebug drives a page in Chromium', () => checkNpx(dir, USER_ENV));
    test('vite dev with the plugin drives the app', () => checkVite(dir, USER_ENV));
  });

  describe('WebAssembly (no native package installed)', () => {
    let dir;
    const env = { ...USER_ENV, NAPI_RS_FORCE_WASI: '1' };
    before(() => {
      dir = project('wasi-app', ['wasm32-wasi']);
      assert.ok(!fs.existsSync(path.join(dir, 'node_modules/@daebug/native-linux-x64-gnu')), 'native package was installed');
    });
    test('loads the WASI package, with or without NAPI_RS_FORCE_WASI', () => {
      assert.equal(loadedTarget(dir, env), 'wasm32-wasi');
      assert.equal(loadedTarget(dir, USER_ENV), 'wasm32-wasi');
    });
    test('npx daebug drives a page in Chromium', () => checkNpx(dir, env));
    test('vite dev with the plugin drives the app', () => checkVite(dir, env));
    test('with neither build installed, one line says what is missing and how to fix it', () => {
      const pkg = path.join(dir, 'node_modules/@daebug/native-wasm32-wasi');
      const aside = `${pkg}.aside`;
      fs.renameSync(pkg, aside);
      try {
        const r = spawnSync('npx', ['--no-install', 'daebug', '--version'], { cwd: dir, env: USER_ENV, encoding: 'utf8' });
        const stderr = r.stderr.replace(/^npm warn .*\n/gm, '').trim();
        assert.equal(r.status, 1);
        assert.equal(stderr.split('\n').length, 1, stderr);
        assert.match(stderr, /^daebug: no build of the Daebug core loads on linux-x64/);
        assert.match(stderr, /npm i -D @daebug\/native-wasm32-wasi/);
      } finally {
        fs.renameSync(aside, pkg);
      }
    });
  });
});
