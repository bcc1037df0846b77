// End-to-end: %%SHUTDOWN%% on its own line in daebug.md stops the standalone server cleanly
// (exit code 0) while a page is connected, and the registry is rewritten to say the server is
// down and how to start it again (SPEC 4, 7).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendToLog, launchBrowser, openRealm, readText, removeTree, runJs, startServer, waitForRealm,
} from '../helpers/daebug.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter');

describe('%%SHUTDOWN%%', () => {
  let server;
  let browser;
  let realm;

  before(async () => {
    server = await startServer({ fixture: FIXTURE });
    browser = await launchBrowser();
    realm = await openRealm(server, browser, '/');
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      await server.stop();
      await removeTree(path.dirname(server.root));
    }
  });

  test('stops the server (exit 0) and the registry says it stopped, with the restart command', async () => {
    assert.equal((await runJs(realm.log, '1 + 2')).body, '3');
    // Let the registry settle (both realms live, nothing executing) before writing to it, so this
    // test checks the shutdown itself; the race with a registry rewrite is in lifecycle.test.mjs.
    await waitForRealm(server, (r) => r.name === realm.workerName && r.state === 'live');
    await waitForRealm(server, (r) => r.name === realm.name && r.state === 'live');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = readText(server.registry);
    assert.ok(before.includes('%%SHUTDOWN%%'), 'the registry explains how to stop the server');

    appendToLog(server.registry, '\n%%SHUTDOWN%%\n');
    const status = await Promise.race([
      server.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running after 10 s'), 10000)),
    ]);
    assert.deepEqual(status, { code: 0, signal: null },
      `server output:\n${server.output()}\ndaebug.md:\n${readText(server.registry)}`);

    const text = readText(server.registry);
    assert.match(text, /stopped|not running/i, text);
    const root = fs.realpathSync(server.root);
    const restart = text.split('\n').find((l) => l.includes('--root'));
    assert.ok(restart, `a restart command with --root is expected:\n${text}`);
    assert.ok(restart.includes(root) || restart.includes(server.root), `the restart command names the root: ${restart}`);
    assert.ok(restart.includes(`--port ${server.port}`), `the restart command keeps --port: ${restart}`);
    assert.ok(!/^%%SHUTDOWN%%$/m.test(text), 'the shutdown line is gone, so a restart does not stop at once');
    assert.ok(!text.includes(`[${realm.name}]`) || /not running|stopped/i.test(text));
    // The logs are kept.
    assert.ok(fs.existsSync(realm.log));
    // Nothing listens any more.
    await assert.rejects(fetch(server.url, { signal: AbortSignal.timeout(2000) }));
    assert.match(server.output(), /Stopping: %%SHUTDOWN%%/);
  });
});
