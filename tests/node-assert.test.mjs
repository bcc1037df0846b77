// Compares Daebug's browser `node:assert` (crates/core/src/shim/node-assert.js) with Node's own
// `node:assert`: for a large table of value pairs, does each assertion throw or not, loose and
// strict; then validation forms of throws/rejects, error fields, and message readability.
// Run: node --test tests/node-assert.test.mjs
import { describe, it } from 'node:test';
import nodeAssert from 'node:assert';

const shimUrl = new URL('../crates/core/src/shim/node-assert.js', import.meta.url);
const ours = (await import(shimUrl.href)).default;
const oursStrictModule = await import(`${shimUrl.href}?strict`);
const nodeStrictModule = await import('node:assert/strict');

// --- The value table -------------------------------------------------------------------------
// Factories, so that comparing an entry with itself compares two distinct but equal instances.

class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}
class Point3 extends Point {}
const sharedSymbol = Symbol('shared');
const sharedFn = () => 1;
const sharedObjectKey = { id: 1 };

function circular() {
  const value = { name: 'loop' };
  value.self = value;
  return value;
}
function circularTwoStep() {
  const value = { name: 'loop' };
  value.self = { name: 'loop', self: value };
  return value;
}
function circularArray() {
  const value = [1];
  value.push(value);
  return value;
}
function argumentsOf(...values) {
  return (function () {
    return arguments; // eslint-disable-line prefer-rest-params
  })(...values);
}
function withHiddenProp(object, key, value) {
  return Object.defineProperty(object, key, { value, enumerable: false });
}
function regexWithLastIndex(index) {
  const re = /ab/g;
  re.lastIndex = index;
  return re;
}
function errorWith(props, ErrorClass = Error, message = 'boom') {
  return Object.assign(new ErrorClass(message), props);
}

