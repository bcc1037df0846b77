// Runs every suite in tests/node-compat/ twice — with Node's own `node --test` and with Daebug's
// browser runner (crates/core/src/shim/node-test.js + node-assert.js, loaded into Node) — and
// checks that both report the same outcome for every test and the same totals.
//
//   tests/node-compat/*.test.mjs          suites that pass (also run by `node --test tests/`)
//   tests/node-compat/suites/*.suite.mjs  suites with intentional failures (not matched by
//                                         `node --test`'s default patterns)
//
// Counting: Daebug's `fail` = Node's fail + cancelled; `skip` = Node's skipped + todo.
// Files that use `only` run under `node --test --test-only`; Daebug turns `only` on by itself.
// Also tests run()'s own API (progress, re-import, only, timeouts, REPL-style auto runs).
// Run: node --test tests/node-compat.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const compatDir = path.join(here, 'node-compat');
const shimDir = path.join(here, '..', 'crates', 'core', 'src', 'shim');
const nodeTestShim = pathToFileURL(path.join(shimDir, 'node-test.js')).href;
const nodeAssertShim = pathToFileURL(path.join(shimDir, 'node-assert.js')).href;

const REPORT_MARKER = 'DAEBUG-REPORT ';
const CHILD_TIMEOUT_MS = 120_000;

async function listSuites() {
  const passing = (await readdir(compatDir)).filter((name) => name.endsWith('.test.mjs'))
    .map((name) => ({ file: path.join(compatDir, name), expectFailures: false }));
  const failing = (await readdir(path.join(compatDir, 'suites'))).filter((name) => name.endsWith('.suite.mjs'))
    .map((name) => ({ file: path.join(compatDir, 'suites', name), expectFailures: true }));
  return [...passing, ...failing].sort((a, b) => a.file.localeCompare(b.file));
}

/** Spawns node; resolves with stdout whatever the exit code (failing suites exit non-zero). */
function runNode(args, options = {}) {
  const env = { ...process.env };
  // Set when this file itself runs under `node --test`; it would make the child talk the
  // parent-runner protocol instead of printing TAP.
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, ...options },
      (error, stdout, stderr) => {
        if (error && error.killed) reject(new Error(`node ${args.join(' ')} timed out\n${stderr}`));
        else resolve({ stdout, stderr });
      });
  });
}

