// The checks every Node host must pass, the same as the standalone end-to-end suite's core:
// the page is listed in daebug.md, a request gets its reply on disk, console output and
// uncaught errors are captured, and the worker realm answers. Used by the host test files.
// `host` is { url, root, registry, logDir }; `realm` comes from openRealm().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseLog, readText, runJs, tempDir, waitForFile, waitForRealm } from '../helpers/daebug.mjs';

/** Register the shared tests; `get()` returns { host, realm } once the suite's before() ran. */
export function sharedHostChecks(get) {
  test('the page is listed in daebug.md with its log and URL', async () => {
    const { host, realm } = get();
    const entry = await waitForRealm(host, (r) => r.name === realm.name);
    assert.equal(entry.file, `daebug/${realm.name}.md`);
    assert.equal(new URL(entry.url).port, new URL(host.url).port);
    assert.ok(readText(realm.log).startsWith(`# ${realm.name} session`));
  });

  test('served HTML has the shim and exactly one import map with node:test', async () => {
    const { host } = get();
    const html = await (await fetch(host.url)).text();
    assert.match(html, /<script[^>]*src="\/-daebug-shim\.js"[^>]*><\/script>/, html);
    assert.equal(html.match(/type="importmap"/g)?.length, 1, html);
    assert.match(html, /"node:test":"\/-daebug-node:test\.js"/);
  });

  test('request → reply on disk: 12 + 13 → 25', async () => {
    const { realm } = get();
    const reply = await runJs(realm.log, '12 + 13');
    assert.equal(reply.ok, true);
    assert.equal(reply.lang, 'JSON');
    assert.equal(reply.body, '25');
    assert.equal(reply.realm, realm.name);
  });

  test('console output in a job is written under its reply', async () => {
    const { realm } = get();
    const reply = await runJs(realm.log, "console.log('host-log', { a: 1 }); console.error('host-err'); 'logged'");
    assert.equal(reply.body, '"logged"');
    const bodies = reply.events.map((e) => e.body).join('\n');
    assert.match(bodies, /host-log \{"a":1\}/);
    assert.match(bodies, /host-err/);
  });

  test('thrown errors are 🚫 replies; uncaught errors are captured in the background', async () => {
    const { realm } = get();
    const thrown = await runJs(realm.log, "throw new Error('host-kaboom')");
    assert.equal(thrown.ok, false);
    assert.match(thrown.body, /host-kaboom/);
    await runJs(realm.log, "setTimeout(() => { throw new Error('host-bg-throw') }, 50); 'armed'");
    await waitForFile(realm.log, (t) => {
      const events = parseLog(t).entries.flatMap((e) => e.events || []);
      return events.some((e) => /host-bg-throw/.test(e.body) && e.lang === 'Error');
    }, { what: 'background error in the log', timeout: 15000 });
  });

  test('the worker realm is listed and answers in its own log', async () => {
    const { host, realm } = get();
    const entry = await waitForRealm(host, (r) => r.name === realm.workerName, { timeout: 15000 });
    assert.equal(entry.workerOf, realm.name);
    await waitForFile(realm.workerLog, (t) => t.includes(`# ${realm.workerName} session`), { what: 'worker log' });
    const reply = await runJs(realm.workerLog, 'typeof WorkerGlobalScope');
    assert.equal(reply.body, '"function"');
    assert.equal(reply.realm, realm.workerName);
  });
}

/** Wait until the registry says the server stopped. */
export function waitForShutDownRegistry(host, opts = {}) {
  return waitForFile(host.registry, (t) => /stopped at \d\d:\d\d:\d\d/.test(t), { what: 'shut-down registry', ...opts });
}

/** A temp copy of the example app without installed or generated files. */
export function copyExample(src) {
  const dest = path.join(tempDir('daebug-host-'), path.basename(src));
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (p) => !/(^|[/\\])(node_modules|daebug|daebug\.md|dist)$/.test(path.relative(src, p)),
  });
  return dest;
}
