// Unit tests for the browser shim (shim.js), run in Node: `node --test crates/core/src/shim/`.
// The shim is loaded with `vm` into a fake, minimal global (no DOM, no Worker). Values under test
// are created inside that context so they have the shim realm's prototypes.
import test from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import fs from 'node:fs';

const SHIM_SOURCE = fs.readFileSync(new URL('./shim.js', import.meta.url), 'utf8');

/** Timers that never keep the test process alive. */
function unrefTimer(fn, ms) {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function fakeStorage(initial = {}) {
  const map = new Map(Object.entries(initial));
  return { getItem: (k) => (map.has(k) ? map.get(k) : null), setItem: (k, v) => map.set(k, String(v)), map };
}

/**
 * Load the shim into a fresh context. `overrides` replace entries of the fake global.
 * Returns the context, its `__daebug`, an `ev` helper and the console calls seen by the
 * original console methods.
 */
function load(overrides = {}) {
  const consoleCalls = [];
  const fakeConsole = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    fakeConsole[level] = function original(...args) { consoleCalls.push({ level, args, self: this }); };
  }
  const global = {
    console: fakeConsole,
    fetch: () => new Promise(() => {}), // the server never answers
    sessionStorage: fakeStorage(),
    location: { href: 'http://localhost:8342/page.html', origin: 'http://localhost:8342', search: '', pathname: '/page.html' },
    setTimeout: unrefTimer,
    setInterval: () => 0,
    clearInterval: () => {},
    URL,
    URLSearchParams,
    ...overrides,
  };
  const ctx = vm.createContext(global);
  vm.runInContext(SHIM_SOURCE, ctx, { filename: 'http://localhost:8342/-daebug-shim.js' });
  const ev = (source) => vm.runInContext(source, ctx);
  return { ctx, d: ctx.__daebug, ev, consoleCalls, global };
}

const json = (value) => JSON.stringify(value);

test('defines exactly one, non-enumerable global and a realm name', () => {
  const { ctx, d, global, ev } = load();
  assert.equal(typeof d, 'object');
  assert.equal(typeof d.render, 'function');
  assert.equal(d.version, '0.1.0');
  assert.equal(d.kind, 'page');
  const fresh = vm.runInContext('Object.getOwnPropertyNames(globalThis)', vm.createContext({ ...global }));
  const added = ev('Object.getOwnPropertyNames(globalThis)').filter((k) => !fresh.includes(k));
  assert.equal(json(added), '["__daebug"]');
  assert.equal(ev('Object.keys(globalThis).includes("__daebug")'), false);
  assert.equal(Object.isExtensible(ctx.__daebug), true); // the test runner adds lastTestReport
  const match = /^(\d+)-([a-z]+)-(\d{2})(\d{2})-(\d{2})$/.exec(d.name);
  assert.ok(match, d.name);
  assert.ok(Number(match[1]) >= 5 && Number(match[1]) <= 19);
  assert.ok(Number(match[3]) < 24 && Number(match[4]) < 60 && Number(match[5]) < 60);
  assert.equal(global.sessionStorage.getItem('daebug-name'), d.name);
});

test('reuses the stored name and survives a throwing sessionStorage', () => {
  const { d } = load({ sessionStorage: fakeStorage({ 'daebug-name': '7-zen-1201-03' }) });
  assert.equal(d.name, '7-zen-1201-03');
  const throwing = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); } };
  const { d: d2 } = load({ sessionStorage: throwing });
  assert.match(d2.name, /^\d+-[a-z]+-\d{4}-\d{2}$/);
});

test('a second injection leaves the first shim in charge', () => {
  const { ctx, d } = load();
  vm.runInContext(SHIM_SOURCE, ctx);
  assert.equal(ctx.__daebug, d);
});

test('wraps console methods: original called first with the same args and this', () => {
  const { ev, consoleCalls, ctx } = load();
  ev("console.log('hello', 1)");
  assert.equal(consoleCalls.length, 1);
  assert.deepEqual(consoleCalls[0].args, ['hello', 1]);
  assert.equal(consoleCalls[0].self, ctx.console);
});

