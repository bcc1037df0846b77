// Text written through a handle opened before the server replaced the log still reaches the log
// (the store's late-write watch), through the binding — natively and, rerun with
// NAPI_RS_FORCE_WASI=1 by tests/install/hosts-wasi.test.mjs, on the WASI build, where every
// thread has its own table of file handles and the watch keeps the replaced file under a hidden
// link instead. Also: nothing of that link is left once the watch ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const { Daebug } = createRequire(import.meta.url)('../index.js');
const NAME = '7-zen-1201-03';
const channel = `/-daebug-channel?name=${NAME}&url=http%3A%2F%2Flocalhost%2F`;
const headers = { host: 'localhost', 'content-type': 'application/json' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A server with one realm whose log exists; `flush(text)` makes the server rewrite the log. */
async function realm() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-late-'));
  const d = new Daebug({ root });
  const first = d.handle({ method: 'GET', url: channel, headers, id: 1 });
  setTimeout(() => d.cancel(1), 50);
  await first;
  const log = path.join(root, 'daebug', `${NAME}.md`);
  assert.ok(fs.existsSync(log), 'realm log created');
  let n = 0;
  const flush = async (message) => {
    const body = { type: 'background-flush', reportedAt: new Date().toISOString(), events: [{ type: 'console', level: 'log', eventAt: new Date().toISOString(), message }] };
    const res = await d.handle({ method: 'POST', url: channel, headers, id: 100 + n++, body: Buffer.from(JSON.stringify(body)) });
    assert.ok(res.status < 300, `background flush answered ${res.status}`);
    // The server has written the event by the time it answers: the log is a new file now.
    const until = Date.now() + 3000;
    while (!fs.readFileSync(log, 'utf8').includes(message) && Date.now() < until) await sleep(5);
    assert.ok(fs.readFileSync(log, 'utf8').includes(message), `the server wrote ${message}`);
  };
  return { d, root, log, flush };
}

async function waitFor(file, needle, ms = 4000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (fs.readFileSync(file, 'utf8').includes(needle)) return true;
    await sleep(10);
  }
  return false;
}

test('an append through a handle opened before the server replaced the log is carried over', { timeout: 60000 }, async () => {
  const { d, root, log, flush } = await realm();
  const ino = () => fs.statSync(log).ino;
  let carried = 0;
  const N = 8;
  for (let i = 0; i < N; i++) {
    const fd = fs.openSync(log, 'a');
    const before = ino();
    await flush(`server-event-${i}`);
    assert.notEqual(ino(), before, 'the server replaced the file (a new inode)');
    fs.writeSync(fd, `\nlate-text-${i}\n`);
    fs.closeSync(fd);
    if (await waitFor(log, `late-text-${i}\n`)) carried++;
  }
  assert.equal(carried, N, `carried over ${carried} of ${N} late appends`);
  const text = fs.readFileSync(log, 'utf8');
  for (let i = 0; i < N; i++) {
    assert.equal(text.split(`late-text-${i}\n`).length - 1, 1, `late-text-${i} is in the log once`);
    assert.ok(text.indexOf(`late-text-${i}\n`) > text.indexOf(`server-event-${i}`), `late-text-${i} lands after the event written before it`);
  }
  await d.close();
  // The watch of each replaced file ends a few seconds after its last change; no hidden file is
  // left behind in the log's folder.
  const dir = path.join(root, 'daebug');
  const until = Date.now() + 8000;
  const hidden = () => fs.readdirSync(dir).filter((f) => f.startsWith('.daebug-'));
  while (hidden().length && Date.now() < until) await sleep(100);
  assert.deepEqual(hidden(), [], 'no hidden temporary or link files left');
});

test('a whole-file save through a handle opened before the server replaced the log is brought in', { timeout: 60000 }, async () => {
  const { d, log, flush } = await realm();
  const fd = fs.openSync(log, 'r+');
  const base = fs.readFileSync(log, 'utf8');
  await flush('server-event-between');
  // An editor that kept its handle saves its (older) buffer plus a request, truncating first.
  const saved = `${base}\n\`\`\`js\n6 * 7\n\`\`\`\n`;
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, saved, 0);
  fs.closeSync(fd);
  assert.ok(await waitFor(log, '6 * 7'), 'the save reached the log');
  const text = fs.readFileSync(log, 'utf8');
  assert.ok(text.includes('server-event-between'), 'the server edit made since the editor read is kept');
  assert.equal(text.split('6 * 7').length - 1, 1, 'the request is in the log once');
  await d.close();
});
