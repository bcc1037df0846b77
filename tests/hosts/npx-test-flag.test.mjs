// `daebug --test` through the npm CLI (packages/cli → the binding's runCli): the same run and
// verdict as the Rust binary, launching headless Chromium itself when no page is connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/daebug.mjs';

const cli = path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'daebug.js');

function run(args) {
  const env = { ...process.env, CHROME_PATH: process.env.CHROME_PATH || '/usr/bin/chromium' };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 120000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

test('npx daebug --test runs suites in a launched browser and exits by the verdict', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-npx-test-'));
  try {
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><html><head></head><body>app</body></html>');
    fs.mkdirSync(path.join(root, 'tests'));
    fs.writeFileSync(path.join(root, 'tests', 'ok.test.js'),
      "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n" +
      "test('adds', () => assert.equal(1 + 1, 2));\ntest('has a document', () => assert.ok(globalThis.document));\n" +
      "test.skip('later', () => {});\n");
    fs.writeFileSync(path.join(root, 'tests', 'bad.check.js'),
      "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('fails', () => assert.equal(1, 2));\n");

    const ok = await run(['--test', '--root', root]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^✔ adds/m);
    assert.match(ok.stdout, /^2 passed, 0 failed, 1 skipped$/m);

    const bad = await run(['--test', '--root', root, 'tests/*.check.js']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^✖ fails/m);
    assert.match(bad.stdout, /AssertionError/);
    assert.match(bad.stdout, /^0 passed, 1 failed$/m);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