const VALUE_FACTORIES = {
  undefined: () => undefined,
  null: () => null,
  'true': () => true,
  'false': () => false,
  '0': () => 0,
  '-0': () => -0,
  '1': () => 1,
  '1.5': () => 1.5,
  NaN: () => NaN,
  Infinity: () => Infinity,
  '1n': () => 1n,
  "''": () => '',
  "'0'": () => '0',
  "'1'": () => '1',
  "'abc'": () => 'abc',
  "'a\\nb'": () => 'a\nb',
  'sharedSymbol': () => sharedSymbol,
  'Symbol(x) fresh': () => Symbol('x'),
  'sharedFn': () => sharedFn,
  'fresh fn': () => () => 1,
  '{}': () => ({}),
  '{a:1}': () => ({ a: 1 }),
  "{a:'1'}": () => ({ a: '1' }),
  '{a:1,b:2}': () => ({ a: 1, b: 2 }),
  '{b:2,a:1}': () => ({ b: 2, a: 1 }),
  '{a:undefined}': () => ({ a: undefined }),
  '{a:{b:{c:[1,2]}}}': () => ({ a: { b: { c: [1, 2] } } }),
  '{a:{b:{c:[1,3]}}}': () => ({ a: { b: { c: [1, 3] } } }),
  'null-proto {a:1}': () => Object.assign(Object.create(null), { a: 1 }),
  'Point(1,2)': () => new Point(1, 2),
  'Point3(1,2)': () => new Point3(1, 2),
  '{x:1,y:2}': () => ({ x: 1, y: 2 }),
  '{a:1}+hidden b': () => withHiddenProp({ a: 1 }, 'b', 2),
  '{[sym]:1}': () => ({ [sharedSymbol]: 1 }),
  '{[sym]:2}': () => ({ [sharedSymbol]: 2 }),
  '{[sym]:hidden}': () => withHiddenProp({}, sharedSymbol, 1),
  '[]': () => [],
  '[1,2,3]': () => [1, 2, 3],
  "['1','2','3']": () => ['1', '2', '3'],
  '[1,2,4]': () => [1, 2, 4],
  '[3,2,1]': () => [3, 2, 1],
  '[,1]': () => [, 1], // eslint-disable-line no-sparse-arrays
  '[undefined,1]': () => [undefined, 1],
  '[1]+prop': () => Object.assign([1], { extra: true }),
  '[1]': () => [1],
  '[[1,[2]]]': () => [[1, [2]]],
  'arguments(1)': () => argumentsOf(1),
  '{0:1,length:1}': () => ({ 0: 1, length: 1 }),
  'Date(0)': () => new Date(0),
  'Date(1)': () => new Date(1),
  'Date(0)+prop': () => Object.assign(new Date(0), { tag: 1 }),
  'Invalid Date': () => new Date(NaN),
  '/ab/g': () => /ab/g,
  '/ab/i': () => /ab/i,
  '/ab/g lastIndex 1': () => regexWithLastIndex(1),
  "/ab/g+prop": () => Object.assign(/ab/g, { tag: 1 }),
  'Error(boom)': () => new Error('boom'),
  'Error(other)': () => new Error('other'),
  'TypeError(boom)': () => new TypeError('boom'),
  'Error(boom)+code': () => errorWith({ code: 'E1' }),
  'Error(boom,cause 1)': () => new Error('boom', { cause: 1 }),
  'Error(boom,cause 2)': () => new Error('boom', { cause: 2 }),
  'AggregateError([1])': () => new AggregateError([1], 'agg'),
  'AggregateError([2])': () => new AggregateError([2], 'agg'),
  'Error renamed': () => errorWith({ name: 'Custom' }),
  'Map()': () => new Map(),
  'Map(a=>1)': () => new Map([['a', 1]]),
  'Map(a=>2)': () => new Map([['a', 2]]),
  "Map(1=>'a')": () => new Map([[1, 'a']]),
  "Map('1'=>'a')": () => new Map([['1', 'a']]),
  'Map(a=>1,b=>2)': () => new Map([['a', 1], ['b', 2]]),
  'Map(b=>2,a=>1)': () => new Map([['b', 2], ['a', 1]]),
  'Map({k}=>1)': () => new Map([[{ k: 1 }, 1]]),
  'Map({k}=>2)': () => new Map([[{ k: 1 }, 2]]),
  'Map(sharedKey=>1)': () => new Map([[sharedObjectKey, 1]]),
  'Map({k1}=>1,{k1}=>2)': () => new Map([[{ k: 1 }, 1], [{ k: 1 }, 2]]),
  'Map({k1}=>2,{k1}=>1)': () => new Map([[{ k: 1 }, 2], [{ k: 1 }, 1]]),
  'Map(1=>undefined)': () => new Map([[1, undefined]]),
  'Map(2=>undefined)': () => new Map([[2, undefined]]),
  'Set()': () => new Set(),
  'Set(1,2)': () => new Set([1, 2]),
  'Set(2,1)': () => new Set([2, 1]),
  "Set('1',2)": () => new Set(['1', 2]),
  'Set(1,3)': () => new Set([1, 3]),
  'Set({a:1},{a:2})': () => new Set([{ a: 1 }, { a: 2 }]),
  'Set({a:2},{a:1})': () => new Set([{ a: 2 }, { a: 1 }]),
  'Set({a:1},{a:1})': () => new Set([{ a: 1 }, { a: 1 }]),
  'Set([1],[2])': () => new Set([[1], [2]]),
  'Set(null)': () => new Set([null]),
  'Set(undefined)': () => new Set([undefined]),
  'Set(1,1n)': () => new Set([1, 1n]),
  "Set(1,'1')": () => new Set([1, '1']),
  'Set(sharedKey)': () => new Set([sharedObjectKey]),
  'WeakMap': () => new WeakMap(),
  'WeakSet': () => new WeakSet(),
  'Promise': () => Promise.resolve(1),
  'Uint8Array(1,2)': () => new Uint8Array([1, 2]),
  'Uint8Array(1,3)': () => new Uint8Array([1, 3]),
  'Int8Array(1,2)': () => new Int8Array([1, 2]),
  'Uint16Array(1,2)': () => new Uint16Array([1, 2]),
  'Float64Array(0)': () => new Float64Array([0]),
  'Float64Array(-0)': () => new Float64Array([-0]),
  'Float64Array(NaN)': () => new Float64Array([NaN]),
  'Float32Array(1.5)': () => new Float32Array([1.5]),
  'Uint8Array(1,2)+prop': () => Object.assign(new Uint8Array([1, 2]), { tag: 1 }),
  'ArrayBuffer(1,2)': () => new Uint8Array([1, 2]).buffer,
  'ArrayBuffer(1,3)': () => new Uint8Array([1, 3]).buffer,
  'DataView(1,2)': () => new DataView(new Uint8Array([1, 2]).buffer),
  'DataView(1,3)': () => new DataView(new Uint8Array([1, 3]).buffer),
  'Number(1)': () => new Number(1), // eslint-disable-line no-new-wrappers
  'Number(2)': () => new Number(2), // eslint-disable-line no-new-wrappers
  'Number(0)': () => new Number(0), // eslint-disable-line no-new-wrappers
  'Number(-0)': () => new Number(-0), // eslint-disable-line no-new-wrappers
  'Number(NaN)': () => new Number(NaN), // eslint-disable-line no-new-wrappers
  "String('ab')": () => new String('ab'), // eslint-disable-line no-new-wrappers
  "String('ac')": () => new String('ac'), // eslint-disable-line no-new-wrappers
  'Boolean(true)': () => new Boolean(true), // eslint-disable-line no-new-wrappers
  'Object(1n)': () => Object(1n),
  'Object(sym)': () => Object(sharedSymbol),
  'Number(1)+prop': () => Object.assign(new Number(1), { tag: 1 }), // eslint-disable-line no-new-wrappers
  circular: circular,
  'circular two-step': circularTwoStep,
  'circular array': circularArray,
  '{self:{}}': () => ({ name: 'loop', self: {} }),
  'getter a=1': () => Object.defineProperty({}, 'a', { get: () => 1, enumerable: true }),
  'getter a=2': () => Object.defineProperty({}, 'a', { get: () => 2, enumerable: true }),
  '{a:[{b:new Map([[1,new Set([2])]])}]}': () => ({ a: [{ b: new Map([[1, new Set([2])]]) }] }),
  '{a:[{b:new Map([[1,new Set([3])]])}]}': () => ({ a: [{ b: new Map([[1, new Set([3])]]) }] }),
};