test('render: primitives and functions', () => {
  const { d, ev } = load();
  const cases = {
    'undefined': 'undefined',
    'null': 'null',
    '123n': '123n',
    'Symbol("x")': 'Symbol(x)',
    '"str"': '"str"',
    '"a\\nb"': '"a\\nb"',
    'NaN': 'NaN',
    '-Infinity': '-Infinity',
    '-0': '-0',
    '(function foo() {})': '[Function: foo]',
    '(() => {})': '[Function (anonymous)]',
    '(async function af() {})': '[AsyncFunction: af]',
    '(function* gen() {})': '[GeneratorFunction: gen]',
    '(class X {})': '[class X]',
    '(class Y extends Array {})': '[class Y extends Array]',
  };
  for (const [source, expected] of Object.entries(cases)) assert.equal(d.render(ev(source)), expected, source);
});

test('render: built-in objects', () => {
  const { d, ev } = load();
  const cases = {
    'new Date(Date.UTC(2024, 0, 1))': 'Date(2024-01-01T00:00:00.000Z)',
    'new Date(NaN)': 'Invalid Date',
    '/a/g': '/a/g',
    'new Map([["a", 1], ["b", 2]])': "Map(2) { 'a' => 1, 'b' => 2 }",
    'new Set([1, 2])': 'Set(2) { 1, 2 }',
    'new Uint8Array([1, 2, 3])': 'Uint8Array(3) [ 1, 2, 3 ]',
    'new BigInt64Array(2)': 'BigInt64Array(2) [ 0n, 0n ]',
    'new WeakMap()': 'WeakMap { <items unknown> }',
    'new WeakSet()': 'WeakSet { <items unknown> }',
    'Promise.resolve(1)': 'Promise { <state unknown> }',
    'new ArrayBuffer(8)': 'ArrayBuffer { byteLength: 8 }',
    'new Number(3)': '[Number: 3]',
    'new String("ab")': "[String: 'ab']",
    '(function () { return arguments })(1, 2)': '[Arguments] [ 1, 2 ]',
    '(function* () {})()': 'Object [Generator] {}',
  };
  for (const [source, expected] of Object.entries(cases)) assert.equal(d.render(ev(source)), expected, source);
});

test('render: arrays and objects', () => {
  const { d, ev } = load();
  const cases = {
    '[]': '[]',
    '({})': '{}',
    '[1, "a", [2]]': "[ 1, 'a', [ 2 ] ]",
    '[1, , 3]': '[ 1, <1 empty item>, 3 ]',
    'new Array(5)': '[ <5 empty items> ]',
    'Object.assign([1, 2], { extra: true })': '[ 1, 2, extra: true ]',
    '({ a: 1, "a-b": 2, [Symbol("s")]: 3 })': "{ a: 1, 'a-b': 2, [Symbol(s)]: 3 }",
    '({ "it\'s": "it\'s" })': `{ "it's": "it's" }`,
    'Object.create(null)': '[Object: null prototype] {}',
    'new (class Point { constructor() { this.x = 1; this.y = 2 } })()': 'Point { x: 1, y: 2 }',
    '({ f() {} })': '{ f: [Function: f] }',
    '({ a: undefined })': '{ a: undefined }',
    '[undefined, null, -0, 1n]': '[ undefined, null, -0, 1n ]',
  };
  for (const [source, expected] of Object.entries(cases)) assert.equal(d.render(ev(source)), expected, source);
});

test('render: long containers break into indented lines', () => {
  const { d, ev } = load();
  const text = d.render(ev('({ long: "x".repeat(60), other: [1, 2, 3], nested: { deep: "yes" } })'));
  assert.equal(text, `{\n  long: '${'x'.repeat(60)}',\n  other: [ 1, 2, 3 ],\n  nested: { deep: 'yes' }\n}`);
  const many = d.render(ev('Array.from({ length: 150 }, (_, i) => i)'));
  assert.match(many, /^\[\n  0, 1, 2,/);
  assert.match(many, /\.\.\. 50 more items\n\]$/);
});

test('render: circular references and the depth limit', () => {
  const { d, ev } = load();
  assert.equal(d.render(ev('(() => { const o = { a: 1 }; o.self = o; return o })()')), '{ a: 1, self: [Circular] }');
  assert.equal(d.render(ev('({ a: { b: { c: { d: { e: { f: { g: { h: 1 } } } } } } } })')),
    '{ a: { b: { c: { d: { e: { f: { g: [Object] } } } } } } }');
  assert.equal(d.render(ev('[[[[[[[[1]]]]]]]]')), '[ [ [ [ [ [ [ [Array] ] ] ] ] ] ] ]');
  // Shared (non-circular) references are rendered twice, not as [Circular].
  assert.equal(d.render(ev('(() => { const s = { x: 1 }; return [s, s] })()')), '[ { x: 1 }, { x: 1 } ]');
});

