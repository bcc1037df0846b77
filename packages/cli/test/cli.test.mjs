/** Unit tests of the npm `daebug` command: same flags, output and exit codes as the binary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run } from '../index.js';

const bin = fileURLToPath(new URL('../bin/daebug.js', import.meta.url));
const daebug = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20000 });

test('--version and --help exit 0', () => {
  const v = daebug('--version');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^daebug \d+\.\d+\.\d+/);
  const h = daebug('--help');
  assert.equal(h.status, 0);
  for (const flag of ['--root', '--port', '--host', '--timeout']) assert.ok(h.stdout.includes(flag), flag);
});

test('bad arguments: exit 2 and one line', () => {
  const r = daebug('--port', 'abc');
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^daebug: .*--port/);
  assert.equal(daebug('--timeout=0').status, 2);
  assert.equal(daebug('--bogus').status, 2);
});

test('missing root: exit 1 and one line', () => {
  const r = daebug('--root', '/definitely/not/here');
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), 'daebug: root /definitely/not/here does not exist or is not a directory; pass --root DIR');
});

test('run() checks its argument', () => {
  assert.throws(() => run('--help'), /run\(args\) expects an array of strings/);
});

test('SIGTERM and SIGINT stop the server cleanly: exit 0, registry rewritten', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createServer } = await import('node:net');
  const freePort = () => new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    const root = mkdtempSync(join(tmpdir(), 'daebug-cli-'));
    const proc = spawn(process.execPath, [bin, '--root', root, '--port', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
    for (let i = 0; !out.includes('serving') && i < 500; i++) await new Promise((r) => setTimeout(r, 20));
    proc.kill(signal);
    assert.deepEqual(await exited, { code: 0, sig: null }, out);
    assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /stopped at/);
  }
});
