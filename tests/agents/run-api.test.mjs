// `daebug run`, `daebug realms` and the HTTP API (/-daebug-api) against the standalone server
// and a real Chromium page. Every request must land in the realm's log as an ordinary request
// from the caller's name, with its reply beneath — checked on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT, startServer, launchBrowser, openRealm, readText, parseLog, waitForFile,
} from '../helpers/daebug.mjs';
import { runCli } from './helpers.mjs';

const FIXTURE = path.join(REPO_ROOT, 'tests/e2e/fixtures/counter');

let server;
let browser;
let realm;

before(async () => {
  server = await startServer({ fixture: FIXTURE });
  fs.writeFileSync(path.join(server.root, 'math.test.js'), `
import { test } from 'node:test';
import assert from 'node:assert';
test('adds', () => assert.equal(1 + 1, 2));
test('fails', () => assert.equal(1 + 1, 3));
`);
  browser = await launchBrowser();
  realm = await openRealm(server, browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const api = (p, init) => fetch(new URL(p, server.url), init).then(async (r) => ({ status: r.status, body: await r.json() }));
const post = (p, body) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('daebug run prints the reply section, exits 0 and the log holds request and reply', async () => {
  const r = await runCli(['run', '--agent', 'tester', 'counter.value + 41'], { cwd: server.root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^#### 👍${realm.name} to tester at \\d\\d:\\d\\d:\\d\\d \\(\\d+ms\\)\\n\`\`\`JSON\\n41\\n\`\`\`\\n$`));
  const log = parseLog(readText(realm.log));
  const req = log.requests.at(-1);
  assert.equal(req.agent, 'tester');
  assert.deepEqual(req.blocks, ['counter.value + 41']);
  const reply = log.replies.at(-1);
  assert.equal(reply.ok, true);
  assert.equal(reply.agent, 'tester');
  assert.equal(reply.body, '41');
  assert.equal(log.footerCount, 1);
});

test('daebug run --json: value, events, duration, realm, job id; DOM state is the live page\'s', async () => {
  await realm.page.click('#inc');
  const r = await runCli(['run', '--json', '--root', server.root, 'console.log("hi", 1); ({ n: counter.value, t: document.title })']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.ok, true);
  assert.deepEqual(v.value, { n: 1, t: 'Daebug e2e counter' });
  assert.equal(v.realm, realm.name);
  assert.equal(v.agent, 'agent');
  assert.match(v.jobId, /\S/);
  assert.equal(typeof v.duration, 'number');
  assert.equal(v.events.length, 1);
  assert.equal(v.events[0].source, 'console.log');
  assert.match(v.events[0].message, /hi 1/);
});

test('daebug run: a thrown error exits 1 with the Error block; a value without JSON form is text', async () => {
  const r = await runCli(['run', 'throw new TypeError("boom")'], { cwd: server.root });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^#### 🚫/);
  assert.match(r.stdout, /```Error\nTypeError: boom/);
  const t = await runCli(['run', '--json', 'document.body'], { cwd: server.root });
  assert.equal(t.code, 0, t.stderr);
  const v = JSON.parse(t.stdout);
  assert.equal(v.value, undefined);
  assert.equal(typeof v.text, 'string');
});

test('daebug run - reads the code from standard input (multi-line, backticks)', async () => {
  const code = 'const s = "a```b";\nconst t = [1,\n 2];\ns.length + t.length';
  const r = await runCli(['run', '--json', '-'], { cwd: server.root, input: code });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).value, 7);
  const log = parseLog(readText(realm.log));
  assert.equal(log.replies.at(-1).body, '7');
  assert.deepEqual(log.requests.at(-1).blocks, [code]);
});

test('daebug run: wait timeout exits 2, the request stays in the log and is answered later', async () => {
  const r = await runCli(['run', '--timeout', '0.5', 'await new Promise((r) => setTimeout(() => r("late"), 1500))'], { cwd: server.root });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no reply from .* yet/);
  await waitForFile(realm.log, (t) => parseLog(t).replies.some((x) => x.body === '"late"'), { what: 'the late reply' });
});

test('daebug run: unknown realm exits 2; several pages without --realm exits 2 and lists them', async () => {
  const r = await runCli(['run', '--realm', 'nope-nope', '1'], { cwd: server.root });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no realm named nope-nope/);
  const second = await openRealm(server, browser);
  try {
    const a = await runCli(['run', '1'], { cwd: server.root });
    assert.equal(a.code, 2);
    assert.match(a.stderr, /several live pages/);
    assert.ok(a.stderr.includes(realm.name) && a.stderr.includes(second.name), a.stderr);
    const b = await runCli(['run', '--realm', second.name, '--json', 'location.pathname'], { cwd: server.root });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout).realm, second.name);
    const w = await runCli(['run', '--realm', second.workerName, '--json', 'typeof document'], { cwd: server.root });
    assert.equal(w.code, 0, w.stderr);
    assert.equal(JSON.parse(w.stdout).value, 'undefined');
    assert.equal(parseLog(readText(second.workerLog)).replies.at(-1).body, '"undefined"');
    const list = await runCli(['realms', '--json'], { cwd: server.root });
    assert.equal(list.code, 0);
    const names = JSON.parse(list.stdout).realms.map((x) => x.name);
    for (const n of [realm.name, second.name, second.workerName]) assert.ok(names.includes(n), `${n} in ${names}`);
    const text = await runCli(['realms'], { cwd: server.root });
    assert.ok(text.stdout.includes(`daebug/${second.name}.md`), text.stdout);
  } finally {
    await second.page.close();
  }
});

