// End-to-end: the web worker realm that the shim starts beside each page.
// The heartbeat timeout is shortened through sessionStorage['daebug-heartbeat-ms'], set by an init
// script before the page (and so the shim) loads.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendToLog, jsBlock, launchBrowser, openRealm, parseLog, readText, removeTree, runJs, startServer,
  waitForFile, waitForRealm,
} from '../helpers/daebug.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter');
const HEARTBEAT_MS = 3000;

describe('worker realm', () => {
  let server;
  let browser;
  let realm;

  before(async () => {
    server = await startServer({ fixture: FIXTURE, args: ['--timeout', '30'] });
    browser = await launchBrowser();
    realm = await openRealm(server, browser, '/', {
      init: (ms) => { try { sessionStorage.setItem('daebug-heartbeat-ms', String(ms)); } catch (_) { /* ignore */ } },
      initArg: HEARTBEAT_MS,
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      await server.stop();
      await removeTree(path.dirname(server.root));
    }
  });

  test('the heartbeat override reached the shim', async () => {
    assert.equal(await realm.page.evaluate(() => globalThis.__daebug.heartbeatTimeoutMs), HEARTBEAT_MS);
  });

  test('the worker realm is listed in daebug.md as "worker of <page>" with its own log', async () => {
    const entry = await waitForRealm(server, (r) => r.name === realm.workerName);
    assert.equal(entry.workerOf, realm.name);
    assert.equal(entry.file, `daebug/${realm.workerName}.md`);
    assert.ok(readText(server.registry).includes(
      `* [${realm.workerName}](daebug/${realm.workerName}.md) (worker of ${realm.name}) at `));
    await waitForFile(realm.workerLog, (t) => t.includes(`# ${realm.workerName} session`), { what: 'worker log' });
  });

  test('the worker answers in its own log', async () => {
    const reply = await runJs(realm.workerLog, 'typeof WorkerGlobalScope');
    assert.equal(reply.ok, true);
    assert.equal(reply.lang, 'JSON');
    assert.equal(reply.body, '"function"');
    assert.equal(reply.realm, realm.workerName);
    const more = await runJs(realm.workerLog, "console.log('from-worker'); [typeof document, __daebug.name, __daebug.kind]");
    assert.deepEqual(JSON.parse(more.body), ['undefined', realm.workerName, 'worker']);
    assert.deepEqual(more.events.map((e) => e.body), ['from-worker']);
    // Nothing about the worker leaked into the page's log.
    assert.ok(!readText(realm.log).includes('from-worker'));
  });

  test('a hung worker is restarted with a diagnostic, and answers again', async () => {
    const hang = 'while (true) {}';
    const before = parseLog(readText(realm.workerLog)).diagnostics.length;
    const started = Date.now();
    appendToLog(realm.workerLog, jsBlock(hang));
    const diag = await waitForFile(realm.workerLog, (t) => parseLog(t).diagnostics.slice(before)
      .find((d) => /Worker did not answer for \d+ms; restarted it\./.test(d.body || '')),
    { timeout: HEARTBEAT_MS + 12000, what: 'worker restart diagnostic' });
    const waited = Date.now() - started;
    const ms = Number(/for (\d+)ms/.exec(diag.body)[1]);
    assert.ok(ms >= HEARTBEAT_MS, `reported ${ms}ms, heartbeat limit ${HEARTBEAT_MS}ms`);
    assert.ok(waited < HEARTBEAT_MS + 10000, `restart took ${waited}ms`);
    assert.equal(diag.realm, realm.workerName);
    // The hung job gets a 🚫 reply rather than staying "executing" forever.
    const hungReply = await waitForFile(realm.workerLog, (t) => parseLog(t).replies.find((r) => r.code === hang),
      { timeout: 10000, what: 'reply to the hung job' });
    assert.equal(hungReply.ok, false);
    // The restarted worker (same name, same log) answers new requests.
    const reply = await runJs(realm.workerLog, "'worker alive again'", { timeout: 15000 });
    assert.equal(reply.body, '"worker alive again"');
    assert.equal(reply.realm, realm.workerName);
    // The page itself was never affected.
    assert.equal((await runJs(realm.log, '6 * 7')).body, '42');
  });
});
