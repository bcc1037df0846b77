// One Daebug per project root however many Vite servers use the plugin in one process (as
// Nuxt runs a client and a server Vite): both serve pages wired to the same instance, it keeps
// running while either is open, and the registry says stopped only when the last one closes.
// The registry goes to the project root (the config file's folder), not Vite's `root`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, readText, removeTree, tempDir, waitForFile } from '../helpers/daebug.mjs';
import { waitForShutDownRegistry } from './checks.mjs';

test('two Vite servers on one project share one Daebug at the project root', async () => {
  const { createServer } = await import('vite');
  const dir = tempDir('daebug-vite-shared-');
  const project = path.join(dir, 'project');
  const viteRoot = path.join(project, 'app');
  fs.mkdirSync(viteRoot, { recursive: true });
  fs.writeFileSync(path.join(viteRoot, 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>\n');
  // A real config file, so the project root is its folder while Vite's root is app/.
  const pluginUrl = new URL('../../packages/vite-plugin/index.js', import.meta.url).href;
  fs.writeFileSync(path.join(project, 'vite.config.mjs'), `import daebug from ${JSON.stringify(pluginUrl)};\nexport default { root: ${JSON.stringify(viteRoot)}, logLevel: 'silent', plugins: [daebug()] };\n`);
  const configFile = path.join(project, 'vite.config.mjs');
  const servers = [];
  try {
    for (let i = 0; i < 2; i++) {
      const server = await createServer({ configFile, server: { port: await freePort(), strictPort: true, host: '127.0.0.1' } });
      await server.listen();
      servers.push(server);
    }
    const registry = path.join(project, 'daebug.md');
    await waitForFile(registry, (t) => /started \d\d:\d\d:\d\d/.test(t), { what: 'registry at the project root' });
    assert.equal(fs.existsSync(path.join(viteRoot, 'daebug.md')), false, "nothing in Vite's root");
    const ports = [];
    for (const server of servers) {
      const html = await fetch(server.resolvedUrls.local[0], { headers: { accept: 'text/html' } }).then((r) => r.text());
      ports.push(/data-daebug-port="(\d+)"/.exec(html)?.[1]);
    }
    assert.ok(ports[0], 'the page is wired to a direct port');
    assert.equal(ports[0], ports[1], 'both servers hand out the same Daebug');

    await servers.shift().close();
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(readText(registry), /stopped at/, 'still running while one server is open');
    const shim = await fetch(new URL('/-daebug-shim.js', servers[0].resolvedUrls.local[0]));
    assert.equal(shim.status, 200);

    await servers.shift().close();
    await waitForShutDownRegistry({ registry });
  } finally {
    for (const server of servers) await server.close();
    await removeTree(dir);
  }
});
