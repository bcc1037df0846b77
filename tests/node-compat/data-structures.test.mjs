// Tests of an LRU cache, a priority queue and an event emitter: nested suites, beforeEach
// fixtures, deep equality on Maps/Sets/arrays, throws validation and t.test() subtests.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert';

class LruCache {
  #capacity;
  #entries = new Map();

  constructor(capacity) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw Object.assign(new RangeError(`capacity must be a positive integer, got ${capacity}`), { code: 'ERR_CAPACITY' });
    }
    this.#capacity = capacity;
  }

  get size() {
    return this.#entries.size;
  }

  get(key) {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key);
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key, value) {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value);
    return this;
  }

  keys() {
    return [...this.#entries.keys()];
  }

  toMap() {
    return new Map(this.#entries);
  }
}

class PriorityQueue {
  #heap = [];
  #compare;

  constructor(compare = (a, b) => a - b) {
    this.#compare = compare;
  }

  get length() {
    return this.#heap.length;
  }

  push(...items) {
    for (const item of items) {
      this.#heap.push(item);
      let index = this.#heap.length - 1;
      while (index > 0) {
        const parent = (index - 1) >> 1;
        if (this.#compare(this.#heap[index], this.#heap[parent]) >= 0) break;
        [this.#heap[index], this.#heap[parent]] = [this.#heap[parent], this.#heap[index]];
        index = parent;
      }
    }
  }

  pop() {
    if (this.#heap.length === 0) throw new Error('queue is empty');
    const top = this.#heap[0];
    const last = this.#heap.pop();
    if (this.#heap.length > 0) {
      this.#heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < this.#heap.length && this.#compare(this.#heap[left], this.#heap[smallest]) < 0) smallest = left;
        if (right < this.#heap.length && this.#compare(this.#heap[right], this.#heap[smallest]) < 0) smallest = right;
        if (smallest === index) break;
        [this.#heap[index], this.#heap[smallest]] = [this.#heap[smallest], this.#heap[index]];
        index = smallest;
      }
    }
    return top;
  }
}

class Emitter {
  #listeners = new Map();

  on(event, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.#listeners.get(event).delete(listener);
  }

  emit(event, ...args) {
    const listeners = this.#listeners.get(event);
    if (!listeners) return 0;
    for (const listener of [...listeners]) listener(...args);
    return listeners.size;
  }

  events() {
    return new Set([...this.#listeners].filter(([, set]) => set.size > 0).map(([event]) => event));
  }
}

describe('LruCache', () => {
  let cache;

  beforeEach(() => {
    cache = new LruCache(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
  });

  afterEach(() => {
    assert.ok(cache.size <= 3, 'never exceeds capacity');
  });

  describe('construction', () => {
    for (const bad of [0, -1, 1.5, NaN, '3', undefined]) {
      it(`rejects capacity ${String(bad)}`, () => {
        assert.throws(() => new LruCache(bad), RangeError);
        assert.throws(() => new LruCache(bad), { name: 'RangeError', code: 'ERR_CAPACITY', message: /positive integer/ });
        assert.throws(() => new LruCache(bad), /capacity must be/);
        assert.throws(() => new LruCache(bad), (error) => error instanceof RangeError && error.code === 'ERR_CAPACITY');
      });
    }

    it('accepts positive integers', () => {
      for (let capacity = 1; capacity <= 20; capacity++) {
        assert.doesNotThrow(() => new LruCache(capacity));
        assert.strictEqual(new LruCache(capacity).size, 0);
      }
    });
  });

  describe('eviction', () => {
    it('evicts the least recently set entry', () => {
      cache.set('d', 4);
      assert.deepStrictEqual(cache.keys(), ['b', 'c', 'd']);
      assert.strictEqual(cache.get('a'), undefined);
    });

    it('reading refreshes recency', () => {
      assert.equal(cache.get('a'), 1);
      cache.set('d', 4);
      assert.deepStrictEqual(cache.keys(), ['c', 'a', 'd']);
      assert.deepStrictEqual(cache.toMap(), new Map([['c', 3], ['a', 1], ['d', 4]]));
      assert.notDeepStrictEqual(cache.toMap(), new Map([['a', 1], ['c', 3], ['d', 4], ['e', 5]]));
    });

    it('overwriting keeps the size', () => {
      cache.set('b', 20);
      assert.equal(cache.size, 3);
      assert.deepStrictEqual(cache.keys(), ['a', 'c', 'b']);
      assert.strictEqual(cache.get('b'), 20);
    });

    it('long random sequences never exceed capacity', () => {
      let seed = 42;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let step = 0; step < 200; step++) {
        const key = `k${Math.floor(random() * 10)}`;
        if (random() < 0.6) cache.set(key, step);
        else cache.get(key);
        assert.ok(cache.size <= 3);
      }
    });
  });

  describe('object keys', () => {
    it('uses identity for object keys', () => {
      const key = { id: 1 };
      cache.set(key, 'object');
      assert.strictEqual(cache.get(key), 'object');
      assert.strictEqual(cache.get({ id: 1 }), undefined);
      assert.deepStrictEqual(cache.toMap().get(key), 'object');
      assert.deepEqual(new Map([[{ id: 1 }, 'object']]), new Map([[{ id: 1 }, 'object']]));
    });
  });
});

describe('PriorityQueue', () => {
  it('pops in ascending order', () => {
    const queue = new PriorityQueue();
    const values = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0];
    queue.push(...values);
    const popped = [];
    while (queue.length) popped.push(queue.pop());
    assert.deepStrictEqual(popped, [...values].sort((a, b) => a - b));
  });

  it('supports custom comparators', async (t) => {
    await t.test('descending numbers', () => {
      const queue = new PriorityQueue((a, b) => b - a);
      queue.push(1, 5, 3);
      assert.deepStrictEqual([queue.pop(), queue.pop(), queue.pop()], [5, 3, 1]);
    });
    await t.test('objects by priority', () => {
      const queue = new PriorityQueue((a, b) => a.priority - b.priority);
      queue.push({ task: 'write', priority: 2 }, { task: 'plan', priority: 1 }, { task: 'ship', priority: 3 });
      assert.deepStrictEqual(queue.pop(), { task: 'plan', priority: 1 });
      assert.deepEqual(queue.pop(), { priority: 2, task: 'write' });
      assert.notDeepStrictEqual(queue.pop(), { task: 'ship', priority: '3' });
    });
    await t.test('strings', () => {
      const queue = new PriorityQueue((a, b) => a.localeCompare(b));
      queue.push('pear', 'apple', 'fig');
      assert.equal(queue.pop(), 'apple');
    });
  });

  it('throws when empty', () => {
    assert.throws(() => new PriorityQueue().pop(), { message: 'queue is empty' });
    assert.throws(() => new PriorityQueue().pop(), Error);
  });

  it('sorts many random numbers', () => {
    const queue = new PriorityQueue();
    const numbers = Array.from({ length: 300 }, (_, index) => (index * 7919) % 1000);
    queue.push(...numbers);
    let previous = -Infinity;
    while (queue.length) {
      const next = queue.pop();
      assert.ok(next >= previous, `${next} < ${previous}`);
      previous = next;
    }
  });
});

describe('Emitter', () => {
  let emitter;
  let calls;

  beforeEach(() => {
    emitter = new Emitter();
    calls = [];
  });

  it('calls listeners with arguments', () => {
    emitter.on('data', (...args) => calls.push(args));
    assert.equal(emitter.emit('data', 1, 'two', { three: 3 }), 1);
    assert.deepStrictEqual(calls, [[1, 'two', { three: 3 }]]);
  });

  it('unsubscribes', () => {
    const off = emitter.on('tick', () => calls.push('tick'));
    emitter.emit('tick');
    off();
    emitter.emit('tick');
    assert.deepStrictEqual(calls, ['tick']);
    assert.deepStrictEqual(emitter.events(), new Set());
  });

  it('tracks event names as a Set', () => {
    emitter.on('a', () => {});
    emitter.on('b', () => {});
    emitter.on('a', () => {});
    assert.deepStrictEqual(emitter.events(), new Set(['b', 'a']));
    assert.notDeepStrictEqual(emitter.events(), new Set(['a']));
  });

  it('validates listeners', () => {
    for (const bad of [null, 1, 'fn', {}, []]) {
      assert.throws(() => emitter.on('x', bad), TypeError);
      assert.throws(() => emitter.on('x', bad), { name: 'TypeError', message: 'listener must be a function' });
    }
  });

  it('returns 0 for unknown events', () => {
    assert.strictEqual(emitter.emit('nothing'), 0);
  });
});