const ENTRIES = Object.entries(VALUE_FACTORIES);

/** Returns 'pass', 'AssertionError' or 'other: <name>' for a call. */
function outcome(call) {
  try {
    call();
    return 'pass';
  } catch (error) {
    if (error && error.code === 'ERR_ASSERTION') return 'AssertionError';
    return `other: ${error && error.name}`;
  }
}

function compareOutcomes(method, pairFilter = () => true) {
  const mismatches = [];
  let compared = 0;
  for (const [nameA, makeA] of ENTRIES) {
    for (const [nameB, makeB] of ENTRIES) {
      if (!pairFilter(nameA, nameB)) continue;
      const expected = outcome(() => nodeAssert[method](makeA(), makeB()));
      const actual = outcome(() => ours[method](makeA(), makeB()));
      compared++;
      if (expected !== actual) mismatches.push(`${method}(${nameA}, ${nameB}): node ${expected}, ours ${actual}`);
    }
  }
  return { mismatches, compared };
}

describe('deep and shallow equality match node:assert over the value table', () => {
  for (const method of [
    'deepEqual', 'deepStrictEqual', 'notDeepEqual', 'notDeepStrictEqual',
    'equal', 'notEqual', 'strictEqual', 'notStrictEqual',
  ]) {
    it(method, () => {
      const { mismatches, compared } = compareOutcomes(method);
      nodeAssert.ok(compared > 10000, `compared only ${compared} pairs`);
      nodeAssert.deepStrictEqual(mismatches, []);
    });
  }

  it('ok / assert() on every value', () => {
    for (const [name, make] of ENTRIES) {
      nodeAssert.equal(outcome(() => ours(make())), outcome(() => nodeAssert(make())), name);
      nodeAssert.equal(outcome(() => ours.ok(make())), outcome(() => nodeAssert.ok(make())), name);
    }
  });

  it('nested containers holding each table value compare like Node', () => {
    const mismatches = [];
    const wrappers = [
      (value) => [value],
      (value) => ({ key: value }),
      (value) => new Map([['key', value]]),
      (value) => new Set([value]),
    ];
    // Every third entry keeps this affordable: failing comparisons build messages on both sides.
    const sample = ENTRIES.filter((_, index) => index % 3 === 0);
    for (const wrap of wrappers) {
      for (const [nameA, makeA] of sample) {
        for (const [nameB, makeB] of sample) {
          for (const method of ['deepEqual', 'deepStrictEqual']) {
            const expected = outcome(() => nodeAssert[method](wrap(makeA()), wrap(makeB())));
            const actual = outcome(() => ours[method](wrap(makeA()), wrap(makeB())));
            if (expected !== actual) mismatches.push(`${method}(${wrap}(${nameA}), (${nameB})): node ${expected}, ours ${actual}`);
          }
        }
      }
    }
    nodeAssert.deepStrictEqual(mismatches.slice(0, 20), []);
  });
});

