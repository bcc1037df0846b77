// The `daebug` command line (SPEC 7): one-line errors and exit codes, the derived port, and
// taking over from a Daebug server already serving the same root.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { daebugBin } from './helpers/daebug.mjs';

const bin = daebugBin();

function runCli(args, options = {}) {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 20000, ...options }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

/** The port SPEC 7 derives from a directory name. */
function derivedPort(name) {
  let h = 0;
  for (const unit of name.toLowerCase()) h = (Math.imul(h, 31) + unit.charCodeAt(0)) | 0;
  return 8100 + (Math.abs(h) % 1000);
}

function waitForOutput(proc, pattern, ms = 10000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in output within ${ms}ms:\n${out}`)), ms);
    const onData = (d) => {
      out += d;
      if (pattern.test(out)) { clearTimeout(timer); resolve(out); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('daebug CLI', () => {
  const procs = [];
  after(() => { for (const p of procs) p.kill('SIGKILL'); });

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--root', '--port', '--host', '--timeout', '--test']) assert.match(help.stdout, new RegExp(flag));
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^daebug \d+\.\d+\.\d+/);
  });

  it('bad arguments, a missing root: one line and a non-zero exit', async () => {
    for (const [args, pattern] of [
      [['--bogus'], /unexpected argument '--bogus'/],
      [['--port', 'abc'], /invalid value 'abc'/],
      [['--timeout=0'], /between 0 and 86400/],
      [['--root', '/definitely/not/here'], /does not exist/],
      [['some-file.js'], /--test/],
    ]) {
      const r = await runCli(args);
      assert.notEqual(r.code, 0, `${args}: exit code`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args}: one line, got:\n${r.stderr}`);
      assert.match(lines[0], /^daebug: /);
      assert.match(lines[0], pattern);
    }
  });

  it('derives the port from the root folder name and takes over from a server for the same root', async () => {
    // A folder whose derived port is free right now.
    let root;
    for (let i = 0; i < 50; i++) {
      const name = `daebug-cli-${process.pid}-${i}`;
      if (await portIsFree(derivedPort(name))) {
        root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-cli-')), name);
        break;
      }
    }
    assert.ok(root, 'found a folder name with a free derived port');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'index.html'), '<p>hi</p>');
    const port = derivedPort(path.basename(root));

    const first = spawn(bin, ['--root', root], { env: { ...process.env, PORT: '' } });
    procs.push(first);
    const banner = await waitForOutput(first, /serving/);
    assert.match(banner, new RegExp(`http://localhost:${port}/`));
    const firstExit = new Promise((resolve) => first.on('exit', (code) => resolve(code)));

    const second = spawn(bin, ['--root', root], { env: { ...process.env, PORT: '' } });
    procs.push(second);
    const out = await waitForOutput(second, /serving/);
    assert.match(out, /taking over/);
    assert.match(out, new RegExp(`http://localhost:${port}/`));
    assert.equal(await firstExit, 0, 'the first server stops cleanly');
    const res = await fetch(`http://localhost:${port}/`);
    assert.match(await res.text(), /-daebug-shim\.js/);

    // SIGTERM: clean stop, registry rewritten.
    const secondExit = new Promise((resolve) => second.on('exit', (code) => resolve(code)));
    second.kill('SIGTERM');
    assert.equal(await secondExit, 0);
    assert.match(fs.readFileSync(path.join(root, 'daebug.md'), 'utf8'), /stopped at/);
  });

  it('an explicit busy port that is not Daebug is a one-line error', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const { port } = blocker.address();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-cli-busy-'));
    const r = await runCli(['--root', root, '--port', String(port)]);
    blocker.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), new RegExp(`^daebug: port ${port} is in use by another program; pass a different --port$`));
  });
});
