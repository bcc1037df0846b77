// skip and todo in every form Node offers, plus one real failure.
import { describe, it, test } from 'node:test';
import assert from 'node:assert';

test.skip('skipped with test.skip', () => {
  throw new Error('must not run');
});
test('skipped with an option', { skip: true }, () => {
  throw new Error('must not run');
});
test('skipped with a reason', { skip: 'not on this platform' }, () => {
  throw new Error('must not run');
});
test('skip: false runs', { skip: false }, () => {});
test.todo('todo without a function');
test.todo('todo that fails', () => {
  assert.equal(1, 2);
});
test.todo('todo that passes', () => {});
test('todo via option', { todo: 'write this' }, () => {
  throw new Error('not implemented');
});
test('t.skip() mid-test', (t) => {
  t.skip('decided at run time');
});
test('t.skip() then failing', (t) => {
  t.skip();
  throw new Error('ignored');
});
test('t.todo() then failing', (t) => {
  t.todo('known bug');
  assert.fail('known failure');
});
test('no function at all');

describe.skip('skipped suite', () => {
  it('not counted', () => {
    throw new Error('must not run');
  });
});

describe('suite with skip option', { skip: 'later' }, () => {
  it('not counted either', () => {});
});

describe.todo('todo suite', () => {
  it('runs and passes', () => {});
  it('runs and fails (a real failure: todo does not propagate)', () => {
    assert.equal('a', 'b');
  });
});

describe('mixed', () => {
  it('passes', () => {});
  it.skip('skipped', () => {});
  it.todo('todo');
  it('subtests skip and todo', async (t) => {
    await t.test('sub skip', { skip: true }, () => {});
    await t.test('sub todo failing', { todo: true }, () => {
      throw new Error('todo');
    });
    await t.test('sub passes', () => {});
  });
});