describe('strict variant', () => {
  it('named and default exports of ?strict are the strict assertions', () => {
    for (const name of ['equal', 'notEqual', 'deepEqual', 'notDeepEqual']) {
      const strictName = { equal: 'strictEqual', notEqual: 'notStrictEqual', deepEqual: 'deepStrictEqual', notDeepEqual: 'notDeepStrictEqual' }[name];
      nodeAssert.equal(oursStrictModule[name], oursStrictModule.default[strictName], name);
      nodeAssert.equal(oursStrictModule.default[name], oursStrictModule[strictName], name);
    }
    nodeAssert.equal(oursStrictModule.default, ours.strict);
    nodeAssert.equal(oursStrictModule.strict, ours.strict);
    nodeAssert.equal(ours.strict.strict, ours.strict);
  });

  it('shares one AssertionError class with the plain module', () => {
    nodeAssert.equal(oursStrictModule.AssertionError, ours.AssertionError);
    nodeAssert.throws(() => oursStrictModule.equal(1, '1'), ours.AssertionError);
  });

  it('strict exports behave like node:assert/strict over the table', () => {
    const mismatches = [];
    for (const method of ['equal', 'deepEqual', 'notEqual', 'notDeepEqual']) {
      for (const [nameA, makeA] of ENTRIES) {
        for (const [nameB, makeB] of ENTRIES) {
          const expected = outcome(() => nodeStrictModule[method](makeA(), makeB()));
          const actual = outcome(() => oursStrictModule[method](makeA(), makeB()));
          if (expected !== actual) mismatches.push(`strict.${method}(${nameA}, ${nameB}): node ${expected}, ours ${actual}`);
        }
      }
    }
    nodeAssert.deepStrictEqual(mismatches, []);
  });

  it('exposes the same API names as node:assert', () => {
    const wanted = [
      'ok', 'equal', 'notEqual', 'strictEqual', 'notStrictEqual', 'deepEqual', 'notDeepEqual', 'deepStrictEqual',
      'notDeepStrictEqual', 'throws', 'doesNotThrow', 'rejects', 'doesNotReject', 'match', 'doesNotMatch', 'fail',
      'ifError', 'strict', 'AssertionError',
    ];
    for (const name of wanted) {
      nodeAssert.equal(typeof ours[name], typeof nodeAssert[name], name);
      nodeAssert.equal(typeof oursStrictModule[name], typeof nodeStrictModule[name], `strict ${name}`);
    }
  });
});

