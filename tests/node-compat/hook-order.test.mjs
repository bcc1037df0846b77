// Records the order in which hooks and tests run, then checks it in a final test. Any
// difference between Node and Daebug's runner makes that final test fail in one of them.
import { describe, it, test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert';

const log = [];

before(() => log.push('file before'));
beforeEach((t) => log.push(`file beforeEach ${t.name}`));
afterEach((t) => log.push(`file afterEach ${t.name}`));
after(() => log.push('file after'));

describe('outer', () => {
  before(() => log.push('outer before'));
  beforeEach(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    log.push('outer beforeEach');
  });
  afterEach(() => log.push('outer afterEach'));
  after(() => log.push('outer after'));

  it('one', () => log.push('test one'));

  describe('inner', () => {
    before(() => log.push('inner before'));
    beforeEach(() => log.push('inner beforeEach'));
    afterEach(() => log.push('inner afterEach'));
    after(() => log.push('inner after'));

    it('two', () => log.push('test two'));
    it('three', () => log.push('test three'));
  });

  it('four', () => log.push('test four'));
});

test('with context hooks', async (t) => {
  t.beforeEach((sub) => log.push(`ctx beforeEach ${sub.name}`));
  t.afterEach((sub) => log.push(`ctx afterEach ${sub.name}`));
  await t.test('sub a', () => log.push('sub a'));
  await t.test('sub b', () => log.push('sub b'));
});

describe('hooks with done callbacks', () => {
  beforeEach((t, done) => {
    setTimeout(() => {
      log.push('callback beforeEach');
      done();
    }, 1);
  });
  it('five', () => log.push('test five'));
});

test('the order is Node\'s', () => {
  assert.deepStrictEqual(log, [
    'file before',
    'outer before',
    'file beforeEach one',
    'outer beforeEach',
    'test one',
    'outer afterEach',
    'file afterEach one',
    'inner before',
    'file beforeEach two',
    'outer beforeEach',
    'inner beforeEach',
    'test two',
    'inner afterEach',
    'outer afterEach',
    'file afterEach two',
    'file beforeEach three',
    'outer beforeEach',
    'inner beforeEach',
    'test three',
    'inner afterEach',
    'outer afterEach',
    'file afterEach three',
    'inner after',
    'file beforeEach four',
    'outer beforeEach',
    'test four',
    'outer afterEach',
    'file afterEach four',
    'outer after',
    'file beforeEach with context hooks',
    'file beforeEach sub a',
    'ctx beforeEach sub a',
    'sub a',
    'ctx afterEach sub a',
    'file afterEach sub a',
    'file beforeEach sub b',
    'ctx beforeEach sub b',
    'sub b',
    'ctx afterEach sub b',
    'file afterEach sub b',
    'file afterEach with context hooks',
    'file beforeEach five',
    'callback beforeEach',
    'test five',
    'file afterEach five',
    'file beforeEach the order is Node\'s',
  ]);
});
