/**
 * Daebug's in-page implementation of `node:test`.
 *
 * Served verbatim by the Rust core at `/-daebug-node:test.js`; the page import map points
 * `node:test` at that URL, so test files written for `node --test` run inside live pages.
 *
 * This file owns:
 *   - the registration API: test/it, describe/suite (with .skip/.only/.todo), before/after/
 *     beforeEach/afterEach, and the test context `t` (t.test, t.skip, t.todo, t.diagnostic...);
 *   - execution: tests run one at a time in registration order, with hooks, timeouts, `done`
 *     callbacks, subtests and `only` filtering;
 *   - `run({ files, timeout, only, onProgress })`, which imports test files and resolves with
 *     a JSON-friendly report `{ totals: { pass, fail, skip }, duration, tests, errors }`.
 *
 * Counting follows `node --test`: every test counts (a test with subtests counts itself and
 * each subtest), suites and hooks do not. Node's "cancelled" tests count as `fail`; Node's
 * "skipped" and "todo" tests count as `skip` (todo ones carry `todo: true`).
 *
 * It is plain ESM with no Node built-ins, so it runs in pages, workers and in Node itself.
 *
 * Differences from Node, on purpose or by necessity:
 *   - `only` is on whenever a registered test has it (see Run#onlyMode), and follows Node 22's
 *     rules: a `describe.only` runs all its tests unless some are marked `only` (Node 20 skips
 *     them), and a plain suite holding an `only` test runs that test (Node 20 skips the suite);
 *   - `run()` resolves with a report object, not a TestsStream;
 *   - there is no async context tracking: a bare `test()` called while a test runs becomes its
 *     subtest, and tests registered after an `await` in an async describe callback go to the
 *     oldest such pending suite;
 *   - uncaught errors fail the running test only where `addEventListener` exists (pages and
 *     workers, not Node);
 *   - not provided: mock, snapshot, t.plan, t.assert, t.mock, coverage, name patterns,
 *     concurrency (tests always run one at a time), reporters.
 */

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const clock = () => (globalThis.performance ? globalThis.performance.now() : Date.now());
const roundMs = (ms) => Math.round(ms * 1000) / 1000;
const isThenable = (value) =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';

/**
 * A promise resolved from outside. `onResolve` callbacks run synchronously inside `resolve()`
 * (or at once if already resolved), before any `then` reaction.
 */
function deferred() {
  let resolvePromise;
  const promise = new Promise((done) => {
    resolvePromise = done;
  });
  const callbacks = [];
  let resolved = false;
  return {
    promise,
    resolve() {
      if (resolved) return;
      resolved = true;
      for (const callback of callbacks.splice(0)) callback();
      resolvePromise();
    },
    onResolve(callback) {
      if (resolved) callback();
      else callbacks.push(callback);
    },
  };
}

function describeThrown(value) {
  if (value instanceof Error || (value && typeof value === 'object' && 'message' in value)) {
    return String(value.message);
  }
  try {
    return `Thrown value: ${typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)}`;
  } catch {
    return `Thrown value: ${String(value)}`;
  }
}

/** Turns anything thrown into `{ message, stack? }`; `prefix` says where it came from. */
function serializeError(value, prefix = '') {
  const serialized = { message: prefix + describeThrown(value) };
  if (value && typeof value === 'object') {
    if (typeof value.stack === 'string') serialized.stack = value.stack;
    if (typeof value.code === 'string') serialized.code = value.code;
  }
  return serialized;
}

/** Rejects with a "timed out" error if `promise` has not settled within `ms`. */
function withTimeout(promise, ms, describe) {
  if (!Number.isFinite(ms)) return promise;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`${describe} timed out after ${ms}ms`);
      error.failureType = 'testTimeoutFailure';
      reject(error);
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Calls a test or hook function (synchronously, as Node does). Functions declaring two or more
 * parameters get a Node-style `done(err?)` callback as second argument, and must not also
 * return a promise.
 */