// --- throws / rejects validation -------------------------------------------------------------

class CustomError extends Error {}
class NotAnError {}

const THROWN_VALUES = {
  'Error(boom)': () => new Error('boom'),
  'TypeError(bad type)': () => new TypeError('bad type'),
  'CustomError(custom) code=E42': () => Object.assign(new CustomError('custom'), { code: 'E42', info: { n: 1 } }),
  "string 'boom'": () => 'boom',
  'number 42': () => 42,
  'null': () => null,
  'NotAnError': () => new NotAnError(),
};

const VALIDATIONS = {
  'none': undefined,
  'Error': Error,
  'TypeError': TypeError,
  'CustomError': CustomError,
  'NotAnError': NotAnError,
  '/boom/': /boom/,
  '/^Error: boom$/': /^Error: boom$/,
  '/custom/': /custom/,
  '/42/': /42/,
  'fn => true': () => true,
  'fn => false': () => false,
  'fn => "yes"': () => 'yes',
  'fn checks instanceof TypeError': (error) => error instanceof TypeError,
  "{ message: 'boom' }": { message: 'boom' },
  '{ message: /bo/ }': { message: /bo/ },
  "{ name: 'TypeError' }": { name: 'TypeError' },
  "{ code: 'E42', info: { n: 1 } }": { code: 'E42', info: { n: 1 } },
  "{ code: 'E42', info: { n: 2 } }": { code: 'E42', info: { n: 2 } },
  "{ code: /E4/ }": { code: /E4/ },
  '{ missing: 1 }': { missing: 1 },
  "new Error('boom')": new Error('boom'),
  "new TypeError('boom')": new TypeError('boom'),
  '{}': {},
};

function errorKind(call) {
  try {
    call();
    return 'pass';
  } catch (error) {
    if (error && error.code === 'ERR_ASSERTION') return 'AssertionError';
    if (error && error.code) return `other: ${error.code}`;
    return 'rethrown/other';
  }
}

async function asyncErrorKind(call) {
  try {
    await call();
    return 'pass';
  } catch (error) {
    if (error && error.code === 'ERR_ASSERTION') return 'AssertionError';
    if (error && error.code) return `other: ${error.code}`;
    return 'rethrown/other';
  }
}

