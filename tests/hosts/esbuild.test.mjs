// End-to-end: esbuild's serve mode behind @daebug/esbuild-plugin (Daebug as the front proxy),
// driving headless Chromium. The shared host checks, plus: a rebuild is picked up (live reload
// through the proxy), and ctx.dispose() rewrites the registry as shut down.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT, runJs } from '../helpers/daebug.mjs';
import { copyExample, sharedHostChecks, waitForShutDownRegistry } from './checks.mjs';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'esbuild');

describe('esbuild serve with the Daebug plugin', () => {
  let ctx;
  let browser;
  let host;
  let realm;
  const lines = [];

  before(async () => {
    const esbuild = await import('esbuild');
    const { default: daebug } = await import('@daebug/esbuild-plugin');
    const root = copyExample(EXAMPLE);
    const dbg = daebug({ log: (line) => lines.push(line) });
    ctx = await esbuild.context({
      absWorkingDir: root,
      entryPoints: ['src/app.js'],
      bundle: true,
      outdir: 'www/js',
      logLevel: 'silent',
      plugins: [dbg],
    });
    await ctx.watch();
    const served = await dbg.serve(ctx, { servedir: path.join(root, 'www'), port: await freePort() });
    assert.equal(served.url, `http://localhost:${served.port}/`);
    host = { url: `http://127.0.0.1:${served.port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    browser = await launchBrowser();
    realm = await openRealm(host, browser, '/', { timeout: 20000 });
  });

  after(async () => {
    if (browser) await browser.close();
    if (ctx) await ctx.dispose();
    if (host) await removeTree(path.dirname(host.root));
  });

  sharedHostChecks(() => ({ host, realm }));

  test("the plugin's notices go to its log function", () => {
    assert.ok(lines.some((l) => l.includes(`[daebug] + ${realm.name}`)), lines.join('\n'));
  });

  test('a rebuild is picked up: live reload through Daebug, same realm, still answering', async () => {
    const file = path.join(host.root, 'src', 'message.js');
    fs.writeFileSync(file, "export const message = 'Rebuilt by esbuild.';\n");
    await realm.page.waitForFunction(() => document.getElementById('message')?.textContent === 'Rebuilt by esbuild.', null, { timeout: 15000 });
    await realm.page.waitForFunction(() => globalThis.__daebug && globalThis.__daebug.name, null, { timeout: 10000 });
    assert.equal(await realm.page.evaluate(() => globalThis.__daebug.name), realm.name, 'reload keeps the realm');
    const reply = await runJs(realm.log, "document.getElementById('message').textContent");
    assert.equal(reply.body, '"Rebuilt by esbuild."');
  });

  test('ctx.dispose() rewrites the registry as shut down', async () => {
    await ctx.dispose();
    ctx = null;
    const text = await waitForShutDownRegistry(host);
    assert.match(text, /node /);
  });
});