test('render: errors show their stack, extra properties and cause', () => {
  const { d, ev } = load();
  const text = d.render(ev('(() => { const e = new TypeError("bad", { cause: "why" }); e.code = "E1"; return e })()'));
  assert.match(text, /^TypeError: bad\n {4}at /);
  assert.match(text, /code: 'E1'/);
  assert.match(text, /\[cause\]: 'why'/);
  const noStack = ev('(() => { const e = new Error("plain"); e.stack = undefined; return e })()');
  assert.equal(d.render(noStack), 'Error: plain');
});

test('render: never throws and never runs getters', () => {
  const { d, ev } = load();
  ev('globalThis.getterRuns = 0');
  assert.equal(d.render(ev('({ get boom() { getterRuns++; throw new Error("x") }, ok: 1 })')), '{ boom: [Getter], ok: 1 }');
  assert.equal(ev('getterRuns'), 0);
  assert.equal(d.render(ev('new Proxy({}, { ownKeys() { throw new Error("nope") } })')), '{ <properties unreadable> }');
  const revoked = ev('(() => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy })()');
  assert.equal(typeof d.render(revoked), 'string');
  const hostile = ev('new Proxy({}, { getPrototypeOf() { throw new Error("x") }, get() { throw new Error("y") } })');
  assert.equal(typeof d.render(hostile), 'string');
  const sparse = ev('(() => { const a = []; a.length = 1e9; return a })()');
  assert.match(d.render(sparse), /empty items/);
});

test('compile: a single expression returns its value', async () => {
  const { d } = load();
  assert.equal(await d.compile('12 + 13')(), 25);
  assert.equal(json(await d.compile('{ a: 1 }')()), '{"a":1}');
  assert.equal(await d.compile('1 + 1 // trailing comment')(), 2);
  assert.equal(await d.compile('await Promise.resolve(7)')(), 7);
});

test('compile: statements return the last expression statement', async () => {
  const { d } = load({ setTimeout });
  const cases = [
    ['let x = 5; x * 2', 10],
    ['1+1;', 2],
    ['1+1; // c', 2],
    ['const a = [1,2]\na.map(v=>v*2)', [2, 4]],
    ["await new Promise(r=>setTimeout(r,10)); 'done'", 'done'],
    ['let y = 2\ny // note; z', 2],
    ['var s = "a;b"; s', 'a;b'],
    ['let t = `x${1+1}y`; t + "!"', 'x2y!'],
    ['let r = /;}/g; r.source', ';}'],
    ['let a = 1\nlet b = 2\na + b\n', 3],
    ['function f() { return 7 }\nf()', 7],
    ['let q = 3\nq\n  .toString()', '3'],
    ['x = 5\n-3', 2],
    ['let z = [1, 2, 3]; for (const i of z) {}\nz.length;;', 3],
    ['let o = 1;\n({ a: o })', { a: 1 }],
  ];
  for (const [code, expected] of cases) assert.equal(json(await d.compile(code)()), json(expected), code);
});

test('compile: statements without a trailing expression give undefined', async () => {
  const { d } = load();
  for (const code of ['if (true) { 3 }', 'let w = 1\nif (w)\n  w + 1', '// only a comment', '', 'let v = 1;', 'function g() {}']) {
    assert.equal(await d.compile(code)(), undefined, code);
  }
});

test('compile: splitting never changes what runs', async () => {
  const { d, ev } = load();
  ev('globalThis.count = 0; globalThis.ran = false');
  await d.compile('count++\ncount++\nif (false)\n  ran = true')();
  assert.equal(ev('count'), 2);
  assert.equal(ev('ran'), false);
  ev('globalThis.count = 0');
  assert.equal(await d.compile('let k = 1\n+ 1\ncount++; k')(), 2); // `k = 1 + 1`, not `return +1`
  assert.equal(ev('count'), 1);
  // A declaration followed by a parenthesised line is two statements, not a call. (Its value is
  // not found: without a parser a declaration's `}` can't be told from a function expression's.)
  assert.ok([1, undefined].includes(await d.compile('function setup() { count = 100 }\n(1)')()));
  assert.equal(ev('count'), 1);
  assert.equal(json(await d.compile('{}')()), '{}');
});

