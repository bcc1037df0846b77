// End-to-end: realm lifetime and server lifetime — page reloads keep the realm, the --timeout
// reply and the late-result diagnostic. (Shutdown: shutdown.test.mjs and registry-race.test.mjs.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendToLog, jsBlock, launchBrowser, openRealm, parseLog, parseRegistry, readText, removeTree,
  logPath, runJs, startServer, waitForFile,
} from '../helpers/daebug.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter');
const TIMEOUT_S = 2;

describe('realm and server lifecycle', () => {
  let server;
  let browser;
  let realm;

  before(async () => {
    server = await startServer({ fixture: FIXTURE, args: ['--timeout', String(TIMEOUT_S)] });
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

  test('a page reload keeps the realm: same name, same log, new requests answered there', async () => {
    assert.equal((await runJs(realm.log, 'globalThis.beforeReload = 1; location.pathname')).body, '"/"');
    await realm.page.reload();
    await realm.page.waitForFunction(() => globalThis.__daebug && globalThis.appLoaded);
    assert.equal(await realm.page.evaluate(() => globalThis.__daebug.name), realm.name);
    const reply = await runJs(realm.log, "[typeof globalThis.beforeReload, 'after-reload']", { timeout: 20000 });
    assert.equal(reply.ok, true, reply.body);
    assert.deepEqual(JSON.parse(reply.body), ['undefined', 'after-reload']);
    // One log per realm (page + worker), one registry line each.
    const logs = fs.readdirSync(path.join(server.root, 'daebug')).sort();
    assert.deepEqual(logs, [`${realm.name}-webworker.md`, `${realm.name}.md`].sort());
    const names = parseRegistry(readText(server.registry)).map((r) => r.name);
    assert.equal(names.filter((n) => n === realm.name).length, 1);
    assert.equal(parseLog(readText(realm.log)).footerCount, 1);
    // The worker realm came back under the same name and log.
    const worker = await runJs(realm.workerLog, "'worker after reload'", { timeout: 20000 });
    assert.equal(worker.body, '"worker after reload"');
    assert.equal(worker.realm, realm.workerName);
  });

  test('a tab opened from the page (inheriting its sessionStorage) gets a realm of its own', async () => {
    const [popup] = await Promise.all([
      realm.page.waitForEvent('popup'),
      realm.page.evaluate(() => { window.open(location.href); }),
    ]);
    await popup.waitForFunction(() => globalThis.__daebug && globalThis.__daebug.name, null, { timeout: 10000 });
    const inherited = await popup.evaluate(() => sessionStorage.getItem('daebug-name'));
    const popupName = await popup.evaluate(() => globalThis.__daebug.name);
    assert.notEqual(popupName, realm.name, `the copy of sessionStorage held ${inherited}`);
    assert.equal(await popup.evaluate(() => sessionStorage.getItem('daebug-name')), popupName);
    // Both realms answer, each in its own log, without taking each other's jobs.
    const popupLog = logPath(server, popupName);
    await waitForFile(popupLog, (t) => t.includes('Append your JavaScript'), { timeout: 10000, what: 'popup log' });
    const [a, b] = await Promise.all([runJs(realm.log, "'original'"), runJs(popupLog, "'popup'")]);
    assert.deepEqual([a.body, b.body], ['"original"', '"popup"']);
    await popup.close();
  });

  test('a deleted log is left alone until the agent recreates it; then requests in it run', async () => {
    await runJs(realm.log, "globalThis.bgTicker = setInterval(() => console.log('bg-tick'), 300); 'ticking'");
    fs.unlinkSync(realm.log);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // at least one background flush
    assert.equal(fs.existsSync(realm.log), false, 'the server recreated a log the agent deleted');
    // Recreated by the agent with just a request: the server adds the footer and answers.
    fs.writeFileSync(realm.log, jsBlock("clearInterval(globalThis.bgTicker); 'recreated'"));
    const reply = await waitForFile(realm.log, (t) => parseLog(t).replies.find((r) => (r.code || '').includes("'recreated'")),
      { timeout: 10000, what: 'reply in the recreated log' });
    assert.equal(reply.ok, true);
    assert.equal(reply.body, '"recreated"');
    assert.equal(parseLog(readText(realm.log)).footerCount, 1);
  });

  test('a job longer than --timeout gets a 🚫 timeout reply; its late result is a diagnostic', async () => {
    const code = "await new Promise(r => setTimeout(r, 3500)); 'late-value'";
    const started = Date.now();
    const reply = await runJs(realm.log, code, { timeout: TIMEOUT_S * 1000 + 8000 });
    const took = Date.now() - started;
    assert.equal(reply.ok, false);
    assert.equal(reply.lang, 'Error');
    assert.match(reply.body, /did not answer/i);
    assert.ok(took >= TIMEOUT_S * 1000 - 200 && took < TIMEOUT_S * 1000 + 4000, `timeout reply after ${took}ms`);
    const diag = await waitForFile(realm.log, (t) => parseLog(t).diagnostics.find((d) => /late-value/.test(d.body || '')),
      { timeout: 8000, what: 'late result diagnostic' });
    assert.equal(diag.realm, realm.name);
    // The realm is usable again.
    assert.equal((await runJs(realm.log, "'after-timeout'")).body, '"after-timeout"');
  });
});
