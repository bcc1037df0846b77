// Child of bench/wasi.mjs: in-process append → job (fs watcher → engine → the waiting long poll)
// and posted result → reply on disk, on whichever build @daebug/native loads in this process.
// Prints {"toJob": ms, "toReply": ms, "target": …} (medians of 40 rounds after 5 warm-ups).
const b = require('../crates/napi-binding');
const fs = require('fs');
const os = require('os');
const path = require('path');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-bench-'));
const ch = '/-daebug-channel?name=7-zen-1201-03&url=http%3A%2F%2Flocalhost%2F';
const H = { host: 'localhost' };
const FENCE = '`'.repeat(3);
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const d = new b.Daebug({ root: dir });
  const first = d.handle({ method: 'GET', url: ch, headers: H, id: 1 });
  setTimeout(() => d.cancel(1), 50);
  await first;
  const log = path.join(dir, 'daebug', '7-zen-1201-03.md');
  const toJob = [];
  const toReply = [];
  for (let i = 0; i < 45; i++) {
    const poll = d.handle({ method: 'GET', url: ch, headers: H });
    await sleep(20);
    const t0 = performance.now();
    fs.appendFileSync(log, `${FENCE}js\n${i}\n${FENCE}\n`);
    const job = await poll;
    const t1 = performance.now();
    const jobId = job.headers['x-job-id'];
    const body = Buffer.from(JSON.stringify({ ok: true, value: i, backgroundEvents: [], jobId }));
    await d.handle({ method: 'POST', url: ch, headers: { ...H, 'content-type': 'application/json' }, body });
    const needle = `${FENCE}JSON\n${i}\n${FENCE}`;
    while (!fs.readFileSync(log, 'utf8').includes(needle)) await sleep(0.5);
    if (i >= 5) {
      toJob.push(t1 - t0);
      toReply.push(performance.now() - t1);
    }
  }
  console.log(JSON.stringify({ toJob: med(toJob), toReply: med(toReply), target: b.__napiBindingTarget }));
  await d.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
})();