test('compile: syntax errors are SyntaxErrors, evaluate rejects', async () => {
  const { d, ev } = load();
  const SyntaxErrorInRealm = ev('SyntaxError');
  assert.throws(() => d.compile('let = = 1'), (err) => err instanceof SyntaxErrorInRealm);
  assert.throws(() => d.compile('1 +'), (err) => err instanceof SyntaxErrorInRealm);
  await assert.rejects(d.evaluate('if ('), (err) => err instanceof SyntaxErrorInRealm);
  assert.equal(await d.evaluate('let n = 20; n + 1'), 21);
});

test('compile: source names keep the agent line numbers in stacks', async () => {
  const { d } = load();
  const fn = d.compile('let a = 1\nthrow new Error("line two")', 'daebug-job-7.js');
  await assert.rejects(fn(), (err) => /daebug-job-7\.js:2:/.test(err.stack));
});

test('encodeResult: faithful JSON stays JSON', () => {
  const { d, ev } = load();
  for (const source of ['42', '"42"', 'true', 'null', '({ a: [1, 2, { b: null }] })', '[]', 'Object.create(null)',
    '(() => { const s = { x: 1 }; return [s, s] })()', 'Object.defineProperty({ a: 1 }, "hidden", { value: 2 })']) {
    const result = d.encodeResult(ev(source));
    assert.equal(result.valueKind, undefined, source);
    assert.equal(json(result.value), json(ev(source)), source);
  }
});

test('encodeResult: everything else becomes text', () => {
  const { d, ev } = load();
  const cases = {
    'undefined': 'undefined', 'NaN': 'NaN', '-0': '-0', 'Infinity': 'Infinity', '10n': '10n',
    '[1, , 2]': '[ 1, <1 empty item>, 2 ]', '({ a: undefined })': '{ a: undefined }',
    '({ f() {} })': '{ f: [Function: f] }', 'new Date(0)': 'Date(1970-01-01T00:00:00.000Z)',
    '(() => { const o = {}; o.o = o; return o })()': '{ o: [Circular] }', '({ get g() { return 1 } })': '{ g: [Getter] }',
    'Object.assign([1], { k: 1 })': '[ 1, k: 1 ]', '({ [Symbol("a")]: 1 })': '{ [Symbol(a)]: 1 }',
    'new (class A {})()': 'A {}', 'new Map()': 'Map(0) {}',
  };
  for (const [source, expected] of Object.entries(cases)) {
    assert.equal(json(d.encodeResult(ev(source))), json({ value: expected, valueKind: 'text' }), source);
  }
});

test('encodeResult: very large results are cut with a note', () => {
  const { d, ev } = load();
  const big = d.encodeResult(ev('"x".repeat(200000)'));
  assert.equal(big.valueKind, 'text');
  assert.match(big.value, /\n\u2026 \(100002 more characters cut\)$/);
  assert.equal(big.value.indexOf('\n\u2026'), 100000);
  const bigText = d.encodeResult(ev('Array.from({ length: 50 }, () => [undefined, "y".repeat(5000)])'));
  assert.match(bigText.value, /more characters cut\)$/);
});

test('console messages: strings raw, JSON compact, others rendered, format specifiers', () => {
  const { d, ev } = load();
  assert.equal(d.formatConsoleArgs(ev('["bg-log", { a: 1 }, [1, 2], undefined, 1n, new Map()]')),
    'bg-log {"a":1} [1,2] undefined 1n Map(0) {}');
  assert.equal(d.formatConsoleArgs(ev('["%s is %d, %o %c!%% %s", "Bob", 42.7, { a: 1 }, "color: red", "x", "extra"]')),
    'Bob is 42, {"a":1} !% x extra');
});

/**
 * A fetch that plays a tiny server: GET hands out `jobs` once each, then never answers;
 * POST bodies are recorded. Timers are captured so tests can fire them.
 */
function scriptedRealm(jobs, overrides = {}) {
  const posts = [];
  const intervals = [];
  let onPost = () => {};
  const fetch = async (url, init = {}) => {
    if (init.method === 'POST') {
      posts.push({ url: new URL(url), headers: init.headers, body: JSON.parse(init.body) });
      onPost();
      return { ok: true, status: 200, text: async () => '' };
    }
    const job = jobs.shift();
    if (!job) return new Promise(() => {});
    return { ok: true, status: 200, headers: { get: (k) => (k === 'x-job-id' ? job.id : null) }, text: async () => job.code };
  };
  const realm = load({ fetch, setInterval: (fn, ms) => intervals.push({ fn, ms }), setTimeout: unrefTimer, ...overrides });
  const nextPost = () => new Promise((resolve) => { onPost = resolve; });
  const flush = () => intervals.filter((t) => t.ms === 2000).forEach((t) => t.fn());
  return { ...realm, posts, nextPost, flush };
}

