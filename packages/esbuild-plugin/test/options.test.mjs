/** Unit tests of the esbuild plugin: options, the plugin's shape as esbuild sees it, serve() arguments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import daebug, { daebug as named } from '../index.js';

const oneLine = (re) => (err) => err instanceof TypeError && re.test(err.message) && !err.message.includes('\n');

test('esbuild sees only name and setup', () => {
  const p = daebug();
  assert.deepEqual(Object.keys(p), ['name', 'setup']);
  assert.equal(typeof p.serve, 'function');
  assert.equal(typeof p.close, 'function');
  assert.equal(named, daebug);
});

test('esbuild accepts the plugin', async () => {
  const esbuild = await import('esbuild');
  const p = daebug();
  const out = await esbuild.build({ stdin: { contents: 'export default 1' }, write: false, plugins: [p] });
  assert.equal(out.errors.length, 0);
  await p.close();
});

test('valid options are accepted', () => {
  assert.doesNotThrow(() => daebug({ root: 'logs', timeout: 1.5, allowedHosts: ['a.test'], log: () => {} }));
});

const bad = [
  ['nope', /options must be an object, got "nope"/],
  [{ servedir: 'www' }, /unknown option "servedir" \(expected one of: root, timeout, allowedHosts, log\)/],
  [{ timeout: -1 }, /timeout must be a number of seconds between 0 and 86400, got number -1/],
  [{ root: null }, /root must be a non-empty path string, got null/],
  [{ allowedHosts: [1] }, /allowedHosts must be an array of host names/],
  [{ log: 'console' }, /log must be a function/],
];
for (const [options, message] of bad) {
  test(`rejects ${JSON.stringify(options)} with one line`, () => {
    assert.throws(() => daebug(options), oneLine(message));
  });
}

test('serve() checks its arguments before starting anything', async () => {
  const p = daebug();
  const ctx = { serve: async () => assert.fail('esbuild must not be started') };
  await assert.rejects(p.serve({}), oneLine(/serve\(ctx, options\) expects the context from esbuild.context/));
  await assert.rejects(p.serve(ctx, { port: 70000 }), oneLine(/port must be an integer between 0 and 65535, got number 70000/));
  await assert.rejects(p.serve(ctx, { host: '' }), oneLine(/host must be a non-empty string/));
  await assert.rejects(p.serve(ctx, { keyfile: 'k.pem' }), oneLine(/HTTPS needs both keyfile and certfile/));
  await assert.rejects(p.serve(ctx, { certfile: 'no-such-c.pem', keyfile: 'no-such-k.pem' }), oneLine(/cannot read keyfile \S*no-such-k\.pem: ENOENT/));
});
