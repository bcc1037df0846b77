// `only` in the forms where Node 20 (under --test-only) and Daebug agree. Daebug honours `only`
// as soon as any registered test has it. (Not covered on purpose, because Node 20 differs from
// Node 22+ and from Daebug: a describe.only with no `only` descendants, whose tests Node 20
// skips, and a plain describe holding an it.only, which Node 20 skips entirely.)
import { describe, it, test } from 'node:test';
import assert from 'node:assert';

test('not only: skipped', () => {
  throw new Error('must not run');
});

test.only('only: runs with all its subtests', async (t) => {
  await t.test('subtest a', () => {});
  await t.test('subtest b', () => {});
});

test.only('only with runOnly', async (t) => {
  t.runOnly(true);
  await t.test('skipped subtest', () => {
    throw new Error('must not run');
  });
  await t.test('only subtest', { only: true }, () => {});
});

test('only via the option', { only: true }, () => {
  assert.ok(true);
});

test.only('only but failing', () => {
  assert.deepStrictEqual({ a: 1 }, { a: 2 });
});

describe('plain suite: skipped, children not counted', () => {
  it('x', () => {});
  it('y', () => {});
});

describe.only('only suite with only children', () => {
  it('not only: skipped', () => {});
  it.only('only: runs', () => {});
  describe('plain nested suite: skipped', () => {
    it('z', () => {});
  });
  describe.only('only nested suite with an only child', () => {
    it.only('runs', () => {});
    it('skipped', () => {});
  });
});