function invokeUserFunction(fn, context) {
  if (fn.length < 2) {
    try {
      return Promise.resolve(fn.call(context, context));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  let settle;
  const finished = new Promise((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  let result;
  try {
    result = fn.call(context, context, (error) => settle(error));
  } catch (error) {
    return Promise.reject(error);
  }
  if (isThenable(result)) {
    finished.catch(() => {});
    result.then(() => {}, () => {});
    return Promise.reject(new Error('passed a callback but also returned a Promise'));
  }
  return finished;
}

/** Splits `(name?, options?, fn?)` the way node:test does. */
function parseArguments(args) {
  let [name, options, fn] = args;
  if (typeof name === 'function') {
    fn = name;
    name = undefined;
    options = {};
  } else if (name !== null && typeof name === 'object') {
    fn = options;
    options = name;
    name = undefined;
  } else if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  if (options === null || typeof options !== 'object') options = {};
  if (typeof name !== 'string') name = typeof fn === 'function' && fn.name ? fn.name : '<anonymous>';
  return { name, options: { ...options }, fn: typeof fn === 'function' ? fn : undefined };
}

// ---------------------------------------------------------------------------------------------
// The tree: runs contain containers (root, one scope per file, suites) and tests.
// ---------------------------------------------------------------------------------------------

let nextRunNumber = 1;

/** One execution: a root container, the records collected so far and the progress callback. */
class Run {
  constructor(options = {}) {
    this.id = `${Date.now().toString(36)}-${nextRunNumber++}`;
    this.options = options;
    this.phase = 'collecting'; // then 'executing', then 'done'
    this.root = new Container('root', '', null, this, {});
    this.collectingScope = this.root;
    this.hasOnly = false;
    this.currentTest = null;
    this.startTime = clock();
    this.records = [];
    this.recent = [];
    this.errors = [];
    this.totals = { pass: 0, fail: 0, skip: 0 };
  }

  /**
   * `only` filtering is on with `run({ only: true })`, off with `run({ only: false })`, and by
   * default on as soon as any registered test or suite has `only`. (Node honours `only` just
   * under --test-only; we cannot pass flags to a page, and an agent who marks a test `only`
   * means it.)
   */
  get onlyMode() {
    if (typeof this.options.only === 'boolean') return this.options.only;
    return this.hasOnly;
  }

  addRecord(record) {
    if (this.phase === 'done') return;
    this.records.push(record);
    this.recent.push(record);
    this.totals[record.status]++;
    this.reportProgress();
  }

  addError(error) {
    if (this.phase !== 'done') this.errors.push(error);
  }

  reportProgress() {
    if (typeof this.options.onProgress !== 'function') return;
    const snapshot = { totals: { ...this.totals }, duration: this.elapsed(), recentTests: this.recent.splice(0) };
    try {
      this.options.onProgress(snapshot);
    } catch {
      // A broken progress callback must not break the run.
    }
  }

  elapsed() {
    return roundMs(clock() - this.startTime);
  }

  report() {
    return {
      totals: { ...this.totals },
      duration: this.elapsed(),
      tests: this.records.slice(),
      errors: this.errors.slice(),
    };
  }
}

/** Fields shared by containers and tests. */
class Node {
  constructor(kind, name, parent, run, options) {
    this.kind = kind;
    this.name = name;
    this.parent = parent;
    this.run = run;
    this.options = options;
    this.only = Boolean(options.only);
    this.skip = options.skip !== undefined && options.skip !== false ? options.skip : false;
    this.todo = options.todo !== undefined && options.todo !== false ? options.todo : false;
    this.containsOnly = false;
    this.children = [];
    this.cancelled = false;
    this.hooks = { before: [], after: [], beforeEach: [], afterEach: [] };
    this.settled = deferred();
  }

  /** Effective timeout: own option, else inherited from the parent, else the run's. */
  get timeout() {
    if (typeof this.options.timeout === 'number') return this.options.timeout;
    if (this.parent) return this.parent.timeout;
    return typeof this.run.options.timeout === 'number' ? this.run.options.timeout : Infinity;
  }

  /**
   * A suite's own time limit for running all its tests: its `timeout` option, else the nearest
   * enclosing suite's. (The run-wide `timeout` applies to each test, not to whole suites.)
   */
  get suiteTimeout() {
    if (typeof this.options.timeout === 'number') return this.options.timeout;
    return this.parent && this.parent.kind === 'suite' ? this.parent.suiteTimeout : Infinity;
  }

  /** Names of enclosing suites and tests (not the root or file scopes), outermost first. */
  ancestorNames() {
    const names = [];
    for (let node = this.parent; node; node = node.parent) {
      if (node.kind === 'suite' || node.kind === 'test') names.unshift(node.name);
    }
    return names;
  }

  /** Enclosing nodes from the outermost (the run's root) to the direct parent. */
  ancestors() {
    const list = [];
    for (let node = this.parent; node; node = node.parent) list.unshift(node);
    return list;
  }

  file() {
    for (let node = this; node; node = node.parent) {
      if (node.kind === 'file') return node.name;
    }
    return undefined;
  }

  /**
   * Records that this node has `only`. Inside a test's subtree `only` matters just for
   * `t.runOnly(true)`, so it neither turns on only-mode for the run nor marks outer suites.
   */
  markOnlyPath() {
    for (let node = this.parent; node; node = node.parent) {
      if (node.kind === 'test') return;
      node.containsOnly = true;
    }
    if (this.run.phase === 'collecting') this.run.hasOnly = true;
  }
}

/** The run root, a file scope, or a `describe` suite. */
class Container extends Node {
  constructor(kind, name, parent, run, options) {
    super(kind, name, parent, run, options);
    this.buildPromise = null; // the describe callback's promise, when it is async
    this.buildError = null;
    this.loadError = null;
    this.nextChild = 0;
    this.draining = Promise.resolve();
    this.beforeHooksRun = null;
    this.beforeHookError = null;
  }
}

/** A `test`/`it`, top-level or a subtest. */
class Test extends Node {
  constructor(name, parent, run, options, fn) {
    super('test', name, parent, run, options);
    this.fn = fn;
    this.state = 'pending'; // then 'running', then 'finished'
    this.error = null;
    this.skipRequested = false;
    this.todoRequested = false;
    this.runOnlySubtests = false;
    this.diagnostics = [];
    this.abortController = typeof AbortController === 'function' ? new AbortController() : null;
    this.bodySettled = false;
    this.pendingSubtests = [];
    this.activeSubtest = null;
    this.record = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

const registry = {
  /** Suites whose describe callback is executing right now (innermost last). */
  buildingSuites: [],
  /**
   * Async describe callbacks still running. Registrations made after the turn in which such
   * a callback started (i.e. after one of its `await`s) go to the oldest one. Without Node's
   * async context tracking this is a best guess, right for one async describe at a time.
   */
  pendingAsyncSuites: [],
  /** The run that is collecting or executing, if any. */
  activeRun: null,
  /** A run gathering top-level calls made outside `run()` (e.g. pasted into a REPL). */
  autoRun: null,
  /** Runs execute one after another. */
  queue: Promise.resolve(),
};

/**
 * Where a test/suite/hook registered right now belongs: the suite being built, else the test
 * currently running (it becomes a subtest), else the file being imported, else a REPL-style
 * automatic run that starts on the next macrotask.
 */
function currentParent() {
  const building = registry.buildingSuites[registry.buildingSuites.length - 1];
  if (building) return building;
  const resumedAsyncSuite = registry.pendingAsyncSuites.find((suite) => suite.startTurnOver);
  if (resumedAsyncSuite) return resumedAsyncSuite;
  const run = registry.activeRun;
  if (run && run.currentTest && run.currentTest.state === 'running') return run.currentTest;
  if (run && run.phase === 'collecting') return run.collectingScope;
  return autoRunRoot();
}

function autoRunRoot() {
  if (!registry.autoRun) {
    const run = new Run({});
    registry.autoRun = run;
    setTimeout(() => startAutoRun(run), 0);
  }
  return registry.autoRun.root;
}

function startAutoRun(run) {
  enqueueRun(async () => {
    if (registry.autoRun === run) registry.autoRun = null;
    const report = await executeRun(run);
    // Tests typed straight into a Daebug log: their summary goes to the log too.
    const daebug = globalThis.__daebug;
    if (daebug && typeof daebug === 'object' && typeof daebug.name === 'string') {
      await progressReporter(daebug.name).complete(report);
    }
    return report;
  });
}

/** A Promise (so `await test(...)` works) that also starts eager execution when awaited. */
class TestPromise extends Promise {
  static get [Symbol.species]() {
    return Promise;
  }

  then(onFulfilled, onRejected) {
    if (this.onAwait) this.onAwait();
    return super.then(onFulfilled, onRejected);
  }
}

function awaitableFor(node) {
  const promise = new TestPromise((resolve) => node.settled.promise.then(resolve));
  promise.onAwait = () => startEagerly(node);
  return promise;
}

/**
 * `await test(...)` at the top level of a file being imported would wait forever, because
 * tests normally start only after every file is imported. So awaiting a registered test
 * starts executing its file's tests at once (`only` then applies to what is known so far).
 * (Outside run(), the automatic run starts on its own a macrotask later.)
 */
function startEagerly(node) {
  if (node.run.phase === 'collecting' && node.parent.kind === 'file') drainContainer(node.parent);
}

/**
 * Like Node: the returned promise settles when the test has run, except inside a suite, where
 * it is already fulfilled (awaiting it there would wait for the suite that is being built).
 */
function registerTest(args, modifiers) {
  const { name, options, fn } = parseArguments(args);
  Object.assign(options, modifiers);
  const parent = currentParent();
  const test = new Test(name, parent, parent.run, options, fn);
  attach(parent, test);
  if (parent.kind === 'suite') return Promise.resolve();
  return parent.kind === 'test' ? test.settled.promise : awaitableFor(test);
}

function registerSuite(args, modifiers) {
  const { name, options, fn } = parseArguments(args);
  Object.assign(options, modifiers);
  const parent = currentParent();
  const suite = new Container('suite', name, parent, parent.run, options);
  attach(parent, suite);
  if (fn && !suite.skip) buildSuite(suite, fn);
  return Promise.resolve(); // Node: "immediately fulfilled with undefined".
}

/** Adds a node under its parent; under a running test it is queued as a subtest. */
function attach(parent, node) {
  parent.children.push(node);
  if (node.only) node.markOnlyPath();
  if (parent.kind === 'test') queueSubtest(parent, node);
}

/** Runs the describe callback now, collecting the suite's children (as Node does). */
function buildSuite(suite, fn) {
  const context = suiteContext(suite);
  // Queued before the callback runs, so it fires before any of the callback's continuations.
  queueMicrotask(() => {
    suite.startTurnOver = true;
  });
  registry.buildingSuites.push(suite);
  try {
    const result = fn.call(context, context);
    if (isThenable(result)) trackAsyncSuite(suite, result);
  } catch (error) {
    suite.buildError = error;
  } finally {
    registry.buildingSuites.pop();
  }
}

function trackAsyncSuite(suite, promise) {
  registry.pendingAsyncSuites.push(suite);
  const untrack = () => {
    registry.pendingAsyncSuites = registry.pendingAsyncSuites.filter((pending) => pending !== suite);
  };
  suite.buildPromise = Promise.resolve(promise).then(untrack, (error) => {
    untrack();
    suite.buildError = error;
  });
}

function suiteContext(suite) {
  return {
    name: suite.name,
    get fullName() {
      return suite.ancestorNames().concat(suite.name).join(' > ');
    },
    signal: new AbortController().signal,
  };
}

function registerHook(kind, fn, options) {
  if (typeof fn !== 'function') throw new TypeError(`The "fn" argument of ${kind}() must be a function`);
  currentParent().hooks[kind].push({ fn, options: options && typeof options === 'object' ? options : {} });
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

function enqueueRun(task) {
  const result = registry.queue.then(task);
  registry.queue = result.then(() => {}, () => {});
  return result;
}

/** Executes every registered test of `run` and resolves with its report. */
async function executeRun(run) {
  const uninstall = installUncaughtErrorHandlers(run);
  registry.activeRun = run;
  try {
    run.phase = 'executing';
    await runContainerBody(run.root);
  } finally {
    uninstall();
    registry.activeRun = null;
  }
  const report = run.report();
  run.phase = 'done';
  publishReport(report);
  return report;
}

function publishReport(report) {
  const daebug = globalThis.__daebug;
  if (daebug && typeof daebug === 'object') daebug.lastTestReport = report;
}

/**
 * In a page, an uncaught error or unhandled rejection while a test runs fails that test (as
 * Node does). The shim still sees and logs the event; we never call preventDefault().
 */
function installUncaughtErrorHandlers(run) {
  const target = globalThis;
  if (typeof target.addEventListener !== 'function') return () => {};
  const failCurrent = (error) => {
    const test = run.currentTest;
    if (test && test.state === 'running' && !test.error) test.error = { cause: error, prefix: 'uncaught error: ' };
  };
  const onError = (event) => failCurrent(event.error ?? event.message);
  const onRejection = (event) => failCurrent(event.reason);
  target.addEventListener('error', onError);
  target.addEventListener('unhandledrejection', onRejection);
  return () => {
    target.removeEventListener('error', onError);
    target.removeEventListener('unhandledrejection', onRejection);
  };
}

/** Runs each not-yet-run child in order; children registered meanwhile are picked up too. */
function drainContainer(container) {
  container.draining = container.draining.then(async () => {
    await ensureBeforeHooks(container);
    while (container.nextChild < container.children.length) {
      const child = container.children[container.nextChild++];
      await runChild(container, child);
    }
  });
  return container.draining;
}

/** Before hooks run once, before the first child; a failure cancels every child. */
function ensureBeforeHooks(container) {
  if (!container.beforeHooksRun) {
    container.beforeHooksRun = runHooks(container.hooks.before, suiteContext(container), container, 'before')
      .then((failure) => {
        container.beforeHookError = failure;
        if (failure) container.run.addError(containerError(container, failure.error, 'before hook failed: '));
      });
  }
  return container.beforeHooksRun;
}

async function runContainerBody(container) {
  await drainContainer(container);
  const afterError = await runHooks(container.hooks.after, suiteContext(container), container, 'after');
  if (afterError) container.run.addError(containerError(container, afterError.error, `${afterError.hook} hook failed: `));
  container.settled.resolve();
}

function containerError(container, error, prefix) {
  const names = container.kind === 'suite' ? container.ancestorNames().concat(container.name) : [];
  const entry = { suite: names.length ? names.join(' > ') : undefined, ...serializeError(error, prefix) };
  const file = container.file();
  if (file) entry.file = file;
  return entry;
}

/** Is `child` excluded by `only` filtering inside `container`? (Node 22 documented rules.) */
function filteredByOnly(container, child) {
  if (!container.run.onlyMode || child.kind === 'file') return false;
  if (child.only || child.containsOnly) return false;
  return childrenAreFiltered(container);
}

/**
 * Inside a run in only-mode, the root and file scopes run only `only` children; a suite
 * marked `only` runs all its children unless some descendant is marked `only` too.
 */
function childrenAreFiltered(container) {
  if (container.kind === 'root' || container.kind === 'file') return true;
  if (container.kind === 'test') return container.runOnlySubtests;
  if (container.containsOnly) return true;
  if (container.only) return false;
  return container.parent ? childrenAreFiltered(container.parent) : true;
}

async function runChild(container, child) {
  if (child.cancelled) return;
  if (container.beforeHookError) {
    cancelTree(child, `cancelled: ${describeLocation(container)}${container.beforeHookError.hook} hook failed: ` +
      describeThrown(container.beforeHookError.error), container.beforeHookError.error);
    return;
  }
  if (filteredByOnly(container, child)) {
    if (child.kind === 'test') recordSkipped(child, "'only' option not set");
    child.settled.resolve();
    return;
  }
  if (child.kind === 'test') await runTest(child);
  else await runContainer(child);
}

function describeLocation(container) {
  return container.kind === 'suite' ? `suite "${container.name}": ` : '';
}

async function runContainer(container) {
  if (container.kind === 'file' && container.loadError) {
    recordFileLoadFailure(container);
    return;
  }
  if (container.skip) {
    container.settled.resolve(); // Skipped suites are not tests: Node does not count them.
    return;
  }
  if (container.buildPromise) await container.buildPromise;
  if (container.buildError) {
    container.run.addError(containerError(container, container.buildError, 'describe callback failed: '));
    for (const child of container.children) {
      cancelTree(child, `cancelled: suite "${container.name}" failed while registering its tests: ` +
        describeThrown(container.buildError), container.buildError);
    }
    container.settled.resolve();
    return;
  }
  try {
    await withTimeout(runContainerBody(container), container.suiteTimeout, 'suite');
  } catch (error) {
    container.run.addError(containerError(container, error));
    for (const child of container.children) {
      cancelTree(child, `test did not finish before its parent and was cancelled (suite "${container.name}" ` +
        `timed out after ${container.suiteTimeout}ms)`);
    }
    container.settled.resolve();
  }
}

/** A file that failed to import counts as one failing test, as with `node --test <file>`. */
function recordFileLoadFailure(scope) {
  const record = {
    name: scope.name, suite: undefined, status: 'fail', duration: 0, file: scope.name,
    error: serializeError(scope.loadError, 'failed to load test file: '),
    completedAt: new Date().toISOString(),
  };
  scope.run.addRecord(record);
  scope.settled.resolve();
}

/**
 * Marks every test below `node` as not run because an enclosing step failed. Skipped and
 * todo tests keep their status; other tests fail (Node calls them "cancelled").
 */
function cancelTree(node, message, cause) {
  node.cancelled = true;
  if (node.kind === 'test') {
    if (node.record) return;
    if (node.skip) recordSkipped(node, typeof node.skip === 'string' ? node.skip : undefined);
    else finishRecord(node, 0, node.todo ? 'skip' : 'fail', { message, stack: cause && cause.stack });
    node.state = 'finished';
    node.settled.resolve();
    return;
  }
  if (!node.skip) for (const child of node.children) cancelTree(child, message, cause);
  node.settled.resolve();
}

function recordSkipped(test, reason) {
  finishRecord(test, 0, 'skip', null, reason);
  test.state = 'finished';
  test.settled.resolve();
}

/** Builds the report entry for a test and adds it to the run (once per test). */
function finishRecord(test, duration, status, error, skipReason) {
  if (test.record) return;
  const record = { name: test.name, suite: undefined, status, duration: roundMs(duration) };
  const names = test.ancestorNames();
  if (names.length) record.suite = names.join(' > ');
  const file = test.file();
  if (file) record.file = file;
  if (error) record.error = error;
  const todo = test.todoRequested || test.todo;
  if (todo && !test.skip && !test.skipRequested) {
    record.todo = true;
    if (typeof todo === 'string') record.skipReason = todo;
  }
  if (skipReason !== undefined) record.skipReason = skipReason;
  if (test.diagnostics.length) record.diagnostics = test.diagnostics.slice();
  record.completedAt = new Date().toISOString();
  test.record = record;
  test.run.addRecord(record);
}

/** Runs one test: beforeEach hooks, the body and its subtests (under the timeout), after hooks. */
async function runTest(test) {
  if (test.skip) {
    recordSkipped(test, typeof test.skip === 'string' ? test.skip : undefined);
    return;
  }
  const run = test.run;
  const start = clock();
  const context = new TestContext(test);
  const previous = run.currentTest;
  run.currentTest = test;
  test.state = 'running';
  try {
    // No await unless there are hooks: a subtest with none runs synchronously inside t.test().
    const beforeEachHooks = collectEachHooks(test, 'beforeEach');
    const hookFailure = beforeEachHooks.length ? await runHooks(beforeEachHooks, context, test, 'beforeEach') : null;
    if (hookFailure) setTestError(test, hookFailure.error, 'beforeEach hook failed: ');
    else await runBodyWithTimeout(test, context);
    const afterFailure = (await runHooks(test.hooks.after, context, test, 'after')) ||
      (await runHooks(collectEachHooks(test, 'afterEach'), context, test, 'afterEach'));
    if (afterFailure) setTestError(test, afterFailure.error, `${afterFailure.hook} hook failed: `);
  } finally {
    // A cancelled subtest may still be running; it must not stay "current" after its parent.
    if (isWithin(run.currentTest, test)) run.currentTest = previous;
    test.state = 'finished';
    if (test.abortController) test.abortController.abort();
  }
  finishTest(test, clock() - start);
  test.settled.resolve();
}

function isWithin(node, ancestor) {
  for (let current = node; current; current = current.parent) {
    if (current === ancestor) return true;
  }
  return false;
}

function setTestError(test, error, prefix = '') {
  if (!test.error) test.error = { cause: error, prefix };
}

/**
 * Runs the test function under the timeout. As in Node, subtests still outstanding when the
 * function has finished (returned, resolved, or called `done`) are cancelled: await them.
 * A subtest whose own function already finished (e.g. a synchronous one, which runs to its end
 * inside `t.test()`) is not outstanding; the parent waits for its hooks and its record.
 */
async function runBodyWithTimeout(test, context) {
  const body = test.fn ? invokeUserFunction(test.fn, context) : Promise.resolve();
  body.then(markBodySettled(test), markBodySettled(test));
  let reason = 'test did not finish before its parent and was cancelled (await t.test() calls)';
  try {
    await withTimeout(body, test.timeout, 'test');
  } catch (error) {
    setTestError(test, error);
    if (error && error.failureType === 'testTimeoutFailure') {
      reason = 'test did not finish before its parent and was cancelled (the parent timed out)';
    }
  }
  const finishing = [];
  for (const child of test.children) {
    if (child.kind === 'test' && child.bodySettled && !child.record) finishing.push(child.settled.promise);
    else cancelTree(child, reason);
  }
  await Promise.all(finishing);
}

const markBodySettled = (test) => () => {
  test.bodySettled = true;
};

/** Failed tests among a test's subtests, looking through suites declared inside it. */
function countFailedSubtests(node) {
  return node.children.reduce((count, child) => {
    if (child.kind !== 'test') return count + countFailedSubtests(child);
    return count + (child.record && child.record.status === 'fail' ? 1 : 0);
  }, 0);
}

function finishTest(test, duration) {
  const failedSubtests = countFailedSubtests(test);
  let error = test.error ? serializeError(test.error.cause, test.error.prefix) : null;
  if (!error && failedSubtests > 0) {
    error = { message: `${failedSubtests} subtest${failedSubtests > 1 ? 's' : ''} failed` };
  }
  if (test.skipRequested) {
    finishRecord(test, duration, 'skip', null, typeof test.skipRequested === 'string' ? test.skipRequested : undefined);
  } else if (test.todo || test.todoRequested) {
    finishRecord(test, duration, 'skip', error);
  } else {
    finishRecord(test, duration, error ? 'fail' : 'pass', error);
  }
}

/** beforeEach: outermost first; afterEach: innermost first. */
function collectEachHooks(test, kind) {
  const ancestors = test.ancestors();
  if (kind === 'afterEach') ancestors.reverse();
  return ancestors.flatMap((node) => node.hooks[kind]);
}

/** Runs hooks in order; returns `{ hook, error }` for the first failure (the rest still run). */
async function runHooks(hooks, context, owner, kind) {
  let failure = null;
  for (const hook of hooks) {
    const timeout = typeof hook.options.timeout === 'number' ? hook.options.timeout : owner.timeout;
    try {
      await withTimeout(invokeUserFunction(hook.fn, context), timeout, `${kind} hook`);
    } catch (error) {
      if (!failure) failure = { hook: kind, error };
      if (kind === 'before' || kind === 'beforeEach') break;
    }
  }
  return failure;
}

// ---------------------------------------------------------------------------------------------
// Subtests and the test context
// ---------------------------------------------------------------------------------------------

/**
 * Subtests of one test run one at a time, in the order `t.test()` was called. When none is
 * running, the new one starts at once, synchronously (as in Node).
 */
function queueSubtest(parent, node) {
  if (parent.state === 'finished') {
    failLateSubtest(node);
    return;
  }
  parent.pendingSubtests.push(node);
  if (!parent.activeSubtest) startNextSubtest(parent);
}

/** Starts the next queued subtest; the one after starts the moment this one is settled. */
function startNextSubtest(parent) {
  const node = parent.pendingSubtests.shift() || null;
  parent.activeSubtest = node;
  if (!node) return;
  node.settled.onResolve(() => {
    if (parent.activeSubtest === node) startNextSubtest(parent);
  });
  runSubtest(parent, node).catch((error) => {
    cancelTree(node, `internal error in the test runner: ${describeThrown(error)}`, error);
  });
}

async function runSubtest(parent, node) {
  if (node.cancelled || node.record) return;
  if (!parent.beforeHooksDone) {
    parent.beforeHooksDone = true;
    if (parent.hooks.before.length > 0) {
      parent.beforeHookFailure = await runHooks(parent.hooks.before, new TestContext(parent), parent, 'before');
    }
  }
  if (parent.beforeHookFailure) {
    cancelTree(node, `cancelled: before hook of test "${parent.name}" failed: ` +
      describeThrown(parent.beforeHookFailure.error), parent.beforeHookFailure.error);
    return;
  }
  if (parent.runOnlySubtests && !node.only) {
    if (node.kind === 'test') recordSkipped(node, "'only' option not set");
    node.settled.resolve();
    return;
  }
  if (node.kind === 'test') await runTest(node);
  else await runContainer(node);
}

function failLateSubtest(node) {
  if (node.kind !== 'test') return;
  finishRecord(node, 0, 'fail', { message: 'test could not be started because its parent finished' });
  node.state = 'finished';
  node.settled.resolve();
}

/** The `t` passed to test functions and to beforeEach/afterEach hooks. */
class TestContext {
  #test;

  constructor(test) {
    this.#test = test;
  }

  get name() {
    return this.#test.name;
  }

  get fullName() {
    return this.#test.ancestorNames().concat(this.#test.name).join(' > ');
  }

  get signal() {
    return this.#test.abortController ? this.#test.abortController.signal : undefined;
  }

  /** Adds a line to the test's `diagnostics` in the report. */
  diagnostic(message) {
    this.#test.diagnostics.push(String(message));
  }

  /** Marks the test skipped (it keeps running; its outcome is ignored). */
  skip(message) {
    this.#test.skipRequested = message === undefined ? true : String(message);
  }

  /** Marks the test todo (it keeps running; a failure is not counted as one). */
  todo(message) {
    this.#test.todoRequested = message === undefined ? true : String(message);
  }

  /** With `true`, subtests without the `only` option are skipped. */
  runOnly(value) {
    this.#test.runOnlySubtests = Boolean(value);
  }

  /** Starts a subtest; resolves when it has finished (never rejects, like Node). Await it. */
  test(...args) {
    const { name, options, fn } = parseArguments(args);
    const parent = this.#test;
    const subtest = new Test(name, parent, parent.run, options, fn);
    parent.children.push(subtest);
    queueSubtest(parent, subtest);
    return subtest.settled.promise;
  }

  before(fn, options) {
    addContextHook(this.#test, 'before', fn, options);
  }

  after(fn, options) {
    addContextHook(this.#test, 'after', fn, options);
  }

  beforeEach(fn, options) {
    addContextHook(this.#test, 'beforeEach', fn, options);
  }

  afterEach(fn, options) {
    addContextHook(this.#test, 'afterEach', fn, options);
  }
}

function addContextHook(test, kind, fn, options) {
  if (typeof fn !== 'function') throw new TypeError(`The "fn" argument of t.${kind}() must be a function`);
  test.hooks[kind].push({ fn, options: options && typeof options === 'object' ? options : {} });
}

// ---------------------------------------------------------------------------------------------
// run(): import test files into a fresh run and execute it
// ---------------------------------------------------------------------------------------------

/**
 * Imports each file URL, then runs every test they registered.
 *
 * Each import gets a `daebug-run=<runId>` query so that re-running re-evaluates the test file.
 * Only the test file itself is re-imported this way: modules it imports (helpers, the app
 * under test) stay in the page's module cache and are not evaluated again.
 *
 * @param {{ files?: string[], timeout?: number, only?: boolean,
 *           onProgress?: (snapshot: { totals, duration, recentTests }) => void }} [options]
 * @returns {Promise<{ totals: { pass: number, fail: number, skip: number }, duration: number,
 *                     tests: object[], errors: object[] }>}
 */
function runHere(options = {}) {
  const testRun = new Run(options);
  return enqueueRun(async () => {
    registry.activeRun = testRun;
    try {
      for (const file of [].concat(options.files ?? [])) await importTestFile(testRun, String(file));
    } finally {
      testRun.collectingScope = testRun.root;
      registry.activeRun = null;
    }
    return executeRun(testRun);
  });
}

async function importTestFile(testRun, file) {
  const scope = new Container('file', file, testRun.root, testRun, {});
  testRun.root.children.push(scope);
  testRun.collectingScope = scope;
  try {
    await import(cacheBustedUrl(file, testRun.id));
  } catch (error) {
    scope.loadError = error;
  }
}

function cacheBustedUrl(file, runId) {
  if (/^(blob|data):/i.test(file)) return file; // fresh for every run already
  const base = globalThis.location && globalThis.location.href ? globalThis.location.href : import.meta.url;
  const url = new URL(file, base);
  url.searchParams.set('daebug-run', runId);
  return url.href;
}

// ---------------------------------------------------------------------------------------------
// run() inside a Daebug realm: discovery, isolation, progress in the realm's log
// ---------------------------------------------------------------------------------------------

/**
 * `run({ files, timeout, only, onProgress })`.
 *
 * Outside Daebug (plain Node, or the isolated frame below) it runs in this module graph.
 * In a Daebug realm (the shim's `__daebug` is present):
 * - `files` are globs or paths relative to the served root; none means Node's default test-file
 *   patterns. They are resolved by the server (`POST /-daebug-discover-tests`).
 * - In a page, the run happens in a fresh hidden iframe that shares the page's import map, so
 *   every run gets a fresh module graph and the page's own state is not disturbed; console
 *   output of the tests goes to the page's console (and so into the log).
 * - In a worker (where Chromium applies no import map), each test file is fetched and its
 *   `node:test` / `node:assert` and relative specifiers are rewritten to absolute URLs. Modules
 *   imported by test files must not import `node:*` themselves there.
 * - Progress is posted to `/-daebug-test-progress` at most every 2 s, and the complete list of
 *   results before the returned promise resolves, so the summary lands in the reply.
 * It resolves with `{ totals, duration }` (the log's reply value); the full report is kept in
 * `__daebug.lastTestReport`.
 */
export function run(options = {}) {
  const daebug = globalThis.__daebug;
  if (!daebug || typeof daebug !== 'object' || typeof daebug.name !== 'string') return runHere(options);
  return runInRealm(daebug, options);
}

const NODE_MODULE_PATHS = {
  'node:test': '/-daebug-node:test.js',
  'node:assert': '/-daebug-node:assert.js',
  'node:assert/strict': '/-daebug-node:assert.js?strict',
};
const PROGRESS_EVERY_MS = 2000;
const FRAME_START_TIMEOUT_MS = 15000;

async function runInRealm(daebug, options) {
  const files = await resolveTestFiles(options.files);
  const reporter = progressReporter(daebug.name);
  const onProgress = (snapshot) => {
    reporter.progress(snapshot);
    if (typeof options.onProgress === 'function') options.onProgress(snapshot);
  };
  const runOptions = { ...options, files, onProgress };
  const inPage = typeof document !== 'undefined' && typeof window !== 'undefined' && globalThis === window;
  const report = inPage
    ? await runInFrame(daebug, runOptions)
    : await runHere({ ...runOptions, files: await Promise.all(files.map(rewriteForWorker)) });
  await reporter.complete(report);
  publishReport(report);
  // The details are in the log's summary; the value shown as the reply stays short.
  return { totals: { ...report.totals }, duration: Math.round(report.duration) };
}

/** Absolute URLs of the test files: plain paths as given, globs through the server. */
async function resolveTestFiles(files) {
  const list = [].concat(files ?? []).map(String).filter((f) => f.trim() !== '');
  const origin = globalThis.location.origin;
  const isGlob = (f) => /[*?[\]{}]/.test(f);
  const plain = list.filter((f) => !isGlob(f)).map((f) =>
    /^[a-z][a-z0-9+.-]*:/i.test(f) ? f : new URL('/' + f.replace(/^\.?\/+/, ''), origin).href);
  const globs = list.filter(isGlob);
  let found = [];
  if (globs.length > 0 || list.length === 0) {
    const res = await fetch('/-daebug-discover-tests', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: globs }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(text.trim() || `test discovery failed (${res.status})`);
    found = JSON.parse(text).files.map((u) => new URL(u, origin).href);
  }
  const all = [...new Set([...plain, ...found])];
  if (all.length === 0) {
    const what = list.length ? list.join(', ') : "Node's default test-file patterns";
    throw new Error(`No test files found for ${what} under the served root.`);
  }
  return all;
}

/** Run in a fresh hidden same-origin iframe that shares the page's import map. */
function runInFrame(daebug, options) {
  return new Promise((resolve, reject) => {
    const id = 'run-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8);
    const frames = daebug.testFrames && typeof daebug.testFrames === 'object' ? daebug.testFrames : {};
    const frame = document.createElement('iframe');
    const cleanup = () => {
      clearTimeout(timer);
      delete frames[id];
      frame.remove();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`the isolated test frame did not start within ${FRAME_START_TIMEOUT_MS / 1000}s`));
    }, FRAME_START_TIMEOUT_MS);
    frames[id] = (frameRun, frameWindow) => {
      forwardConsole(frameWindow.console, console);
      Promise.resolve()
        .then(() => frameRun(options))
        .then((report) => { cleanup(); resolve(report); }, (error) => { cleanup(); reject(error); });
    };
    const maps = [...document.querySelectorAll('script[type="importmap"]')]
      .map((s) => `<script type="importmap">${s.textContent.replace(/<\//g, '<\\/')}</script>`)
      .join('');
    frame.hidden = true;
    frame.setAttribute('aria-hidden', 'true');
    frame.style.display = 'none';
    if (frames !== daebug.testFrames) throw new Error('this page\'s Daebug shim is too old for isolated test runs');
    frame.srcdoc = `<!doctype html><html><head>${maps}<script type="module">
import { run } from 'node:test';
parent.__daebug.testFrames[${JSON.stringify(id)}](run, window);
</script></head><body></body></html>`;
    (document.body || document.documentElement).appendChild(frame);
  });
}

function forwardConsole(from, to) {
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    try {
      from[level] = (...args) => to[level](...args);
    } catch (_) { /* keep the frame's own console */ }
  }
}

/** A test file a worker can import: node:* and relative specifiers made absolute. */
async function rewriteForWorker(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`cannot load test file ${url}: ${res.status}`);
  const source = await res.text();
  const origin = globalThis.location.origin;
  const rewritten = source.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g,
    (whole, lead, quote, spec) => {
      let target = spec;
      if (Object.hasOwn(NODE_MODULE_PATHS, spec)) target = new URL(NODE_MODULE_PATHS[spec], origin).href;
      else if (/^\.{0,2}\//.test(spec)) target = new URL(spec, url).href;
      return lead + quote + target + quote;
    });
  return URL.createObjectURL(new Blob([rewritten + `\n//# sourceURL=${url}`], { type: 'text/javascript' }));
}

function slimTest(t) {
  return {
    name: t.name,
    suite: t.suite,
    status: t.status,
    duration: t.duration,
    error: t.error ? { message: String(t.error.message ?? ''), stack: t.error.stack ? String(t.error.stack) : undefined } : undefined,
    todo: t.todo || undefined,
    skipReason: t.skipReason || undefined,
  };
}

/** Posts progress to the server: at most every 2 s while running, everything at the end. */
function progressReporter(realmName) {
  let queue = Promise.resolve();
  let pending = [];
  let last = 0;
  const post = (body) => {
    queue = queue.then(() => fetch('/-daebug-test-progress', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })).catch(() => {});
    return queue;
  };
  return {
    progress(snapshot) {
      pending.push(...(snapshot.recentTests || []).map(slimTest));
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS) return;
      last = now;
      post({ realmName, totals: snapshot.totals, duration: snapshot.duration, recentTests: pending.splice(0), complete: false });
    },
    complete(report) {
      return post({ realmName, totals: report.totals, duration: report.duration, allTests: report.tests.map(slimTest), complete: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

function withVariants(register) {
  const api = (...args) => register(args, {});
  api.skip = (...args) => register(args, { skip: true });
  api.todo = (...args) => register(args, { todo: true });
  api.only = (...args) => register(args, { only: true });
  return api;
}

/** `test([name][, options][, fn])`; returns a Promise that resolves when the test has run. */
export const test = withVariants(registerTest);
export const it = test;
/** `describe([name][, options][, fn])`; the callback runs at once to collect tests. */
export const describe = withVariants(registerSuite);
export const suite = describe;

export const before = (fn, options) => registerHook('before', fn, options);
export const after = (fn, options) => registerHook('after', fn, options);
export const beforeEach = (fn, options) => registerHook('beforeEach', fn, options);
export const afterEach = (fn, options) => registerHook('afterEach', fn, options);

test.test = test;
test.it = it;
test.describe = describe;
test.suite = suite;
test.before = before;
test.after = after;
test.beforeEach = beforeEach;
test.afterEach = afterEach;
test.run = run;

export default test;
