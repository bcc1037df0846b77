// Intentionally failing tests of many kinds, next to passing ones. Not matched by
// `node --test tests/` (the name ends in .suite.mjs); tests/node-compat.test.mjs runs it under
// Node and under Daebug's runner and compares the outcomes test by test.
import { describe, it, test } from 'node:test';
import assert from 'node:assert';

function parseDuration(text) {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new SyntaxError(`bad duration: ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000 }[match[2]];
}

describe('parseDuration', () => {
  it('parses milliseconds', () => assert.equal(parseDuration('15ms'), 15));
  it('parses seconds', () => assert.equal(parseDuration('2s'), 2000));
  it('parses minutes (wrong expectation on purpose)', () => assert.equal(parseDuration('1m'), 6000));
  it('rejects garbage', () => assert.throws(() => parseDuration('soon'), SyntaxError));
  it('expects the wrong error class', () => assert.throws(() => parseDuration('soon'), TypeError));
  it('expects a throw that does not happen', () => assert.throws(() => parseDuration('1s')));
});

describe('assertion kinds that fail', () => {
  it('ok', () => assert.ok(0));
  it('equal', () => assert.equal('1', 2));
  it('notEqual', () => assert.notEqual(1, '1'));
  it('strictEqual', () => assert.strictEqual(1, '1'));
  it('notStrictEqual', () => assert.notStrictEqual(NaN, NaN));
  it('deepEqual', () => assert.deepEqual({ a: [1, 2] }, { a: [1, 3] }));
  it('notDeepEqual', () => assert.notDeepEqual({ a: 1 }, { a: '1' }));
  it('deepStrictEqual', () => assert.deepStrictEqual(new Map([['k', { v: 1 }]]), new Map([['k', { v: 2 }]])));
  it('deepStrictEqual -0', () => assert.deepStrictEqual([0], [-0]));
  it('notDeepStrictEqual', () => assert.notDeepStrictEqual(new Set([1, 2]), new Set([2, 1])));
  it('match', () => assert.match('hello', /bye/));
  it('doesNotMatch', () => assert.doesNotMatch('hello', /ell/));
  it('fail', () => assert.fail('explicit failure'));
  it('ifError', () => assert.ifError(new Error('callback error')));
  it('doesNotThrow', () => assert.doesNotThrow(() => JSON.parse('{')));
  it('rejects', async () => assert.rejects(Promise.resolve('fine')));
  it('doesNotReject', async () => assert.doesNotReject(Promise.reject(new Error('nope'))));
  it('custom message', () => assert.strictEqual(1, 2, 'numbers differ'));
  it('custom error instance', () => assert.ok(false, new RangeError('my own error')));
});

describe('assertion kinds that pass', () => {
  it('ok', () => assert.ok(1));
  it('deepEqual loose', () => assert.deepEqual({ a: 1 }, { a: '1' }));
  it('deepStrictEqual', () => assert.deepStrictEqual(new Set([{ a: 1 }]), new Set([{ a: 1 }])));
  it('throws with object', () => assert.throws(() => { throw new TypeError('bad'); }, { name: 'TypeError', message: 'bad' }));
});

describe('other ways to fail', () => {
  it('throws a string', () => {
    throw 'a plain string'; // eslint-disable-line no-throw-literal
  });
  it('throws undefined', () => {
    throw undefined; // eslint-disable-line no-throw-literal
  });
  it('returns a rejected promise', () => Promise.reject(new Error('rejected')));
  it('async function throws after await', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    throw new Error('late failure');
  });
  it('done with an error', (t, done) => {
    setTimeout(() => done(new Error('done(err)')), 2);
  });
  it('done and a promise', async (t, done) => {
    done();
  });
  it('throws synchronously despite done', (t, done) => { // eslint-disable-line no-unused-vars
    throw new Error('sync throw in callback test');
  });
});

test('subtests: one of three fails', async (t) => {
  await t.test('passes', () => assert.ok(true));
  await t.test('fails', () => assert.deepStrictEqual([1, 2, 3], [1, 2, 4]));
  await t.test('passes again', () => assert.ok(true));
});

test('un-awaited async subtests are cancelled when the parent returns', (t) => {
  t.test('would pass, but is still running', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2));
  });
  t.test('would pass, but never started', () => {});
});

test('an un-awaited synchronous subtest completes inside t.test()', (t) => {
  t.test('synchronous and passing', () => {});
  t.test('synchronous and failing', () => {
    assert.equal(1, 2);
  });
});

test('after an awaited subtest, the next one starts at once', async (t) => {
  await t.test('awaited', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
  });
  t.test('synchronous, not awaited', () => {});
});

test('describe inside a test is cancelled unless it finishes in time', () => {
  describe('inner suite', () => {
    it('inner test', () => {});
  });
});

test('deep subtest failure', async (t) => {
  await t.test('level 1', async (t1) => {
    await t1.test('level 2', () => {
      assert.fail('deep');
    });
  });
});

test('passing top-level test', () => {
  assert.deepStrictEqual({ list: [1, 2, 3], nested: { ok: true } }, { list: [1, 2, 3], nested: { ok: true } });
});
