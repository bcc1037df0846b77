// Ctrl-C and SIGTERM on a Node host (the `vite` command, an esbuild serve script) leave
// daebug.md saying the server is down, and the process still ends (SPEC 4). No browser needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, readText, removeTree, REPO_ROOT, waitForFile } from '../helpers/daebug.mjs';
import { copyExample, waitForShutDownRegistry } from './checks.mjs';

/** Run `args` with node in a copy of an example (its node_modules linked to the repo's). */
async function runHost(example, args) {
  const root = copyExample(path.join(REPO_ROOT, 'examples', example));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  const port = await freePort();
  const proc = spawn(process.execPath, args(port), { cwd: root, env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const registry = path.join(root, 'daebug.md');
  await waitForFile(registry, (t) => /started \d\d:\d\d:\d\d/.test(t), { timeout: 20000, what: 'registry written' });
  return { proc, exited, host: { registry }, root };
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  test(`vite: ${signal} rewrites the registry as shut down and the process ends`, async () => {
    const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    const run = await runHost('vite', (port) => [vite, '--port', String(port), '--strictPort']);
    try {
      run.proc.kill(signal);
      await waitForShutDownRegistry(run.host);
      const { code, signal: sig } = await run.exited;
      assert.ok(sig === signal || code !== null, `ended: ${code} ${sig}`);
    } finally {
      run.proc.kill('SIGKILL');
      await removeTree(path.dirname(run.root));
    }
  });

  test(`esbuild serve script: ${signal} rewrites the registry as shut down and the process ends`, async () => {
    const run = await runHost('esbuild', () => ['serve.js']);
    try {
      run.proc.kill(signal);
      await waitForShutDownRegistry(run.host);
      assert.deepEqual(await run.exited, { code: null, signal }, 'dies of the signal, as without Daebug');
      assert.match(readText(run.host.registry), /node serve\.js/);
    } finally {
      run.proc.kill('SIGKILL');
      await removeTree(path.dirname(run.root));
    }
  });
}