const usesOnly = (source) => /\.only\s*\(|\bonly\s*:\s*true|\.runOnly\s*\(/.test(source);

// --- Node's side: `node --test` TAP output ------------------------------------------------

/** Parses `# pass N`-style summary lines. */
function parseTapTotals(tap) {
  const count = (label) => {
    const match = new RegExp(`^# ${label} (\\d+)$`, 'm').exec(tap);
    assert.ok(match, `no "# ${label}" line in node's output:\n${tap}`);
    return Number(match[1]);
  };
  const counts = {
    tests: count('tests'), pass: count('pass'), fail: count('fail'),
    cancelled: count('cancelled'), skipped: count('skipped'), todo: count('todo'),
  };
  return {
    counts,
    totals: { pass: counts.pass, fail: counts.fail + counts.cancelled, skip: counts.skipped + counts.todo },
  };
}

const unescapeTap = (text) => text.replace(/\\#/g, '#').replace(/\\\\/g, '\\');

/**
 * Lists the tests (not suites) in TAP output as `status path` strings, where path joins the
 * enclosing `# Subtest:` names with ' > '.
 */
function parseTapTests(tap, suiteFile) {
  const lines = tap.split('\n');
  const names = [];
  const results = [];
  for (let index = 0; index < lines.length; index++) {
    const subtest = /^( *)# Subtest: (.*)$/.exec(lines[index]);
    if (subtest) {
      names.length = subtest[1].length / 4;
      names.push(unescapeTap(subtest[2]));
      continue;
    }
    const point = /^( *)(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)(?: .*)?)?$/.exec(lines[index]);
    if (!point) continue;
    const depth = point[1].length / 4;
    if (isSuiteBlock(lines, index + 1, point[1])) continue;
    const status = point[4] ? 'skip' : point[2] === 'ok' ? 'pass' : 'fail';
    let name = unescapeTap(point[3]);
    if (name === suiteFile) name = '<file>';
    results.push(`${status} ${[...names.slice(0, depth), name].join(' > ')}`);
  }
  return results.sort();
}

function isSuiteBlock(lines, start, indent) {
  if (lines[start] !== `${indent}  ---`) return false;
  for (let index = start + 1; index < lines.length && lines[index] !== `${indent}  ...`; index++) {
    if (lines[index] === `${indent}  type: 'suite'`) return true;
  }
  return false;
}

async function runWithNode(suiteFile, source) {
  const args = ['--test', '--test-reporter=tap', ...(usesOnly(source) ? ['--test-only'] : []), suiteFile];
  const { stdout } = await runNode(args);
  return { ...parseTapTotals(stdout), tests: parseTapTests(stdout, suiteFile), output: stdout };
}

// --- Daebug's side: our runner, loaded into Node ----------------------------------------------

/** Points the suite's `node:test` / `node:assert[/strict]` imports at our shim modules. */
function rewriteSpecifiers(source) {
  return source.replace(/(['"])node:(test|assert\/strict|assert)\1/g, (_, quote, name) => {
    const target = { test: nodeTestShim, assert: nodeAssertShim, 'assert/strict': `${nodeAssertShim}?strict` }[name];
    return `${quote}${target}${quote}`;
  });
}

const DRIVER_SOURCE = `
import { run } from ${JSON.stringify(nodeTestShim)};
const report = await run({ files: [process.argv[2]] });
process.stdout.write('\\n${REPORT_MARKER}' + JSON.stringify(report) + '\\n');
process.exit(0);
`;

let workDir;
let driverFile;

async function runWithDaebug(suiteFile, source) {
  const copy = path.join(workDir, path.basename(suiteFile));
  await writeFile(copy, rewriteSpecifiers(source));
  const copyUrl = pathToFileURL(copy).href;
  const { stdout, stderr } = await runNode([driverFile, copyUrl]);
  const line = stdout.split('\n').find((text) => text.startsWith(REPORT_MARKER));
  assert.ok(line, `our runner printed no report for ${suiteFile}:\n${stdout}\n${stderr}`);
  const report = JSON.parse(line.slice(REPORT_MARKER.length));
  const tests = report.tests.map((test) => {
    const lateSubtest = test.error && test.error.message === 'test could not be started because its parent finished';
    // Node reports a refused late subtest at the top level, without its parent's name.
    const suitePath = test.suite && !lateSubtest ? `${test.suite} > ` : '';
    const name = test.name === copyUrl ? '<file>' : test.name;
    return `${test.status} ${suitePath}${name}`;
  });
  return { report, totals: report.totals, tests: tests.sort() };
}

// --- The comparison ---------------------------------------------------------------------

before(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'daebug-node-compat-'));
  driverFile = path.join(workDir, 'driver.mjs');
  await writeFile(driverFile, DRIVER_SOURCE);
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const suites = await listSuites();

describe('node:test compatibility: Daebug runner vs node --test', () => {
  it('finds the compat suites', () => {
    assert.ok(suites.filter((suite) => !suite.expectFailures).length >= 3);
    assert.ok(suites.filter((suite) => suite.expectFailures).length >= 3);
  });

  for (const { file, expectFailures } of suites) {
    it(path.relative(here, file), async () => {
      const source = await readFile(file, 'utf8');
      const [node, ours] = await Promise.all([runWithNode(file, source), runWithDaebug(file, source)]);

      assert.ok(node.counts.tests > 0, `node ran no test:\n${node.output}`);
      if (expectFailures) assert.ok(node.totals.fail > 0, 'a suites/ file should contain failing tests');
      else assert.equal(node.totals.fail, 0, `a passing suite failed under node:\n${node.output}`);

      const onlyInNode = node.tests.filter((test) => !ours.tests.includes(test));
      const onlyInOurs = ours.tests.filter((test) => !node.tests.includes(test));
      assert.deepEqual({ onlyInNode, onlyInOurs }, { onlyInNode: [], onlyInOurs: [] }, 'per-test outcomes differ');
      assert.deepEqual(ours.tests, node.tests, 'per-test outcomes differ');
      assert.deepEqual(ours.totals, node.totals, 'totals differ');
      assert.equal(ours.report.tests.length, node.counts.tests, 'test count differs');
    });
  }
});

describe('node:test compatibility: report shape', () => {
  it('records carry name, suite, status, duration and error', async () => {
    const file = path.join(compatDir, 'suites', 'failures.suite.mjs');
    const { report } = await runWithDaebug(file, await readFile(file, 'utf8'));
    assert.equal(typeof report.duration, 'number');
    for (const test of report.tests) {
      assert.equal(typeof test.name, 'string');
      assert.ok(['pass', 'fail', 'skip'].includes(test.status));
      assert.equal(typeof test.duration, 'number');
      if (test.status === 'fail') assert.equal(typeof test.error.message, 'string');
    }
    const nested = report.tests.find((test) => test.name === 'level 2');
    assert.equal(nested.suite, 'deep subtest failure > level 1');
    const diff = report.tests.find((test) => test.name === 'deepStrictEqual' && test.suite === 'assertion kinds that fail');
    assert.match(diff.error.message, /\+ actual - expected/);
    assert.match(diff.error.stack, /failures\.suite\.mjs/);
  });
});

// --- run() API, exercised in this process ----------------------------------------------------

describe('Daebug runner: run() API', () => {
  let shim;
  let fixtureNumber = 0;

  before(async () => {
    shim = await import(nodeTestShim);
  });

  async function fixture(body) {
    const file = path.join(workDir, `fixture-${++fixtureNumber}.mjs`);
    await writeFile(file, rewriteSpecifiers(body));
    return pathToFileURL(file).href;
  }

  it('calls onProgress after each test with the tests completed since the last call', async () => {
    const file = await fixture(`
      import { test } from 'node:test';
      test('passes', () => {});
      test('fails', () => { throw new Error('nope'); });
      test.skip('skipped');
    `);
    const snapshots = [];
    const report = await shim.run({ files: [file], onProgress: (snapshot) => snapshots.push(snapshot) });
    assert.equal(snapshots.length, 3);
    assert.deepEqual(snapshots.map((snapshot) => snapshot.recentTests.map((test) => test.name)), [['passes'], ['fails'], ['skipped']]);
    assert.deepEqual(snapshots.at(-1).totals, { pass: 1, fail: 1, skip: 1 });
    assert.ok(snapshots.every((snapshot) => typeof snapshot.duration === 'number'));
    assert.deepEqual(report.totals, { pass: 1, fail: 1, skip: 1 });
    assert.equal(report.tests[1].error.message, 'nope');
    assert.equal(report.tests[0].file, file);
    assert.deepEqual(JSON.parse(JSON.stringify(report)).totals, report.totals, 'the report is JSON-friendly');
  });

  it('re-imports the test file on every run', async () => {
    const file = await fixture(`
      import { test } from 'node:test';
      globalThis.daebugImportCount = (globalThis.daebugImportCount ?? 0) + 1;
      test('counted', () => {});
    `);
    const first = await shim.run({ files: [file] });
    const second = await shim.run({ files: [file] });
    assert.equal(globalThis.daebugImportCount, 2);
    assert.deepEqual([first.totals.pass, second.totals.pass], [1, 1]);
    delete globalThis.daebugImportCount;
  });

  it('honours only automatically, or as the run option says', async () => {
    const withOnly = await fixture(`
      import { test } from 'node:test';
      test.only('marked', () => {});
      test('unmarked', () => {});
    `);
    const withoutOnly = await fixture(`
      import { test } from 'node:test';
      test('plain', () => {});
    `);
    assert.deepEqual((await shim.run({ files: [withOnly] })).totals, { pass: 1, fail: 0, skip: 1 });
    assert.deepEqual((await shim.run({ files: [withOnly], only: false })).totals, { pass: 2, fail: 0, skip: 0 });
    const forced = await shim.run({ files: [withoutOnly], only: true });
    assert.deepEqual(forced.totals, { pass: 0, fail: 0, skip: 1 });
    assert.equal(forced.tests[0].skipReason, "'only' option not set");
  });

  it('applies the run timeout to each test', async () => {
    const file = await fixture(`
      import { test } from 'node:test';
      test('slow', () => new Promise((resolve) => setTimeout(resolve, 300)));
      test('fast', () => {});
      test('own timeout wins', { timeout: 1000 }, () => new Promise((resolve) => setTimeout(resolve, 40)));
    `);
    const report = await shim.run({ files: [file], timeout: 20 });
    assert.deepEqual(report.tests.map((test) => test.status), ['fail', 'pass', 'pass']);
    assert.equal(report.tests[0].error.message, 'test timed out after 20ms');
  });

  it('does not deadlock on a top-level await of test()', async () => {
    const file = await fixture(`
      import { test } from 'node:test';
      const order = [];
      await test('first', () => { order.push('first'); });
      order.push('after first');
      test('second', () => {
        if (order.join() !== 'first,after first') throw new Error(order.join());
      });
    `);
    const report = await shim.run({ files: [file] });
    assert.deepEqual(report.totals, { pass: 2, fail: 0, skip: 0 });
  });

  it('keeps top-level hooks to their own file, and survives a file that fails to load', async () => {
    const first = await fixture(`
      import { test, beforeEach } from 'node:test';
      globalThis.daebugHookLog = [];
      beforeEach((t) => globalThis.daebugHookLog.push(t.name));
      test('in first file', () => {});
    `);
    const second = await fixture(`
      import { test } from 'node:test';
      test('in second file', () => {});
    `);
    const missing = pathToFileURL(path.join(workDir, 'does-not-exist.mjs')).href;
    const report = await shim.run({ files: [first, missing, second] });
    assert.deepEqual(globalThis.daebugHookLog, ['in first file']);
    assert.deepEqual(report.tests.map((test) => [test.name, test.status]), [
      ['in first file', 'pass'],
      [missing, 'fail'],
      ['in second file', 'pass'],
    ]);
    assert.match(report.tests[1].error.message, /^failed to load test file: /);
    delete globalThis.daebugHookLog;
  });

  it('reports suite paths, todo flags, skip reasons, diagnostics and suite-level errors', async () => {
    const file = await fixture(`
      import { describe, it, after } from 'node:test';
      describe('outer', () => {
        describe('inner', () => {
          it('leaf', (t) => { t.diagnostic('note'); });
          it('todo', { todo: 'later' }, () => { throw new Error('not yet'); });
          it.skip('skipped', () => {});
          it('skipped with reason', { skip: 'why' }, () => {});
        });
        after(() => { throw new Error('teardown'); });
      });
    `);
    const report = await shim.run({ files: [file] });
    const byName = Object.fromEntries(report.tests.map((test) => [test.name, test]));
    assert.equal(byName.leaf.suite, 'outer > inner');
    assert.deepEqual(byName.leaf.diagnostics, ['note']);
    assert.equal(byName.todo.status, 'skip');
    assert.equal(byName.todo.todo, true);
    assert.equal(byName.todo.skipReason, 'later');
    assert.equal(byName.skipped.status, 'skip');
    assert.equal(byName['skipped with reason'].skipReason, 'why');
    assert.deepEqual(report.totals, { pass: 1, fail: 0, skip: 3 });
    assert.equal(report.errors.length, 1);
    assert.equal(report.errors[0].suite, 'outer');
    assert.equal(report.errors[0].message, 'after hook failed: teardown');
  });

  it('runs tests registered outside run() on its own, like a REPL paste', async () => {
    globalThis.__daebug = {};
    try {
      const pending = shim.test('pasted test', async (t) => {
        await t.test('its subtest', () => {});
      });
      shim.describe('pasted suite', () => {
        shim.it('pasted it', () => {});
      });
      assert.ok(pending instanceof Promise);
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const report = globalThis.__daebug.lastTestReport;
      assert.deepEqual(report.totals, { pass: 3, fail: 0, skip: 0 });
      assert.deepEqual(report.tests.map((test) => test.name), ['its subtest', 'pasted test', 'pasted it']);
      assert.equal(report.tests[2].suite, 'pasted suite');
    } finally {
      delete globalThis.__daebug;
    }
  });
});
