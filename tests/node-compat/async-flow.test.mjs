// Async tests: promises, done callbacks, rejects/doesNotReject, awaited and un-awaited subtests,
// per-test timeouts that are met, t.signal, t.diagnostic, and a small retry/pool library.
import { describe, it, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

const sleep = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

async function retry(operation, { attempts = 3, delay = 1 } = {}) {
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      lastError = error;
      await sleep(delay * attempt);
    }
  }
  throw Object.assign(new Error(`failed after ${attempts} attempts`), { cause: lastError, code: 'ERR_RETRY' });
}

async function mapWithConcurrency(items, limit, worker) {
  const results = new Array(items.length);
  let next = 0;
  let active = 0;
  let peak = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      active++;
      peak = Math.max(peak, active);
      results[index] = await worker(items[index], index);
      active--;
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return { results, peak };
}

function callbackStyleRead(key, callback) {
  setTimeout(() => {
    if (key === 'missing') callback(new Error(`no such key: ${key}`));
    else callback(null, key.toUpperCase());
  }, 2);
}

let connection;

before(async () => {
  await sleep(2);
  connection = { open: true, queries: 0 };
});

after(() => {
  connection.open = false;
});

describe('retry', () => {
  it('returns the first success', async () => {
    const seen = [];
    const result = await retry(async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`attempt ${attempt}`);
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('rejects with the last error as cause', async () => {
    await assert.rejects(
      retry(async (attempt) => {
        throw new Error(`boom ${attempt}`);
      }, { attempts: 2 }),
      (error) => {
        assert.equal(error.code, 'ERR_RETRY');
        assert.equal(error.cause.message, 'boom 2');
        return true;
      },
    );
    await assert.rejects(() => retry(() => Promise.reject(new TypeError('x')), { attempts: 1 }), {
      code: 'ERR_RETRY',
      message: /after 1 attempts/,
    });
  });

  it('does not reject on success', async () => {
    await assert.doesNotReject(retry(() => 42));
    await assert.doesNotReject(() => retry(async () => sleep(1, 'late')));
    assert.equal(await retry(() => sleep(1, 'value')), 'value');
  });
});

describe('mapWithConcurrency', { timeout: 5000 }, () => {
  for (const limit of [1, 2, 4, 16]) {
    it(`respects a limit of ${limit}`, async () => {
      const items = Array.from({ length: 12 }, (_, index) => index);
      const { results, peak } = await mapWithConcurrency(items, limit, async (item) => {
        await sleep(item % 3);
        return item * item;
      });
      assert.deepEqual(results, items.map((item) => item * item));
      assert.ok(peak <= limit, `peak ${peak} > ${limit}`);
      assert.ok(peak >= 1);
    });
  }

  it('handles empty input', async () => {
    assert.deepEqual(await mapWithConcurrency([], 3, async () => 1), { results: [], peak: 0 });
  });
});

describe('callback style', () => {
  it('uses done for success', (t, done) => {
    callbackStyleRead('key', (error, value) => {
      try {
        assert.ifError(error);
        assert.equal(value, 'KEY');
        done();
      } catch (failure) {
        done(failure);
      }
    });
  });

  it('uses done for expected errors', (t, done) => {
    callbackStyleRead('missing', (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /no such key/);
      done();
    });
  });
});

test('shared fixture from the top-level before hook', () => {
  assert.equal(connection.open, true);
  connection.queries++;
  assert.equal(connection.queries, 1);
});

test('subtests, awaited and not', async (t) => {
  const order = [];
  await t.test('first', async () => {
    await sleep(3);
    order.push('first');
  });
  t.test('second (not awaited)', async () => {
    await sleep(1);
    order.push('second');
  });
  t.test('third (not awaited)', () => {
    order.push('third');
  });
  await t.test('fourth', () => {
    assert.deepEqual(order, ['first', 'second', 'third']);
    order.push('fourth');
  });
});

test('nested subtests', async (t) => {
  await t.test('level 1', async (t1) => {
    await t1.test('level 2', async (t2) => {
      await t2.test('level 3', () => {
        assert.equal(t2.name, 'level 2');
      });
      assert.equal(t1.name, 'level 1');
    });
  });
  assert.equal(t.name, 'nested subtests');
});

test('finishes inside its timeout', { timeout: 1000 }, async () => {
  assert.equal(await sleep(5, 'done'), 'done');
});

test('t.signal is an AbortSignal that is not aborted while running', (t) => {
  assert.ok(t.signal);
  assert.equal(t.signal.aborted, false);
  t.diagnostic('diagnostics are allowed');
});

test('promise returned from test() settles after the test ran', async () => {
  const events = [];
  await Promise.all([sleep(1).then(() => events.push('timer')), Promise.resolve().then(() => events.push('microtask'))]);
  assert.deepEqual(events, ['microtask', 'timer']);
});

describe('async describe callbacks', async () => {
  await sleep(1);
  it('registers tests after an await', () => {
    assert.ok(true);
  });
});
