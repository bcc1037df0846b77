// End-to-end: `npx daebug` (the npm package running the core's CLI through the binding),
// driving headless Chromium. The shared host checks, plus: the same one-line errors and exit
// codes as the Rust binary, and SIGTERM stops it cleanly with the registry rewritten (exit code 0
// on a signal is checked without npm in between, in packages/cli/test).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT } from '../helpers/daebug.mjs';
import { copyExample, sharedHostChecks, waitForShutDownRegistry } from './checks.mjs';

const SITE = path.join(REPO_ROOT, 'examples', 'basic');
/** `npx daebug …` in the repo; npm's own warnings (about this machine's npmrc) are dropped. */
function npx(args) {
  const r = spawnSync('npx', ['--no-install', 'daebug', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30000 });
  return { ...r, stderr: r.stderr.replace(/^npm warn .*\n/gm, '') };
}

describe('npx daebug', () => {
  let proc;
  let exited;
  let output = '';
  let browser;
  let host;
  let realm;

  before(async () => {
    const root = copyExample(SITE);
    const port = await freePort();
    proc = spawn('npx', ['--no-install', 'daebug', '--root', root, '--port', String(port)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, signalled as a terminal would
    });
    proc.stdout.on('data', (d) => { output += d; });
    proc.stderr.on('data', (d) => { output += d; });
    exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    host = { url: `http://127.0.0.1:${port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        await (await fetch(host.url)).arrayBuffer();
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`npx daebug did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    browser = await launchBrowser();
    realm = await openRealm(host, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    if (browser) await browser.close();
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(-proc.pid, 'SIGKILL'); } catch (_) { /* gone */ }
    }
    if (host) await removeTree(path.dirname(host.root));
  });

  sharedHostChecks(() => ({ host, realm }));

  test('prints the banner and one line per realm', () => {
    assert.match(output, /👾 Daebug \d+\.\d+\.\d+/);
    assert.ok(output.includes(`serving   http://localhost:${new URL(host.url).port}/`), output);
    assert.ok(output.includes(`+ ${realm.name}`), output);
  });

  test('SIGTERM stops it cleanly, the registry rewritten with the npx command', async () => {
    // To the process group, as a terminal or process manager does. npm itself dies of the
    // signal (it does not pass it on); the daebug process under it stops gracefully.
    process.kill(-proc.pid, 'SIGTERM');
    const text = await waitForShutDownRegistry(host);
    assert.match(text, /npx daebug --root /);
    await exited;
    const deadline = Date.now() + 5000;
    while (!output.includes('Daebug stopped;') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // A job that finishes while stopping may print its line in between (notices reach the
    // terminal through the binding's callback, in no fixed order with the stop message).
    assert.match(output, /Stopping \(SIGTERM\)\.\n(?: {2}[✓✗] [^\n]*\n)*Daebug stopped; .*daebug\.md says so\./, output);
  });
});

describe('npx daebug: flags, errors and exit codes', () => {
  test('--version and --help exit 0', () => {
    const v = npx(['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^daebug \d+\.\d+\.\d+/);
    assert.equal(npx(['--help']).status, 0);
  });

  test('bad arguments: exit 2, one line; missing root: exit 1, one line', () => {
    const bad = npx(['--port', 'nope']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.trim(), /^daebug: [^\n]*--port[^\n]*$/);
    const missing = npx(['--root', '/no/such/dir']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr.trim(), /^daebug: root \/no\/such\/dir does not exist/);
  });

  test('the same output and exit codes as the Rust binary', (t) => {
    const bin = ['debug', 'release'].map((p) => path.join(REPO_ROOT, 'target', p, 'daebug')).find((b) => fs.existsSync(b));
    if (!bin) return t.skip('the daebug binary is not built (cargo build)');
    for (const args of [['--version'], ['--port', 'nope'], ['--root', '/no/such/dir'], ['--timeout=0']]) {
      const ours = npx(args);
      const theirs = spawnSync(bin, args, { encoding: 'utf8' });
      assert.equal(ours.status, theirs.status, args.join(' '));
      assert.equal(ours.stdout, theirs.stdout, args.join(' '));
      assert.equal(ours.stderr, theirs.stderr, args.join(' '));
    }
  });
});