test('daebug run without a server for the root exits 2 with a clear line', async () => {
  const empty = fs.mkdtempSync(path.join(path.dirname(server.root), 'no-server-'));
  const r = await runCli(['run', '1'], { cwd: empty });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^daebug: no Daebug server is running for .*start one/);
});

test('API: health, realms, log (whole and last N)', async () => {
  const h = await api('/-daebug-api/health');
  assert.equal(h.status, 200);
  assert.equal(h.body.ok, true);
  assert.equal(h.body.root, fs.realpathSync(server.root));
  assert.match(h.body.daebug, /^\d+\.\d+\.\d+/);
  const realms = await api('/-daebug-api/realms');
  const me = realms.body.realms.find((x) => x.name === realm.name);
  assert.equal(me.kind, 'page');
  assert.equal(me.log, `daebug/${realm.name}.md`);
  assert.match(me.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const whole = await api(`/-daebug-api/log?realm=${encodeURIComponent(realm.name)}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.body.text, readText(realm.log));
  const last = await api(`/-daebug-api/log?realm=${encodeURIComponent(realm.name)}&last=2`);
  assert.match(last.body.text, /^### 🗣️agent to .*\n[\s\S]*#### 👍/);
  assert.ok(!last.body.text.includes('Append your JavaScript'));
  assert.ok(whole.body.text.endsWith(last.body.text.trimEnd() + '\n\n' + '-'.repeat(70) + '\n> Append your JavaScript snippet below to execute against this page.\n\n'));
  const missing = await api('/-daebug-api/log?realm=nope');
  assert.equal(missing.status, 404);
});

test('API: run writes the request under the caller\'s name and returns the run JSON', async () => {
  const r = await post('/-daebug-api/run', { code: '6 * 7', agent: 'my bot', realm: realm.name });
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, true);
  assert.equal(r.body.value, 42);
  assert.equal(r.body.agent, 'my-bot');
  const log = parseLog(readText(realm.log));
  assert.equal(log.requests.at(-1).agent, 'my-bot');
  assert.equal(log.replies.at(-1).body, '42');
  assert.match(r.body.markdown, /^#### 👍.* to my-bot at /);
});

test('API: bad input gets a 400 with a reason and writes nothing', async () => {
  const before = readText(realm.log);
  const bad = await fetch(new URL('/-daebug-api/run', server.url), { method: 'POST', body: '{"code":' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /malformed run request/);
  const empty = await post('/-daebug-api/run', { code: '   ' });
  assert.equal(empty.status, 400);
  const unknown = await post('/-daebug-api/run', { code: '1', color: 'red' });
  assert.equal(unknown.status, 400);
  assert.equal(readText(realm.log), before);
});

test('API: cross-site requests and foreign Host headers are refused', async () => {
  const cross = await fetch(new URL('/-daebug-api/run', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    body: JSON.stringify({ code: 'globalThis.pwned = 1' }),
  });
  assert.equal(cross.status, 403);
  const rebinding = await new Promise((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/-daebug-api/realms', headers: { host: 'evil.example' } }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
      req.end();
    });
  });
  assert.equal(rebinding, 403);
  assert.equal(await realm.page.evaluate(() => globalThis.pwned), undefined);
});

test('API: run a test suite in the page', async () => {
  const r = await post('/-daebug-api/test', { files: ['math.test.js'], realm: realm.name, agent: 'ci' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.passed, false);
  assert.equal(r.body.totals.pass, 1);
  assert.equal(r.body.totals.fail, 1);
  assert.match(r.body.markdown, /fails/);
  const log = parseLog(readText(realm.log));
  assert.equal(log.requests.at(-1).agent, 'ci');
});