describe('throws / doesNotThrow / rejects / doesNotReject validation matches node:assert', () => {
  const throwing = (make) => () => {
    throw make();
  };

  it('throws and doesNotThrow for every thrown value × validation', () => {
    const mismatches = [];
    for (const [thrownName, make] of Object.entries(THROWN_VALUES)) {
      for (const [validationName, validation] of Object.entries(VALIDATIONS)) {
        const args = validation === undefined ? [] : [validation];
        for (const method of ['throws', 'doesNotThrow']) {
          const expected = errorKind(() => nodeAssert[method](throwing(make), ...args));
          const actual = errorKind(() => ours[method](throwing(make), ...args));
          if (expected !== actual) mismatches.push(`${method}(${thrownName}, ${validationName}): node ${expected}, ours ${actual}`);
        }
      }
    }
    nodeAssert.deepStrictEqual(mismatches, []);
  });

  it('throws / doesNotThrow when nothing is thrown', () => {
    for (const [validationName, validation] of Object.entries(VALIDATIONS)) {
      const args = validation === undefined ? [] : [validation];
      for (const method of ['throws', 'doesNotThrow']) {
        nodeAssert.equal(errorKind(() => ours[method](() => {}, ...args)),
          errorKind(() => nodeAssert[method](() => {}, ...args)), `${method} ${validationName}`);
      }
    }
  });

  it('rejects and doesNotReject for every rejection × validation', async () => {
    const mismatches = [];
    for (const [thrownName, make] of Object.entries(THROWN_VALUES)) {
      for (const [validationName, validation] of Object.entries(VALIDATIONS)) {
        const args = validation === undefined ? [] : [validation];
        for (const method of ['rejects', 'doesNotReject']) {
          for (const form of ['promise', 'async fn']) {
            const input = () => (form === 'promise' ? Promise.reject(make()) : async () => { throw make(); });
            const expected = await asyncErrorKind(() => nodeAssert[method](input(), ...args));
            const actual = await asyncErrorKind(() => ours[method](input(), ...args));
            if (expected !== actual) {
              mismatches.push(`${method}(${form} ${thrownName}, ${validationName}): node ${expected}, ours ${actual}`);
            }
          }
        }
      }
    }
    nodeAssert.deepStrictEqual(mismatches, []);
  });

  it('string second argument is the message, custom Error messages are thrown as-is', async () => {
    nodeAssert.throws(() => ours.throws(() => {}, 'expected a throw'), { message: 'Missing expected exception: expected a throw' });
    nodeAssert.throws(() => ours.throws(() => {}, TypeError, 'mm'), { message: 'Missing expected exception (TypeError): mm' });
    nodeAssert.throws(() => ours.throws(() => {}), { message: 'Missing expected exception.' });
    const mine = new RangeError('mine');
    nodeAssert.throws(() => ours.throws(() => {}, Error, mine), (error) => error === mine);
    nodeAssert.throws(() => ours.strictEqual(1, 2, mine), (error) => error === mine);
    nodeAssert.throws(() => ours.deepEqual({ a: 1 }, {}, mine), (error) => error === mine);
    nodeAssert.throws(() => ours.ok(false, mine), (error) => error === mine);
    nodeAssert.throws(() => ours.fail(mine), (error) => error === mine);
    await nodeAssert.rejects(ours.rejects(Promise.resolve(), Error, mine), (error) => error === mine);
    nodeAssert.throws(() => ours.throws(() => { throw new Error('same'); }, 'same'), { code: 'ERR_AMBIGUOUS_ARGUMENT' });
    nodeAssert.throws(() => ours.throws(() => {}, 'a', 'b'), { code: 'ERR_INVALID_ARG_TYPE' });
    nodeAssert.throws(() => ours.throws('not a function'), { code: 'ERR_INVALID_ARG_TYPE' });
    await nodeAssert.rejects(ours.rejects(() => 'not a promise'), { code: 'ERR_INVALID_RETURN_VALUE' });
    await nodeAssert.rejects(ours.rejects(Promise.resolve()), { message: 'Missing expected rejection.' });
    const syncThrow = new Error('sync');
    await nodeAssert.rejects(ours.rejects(() => { throw syncThrow; }), (error) => error === syncThrow);
  });
});

// --- AssertionError fields and messages -----------------------------------------------------

const FAILING_CALLS = {
  'ok(0)': (a) => a.ok(0),
  'assert(false)': (a) => a(false),
  "ok('', 'custom')": (a) => a.ok('', 'custom'),
  'equal(1, 2)': (a) => a.equal(1, 2),
  "notEqual(1, '1')": (a) => a.notEqual(1, '1'),
  'strictEqual(1, 2)': (a) => a.strictEqual(1, 2),
  "strictEqual('a', 'b', 'msg')": (a) => a.strictEqual('a', 'b', 'msg'),
  'notStrictEqual(1, 1)': (a) => a.notStrictEqual(1, 1),
  'deepEqual({a:1}, {a:2})': (a) => a.deepEqual({ a: 1 }, { a: 2 }),
  'deepStrictEqual([1], [2])': (a) => a.deepStrictEqual([1], [2]),
  'notDeepEqual({}, {})': (a) => a.notDeepEqual({}, {}),
  'notDeepStrictEqual([1], [1])': (a) => a.notDeepStrictEqual([1], [1]),
  'throws(() => {})': (a) => a.throws(() => {}),
  'doesNotThrow(throwing)': (a) => a.doesNotThrow(() => { throw new Error('x'); }),
  "match('abc', /x/)": (a) => a.match('abc', /x/),
  "doesNotMatch('abc', /b/)": (a) => a.doesNotMatch('abc', /b/),
  'match(123, /x/)': (a) => a.match(123, /x/),
  'fail()': (a) => a.fail(),
  "fail('boom')": (a) => a.fail('boom'),
  "ifError(new Error('e'))": (a) => a.ifError(new Error('e')),
  "ifError('e')": (a) => a.ifError('e'),
};

