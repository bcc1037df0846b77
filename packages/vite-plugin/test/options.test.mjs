/** Unit tests of the Vite plugin: options, hook shape, HTML injection, and no effect on `vite build`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import daebug, { daebug as named } from '../index.js';

test('the plugin is dev-only and injects after Vite', () => {
  const p = daebug();
  assert.equal(p.name, 'daebug');
  assert.equal(p.apply, 'serve');
  assert.equal(p.transformIndexHtml.order, 'post');
  assert.equal(typeof p.configureServer, 'function');
  assert.equal(named, daebug);
});

test('valid options are accepted', () => {
  assert.doesNotThrow(() => daebug({ root: 'logs', timeout: 5, allowedHosts: ['dev.example.com'] }));
  assert.doesNotThrow(() => daebug({}));
  assert.doesNotThrow(() => daebug(undefined));
});

const bad = [
  [42, /options must be an object, got number 42/],
  [[], /options must be an object, got an array/],
  [{ port: 1 }, /unknown option "port" \(expected one of: root, timeout, allowedHosts\)/],
  [{ timeout: 0 }, /timeout must be a number of seconds between 0 and 86400, got number 0/],
  [{ timeout: '5' }, /timeout must be .* got "5"/],
  [{ timeout: 100000 }, /timeout must be/],
  [{ root: '' }, /root must be a non-empty path string/],
  [{ root: 3 }, /root must be a non-empty path string, got number 3/],
  [{ allowedHosts: 'x' }, /allowedHosts must be an array of host names, got "x"/],
  [{ allowedHosts: [''] }, /allowedHosts must be an array of host names/],
];
for (const [options, message] of bad) {
  test(`rejects ${JSON.stringify(options)} with one line`, () => {
    assert.throws(
      () => daebug(options),
      (err) => err instanceof TypeError && message.test(err.message) && !err.message.includes('\n') && err.message.startsWith('@daebug/vite-plugin: '),
    );
  });
}

test('transformIndexHtml merges into the page import map', () => {
  const html = '<html><head><script type="importmap">{"imports":{"a":"/a.js","node:test":"/mine.js"}}</script></head></html>';
  const out = daebug().transformIndexHtml.handler(html);
  assert.equal(out.match(/importmap/g).length, 1);
  assert.match(out, /"a":"\/a.js"/);
  assert.match(out, /"node:test":"\/mine.js"/, "the page's own entries win");
  assert.match(out, /"node:assert":"\/-daebug-node:assert.js"/);
  assert.match(out, /<script data-daebug src="\/-daebug-shim.js"><\/script>/);
});

test('vite build is untouched by the plugin', async () => {
  const { build } = await import('vite');
  const dir = mkdtempSync(join(tmpdir(), 'daebug-vite-build-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head></head><body><script type="module" src="/main.js"></script></body></html>');
  writeFileSync(join(dir, 'main.js'), 'console.log("hi")');
  await build({ root: dir, logLevel: 'silent', configFile: false, plugins: [daebug()] });
  const html = readFileSync(join(dir, 'dist', 'index.html'), 'utf8');
  assert.doesNotMatch(html, /daebug/);
  assert.ok(!existsSync(join(dir, 'daebug.md')), 'no registry written');
  assert.ok(readdirSync(join(dir, 'dist', 'assets')).length > 0);
});

test("Daebug's own files are kept out of Vite's watcher", () => {
  // Globs, so they hold wherever the project root turns out to be (known only once Vite has
  // resolved its config) and for every Vite server a framework starts.
  const ignored = daebug().config({ root: '/app' }).server.watch.ignored;
  assert.deepEqual(ignored, ['**/daebug.md', '**/daebug/**']);
});
