// Failing hooks, failing describe callbacks, timeouts and late subtests. Node reports some of
// these tests as "cancelled"; Daebug counts those as failures.
import { describe, it, test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('before hook fails', () => {
  before(() => {
    throw new Error('database unavailable');
  });
  it('never runs 1', () => {});
  it('never runs 2', () => {});
  it.skip('skipped stays skipped', () => {});
  it.todo('todo stays todo');
  describe('nested suite', () => {
    it('never runs 3', () => {});
  });
});

describe('async before hook rejects', () => {
  before(async () => {
    await sleep(1);
    throw new Error('async setup failed');
  });
  it('never runs', () => {});
});

describe('beforeEach fails for every test', () => {
  beforeEach(() => {
    assert.equal('fixture', 'missing');
  });
  it('a', () => {});
  it('b', () => {});
  it('with subtests', async (t) => {
    await t.test('never starts', () => {});
  });
});

describe('afterEach fails', () => {
  let count = 0;
  afterEach(() => {
    count++;
    if (count === 2) throw new Error('cleanup failed on the second test');
  });
  it('first passes', () => {});
  it('second fails in afterEach', () => {});
  it('third passes', () => {});
});

describe('after hook fails (not counted as a test failure)', () => {
  after(() => {
    throw new Error('teardown failed');
  });
  it('still passes', () => {});
});

describe('describe callback throws', () => {
  it('registered before the throw', () => {});
  throw new Error('bad describe');
});

describe('timeouts', () => {
  it('too slow', { timeout: 20 }, async () => {
    await sleep(200);
  });
  it('fast enough', { timeout: 500 }, async () => {
    await sleep(1);
  });
  it('done never called', { timeout: 20 }, (t, done) => {}); // eslint-disable-line no-unused-vars
  it('slow subtest', { timeout: 30 }, async (t) => {
    await t.test('fast child', () => {});
    await t.test('slow child', async () => {
      await sleep(200);
    });
  });
});

describe('suite timeout is inherited', { timeout: 25 }, () => {
  it('slow', async () => {
    await sleep(200);
  });
  it('fast', () => {});
});

test('subtest started after the parent finished', (t) => {
  setTimeout(() => {
    t.test('too late', () => {});
  }, 1);
});

test('keeps the process busy while the late subtest is refused', async () => {
  await sleep(20);
});

test('t.beforeEach failure fails subtests', async (t) => {
  t.beforeEach(() => {
    throw new Error('context hook failed');
  });
  await t.test('sub 1', () => {});
  await t.test('sub 2', () => {});
});

test('t.after failure fails the test', (t) => {
  t.after(() => {
    throw new Error('t.after failed');
  });
});

test('last test passes', () => {});