function caught(call) {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('AssertionError', () => {
  for (const [label, call] of Object.entries(FAILING_CALLS)) {
    it(`${label}: same fields as Node`, () => {
      const expected = caught(() => call(nodeAssert));
      const actual = caught(() => call(ours));
      nodeAssert.ok(actual instanceof ours.AssertionError, 'is our AssertionError');
      nodeAssert.ok(actual instanceof Error, 'is an Error');
      for (const field of ['name', 'code', 'operator', 'generatedMessage']) {
        nodeAssert.deepStrictEqual(actual[field], expected[field], field);
      }
      nodeAssert.ok(Object.is(actual.actual, expected.actual) || nodeAssert.deepStrictEqual(actual.actual, expected.actual) === undefined);
      nodeAssert.ok(Object.is(actual.expected, expected.expected) || nodeAssert.deepStrictEqual(actual.expected, expected.expected) === undefined);
      if (!expected.generatedMessage) nodeAssert.equal(actual.message, expected.message);
    });
  }

  it('messages Node generates without reading source match ours exactly', () => {
    const exactCases = [
      'equal(1, 2)', "notEqual(1, '1')", 'strictEqual(1, 2)', 'notStrictEqual(1, 1)', 'throws(() => {})',
      'doesNotThrow(throwing)', "match('abc', /x/)", "doesNotMatch('abc', /b/)", 'match(123, /x/)', 'fail()',
      "fail('boom')", "ifError(new Error('e'))", "ifError('e')", 'notDeepStrictEqual([1], [1])',
    ];
    for (const label of exactCases) {
      const expected = caught(() => FAILING_CALLS[label](nodeAssert)).message;
      const actual = caught(() => FAILING_CALLS[label](ours)).message;
      nodeAssert.equal(actual, expected, label);
    }
  });

  it('constructor takes Node-style options', () => {
    const error = new ours.AssertionError({ actual: 1, expected: 2, operator: 'strictEqual' });
    nodeAssert.equal(error.name, 'AssertionError');
    nodeAssert.equal(error.code, 'ERR_ASSERTION');
    nodeAssert.equal(error.generatedMessage, true);
    nodeAssert.match(error.message, /1 !== 2/);
    const custom = new ours.AssertionError({ message: 'custom', actual: 1, expected: 2, operator: 'x' });
    nodeAssert.equal(custom.message, 'custom');
    nodeAssert.equal(custom.generatedMessage, false);
    nodeAssert.match(String(custom), /^AssertionError \[ERR_ASSERTION\]: custom$/);
    nodeAssert.match(custom.stack, /^AssertionError \[ERR_ASSERTION\]: custom\n/);
    nodeAssert.throws(() => new ours.AssertionError(), TypeError);
  });

  it('stack starts at the caller, not inside the assert module', () => {
    const error = caught(() => ours.strictEqual(1, 2));
    const firstFrame = error.stack.split('\n').find((line) => line.trim().startsWith('at '));
    nodeAssert.match(firstFrame, /node-assert\.test\.mjs/);
  });
});

describe('diff messages are readable', () => {
  const messageOf = (call) => caught(call).message;

  it('deepStrictEqual shows a + actual - expected line diff', () => {
    const message = messageOf(() => ours.deepStrictEqual({ a: [1, 2, 3], b: 'x' }, { a: [1, 2, 4], b: 'x' }));
    nodeAssert.equal(message, [
      'Expected values to be strictly deep-equal:',
      '+ actual - expected',
      '',
      '  {',
      '    a: [',
      '      1,',
      '      2,',
      '+     3',
      '-     4',
      '    ],',
      "    b: 'x'",
      '  }',
    ].join('\n'));
  });

  it('matches Node exactly for simple structural diffs', () => {
    const cases = [
      [{ a: [1, 2, 3] }, { a: [1, 2, 4] }],
      [[1, 2, 3], [1, 2]],
      [{ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'y' } }],
      [new Map([['k', 1]]), new Map([['k', 2]])],
      [1, 2],
      ['foo', 'bar'],
    ];
    for (const [a, b] of cases) {
      nodeAssert.equal(messageOf(() => ours.deepStrictEqual(a, b)), messageOf(() => nodeAssert.deepStrictEqual(a, b)));
    }
  });

  it('loose deepEqual diffs too', () => {
    const message = messageOf(() => ours.deepEqual({ a: 1 }, { a: 2 }));
    nodeAssert.match(message, /^Expected values to be loosely deep-equal:\n\+ actual - expected\n\n {2}\{\n\+ {3}a: 1\n- {3}a: 2\n {2}\}$/);
  });

  it('renders Node-inspect-like values', () => {
    const message = messageOf(() => ours.deepStrictEqual(
      [new Set([1]), new Date(0), /x/g, new Uint8Array([1]), Symbol('s'), 10n, -0, new Error('boom'), new Point(1, 2), 'it\'s', null, undefined],
      [],
    ));
    for (const fragment of [
      'Set(1) {', '1970-01-01T00:00:00.000Z', '/x/g', 'Uint8Array(1) [', 'Symbol(s)', '10n', '-0', '[Error: boom]',
      'Point {', '"it\'s"', 'null', 'undefined',
    ]) {
      nodeAssert.ok(message.includes(fragment), `missing ${fragment} in:\n${message}`);
    }
  });

  it('marks circular references', () => {
    const value = { name: 'c' };
    value.self = value;
    const message = messageOf(() => ours.deepStrictEqual(value, { name: 'c', self: {} }));
    nodeAssert.match(message, /<ref \*1> \{/);
    nodeAssert.match(message, /self: \[Circular \*1\]/);
  });

  it('elides long unchanged runs', () => {
    const big = Array.from({ length: 200 }, (_, index) => index);
    const changed = big.slice();
    changed[100] = -1;
    const message = messageOf(() => ours.deepStrictEqual(big, changed));
    nodeAssert.match(message, /\.\.\. \d+ unchanged lines/);
    nodeAssert.match(message, /\+ {3}100,\n- {3}-1,/);
    nodeAssert.ok(message.split('\n').length < 30, message);
  });

  it('says when values render the same but differ', () => {
    nodeAssert.match(messageOf(() => ours.strictEqual({ a: 1 }, { a: 1 })), /^Values have same structure but are not reference-equal/);
    const hidden = Object.defineProperty({}, 'x', { value: 1, enumerable: false });
    nodeAssert.match(messageOf(() => ours.deepStrictEqual(Object.create(null), Object.create({}))), /null prototype/);
    nodeAssert.doesNotThrow(() => ours.deepStrictEqual(hidden, {}));
  });

  it('diffs multi-line strings line by line', () => {
    const message = messageOf(() => ours.strictEqual('line one\nline two\nline three\n', 'line one\nline 2\nline three\n'));
    nodeAssert.match(message, /\+ 'line two\\n' \+\n- 'line 2\\n' \+/);
  });
});
