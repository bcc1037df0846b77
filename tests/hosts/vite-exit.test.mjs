// However a Vite host process ends, daebug.md ends up saying the server stopped, with the
// command that started it: an uncaught error, process.exit() from the host's code, a SIGINT
// handler of the host's that calls process.exit (as Nuxt's and React Router's do), and
// server.close(). No browser needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, readText, removeTree, REPO_ROOT, waitForFile } from '../helpers/daebug.mjs';
import { copyExample, waitForShutDownRegistry } from './checks.mjs';

const CHILD = path.join(REPO_ROOT, 'tests', 'hosts', 'vite-exit-child.mjs');

async function startChild() {
  const root = copyExample(path.join(REPO_ROOT, 'examples', 'vite'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  const port = await freePort();
  const proc = spawn(process.execPath, [CHILD, root, String(port)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const registry = path.join(root, 'daebug.md');
  await waitForFile(registry, (t) => /started \d\d:\d\d:\d\d/.test(t), { timeout: 20000, what: 'registry written' });
  return { proc, exited, root, host: { registry }, output: () => out };
}

for (const [how, act] of [
  ['an uncaught error', (c) => c.proc.stdin.write('throw\n')],
  ['process.exit() from the host', (c) => c.proc.stdin.write('exit\n')],
  ["the host's own SIGINT handler calling process.exit", (c) => c.proc.kill('SIGINT')],
  ['server.close()', (c) => c.proc.stdin.write('close\n')],
]) {
  test(`vite host ended by ${how}: the registry says the server stopped`, async () => {
    const child = await startChild();
    try {
      act(child);
      const text = await waitForShutDownRegistry(child.host, { timeout: 15000 });
      assert.match(text, /node \S*vite-exit-child\.mjs \S+ \d+/, 'restart line: the command that started the host');
      const ended = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r(null), 10000))]);
      assert.ok(ended, `the process ended\n${child.output()}`);
      if (how === 'an uncaught error') assert.match(child.output(), /boom from the host/);
      assert.doesNotMatch(readText(child.host.registry), /: live$/m);
    } finally {
      child.proc.kill('SIGKILL');
      await removeTree(path.dirname(child.root));
    }
  });
}
