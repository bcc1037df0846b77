// End-to-end: the standalone `daebug` server driving a real headless Chromium page.
// Every assertion reads the Markdown files on disk (daebug.md and daebug/<realm>.md), the way an
// agent would; the page is only used to open it and to learn its realm name.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  appendToLog, jsBlock, launchBrowser, openRealm, parseLog, parseRegistry, readText, removeTree,
  runJs, startServer, waitForFile, waitForRealm,
} from '../helpers/daebug.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter');

describe('standalone server in headless Chromium', () => {
  let server;
  let browser;
  let realm; // { page, name, log }

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

  test('the page is listed in daebug.md with a link to its log and its URL', async () => {
    const entry = await waitForRealm(server, (r) => r.name === realm.name);
    assert.equal(entry.file, `daebug/${realm.name}.md`);
    assert.equal(entry.url, server.url);
    assert.match(entry.state, /^(live|executing|queued \d+)$/);
    const text = readText(server.registry);
    assert.ok(text.includes(`[${realm.name}](daebug/${realm.name}.md) (${server.url})`), text);
  });

  test('the realm log has a title and exactly one footer', () => {
    const text = readText(realm.log);
    assert.ok(text.startsWith(`# ${realm.name} session`), text.slice(0, 200));
    assert.equal(parseLog(text).footerCount, 1);
  });

  test('served HTML carries the shim and the import map; the shim itself is served', async () => {
    for (const page of ['/', '/index.html', '/other.html']) {
      const res = await fetch(new URL(page, server.url));
      assert.equal(res.status, 200, page);
      assert.match(res.headers.get('content-type') || '', /text\/html/);
      const html = await res.text();
      assert.match(html, /<script[^>]*src="\/-daebug-shim\.js"[^>]*><\/script>/, `${page} has no shim:\n${html}`);
      assert.match(html, /<script type="importmap"[^>]*>[^<]*"node:test"/, `${page} has no import map`);
    }
    const shim = await fetch(new URL('/-daebug-shim.js', server.url));
    assert.equal(shim.status, 200);
    assert.match(shim.headers.get('content-type') || '', /javascript/);
    assert.ok((await shim.text()).includes('__daebug'));
    const app = await fetch(new URL('/app.js', server.url));
    assert.equal(app.status, 200);
    assert.match(app.headers.get('content-type') || '', /javascript/);
    assert.match(app.headers.get('cache-control') || '', /no-cache|no-store/);
    assert.equal(await app.text(), readText(path.join(server.root, 'app.js')));
  });

  test('expression result: 12 + 13 → JSON 25', async () => {
    const reply = await runJs(realm.log, '12 + 13');
    assert.equal(reply.ok, true);
    assert.equal(reply.lang, 'JSON');
    assert.equal(reply.body, '25');
    assert.equal(reply.realm, realm.name);
    assert.equal(reply.agent, 'agent');
    assert.match(reply.duration, /^\d+ms$/);
  });

  test('statements return the last expression: let x = 5; x * 2 → 10', async () => {
    const reply = await runJs(realm.log, 'let x = 5; x * 2');
    assert.equal(reply.ok, true);
    assert.equal(reply.lang, 'JSON');
    assert.equal(reply.body, '10');
  });

  test('top-level await works', async () => {
    const reply = await runJs(realm.log, "await new Promise(r => setTimeout(r, 50)); 'done'");
    assert.equal(reply.ok, true);
    assert.equal(reply.lang, 'JSON');
    assert.equal(reply.body, '"done"');
  });

  test('JSON replies are faithful: strings quoted, objects indented by 2', async () => {
    const str = await runJs(realm.log, "'42'");
    assert.equal(str.body, '"42"');
    const obj = await runJs(realm.log, '({ a: 1, b: [1, 2], c: { d: null } })');
    assert.equal(obj.lang, 'JSON');
    assert.equal(obj.body, JSON.stringify({ a: 1, b: [1, 2], c: { d: null } }, null, 2));
  });

  test('a thrown error is a 🚫 reply with an Error block', async () => {
    const reply = await runJs(realm.log, "throw new Error('kaboom-123')");
    assert.equal(reply.ok, false);
    assert.equal(reply.lang, 'Error');
    assert.match(reply.body, /^Error: kaboom-123/);
    const text = readText(realm.log);
    assert.match(text, /^#### 🚫\S+ to agent at \d\d:\d\d:\d\d \(\d+ms\)\n```Error\nError: kaboom-123/m);
  });

  test('a syntax error is a 🚫 reply, and the realm keeps answering', async () => {
    const reply = await runJs(realm.log, 'let = = 3');
    assert.equal(reply.ok, false);
    assert.equal(reply.lang, 'Error');
    assert.match(reply.body, /SyntaxError/);
    assert.equal((await runJs(realm.log, '1 + 1')).body, '2');
  });

  test('console.log/warn/error inside a job are written under its reply', async () => {
    const reply = await runJs(realm.log,
      "console.log('log-line', 1, { a: 1 }); console.warn('warn-line'); console.error('error-line'); 'logged'");
    assert.equal(reply.body, '"logged"');
    assert.equal(reply.events.length, 3, JSON.stringify(reply.events, null, 2));
    const [log, warn, error] = reply.events;
    assert.equal(log.emoji, '☑️');
    assert.equal(log.source, 'console.log');
    assert.equal(log.info, 'Text console.log');
    assert.equal(log.body, 'log-line 1 {"a":1}');
    assert.equal(warn.emoji, '🆘');
    assert.equal(warn.source, 'console.warn');
    assert.equal(warn.body, 'warn-line');
    assert.equal(error.emoji, '🆘');
    assert.equal(error.source, 'console.error');
    assert.equal(error.lang, 'Error');
    assert.equal(error.body, 'error-line');
  });

  test('uncaught errors, rejections and logs outside a job are flushed under a 📣 background heading', async () => {
    const before = parseLog(readText(realm.log)).backgrounds.length;
    const reply = await runJs(realm.log, [
      "setTimeout(() => { throw new Error('bg-throw') }, 100);",
      "setTimeout(() => { Promise.reject(new Error('bg-reject')) }, 150);",
      "setTimeout(() => console.log('bg-log', { a: 1 }), 200);",
      "'scheduled'",
    ].join('\n'));
    assert.equal(reply.body, '"scheduled"');
    assert.equal(reply.events.length, 0, 'background events must not be part of the reply');
    const events = await waitForFile(realm.log, (text) => {
      const all = parseLog(text).backgrounds.slice(before).flatMap((b) => b.events);
      return all.some((e) => /bg-throw/.test(e.body)) && all.some((e) => /bg-reject/.test(e.body)) &&
        all.some((e) => /bg-log/.test(e.body)) ? all : null;
    }, { timeout: 10000, what: 'background flush' });
    const text = readText(realm.log);
    assert.match(text, new RegExp(`^#### 📣${realm.name} background at \\d\\d:\\d\\d:\\d\\d$`, 'm'));
    const thrown = events.find((e) => /bg-throw/.test(e.body));
    assert.equal(thrown.emoji, '🚫');
    assert.equal(thrown.source, 'window.onerror');
    assert.equal(thrown.info, 'Error window.onerror');
    const rejected = events.find((e) => /bg-reject/.test(e.body));
    assert.equal(rejected.emoji, '🚫');
    assert.equal(rejected.source, 'unhandledrejection');
    assert.equal(rejected.lang, 'Error');
    const logged = events.find((e) => /bg-log/.test(e.body));
    assert.equal(logged.source, 'console.log');
    assert.equal(logged.body, 'bg-log {"a":1}');
    // The background section sits above the footer; the footer stays last.
    const parsed = parseLog(text);
    assert.equal(parsed.footerCount, 1);
    assert.equal(parsed.afterFooter.trim(), '');
  });

  test('more than 10 events in one job are compressed to the first 2 and last 8', async () => {
    const reply = await runJs(realm.log, "for (let i = 0; i < 15; i++) console.log('many', i); 'many-done'");
    assert.equal(reply.body, '"many-done"');
    assert.equal(reply.omitted, 5, 'expected "... (5 more background events omitted) ..."');
    assert.equal(reply.omittedAt, 2);
    assert.deepEqual(reply.events.map((e) => e.body),
      ['many 0', 'many 1', 'many 7', 'many 8', 'many 9', 'many 10', 'many 11', 'many 12', 'many 13', 'many 14']);
    assert.ok(readText(realm.log).includes('\n... (5 more background events omitted) ...\n'));
  });

  test('a job that floods the console still gets its result (no body-limit loss)', async () => {
    const reply = await runJs(realm.log, "for (let i = 0; i < 500; i++) console.log('flood ' + i + ' ' + 'x'.repeat(20000)); 42", { timeout: 30000 });
    assert.equal(reply.body, '42');
    assert.equal(reply.omitted, 490);
    assert.match(reply.events.at(-1).body, /^flood 499 x+/);
  });

  test('values without a faithful JSON form render as Text and do not break the realm', async () => {
    const cases = [
      ['undefined', (b) => b === 'undefined'],
      ["new Map([['a', 1], ['b', { c: 2 }]])", (b) => b.startsWith('Map(2)') && b.includes("'a' => 1")],
      ["document.querySelector('#inc')", (b) => b.includes('<button id="inc">+1</button>')],
      ["const o = { name: 'loop' }; o.self = o; o", (b) => b.includes('[Circular]') && b.includes("'loop'")],
      ['10n', (b) => b === '10n'],
      ['(function namedFn() {})', (b) => b.includes('namedFn')],
      ["new Set([1, 'two'])", (b) => b.startsWith('Set(2)')],
    ];
    for (const [code, check] of cases) {
      const reply = await runJs(realm.log, code);
      assert.equal(reply.ok, true, `${code}: ${reply.body}`);
      assert.equal(reply.lang, 'Text', `${code} should be a Text block, got ${reply.lang}: ${reply.body}`);
      assert.ok(check(reply.body), `${code} rendered as ${JSON.stringify(reply.body)}`);
    }
    assert.equal((await runJs(realm.log, "'still alive'")).body, '"still alive"');
  });

  test("the page's own script works: click the button through the log and read the DOM", async () => {
    const reply = await runJs(realm.log, [
      "document.querySelector('#inc').click();",
      "document.querySelector('#inc').click();",
      "[counter.value, document.querySelector('#count').textContent, globalThis.appLoaded]",
    ].join('\n'));
    assert.equal(reply.ok, true, reply.body);
    assert.deepEqual(JSON.parse(reply.body), [2, '2', true]);
    assert.deepEqual(reply.events.map((e) => e.body), ['clicked 1', 'clicked 2']);
  });

  test('state persists across requests on globalThis', async () => {
    await runJs(realm.log, 'globalThis.kept = { n: 41 }; 0');
    assert.equal((await runJs(realm.log, 'kept.n + 1')).body, '42');
  });

  test('two requests appended back to back are both answered, in order', async () => {
    const first = "await new Promise(r => setTimeout(r, 300)); 'first-of-two'";
    const second = "'second-of-two'";
    appendToLog(realm.log, jsBlock(first));
    appendToLog(realm.log, jsBlock(second));
    const text = await waitForFile(realm.log, (t) => {
      const p = parseLog(t);
      return p.replies.some((r) => r.code === second) && p.pending.length === 0;
    }, { timeout: 10000, what: 'both replies' });
    const parsed = parseLog(text);
    const a = parsed.replies.find((r) => r.code === first);
    const b = parsed.replies.find((r) => r.code === second);
    assert.ok(a, 'first request answered');
    assert.ok(b, 'second request answered');
    assert.equal(a.body, '"first-of-two"');
    assert.equal(b.body, '"second-of-two"');
    assert.ok(a.line < b.line, 'replies are in request order');
    assert.ok(text.indexOf(first) < text.indexOf(second), 'requests kept in order');
    assert.equal(parsed.footerCount, 1);
    assert.equal(parsed.afterFooter.trim(), '');
  });

  test('several blocks in one append run in order, each reply under its block', async () => {
    const chunk = 'Some prose from the agent.\n\n' + jsBlock("globalThis.seq = ['a']; seq.length") +
      '\nand between\n\n' + jsBlock("seq.push('b'); seq");
    appendToLog(realm.log, chunk);
    const parsed = await waitForFile(realm.log, (t) => {
      const p = parseLog(t);
      return p.replies.some((r) => r.code === "seq.push('b'); seq") ? p : null;
    }, { what: 'second block reply' });
    const r1 = parsed.replies.find((r) => r.code === "globalThis.seq = ['a']; seq.length");
    const r2 = parsed.replies.find((r) => r.code === "seq.push('b'); seq");
    assert.equal(r1.body, '1');
    assert.deepEqual(JSON.parse(r2.body), ['a', 'b']);
    const text = readText(realm.log);
    assert.ok(text.includes('Some prose from the agent.') && text.includes('and between'), 'prose kept verbatim');
  });

  test('an agent header names the agent in the request and the reply', async () => {
    const code = "'hello claude'";
    appendToLog(realm.log, `### 🗣️claude to ${realm.name} at 10:37:00\n\n` + jsBlock(code));
    const reply = await waitForFile(realm.log, (t) => parseLog(t).replies.find((r) => r.code === code), { what: 'reply to claude' });
    assert.equal(reply.agent, 'claude');
    assert.equal(reply.body, '"hello claude"');
    const requests = parseLog(readText(realm.log)).requests.filter((r) => r.blocks.includes(code));
    assert.equal(requests.length, 1, 'one request header, not two');
    assert.equal(requests[0].agent, 'claude');
  });

  test('a request appended while another runs is shown as queued, then answered', async () => {
    const slow = "await new Promise(r => setTimeout(r, 1500)); 'slow-done'";
    const queued = "'queued-done'";
    appendToLog(realm.log, jsBlock(slow));
    await waitForFile(realm.log, (t) => parseLog(t).pending.some((e) => e.code === slow && e.kind === 'executing'),
      { what: 'slow job executing' });
    appendToLog(realm.log, jsBlock(queued));
    const seen = await waitForFile(realm.log, (t) => {
      const p = parseLog(t);
      if (p.replies.some((r) => r.code === queued)) return 'answered-before-seen-queued';
      return p.pending.some((e) => e.code === queued && e.kind === 'queued') ? 'queued' : null;
    }, { what: 'queued placeholder' });
    assert.equal(seen, 'queued');
    const parsed = await waitForFile(realm.log, (t) => {
      const p = parseLog(t);
      return p.replies.some((r) => r.code === queued) ? p : null;
    }, { timeout: 8000, what: 'queued job reply' });
    assert.equal(parsed.replies.find((r) => r.code === slow).body, '"slow-done"');
    assert.equal(parsed.replies.find((r) => r.code === queued).body, '"queued-done"');
    assert.equal(parsed.pending.length, 0);
  });

  test("an agent's edit above the footer while a job runs is kept, and the reply still lands under its block", async () => {
    const code = "await new Promise(r => setTimeout(r, 1200)); 'edited-around'";
    appendToLog(realm.log, jsBlock(code));
    await waitForFile(realm.log, (t) => parseLog(t).pending.some((e) => e.code === code), { what: 'job accepted' });
    // Edit history near the top of the file, as an agent's editor would (write the whole file).
    const text = readText(realm.log);
    const marker = 'NOTE FROM THE AGENT: edited while a job was running.';
    const cut = text.indexOf('\n---\n');
    fs.writeFileSync(realm.log, text.slice(0, cut) + '\n\n' + marker + text.slice(cut));
    const reply = await waitForFile(realm.log, (t) => parseLog(t).replies.find((r) => r.code === code),
      { timeout: 8000, what: 'reply after the edit' });
    assert.equal(reply.body, '"edited-around"');
    const after = readText(realm.log);
    assert.ok(after.includes(marker), "the agent's edit was lost");
    const parsed = parseLog(after);
    assert.equal(parsed.footerCount, 1);
    assert.equal(parsed.pending.length, 0);
  });

  test('a huge result is cut with a note of how much was cut', async () => {
    const reply = await runJs(realm.log, "'x'.repeat(250000)");
    assert.equal(reply.ok, true);
    assert.ok(reply.body.length < 110000, `reply body is ${reply.body.length} characters`);
    assert.match(reply.body, /\d+ more characters cut|cut/);
    assert.equal((await runJs(realm.log, "'after huge'")).body, '"after huge"');
  });

  test('a 6-second job streams console output into the executing placeholder before its reply', async () => {
    const code = "for (let i = 0; i < 6; i++) { console.log('tick', i); await new Promise(r => setTimeout(r, 1000)) } 'finished'";
    appendToLog(realm.log, jsBlock(code));
    // While the job runs: the header, streamed events, then `executing (Ns)`.
    const streaming = await waitForFile(realm.log, (t) => {
      const p = parseLog(t);
      if (p.replies.some((r) => r.code === code)) throw new Error('the reply landed before any streamed progress was seen');
      const running = p.pending.find((e) => e.code === code && e.kind === 'executing');
      return running && running.events.some((e) => e.body === 'tick 0') ? running : null;
      // SPEC 3.1: the placeholder is first refreshed ~1 s into the job (then no more often
      // than every 5 s), so the first streamed line shows long before the reply at ~6 s.
      // No tight deadline here: the throw above already fails the test if the reply wins, so a
      // loaded machine that refreshes late does not make it flaky.
    }, { timeout: 12000, interval: 25, what: 'streamed console lines under executing (Ns)' });
    assert.match(streaming.placeholder, /^executing \([1-3]s\)$/); // not 5 s, as before SPEC 3.1's early refresh
    assert.deepEqual(streaming.events.slice(0, 1).map((e) => e.body), ['tick 0']);
    const snapshot = readText(realm.log);
    const at = snapshot.indexOf(code);
    const region = snapshot.slice(at);
    assert.ok(region.indexOf('tick 0') < region.indexOf('executing ('), 'events are shown above the placeholder');

    const reply = await waitForFile(realm.log, (t) => parseLog(t).replies.find((r) => r.code === code),
      { timeout: 12000, what: 'reply of the 6 s job' });
    assert.equal(reply.ok, true);
    assert.equal(reply.body, '"finished"');
    assert.deepEqual(reply.events.map((e) => e.body), [0, 1, 2, 3, 4, 5].map((i) => `tick ${i}`));
    assert.match(reply.duration, /^[67]\.\ds$/, `duration ${reply.duration} should be N.Ns around 6 s`);
    const text = readText(realm.log);
    assert.ok(!/executing \(\d+s\)/.test(text.slice(text.indexOf(code))), 'placeholder replaced by the reply');
  });

  test('the registry lists the page as live after the jobs', async () => {
    const entry = await waitForRealm(server, (r) => r.name === realm.name && r.state === 'live');
    assert.equal(entry.url, server.url);
    const names = parseRegistry(readText(server.registry)).map((r) => r.name);
    assert.equal(names.filter((n) => n === realm.name).length, 1, 'one line per realm');
  });
});