test('jobs: results are posted with the job id and captured events', async () => {
  const { posts, nextPost, d } = scriptedRealm([{ id: 'j1', code: "console.log('in job', { a: 1 }); console.warn('w'); let x = 5; x * 2" }]);
  await nextPost();
  const [post] = posts;
  assert.equal(post.url.pathname, '/-daebug-channel');
  assert.equal(post.url.searchParams.get('name'), d.name);
  assert.equal(post.url.searchParams.get('url'), 'http://localhost:8342/page.html');
  assert.equal(post.headers['content-type'], 'application/json');
  const { ok, value, jobId, backgroundEvents } = post.body;
  assert.deepEqual({ ok, value, jobId }, { ok: true, value: 10, jobId: 'j1' });
  assert.deepEqual(backgroundEvents.map((e) => [e.type, e.level, e.message]), [['console', 'log', 'in job {"a":1}'], ['console', 'warn', 'w']]);
  assert.match(backgroundEvents[0].eventAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(backgroundEvents[0].caller, /^daebug-job-j1\.js:1:\d+$/);
});

test('jobs: failures carry the stack; thrown values are rendered; syntax errors reported', async () => {
  const { posts, nextPost } = scriptedRealm([
    { id: 'e1', code: "function inner() { throw new TypeError('deep') }\ninner()" },
    { id: 'e2', code: "throw { reason: 'x' }" },
    { id: 'e3', code: 'let = = 1' },
    { id: 'e4', code: 'undefined' },
  ]);
  while (posts.length < 4) await nextPost();
  const [deep, thrown, syntax, undef] = posts.map((p) => p.body);
  assert.equal(deep.ok, false);
  assert.match(deep.error, /^TypeError: deep\n {4}at inner \(daebug-job-e1\.js:1:\d+\)/);
  assert.doesNotMatch(deep.error, /-daebug-shim\.js/);
  assert.equal(thrown.error, "{ reason: 'x' }");
  assert.match(syntax.error, /^SyntaxError: /);
  assert.deepEqual([undef.ok, undef.value, undef.valueKind], [true, 'undefined', 'text']);
});

test('background events are batched and flushed only when there are some', async () => {
  const { posts, nextPost, flush, ev } = scriptedRealm([]);
  flush();
  assert.equal(posts.length, 0);
  ev("console.info('bg', 1); console.error(new Error('oops'))");
  const posted = nextPost();
  flush();
  await posted;
  const { type, events, reportedAt } = posts[0].body;
  assert.equal(type, 'background-flush');
  assert.match(reportedAt, /Z$/);
  assert.deepEqual(events.map((e) => e.level), ['info', 'error']);
  assert.equal(events[0].message, 'bg 1');
  assert.match(events[1].message, /^Error: oops/);
});

test('the background buffer is capped and says how much it dropped', async () => {
  const { posts, nextPost, flush, ev } = scriptedRealm([]);
  ev("for (let i = 0; i < 600; i++) console.debug('spam', i)");
  const posted = nextPost();
  flush();
  await posted;
  const { events } = posts[0].body;
  assert.equal(events.length, 501);
  assert.match(events[0].message, /100 earlier events were dropped/);
  assert.equal(events[500].message, 'spam 599');
});

test('error and unhandledrejection events are captured', async () => {
  const listeners = {};
  const { posts, nextPost, flush } = scriptedRealm([], { addEventListener: (type, fn) => { listeners[type] = fn; } });
  const error = new Error('bg-throw');
  listeners.error({ message: 'Uncaught Error: bg-throw', error, filename: 'http://localhost:8342/app.js', lineno: 3, colno: 9 });
  listeners.unhandledrejection({ reason: 'just a string' });
  const posted = nextPost();
  flush();
  await posted;
  const [onerror, rejection] = posts[0].body.events;
  assert.deepEqual([onerror.type, onerror.source, onerror.message], ['error', 'window.onerror', 'Uncaught Error: bg-throw']);
  assert.match(onerror.stack, /^Error: bg-throw\n/);
  assert.deepEqual([rejection.source, rejection.message, rejection.stack], ['unhandledrejection', 'just a string', undefined]);
});
