/**
 * Daebug browser shim.
 *
 * Served as GET /-daebug-shim.js (a classic script injected at the start of every HTML page's
 * <head>) and, byte for byte, as GET /-daebug-worker-bootstrap.js (the module worker that each page
 * starts beside itself). This file owns everything that happens inside a realm:
 *
 *   - naming the realm (sessionStorage in pages, the `?name=` query in workers);
 *   - the long-poll loop against /-daebug-channel, evaluating jobs and posting results;
 *   - compiling code as an async function body that returns the last expression's value;
 *   - turning values into faithful JSON or readable text (`render`);
 *   - capturing console calls, uncaught errors and unhandled rejections as background events;
 *   - in pages: starting the worker realm and restarting it when it misses heartbeats.
 *
 * The only global it adds is `globalThis.__daebug`. It must never break the page: every failure is
 * caught, and nothing but the console methods is patched.
 */
(function daebugShim() {
  'use strict';

  const G = globalThis;
  if (G.__daebug) return; // injected twice: the first copy is in charge

  const VERSION = '0.1.0';
  const IS_WORKER = typeof WorkerGlobalScope !== 'undefined' && G instanceof WorkerGlobalScope;
  const CHANNEL_PATH = '/-daebug-channel';
  const WORKER_PATH = '/-daebug-worker-bootstrap.js';
  const RESULT_LIMIT = 100000; // characters of result / error text
  const EVENT_TEXT_LIMIT = 10000; // characters per event message or stack
  const EVENT_BUFFER_LIMIT = 500; // events kept per job and between jobs
  const FLUSH_INTERVAL_MS = 2000;
  const CONSOLE_LEVELS = ['log', 'info', 'warn', 'error', 'debug'];
  // 48 words x 15 numbers: 720 names per second of naming. Two tabs may still draw the same
  // name; the server refuses a name a live realm holds, and the shim draws again.
  const NAME_WORDS = ['zen', 'oak', 'fern', 'moss', 'reef', 'dune', 'mist', 'pine', 'lake', 'hill',
    'tide', 'leaf', 'wave', 'sky', 'rain', 'snow', 'peak', 'glen', 'cove', 'bay', 'elm', 'ash',
    'fir', 'ivy', 'sun', 'star', 'moon', 'dew', 'bog', 'vale', 'brook', 'reed', 'sage', 'lark',
    'wren', 'fox', 'owl', 'hare', 'cedar', 'delta', 'fjord', 'heath', 'marsh', 'pond', 'rock',
    'shore', 'stone', 'wind'];

  // Natives captured before page code runs, so page patches (fetch wrappers, fake timers,
  // mocked Date, a redefined JSON.stringify, a frozen console) neither see nor disturb the
  // shim's own work. Everything the shim calls at job time comes from here.
  const NativeDate = Date;
  const NativePromise = Promise;
  const promiseRace = Promise.race.bind(Promise);
  const jsonStringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const NativeURL = URL;
  const NativeURLSearchParams = URLSearchParams;
  const NativeError = Error;
  const { getOwnPropertyDescriptor, getPrototypeOf, defineProperty, assign: objectAssign, keys: objectKeys, is: objectIs } = Object;
  const ownKeys = Reflect.ownKeys;
  const reflectApply = Reflect.apply;
  const hasOwn = Object.prototype.hasOwnProperty;
  const toStringOf = Object.prototype.toString;
  const mathRandom = Math.random;
  const mathFloor = Math.floor;
  const now = () => NativeDate.now();
  const isoNow = () => new NativeDate().toISOString();
  const nativeEval = G.eval;
  const nativeFetch = typeof G.fetch === 'function' ? G.fetch.bind(G) : null;
  const NativeWebSocket = typeof G.WebSocket === 'function' ? G.WebSocket : null;
  const NativeWorker = typeof G.Worker === 'function' ? G.Worker : null;
  const NativeBroadcastChannel = typeof G.BroadcastChannel === 'function' ? G.BroadcastChannel : null;
  const NativeBlob = typeof G.Blob === 'function' ? G.Blob : null;
  const abortAfter = (() => { try { return typeof G.AbortSignal.timeout === 'function' ? G.AbortSignal.timeout.bind(G.AbortSignal) : null; } catch (_) { return null; } })();
  const sendBeacon = (() => { try { return G.navigator && typeof G.navigator.sendBeacon === 'function' ? G.navigator.sendBeacon.bind(G.navigator) : null; } catch (_) { return null; } })();
  const addListener = typeof G.addEventListener === 'function' ? G.addEventListener.bind(G) : null;
  const DOC = !G.document ? null : G.document;
  const createElement = DOC ? DOC.createElement.bind(DOC) : null;
  const headersGet = typeof G.Headers === 'function' ? G.Headers.prototype.get : null;
  const responseText = typeof G.Response === 'function' ? G.Response.prototype.text : null;
  const storage = (() => { try { return G.sessionStorage || null; } catch (_) { return null; } })();
  const storageGet = typeof G.Storage === 'function' ? G.Storage.prototype.getItem : null;
  const storageSet = typeof G.Storage === 'function' ? G.Storage.prototype.setItem : null;
  const setTimer = typeof G.setTimeout === 'function' ? G.setTimeout.bind(G) : () => 0;
  const clearTimer = typeof G.clearTimeout === 'function' ? G.clearTimeout.bind(G) : () => {};
  const setRepeat = typeof G.setInterval === 'function' ? G.setInterval.bind(G) : () => 0;
  const clearRepeat = typeof G.clearInterval === 'function' ? G.clearInterval.bind(G) : () => {};
  const sleep = (ms) => new NativePromise((resolve) => setTimer(resolve, ms));
  const objectTag = (v) => toStringOf.call(v);
  const fnToString = Function.prototype.toString;

  const pageConsole = G.console;
  const originalConsole = {};
  if (pageConsole) {
    for (const level of CONSOLE_LEVELS) {
      if (typeof pageConsole[level] === 'function') originalConsole[level] = pageConsole[level];
    }
  }
  /** Log through the unwrapped console; used for the shim's own diagnostics only. */
  function debugLog(...args) {
    try { originalConsole.debug && reflectApply(originalConsole.debug, pageConsole, ['[daebug]', ...args]); } catch (_) { /* ignore */ }
  }

  // The shim's own script URL, read from a stack trace, lets us skip shim frames when looking for
  // the caller of a console method and when cleaning error stacks.
  const SELF_FILE = (() => {
    try {
      if (!IS_WORKER && G.document && G.document.currentScript && G.document.currentScript.src) {
        return G.document.currentScript.src;
      }
      return frameFile(frameLocation(String(new NativeError().stack).split('\n').find((l) => frameLocation(l))));
    } catch (_) { return ''; }
  })();
  const SERVER_ORIGIN = (() => {
    try { return new NativeURL(SELF_FILE || G.location.href).origin; } catch (_) { return ''; }
  })();
  // A host may run the core's endpoints on a port of their own (`data-daebug-port` on the shim's
  // script tag; `port` in the worker's URL), so long polls and results skip the host's server.
  // Used only when the page itself is on a loopback host (the core listens on loopback only).
  const DIRECT_PORT = (() => {
    try {
      const raw = IS_WORKER
        ? new NativeURLSearchParams(G.location.search).get('port')
        : G.document && G.document.currentScript && G.document.currentScript.getAttribute('data-daebug-port');
      const port = Number(raw);
      const host = G.location.hostname;
      const loopback = host === 'localhost' || /^127\./.test(host) || host === '[::1]' || host === '::1';
      return raw && Number.isInteger(port) && port > 0 && port < 65536 && loopback ? port : 0;
    } catch (_) { return 0; }
  })();
  const CHANNEL_ORIGIN = (() => {
    if (!DIRECT_PORT) return SERVER_ORIGIN;
    try { return `${G.location.protocol}//${G.location.hostname.includes(':') && !G.location.hostname.startsWith('[') ? '[' + G.location.hostname + ']' : G.location.hostname}:${DIRECT_PORT}`; } catch (_) { return SERVER_ORIGIN; }
  })();
  const SELF_SCRIPT = (() => { try { return (!IS_WORKER && DOC && DOC.currentScript) || null; } catch (_) { return null; } })();
  /** The page's CSP nonce, when the server put one on our tag: job scripts carry it too. */
  const NONCE = (() => { try { return SELF_SCRIPT ? String(SELF_SCRIPT.nonce || SELF_SCRIPT.getAttribute('nonce') || '') : ''; } catch (_) { return ''; } })();
  /** Whether `import('node:test')` resolves through an import map here. Not in workers (no import
   * maps there), not in browsers without import maps, and not where the page's policy kept our
   * map out (the server marks the tag): then the server points those imports at its modules. */
  const HAS_IMPORT_MAP = (() => {
    if (IS_WORKER) return false;
    try {
      if (SELF_SCRIPT && SELF_SCRIPT.getAttribute('data-daebug-importmap') === 'none') return false;
      const S = G.HTMLScriptElement;
      return !!(S && typeof S.supports === 'function' && S.supports('importmap'));
    } catch (_) { return false; }
  })();
  /** For tests and diagnosis: `sessionStorage['daebug-channel']` = `shared-poll` or `own-poll`
   * skips the WebSocket (as on a host without upgrades); the page passes it to its worker. */
  const CHANNEL_MODE = (() => {
    try {
      const raw = IS_WORKER ? new NativeURLSearchParams(G.location.search).get('channel') : (storage && (storageGet || storage.getItem).call(storage, 'daebug-channel'));
      return raw === 'shared-poll' || raw === 'own-poll' ? raw : '';
    } catch (_) { return ''; }
  })();
  /** One id per realm instance (page load or worker start): the server lets one live instance
   * hold a name, and refuses the name to others. */
  const INSTANCE_ID = (() => {
    try { if (G.crypto && typeof G.crypto.randomUUID === 'function') return G.crypto.randomUUID(); } catch (_) { /* ignore */ }
    return now().toString(36) + '-' + mathRandom().toString(36).slice(2);
  })();

  // --- Realm naming ---------------------------------------------------------------------------

  function twoDigits(n) { return String(n).padStart(2, '0'); }

  /** `<n>-<word>-<HHMM>-<SS>` in local time, e.g. `7-zen-1201-03`. */
  function generateName(at = new NativeDate()) {
    const n = 5 + mathFloor(mathRandom() * 15);
    const word = NAME_WORDS[mathFloor(mathRandom() * NAME_WORDS.length)];
    return `${n}-${word}-${twoDigits(at.getHours())}${twoDigits(at.getMinutes())}-${twoDigits(at.getSeconds())}`;
  }

  function sessionGet(key) {
    try { return storage ? (storageGet || storage.getItem).call(storage, key) : null; } catch (_) { return null; }
  }

  function sessionSet(key, value) {
    try { if (storage) (storageSet || storage.setItem).call(storage, key, value); } catch (_) { /* memory only */ }
  }

  /** Page realms keep their name per tab. Same-origin iframes share sessionStorage with the top
   * page, so frames use their own key to avoid two realms under one name. */
  function nameKey() {
    let key = 'daebug-name';
    try { if (G.top !== G.self) key += ':frame:' + G.location.pathname + G.location.search; } catch (_) { /* ignore */ }
    return key;
  }

  function pageRealmName() {
    const stored = sessionGet(nameKey());
    if (stored) return stored;
    return storeNewName();
  }

  function storeNewName() {
    const name = generateName();
    sessionSet(nameKey(), name);
    return name;
  }

  function workerRealmName() {
    try {
      const name = new NativeURLSearchParams(G.location.search).get('name');
      if (name) return name;
    } catch (_) { /* ignore */ }
    return generateName() + '-webworker';
  }

  const NAME_INHERITED = !IS_WORKER && !!sessionGet(nameKey());
  // `let`: a page that finds its inherited name in use by another live tab takes a new one.
  let NAME = IS_WORKER ? workerRealmName() : pageRealmName();

  /**
   * A tab opened with window.open or "Duplicate tab" inherits sessionStorage, and so the name of
   * a page that is still alive; two tabs under one name would take each other's jobs. Before its
   * first poll, a page whose name was inherited asks the other same-origin pages; if one answers
   * to that name, it takes a new one. A reloaded page keeps its name: its old self is gone and
   * cannot answer. Afterwards, the page answers for its own name.
   */
  function claimName() {
    const Channel = NativeBroadcastChannel;
    if (IS_WORKER || typeof Channel !== 'function') return NativePromise.resolve();
    const answerForName = () => {
      try {
        const ch = new Channel('daebug-realm-names');
        ch.onmessage = (e) => {
          if (e.data && e.data.type === 'who' && e.data.name === NAME) ch.postMessage({ type: 'here', name: NAME });
        };
      } catch (_) { /* ignore */ }
    };
    if (!NAME_INHERITED) {
      answerForName();
      return NativePromise.resolve();
    }
    return new NativePromise((resolve) => {
      let ch;
      const done = (taken) => {
        try { ch && ch.close(); } catch (_) { /* ignore */ }
        if (taken) NAME = storeNewName();
        answerForName();
        resolve();
      };
      const timer = setTimer(() => done(false), 150);
      try {
        ch = new Channel('daebug-realm-names');
        ch.onmessage = (e) => {
          if (e.data && e.data.type === 'here' && e.data.name === NAME) { clearTimer(timer); done(true); }
        };
        ch.postMessage({ type: 'who', name: NAME });
      } catch (_) { clearTimer(timer); done(false); }
    });
  }

  // --- Readable rendering ---------------------------------------------------------------------

  const MAX_DEPTH = 6;
  const MAX_ITEMS = 100; // array / map / set entries shown
  const MAX_PROPS = 200; // object properties shown
  const MAX_NESTED_STRING = 10000;
  const BREAK_LENGTH = 72; // longer groups go one entry per line
  const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

  /** True when calling `check` does not throw: a brand check that also works across realms. */
  function brand(check) {
    try { check(); return true; } catch (_) { return false; }
  }
  const protoGetter = (proto, key) => getOwnPropertyDescriptor(proto, key).get;
  const typedArrayTagGetter = protoGetter(getPrototypeOf(Int8Array.prototype), Symbol.toStringTag);
  const arrayBufferLength = protoGetter(ArrayBuffer.prototype, 'byteLength');
  const regexpSource = protoGetter(RegExp.prototype, 'source');
  const mapSize = protoGetter(Map.prototype, 'size');
  const setSize = protoGetter(Set.prototype, 'size');

  /** Readable, node-inspect-like text for any value. Never throws. */
  function render(value) {
    try {
      return inspect(value, { depth: 0, seen: [] });
    } catch (_) {
      try { return String(value); } catch (_) { return '[unrenderable]'; }
    }
  }

  function inspect(v, ctx) {
    switch (typeof v) {
      case 'undefined': return 'undefined';
      case 'boolean': return String(v);
      case 'number': return objectIs(v, -0) ? '-0' : String(v);
      case 'bigint': return `${v}n`;
      case 'symbol': return symbolText(v);
      case 'string': return ctx.depth === 0 ? jsonStringify(v) : quote(v);
      default: break;
    }
    if (v === null) return 'null';
    if (ctx.seen.includes(v)) return '[Circular]';
    ctx.seen.push(v);
    try {
      return typeof v === 'function' ? inspectFunction(v, ctx) : inspectObject(v, ctx);
    } finally {
      ctx.seen.pop();
    }
  }

  function symbolText(sym) {
    try { return Symbol.prototype.toString.call(sym); } catch (_) { return 'Symbol()'; }
  }

  /** Node-style quoting for strings inside containers: single quotes unless that needs escapes. */
  function quote(s) {
    let cut = '';
    if (s.length > MAX_NESTED_STRING) {
      cut = `... ${s.length - MAX_NESTED_STRING} more characters`;
      s = s.slice(0, MAX_NESTED_STRING);
    }
    const q = s.includes("'") && !s.includes('"') ? '"' : "'";
    const escaped = s.replace(/[\\\x00-\x1f\x7f]/g, (c) => {
      const named = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\\': '\\\\' }[c];
      return named || '\\x' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    }).split(q).join('\\' + q);
    return q + escaped + q + cut;
  }

  function keyText(key) {
    if (typeof key === 'symbol') return `[${symbolText(key)}]`;
    return /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key);
  }

  /** `prefix{ a, b }` on one line when short, otherwise one indented entry per line. */
  function group(prefix, open, items, close) {
    if (items.length === 0) return prefix + open + close;
    const line = items.join(', ');
    if (prefix.length + line.length <= BREAK_LENGTH && !line.includes('\n')) {
      return `${prefix}${open} ${line} ${close}`;
    }
    const rows = packShortItems(items);
    return `${prefix}${open}\n${rows.map((row) => '  ' + row.split('\n').join('\n  ')).join(',\n')}\n${close}`;
  }

  /** Many short entries (e.g. numbers) share lines instead of one per line. */
  function packShortItems(items) {
    const more = /^\.\.\. \d+ more/.test(items[items.length - 1]) ? items.slice(-1) : [];
    const body = more.length ? items.slice(0, -1) : items;
    if (body.length <= 6 || !body.every((item) => item.length <= 16 && !item.includes('\n'))) return items;
    const width = Math.max(...body.map((item) => item.length)) + 2;
    const perRow = Math.max(1, Math.floor(BREAK_LENGTH / width));
    const rows = [];
    for (let i = 0; i < body.length; i += perRow) rows.push(body.slice(i, i + perRow).join(', '));
    return rows.concat(more);
  }

  function child(value, ctx) {
    return inspect(value, { depth: ctx.depth + 1, seen: ctx.seen });
  }

  /** Constructor name from the prototype chain, read without invoking getters. */
  function constructorName(obj) {
    let proto;
    try { proto = getPrototypeOf(obj); } catch (_) { return ''; }
    for (let hops = 0; proto && hops < 50; hops++) {
      try {
        const desc = getOwnPropertyDescriptor(proto, 'constructor');
        const name = desc && typeof desc.value === 'function' ? desc.value.name : '';
        if (name && typeof name === 'string') return name;
        proto = getPrototypeOf(proto);
      } catch (_) { return ''; }
    }
    return '';
  }

  /** `key: value` entries for own enumerable properties (indices skipped when asked). */
  function propertyItems(obj, ctx, skipIndices) {
    let keys;
    try { keys = ownKeys(obj); } catch (_) { return ['<properties unreadable>']; }
    const items = [];
    let shown = 0;
    let hidden = 0;
    for (const key of keys) {
      if (skipIndices && typeof key === 'string' && (key === 'length' || /^(0|[1-9]\d*)$/.test(key))) continue;
      let desc;
      try { desc = getOwnPropertyDescriptor(obj, key); } catch (_) {
        items.push(`${keyText(key)}: <unreadable>`);
        continue;
      }
      if (!desc || !desc.enumerable) continue;
      if (shown >= MAX_PROPS) { hidden++; continue; }
      shown++;
      items.push(`${keyText(key)}: ${describeSlot(desc, ctx)}`);
    }
    if (hidden) items.push(`... ${hidden} more properties`);
    return items;
  }

  /** A property's value, or `[Getter]`-style labels: rendering never runs page getters. */
  function describeSlot(desc, ctx) {
    if ('value' in desc) return child(desc.value, ctx);
    if (desc.get && desc.set) return '[Getter/Setter]';
    return desc.get ? '[Getter]' : '[Setter]';
  }

  function inspectFunction(fn, ctx) {
    let name = '';
    try { name = typeof fn.name === 'string' ? fn.name : ''; } catch (_) { /* ignore */ }
    let source = '';
    try { source = fnToString.call(fn); } catch (_) { /* ignore */ }
    let text;
    if (/^class\b/.test(source)) {
      let base = '';
      try {
        const parent = getPrototypeOf(fn);
        if (typeof parent === 'function' && parent.name) base = ` extends ${parent.name}`;
      } catch (_) { /* ignore */ }
      text = `[class ${name || '(anonymous)'}${base}]`;
    } else {
      const kind = objectTag(fn).slice(8, -1); // Function, AsyncFunction, GeneratorFunction...
      text = `[${kind === 'Object' ? 'Function' : kind}${name ? ': ' + name : ' (anonymous)'}]`;
    }
    if (ctx.depth > MAX_DEPTH) return text;
    const props = propertyItems(fn, ctx, false);
    return props.length ? group(text + ' ', '{', props, '}') : text;
  }

  function inspectObject(v, ctx) {
    const tag = objectTag(v);
    const special = inspectSpecial(v, tag, ctx);
    if (special !== undefined) return special;

    const isArray = Array.isArray(v);
    const name = constructorName(v);
    if (ctx.depth > MAX_DEPTH) return `[${name || (isArray ? 'Array' : 'Object')}]`;
    if (isArray) return inspectArrayLike(v, ctx, name === 'Array' ? '' : `${name || 'Array'}(${v.length}) `);
    if (ArrayBuffer.isView(v)) {
      const typedName = typedArrayTagGetter.call(v);
      if (typedName) return inspectArrayLike(v, ctx, `${typedName}(${v.length}) `);
      return `DataView { byteLength: ${v.byteLength}, byteOffset: ${v.byteOffset} }`;
    }
    if (tag === '[object Arguments]') return inspectArrayLike(v, ctx, '[Arguments] ');
    if (brand(() => Map.prototype.has.call(v))) return inspectMap(v, ctx);
    if (brand(() => Set.prototype.has.call(v))) return inspectSet(v, ctx);

    let proto;
    try { proto = getPrototypeOf(v); } catch (_) { proto = undefined; }
    const tagName = tag.slice(8, -1);
    let prefix = '';
    if (proto === null) prefix = '[Object: null prototype] ';
    else if (!name) prefix = `${tagName} `;
    else if (tagName !== 'Object' && tagName !== name) prefix = `${name} [${tagName}] `; // e.g. Object [Generator]
    else if (name !== 'Object') prefix = `${name} `;
    return group(prefix, '{', propertyItems(v, ctx, false), '}');
  }

  /** Values with a fixed textual form: dates, regexps, errors, DOM nodes, boxed primitives... */
  function inspectSpecial(v, tag, ctx) {
    if (brand(() => NativeDate.prototype.getTime.call(v))) {
      const time = NativeDate.prototype.getTime.call(v);
      return Number.isNaN(time) ? 'Invalid Date' : `Date(${NativeDate.prototype.toISOString.call(v)})`;
    }
    if (brand(() => regexpSource.call(v)) && v !== RegExp.prototype) return RegExp.prototype.toString.call(v);
    if (isErrorLike(v, tag)) return inspectError(v, ctx);
    if (isDomNode(v)) return inspectNode(v, ctx);
    if (tag === '[object NodeList]' || tag === '[object HTMLCollection]') {
      return inspectArrayLike(v, ctx, `${tag.slice(8, -1)}(${v.length}) `);
    }
    if (tag === '[object Window]') return `Window (${safeHref(v)})`;
    if (tag === '[object Location]') return `Location (${safeHref({ location: v })})`;
    if (v === G) return `[global ${tag.slice(8, -1)}]`;
    if (brand(() => Number.prototype.valueOf.call(v))) return `[Number: ${inspect(Number.prototype.valueOf.call(v), ctx)}]`;
    if (brand(() => String.prototype.valueOf.call(v))) return `[String: ${quote(String.prototype.valueOf.call(v))}]`;
    if (brand(() => Boolean.prototype.valueOf.call(v))) return `[Boolean: ${Boolean.prototype.valueOf.call(v)}]`;
    if (brand(() => BigInt.prototype.valueOf.call(v))) return `[BigInt: ${BigInt.prototype.valueOf.call(v)}n]`;
    if (brand(() => Symbol.prototype.valueOf.call(v))) return `[Symbol: ${symbolText(Symbol.prototype.valueOf.call(v))}]`;
    if (brand(() => WeakMap.prototype.has.call(v, {}))) return 'WeakMap { <items unknown> }';
    if (brand(() => WeakSet.prototype.has.call(v, {}))) return 'WeakSet { <items unknown> }';
    if (typeof WeakRef === 'function' && brand(() => WeakRef.prototype.deref.call(v))) return 'WeakRef { <target unknown> }';
    if (tag === '[object Promise]' || v instanceof Promise) return 'Promise { <state unknown> }';
    if (brand(() => arrayBufferLength.call(v))) return `ArrayBuffer { byteLength: ${arrayBufferLength.call(v)} }`;
    return undefined;
  }

  function safeHref(win) {
    try { return String(win.location.href); } catch (_) { return 'cross-origin'; }
  }

  /** Arrays, typed arrays, NodeLists and arguments: `prefix[ a, b, <2 empty items> ]`. */
  function inspectArrayLike(list, ctx, prefix) {
    const items = [];
    const length = Number(list.length) || 0;
    let i = 0;
    let budget = 100000; // index probes, so a huge sparse array can't stall rendering
    while (i < length && items.length < MAX_ITEMS && budget > 0) {
      let desc;
      try { desc = getOwnPropertyDescriptor(list, i); } catch (_) { desc = { value: '<unreadable>' }; }
      if (!desc) {
        let holes = 0;
        while (i < length && budget-- > 0 && !hasOwn.call(list, i)) { holes++; i++; }
        items.push(`<${holes} empty item${holes === 1 ? '' : 's'}>`);
        continue;
      }
      items.push(describeSlot(desc, ctx));
      i++;
    }
    if (i < length) items.push(`... ${length - i} more item${length - i === 1 ? '' : 's'}`);
    if (Array.isArray(list)) items.push(...propertyItems(list, ctx, true));
    return group(prefix, '[', items, ']');
  }

  function inspectMap(map, ctx) {
    const name = constructorName(map) || 'Map';
    if (ctx.depth > MAX_DEPTH) return `[${name}]`;
    const size = mapSize.call(map);
    const items = [];
    for (const [key, value] of Map.prototype.entries.call(map)) {
      if (items.length >= MAX_ITEMS) { items.push(`... ${size - MAX_ITEMS} more items`); break; }
      items.push(`${child(key, ctx)} => ${child(value, ctx)}`);
    }
    return group(`${name}(${size}) `, '{', items, '}');
  }

  function inspectSet(set, ctx) {
    const name = constructorName(set) || 'Set';
    if (ctx.depth > MAX_DEPTH) return `[${name}]`;
    const size = setSize.call(set);
    const items = [];
    for (const value of Set.prototype.values.call(set)) {
      if (items.length >= MAX_ITEMS) { items.push(`... ${size - MAX_ITEMS} more items`); break; }
      items.push(child(value, ctx));
    }
    return group(`${name}(${size}) `, '{', items, '}');
  }

  function isErrorLike(v, tag) {
    if (tag === '[object Error]') return true;
    try { return v instanceof Error; } catch (_) { return false; }
  }

  /** The error's stack when it names the error, else `Name: message` (plus the stack if any). */
  function errorHeadline(err) {
    let head = '';
    try { head = String(err); } catch (_) { head = ''; }
    let stack = '';
    try { stack = typeof err.stack === 'string' ? err.stack : ''; } catch (_) { /* ignore */ }
    if (!stack) return head || '[error]';
    if (!head || stack.includes(head)) return stack; // V8 puts "Name: message" on the first line
    return `${head}\n${stack}`; // Firefox and Safari stacks hold frames only
  }

  function inspectError(err, ctx) {
    const text = errorHeadline(err);
    if (ctx.depth > MAX_DEPTH) return text.split('\n')[0];
    const items = propertyItems(err, ctx, false).filter((item) => !/^(stack|message): /.test(item));
    try {
      const cause = getOwnPropertyDescriptor(err, 'cause');
      if (cause && !cause.enumerable) items.push(`[cause]: ${describeSlot(cause, ctx)}`);
    } catch (_) { /* ignore */ }
    return items.length ? group(text + ' ', '{', items, '}') : text;
  }

  function isDomNode(v) {
    try {
      return typeof v.nodeType === 'number' && typeof v.nodeName === 'string' &&
        typeof Node !== 'undefined' && v instanceof Node;
    } catch (_) { return false; }
  }

  function openingTag(el) {
    const name = String(el.localName || el.nodeName).toLowerCase();
    let attrs = '';
    for (const attr of Array.from(el.attributes || []).slice(0, 20)) {
      const value = String(attr.value);
      const shown = value.length > 100 ? value.slice(0, 100) + '\u2026' : value;
      attrs += ` ${attr.name}="${shown.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`;
    }
    return { name, tag: `<${name}${attrs}>` };
  }

  /** Elements: full outerHTML at top level (cut at 300 chars), `<tag attrs>...</tag>` nested. */
  function inspectNode(node, ctx) {
    switch (node.nodeType) {
      case 1: {
        if (ctx.depth === 0) {
          const html = String(node.outerHTML);
          return html.length <= 300 ? html : `${html.slice(0, 300)}\u2026 (${html.length - 300} more characters)`;
        }
        const { name, tag } = openingTag(node);
        if (VOID_ELEMENTS.has(name)) return tag;
        return node.childNodes && node.childNodes.length ? `${tag}\u2026</${name}>` : `${tag}</${name}>`;
      }
      case 2: return `${node.name}="${node.value}"`;
      case 3: return `#text ${jsonStringify(String(node.data).slice(0, 200))}`;
      case 8: return `<!--${String(node.data).slice(0, 200)}-->`;
      case 9: return `#document (${node.URL})`;
      case 10: return `<!DOCTYPE ${node.name}>`;
      case 11: return node.host
        ? `#shadow-root (${node.mode}) of ${openingTag(node.host).tag}`
        : `#document-fragment (${node.childNodes.length} nodes)`;
      default: return `#${String(node.nodeName).replace(/^#/, '')}`;
    }
  }

  // --- Results: faithful JSON or text ---------------------------------------------------------

  function cutText(text, limit = RESULT_LIMIT) {
    if (text.length <= limit) return text;
    let end = limit;
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--; // don't split a surrogate pair
    return `${text.slice(0, end)}\n\u2026 (${text.length - end} more characters cut)`;
  }

  function isPlainPrototype(proto) {
    if (proto === null || proto === Object.prototype) return true;
    // Plain objects from another realm (iframe) have that realm's Object.prototype.
    try { return getPrototypeOf(proto) === null && constructorName({ __proto__: proto }) === 'Object'; } catch (_) { return false; }
  }

  /** True when jsonStringify(v) round-trips to an equal value (see SPEC 3.1). */
  function isFaithfulJson(v, path = new Set(), depth = 0) {
    if (v === null) return true;
    switch (typeof v) {
      case 'boolean': case 'string': return true;
      case 'number': return Number.isFinite(v) && !objectIs(v, -0);
      case 'object': break;
      default: return false;
    }
    if (depth > 500 || path.has(v)) return false;
    try {
      const isArray = Array.isArray(v);
      if (isArray ? constructorName(v) !== 'Array' : !isPlainPrototype(getPrototypeOf(v))) return false;
      path.add(v);
      let indices = 0;
      for (const key of ownKeys(v)) {
        const desc = getOwnPropertyDescriptor(v, key);
        if (!desc) return false;
        if (isArray && key === 'length') continue;
        if (typeof key === 'symbol' || !desc.enumerable) {
          if (desc.enumerable || isArray) return false;
          continue; // non-enumerable: JSON and readers ignore it alike
        }
        if (isArray) {
          if (!/^(0|[1-9]\d*)$/.test(key)) return false;
          indices++;
        }
        if (!('value' in desc) || !isFaithfulJson(desc.value, path, depth + 1)) return false;
      }
      path.delete(v);
      return !isArray || indices === v.length; // holes are not faithful
    } catch (_) {
      return false;
    }
  }

  /** `{ value }` holding a JSON value, or `{ value: text, valueKind: 'text' }`. */
  function encodeResult(value) {
    if (isFaithfulJson(value)) {
      const json = jsonStringify(value);
      if (json.length <= RESULT_LIMIT) return { value };
      return { value: cutText(jsonStringify(value, null, 2)), valueKind: 'text' };
    }
    return { value: cutText(render(value)), valueKind: 'text' };
  }

  // --- Compiling code as an async function body -----------------------------------------------

  const AsyncFunction = (async function () {}).constructor;
  const MAX_COMPILE_ATTEMPTS = 200;
  const MAX_DELIVERY_ATTEMPTS = 8; // job scripts tried per job before plain statements
  // A suffix starting like this is a statement, not an expression we could return.
  const STATEMENT_START = /^(?:let|const|var|function|class|if|for|while|do|switch|try|return|throw|export|break|continue|else|catch|finally|case|default|debugger|with|async\s+function|import(?!\s*[(.]))(?![\w$])/;
  // After a newline or `}` (no explicit `;`), a suffix starting like this continues the previous
  // statement rather than starting a new one, so splitting there would change the program.
  const CONTINUES_PREVIOUS = /^(?:[([`+\-*/%=<>&|^?:,.]|!=|in(?![\w$])|instanceof(?![\w$]))/;
  const LEADING_TRIVIA = /^(?:\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*/;
  const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

  /**
   * A light lexical pass: statement-boundary candidates at bracket depth 0 (just after `;`, a `}`
   * or a newline), skipping strings, comments, template literals and regex literals; and the end
   * of the last significant character (so trailing `;` and comments can be left out).
   */
  function scanTopLevel(code) {
    const n = code.length;
    const splits = [];
    const stack = []; // '(', '[', '{' or '${' (a template substitution)
    const ctrlParens = []; // per open '(': does it belong to `if`/`for`/`while`/`with`?
    let afterCtrl = false; // the last significant token closed a control header
    let i = 0;
    let lastEnd = 0;
    let prev = ''; // last significant character class, for regex-vs-division
    let word = '';
    const significant = (marker, end) => { prev = marker; lastEnd = end; i = end; afterCtrl = false; };
    const resumeTemplate = (from) => { // from: just after '`' or a substitution's '}'
      let j = from;
      for (; j < n; j++) {
        if (code[j] === '\\') { j++; continue; }
        if (code[j] === '`') { significant('`', j + 1); return; }
        if (code[j] === '$' && code[j + 1] === '{') { stack.push('${'); significant('{', j + 2); return; }
      }
      significant('`', n);
    };
    while (i < n) {
      const c = code[i];
      if (c === '\n' || c === '\u2028' || c === '\u2029') {
        // After `if (a)`, `else` or `do` a new line continues the statement: not a split point
        // for "return the last expression" (without a parser to tell us the prefix is incomplete).
        if (stack.length === 0) splits.push({ pos: i + 1, kind: 'line', ctrl: afterCtrl || (prev === 'a' && (word === 'else' || word === 'do')) });
        i++;
      } else if (/\s/.test(c)) {
        i++;
      } else if (c === '/' && code[i + 1] === '/') {
        const end = code.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (c === '/' && code[i + 1] === '*') {
        const end = code.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c === '"' || c === "'") {
        let j = i + 1;
        while (j < n && code[j] !== c && code[j] !== '\n') j += code[j] === '\\' ? 2 : 1;
        word = '';
        significant('"', Math.min(j + 1, n));
      } else if (c === '`') {
        word = '';
        resumeTemplate(i + 1);
      } else if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev) || (prev === 'a' && REGEX_AFTER_WORD.has(word)))) {
        let j = i + 1;
        let inClass = false;
        while (j < n && code[j] !== '\n') {
          const ch = code[j];
          if (ch === '\\') { j += 2; continue; }
          j++;
          if (ch === '[') inClass = true;
          else if (ch === ']') inClass = false;
          else if (ch === '/' && !inClass) break;
        }
        while (j < n && /[a-z]/i.test(code[j])) j++;
        word = '';
        significant('r', j);
      } else if (/[\w$\u0080-\uffff]/.test(c)) {
        let j = i + 1;
        while (j < n && /[\w$\u0080-\uffff]/.test(code[j])) j++;
        word = code.slice(i, j);
        significant('a', j);
      } else {
        const keyword = prev === 'a' ? word : '';
        word = '';
        let closesCtrl = false;
        if (c === '(' || c === '[' || c === '{') {
          stack.push(c);
          if (c === '(') ctrlParens.push(/^(?:if|for|while|with)$/.test(keyword));
        } else if (c === ')' || c === ']') {
          if (stack.pop() === '(') closesCtrl = ctrlParens.pop() === true && stack.length === 0;
        } else if (c === '}') {
          if (stack.pop() === '${') { resumeTemplate(i + 1); continue; }
          if (stack.length === 0) splits.push({ pos: i + 1, kind: 'brace' });
        } else if (c === ';' && stack.length === 0) {
          splits.push({ pos: i + 1, kind: 'semi' });
          prev = ';';
          i++;
          continue; // a trailing `;` is not significant
        }
        significant(c, i + 1);
        afterCtrl = closesCtrl;
      }
    }
    return { splits, lastEnd };
  }

  /**
   * Compile `code` into an async function returning its value: as one expression if it is one,
   * else as statements returning the last expression statement's value where that can be found.
   * Throws SyntaxError when the code does not parse. Never runs the code.
   */
  function compile(code, sourceName) {
    code = IS_WORKER ? mapNodeImports(String(code)) : String(code);
    const body = functionBody(code); // throws SyntaxError
    return withSourceName(body, sourceName) || new AsyncFunction(body);
  }

  /** Workers get no import map (Chromium applies none there), so `import('node:test')` and
   * friends in a worker's code are pointed at the server's modules directly. */
  function mapNodeImports(code) {
    const paths = { 'node:test': '/-daebug-node:test.js', 'node:assert': '/-daebug-node:assert.js', 'node:assert/strict': '/-daebug-node:assert.js?strict' };
    return code.replace(/\bimport\s*\(\s*(['"])(node:test|node:assert\/strict|node:assert)\1\s*\)/g,
      (_, q, spec) => `import(${q}${new NativeURL(paths[spec], G.location.origin).href}${q})`);
  }

  /** The body text to compile; every candidate is checked with the AsyncFunction constructor,
   * which parses without running and cannot be escaped by stray braces. */
  function functionBody(code) {
    // No newline is added before the code, so its line numbers stay as the agent wrote them.
    if (mayBeExpression(code)) {
      const expression = 'return (' + code + '\n)';
      try { new AsyncFunction(expression); return expression; } catch (_) { /* not an expression */ }
    }
    new AsyncFunction(code); // a SyntaxError here is the answer

    const { splits, lastEnd } = scanTopLevel(code);
    const tail = code.slice(lastEnd); // only `;`, whitespace and comments
    const starts = [{ pos: 0, kind: 'semi' }].concat(splits.filter((s) => s.pos < lastEnd));
    let attempts = 0;
    for (let k = starts.length - 1; k >= 0 && attempts < MAX_COMPILE_ATTEMPTS; k--) {
      const { pos, kind } = starts[k];
      const suffix = code.slice(pos, lastEnd);
      const head = suffix.replace(LEADING_TRIVIA, '');
      if (!head || head[0] === '{' || STATEMENT_START.test(head)) continue;
      if (kind !== 'semi' && CONTINUES_PREVIOUS.test(head) && !/^(?:\+\+|--)/.test(head)) continue;
      attempts++;
      const prefix = code.slice(0, pos); // ends with `;`, `}` or a newline: never inside a comment
      const candidate = prefix + ';return (' + suffix + '\n);' + tail;
      try {
        new AsyncFunction(candidate);
        // The prefix must be complete on its own: `if (a)\nb()` must not become `if (a); return b()`.
        if (pos > 0) new AsyncFunction(prefix);
      } catch (_) { continue; }
      return candidate;
    }
    return code;
  }

  /**
   * The ways to read `code` as a function body, most likely first, for delivery as a script
   * (where nothing can be test-parsed without running it, e.g. under a CSP without
   * 'unsafe-eval'): the browser parses each in turn and the first that parses is run. Modes:
   * `e` one expression; `l` statements returning the expression from UTF-16 offset `p` to `t`;
   * `s` plain statements (a syntax error there is the answer). The server assembles each body the
   * same way as [`assembleBody`].
   */
  function bodyCandidates(code) {
    code = String(code);
    const list = [];
    if (mayBeExpression(code)) list.push({ mode: 'e' });
    const { splits, lastEnd } = scanTopLevel(code);
    const starts = [{ pos: 0, kind: 'semi' }].concat(splits.filter((sp) => sp.pos < lastEnd));
    for (let k = starts.length - 1; k >= 0 && list.length < MAX_DELIVERY_ATTEMPTS - 1; k--) {
      const { pos, kind, ctrl } = starts[k];
      if (ctrl) continue;
      const head = code.slice(pos, lastEnd).replace(LEADING_TRIVIA, '');
      if (!head || head[0] === '{' || STATEMENT_START.test(head)) continue;
      if (kind !== 'semi' && CONTINUES_PREVIOUS.test(head) && !/^(?:\+\+|--)/.test(head)) continue;
      if (pos === 0 && list.length && list[0].mode === 'e') continue; // same as the expression
      list.push({ mode: 'l', p: pos, t: lastEnd });
    }
    list.push({ mode: 's' });
    return list;
  }

  /** The function body a candidate stands for (the server builds the same text). */
  function assembleBody(code, cand) {
    if (cand.mode === 'e') return 'return (' + code + '\n)';
    if (cand.mode === 'l') return code.slice(0, cand.p) + ';return (' + code.slice(cand.p, cand.t) + '\n);' + code.slice(cand.t);
    return code;
  }

  /** Code that opens with a declaration or statement keyword is statements, even when it would
   * also parse as an expression: `function f() {}\n(1)` must not become a call of `f`. Like a
   * browser console, `{...}` is tried as an object literal only when it also ends with `}`. */
  function mayBeExpression(code) {
    const head = code.replace(LEADING_TRIVIA, '');
    if (STATEMENT_START.test(head)) return false;
    return head[0] !== '{' || /\}\s*$/.test(code);
  }

  /** Build the function by indirect eval so stack frames read `name.js:line:col` with the
   * agent's own line numbers. `body` already parsed as a function body, so wrapping it is safe.
   * Returns null where eval is unavailable (e.g. CSP), and the caller falls back. */
  function withSourceName(body, sourceName) {
    if (!sourceName || typeof nativeEval !== 'function') return null;
    try {
      return nativeEval('(async function () {' + body + '\n})\n//# sourceURL=' + sourceName);
    } catch (_) {
      return null;
    }
  }

  /** Compile and run `code` with `this` = the global object; resolves to its value. */
  async function evaluate(code, sourceName) {
    return compile(code, sourceName).call(G);
  }

  // --- Background events ----------------------------------------------------------------------

  /** Event list with a cap: the oldest are dropped and counted in a synthetic notice. */
  class EventBuffer {
    constructor() { this.items = []; this.dropped = 0; }
    push(event) {
      if (this.items.length >= EVENT_BUFFER_LIMIT) { this.items.shift(); this.dropped++; }
      this.items.push(event);
    }
    get size() { return this.items.length + (this.dropped ? 1 : 0); }
    snapshot() {
      if (!this.dropped) return this.items.slice();
      const notice = { type: 'console', level: 'warn', eventAt: isoNow(),
        message: `[daebug] ${this.dropped} earlier events were dropped (limit ${EVENT_BUFFER_LIMIT})` };
      return [notice].concat(this.items);
    }
    take() { const all = this.snapshot(); this.items = []; this.dropped = 0; return all; }
    /** Put back events that could not be sent, ahead of newer ones. */
    requeue(events) {
      this.items = events.concat(this.items);
      while (this.items.length > EVENT_BUFFER_LIMIT) { this.items.shift(); this.dropped++; }
    }
  }

  let currentJob = null; // { id, events: EventBuffer, startedAt, ... } while a job runs
  const background = new EventBuffer();
  let capturing = false; // re-entrancy guard: events raised while recording one are not recorded

  function recordEvent(build) {
    if (capturing) return;
    capturing = true;
    try {
      const event = build();
      if (event) (currentJob ? currentJob.events : background).push(event);
    } catch (_) {
      /* a capture failure must never surface in the page */
    } finally {
      capturing = false;
    }
  }

  /** One console argument: strings raw, faithful JSON compact, anything else rendered. */
  function formatArg(arg) {
    if (typeof arg === 'string') return arg;
    if (isFaithfulJson(arg)) return jsonStringify(arg);
    return render(arg);
  }

  /** Console arguments as one line, honouring %s %d %i %f %o %O %j %c %% in a first string. */
  function formatConsoleArgs(args) {
    const rest = Array.from(args);
    if (typeof rest[0] === 'string' && rest.length > 1 && rest[0].includes('%')) {
      const first = rest.shift().replace(/%([sdifoOjc%])/g, (match, spec) => {
        if (spec === '%') return '%';
        if (rest.length === 0) return match;
        const arg = rest.shift();
        try {
          switch (spec) {
            case 'c': return ''; // CSS styling has no text form
            case 'd': case 'i': return typeof arg === 'bigint' ? `${arg}n` : String(Math.trunc(Number(arg)));
            case 'f': return String(Number(arg));
            default: return formatArg(arg);
          }
        } catch (_) {
          return formatArg(arg); // e.g. Number(Symbol())
        }
      });
      return [first].concat(rest.map(formatArg)).join(' ');
    }
    return rest.map(formatArg).join(' ');
  }

  function frameLocation(line) {
    const text = String(line || '').trim();
    let loc = '';
    const chrome = /^at (?:.*? \()?(.*?)\)?$/.exec(text);
    if (chrome && text.startsWith('at ')) loc = chrome[1];
    else if (text.includes('@')) loc = text.slice(text.lastIndexOf('@') + 1);
    // eval'd code: "eval at compile (shim.js:1:2), <anonymous>:4:1" - keep the part after the comma.
    if (loc.includes('eval at ') || loc.includes(' > ')) loc = loc.split(/, | > /).pop();
    return /:\d+(:\d+)?$/.test(loc) ? loc : '';
  }

  function frameFile(loc) { return String(loc || '').replace(/(:\d+)+$/, ''); }

  function isShimFrame(line) {
    const loc = frameLocation(line);
    return Boolean(SELF_FILE) && frameFile(loc) === SELF_FILE;
  }

  /** `file:line:col` of the first stack frame outside the shim, origin-relative when same-origin. */
  function callerLocation() {
    const lines = String(new NativeError().stack || '').split('\n');
    for (const line of lines) {
      const loc = frameLocation(line);
      if (!loc || isShimFrame(line)) continue;
      try {
        const origin = G.location.origin;
        if (origin && origin !== 'null' && loc.startsWith(origin + '/')) return loc.slice(origin.length);
      } catch (_) { /* ignore */ }
      return loc;
    }
    return undefined;
  }

  function wrapConsole() {
    if (!pageConsole) return;
    for (const level of objectKeys(originalConsole)) {
      const original = originalConsole[level];
      const wrapped = function daebugConsole(...args) {
        try {
          return reflectApply(original, this, args);
        } finally {
          recordEvent(() => {
            const event = { type: 'console', level, eventAt: isoNow(), message: cutText(formatConsoleArgs(args), EVENT_TEXT_LIMIT) };
            const caller = callerLocation();
            if (caller) event.caller = caller;
            return event;
          });
        }
      };
      try { pageConsole[level] = wrapped; } catch (_) { /* a frozen console: its calls go uncaptured */ }
    }
  }

  /** Drop the shim's own frames (job runner, console wrapper) from a stack text. */
  function withoutShimFrames(text) {
    return text.split('\n').filter((line, index) => index === 0 || !isShimFrame(line)).join('\n');
  }

  function errorStackOf(err) {
    try {
      if (err && (typeof err === 'object' || typeof err === 'function') && isErrorLike(err, objectTag(err))) {
        return cutText(withoutShimFrames(errorHeadline(err)), EVENT_TEXT_LIMIT);
      }
    } catch (_) { /* ignore */ }
    return undefined;
  }

  function listenForUncaught() {
    if (!addListener) return;
    const source = IS_WORKER ? 'self.onerror' : 'window.onerror';
    addListener('error', (e) => {
      // A job script that does not parse: a candidate reading of the job, not the page's error.
      if (jobScriptSyntaxError(e)) {
        e.stopImmediatePropagation();
        e.preventDefault();
      }
    }, true);
    if (DOC && typeof DOC.addEventListener === 'function') {
      DOC.addEventListener('securitypolicyviolation', (e) => {
        policyViolations.push({ blockedURI: String(e.blockedURI || ''), effectiveDirective: e.effectiveDirective, violatedDirective: e.violatedDirective });
        if (policyViolations.length > 20) policyViolations.shift();
      });
    }
    addListener('error', (e) => recordEvent(() => {
      const where = e.filename ? `    at ${e.filename}:${e.lineno}:${e.colno}` : undefined;
      const message = e.message || (e.error !== undefined ? formatArg(e.error) : 'Unknown error');
      return { type: 'error', source, eventAt: isoNow(), message: cutText(String(message), EVENT_TEXT_LIMIT),
        stack: errorStackOf(e.error) || where };
    }));
    addListener('unhandledrejection', (e) => recordEvent(() => {
      const reason = e.reason;
      const stack = errorStackOf(reason);
      const message = stack ? errorHeadline(reason).split('\n')[0] : formatArg(reason);
      return { type: 'error', source: 'unhandledrejection', eventAt: isoNow(),
        message: cutText(String(message), EVENT_TEXT_LIMIT), stack };
    }));
  }

  // --- Talking to the server ------------------------------------------------------------------

  function pageHref() {
    try { return String(G.location.href); } catch (_) { return ''; }
  }

  /** The channel URL for this realm (or `realmName`); our own realm's requests carry the
   * instance id, with which the server keeps one live instance per name. */
  function channelUrl(realmName = NAME, href = pageHref(), origin = CHANNEL_ORIGIN) {
    const url = new NativeURL(CHANNEL_PATH, origin || undefined);
    url.searchParams.set('name', realmName);
    url.searchParams.set('url', href);
    if (realmName === NAME) url.searchParams.set('instance', INSTANCE_ID);
    return url.href;
  }

  /** An abort signal for `ms`, where supported: a half-dead connection must not stall the realm. */
  function timeoutSignal(ms) {
    try { return abortAfter ? abortAfter(ms) : undefined; } catch (_) { return undefined; }
  }

  async function readText(res) {
    try { return responseText ? await responseText.call(res) : await res.text(); } catch (_) { return ''; }
  }

  async function postJson(payload, realmName, href) {
    if (!nativeFetch) throw new NativeError('fetch is not available');
    const res = await nativeFetch(channelUrl(realmName, href), {
      method: 'POST', cache: 'no-store', signal: timeoutSignal(30000),
      headers: { 'content-type': 'application/json' },
      body: typeof payload === 'string' ? payload : jsonStringify(payload),
    });
    await readText(res); // drain only
    if (!res.ok) throw new NativeError(`HTTP ${res.status}`);
  }

  /** Post, retrying a few times so a result survives a brief server hiccup. */
  async function postWithRetry(payload, attempts = 4) {
    for (let attempt = 0; attempt < attempts; attempt++) {
      try { await postJson(payload); return true; } catch (_) { await sleep(500 * 2 ** attempt); }
    }
    return false;
  }

  function flushBackground() {
    if (background.size === 0 || currentJob) return;
    const events = background.take();
    postJson({ type: 'background-flush', events: forWire(events), reportedAt: isoNow() }).catch(() => background.requeue(events));
  }

  /**
   * Events as sent: the log shows only the first 2 and last 8 of more than 10 (SPEC 3.2), so the
   * ones between travel without their text. They still count, and a console-spamming job cannot
   * push its result past the server's body limit.
   */
  function forWire(events) {
    if (events.length <= 10) return events;
    return events.map((e, i) => (i < 2 || i >= events.length - 8 ? e : objectAssign({}, e, { message: '', stack: undefined, caller: undefined })));
  }

  /** Last-chance flush when the page goes away; sendBeacon survives the unload. */
  function beaconBackground() {
    try {
      if (background.size === 0 || !sendBeacon || !NativeBlob) return;
      const body = jsonStringify({ type: 'background-flush', events: forWire(background.take()), reportedAt: isoNow() });
      // Same origin: a beacon cannot make a CORS request with a JSON body.
      sendBeacon(channelUrl(NAME, pageHref(), SERVER_ORIGIN), new NativeBlob([body], { type: 'application/json' }));
    } catch (_) { /* ignore */ }
  }

  // --- The channel: one WebSocket per realm, long polls where a host has no upgrades ----------
  //
  // A WebSocket does not count toward the browser's six connections per host, so a tab costs the
  // page no connection slot however many tabs are open. Results and events still go as short
  // POSTs (their delivery is acknowledged); the socket carries jobs to the realm and "ready"
  // (free for the next job) to the server. Where the socket cannot open (a host that cannot
  // upgrade, such as a plain Node handler), the realm long-polls as in SPEC 5.

  const WS_PATH = '/-daebug-ws';
  let activeSocket = null;
  let busy = false; // a job is running or its result is being posted
  let socketWorked = false;
  let claimed = false;
  let onClaimed = null; // set by the page: starts the worker realm once the name is ours

  function markClaimed() {
    if (claimed) return;
    claimed = true;
    if (onClaimed) { try { onClaimed(); } catch (_) { /* ignore */ } }
  }

  function sendReady() {
    try { if (activeSocket && !busy) activeSocket.send('{"type":"ready"}'); } catch (_) { /* reconnects */ }
  }

  /** One WebSocket session; resolves to 'refused', 'closed' (after it worked) or 'failed'. */
  function socketSession() {
    return new NativePromise((resolve) => {
      let ws;
      let opened = false;
      let settled = false;
      let openTimer = 0;
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimer(openTimer);
        if (activeSocket === ws) activeSocket = null;
        try { ws && ws.close(); } catch (_) { /* ignore */ }
        resolve(outcome);
      };
      try {
        const url = new NativeURL(WS_PATH, CHANNEL_ORIGIN || undefined);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        url.searchParams.set('name', NAME);
        url.searchParams.set('url', pageHref());
        url.searchParams.set('instance', INSTANCE_ID);
        ws = new NativeWebSocket(url.href);
      } catch (_) { resolve('failed'); return; }
      openTimer = setTimer(() => { if (!opened) finish('failed'); }, 5000);
      ws.onmessage = (e) => {
        let msg;
        try { msg = jsonParse(String(e.data)); } catch (_) { return; }
        if (!msg || typeof msg !== 'object') return;
        if (msg.type === 'welcome') {
          opened = true;
          socketWorked = true;
          clearTimer(openTimer);
          activeSocket = ws;
          markClaimed();
          sendReady();
        } else if (msg.type === 'refused') {
          opened = true;
          finish('refused');
        } else if (msg.type === 'job' && typeof msg.code === 'string') {
          runJob(msg.code, String(msg.id || '')).then(sendReady, sendReady);
        }
      };
      ws.onclose = () => finish(opened ? 'closed' : 'failed');
      ws.onerror = () => { /* onclose follows */ };
    });
  }

  /** One long poll; resolves to 'job', 'empty', 'quick' (answered at once) or 'refused'. */
  async function pollOnce() {
    if (!nativeFetch) throw new NativeError('fetch is not available');
    const started = now();
    // A refusal comes at once; a poll still open after a moment means the name is ours.
    const claimTimer = setTimer(markClaimed, 300);
    let res;
    try {
      res = await nativeFetch(channelUrl(), { cache: 'no-store', signal: timeoutSignal(120000) });
    } finally { clearTimer(claimTimer); }
    const code = await readText(res);
    if (res.status === 409) return 'refused';
    if (!res.ok) throw new NativeError(`HTTP ${res.status}`);
    markClaimed();
    const jobId = headersGet ? headersGet.call(res.headers, 'x-job-id') : res.headers.get('x-job-id');
    if (!code && !jobId) return now() - started < 100 ? 'quick' : 'empty';
    await runJob(code, jobId);
    return 'job';
  }

  let refusals = 0;
  /** The server says a live realm holds our name. A reloaded page can get here before the
   * server saw its old self go (its socket closing, or up to 2.5 s after its last long poll),
   * so a kept name is retried for about 3 s first. */
  async function nameRefused() {
    refusals++;
    if (IS_WORKER || (NAME_INHERITED && refusals <= 9)) { await sleep(IS_WORKER ? 1000 : 350); return; }
    const old = NAME;
    NAME = storeNewName();
    refusals = 0;
    debugLog(`realm name ${old} belongs to another live tab; this tab is now ${NAME}`);
    if (workerState.worker) { stopWorkerRealm(); startWorkerRealm(); }
  }

  // --- Without WebSockets: one long poll per origin, shared by all its realms -----------------
  //
  // A long poll per realm would again use up the six connections per host with three tabs. So
  // the realms of an origin (pages and workers, all tabs) elect one of them with a Web Lock; it
  // holds one `POST /-daebug-channel-many` for all realms that said they are ready
  // (BroadcastChannel), and relays each job to its realm. When it goes, the next waiter leads.

  const MANY_PATH = '/-daebug-channel-many';
  const GROUP = 'daebug-shared-poll';
  const locks = (() => { try { const l = G.navigator && G.navigator.locks; return l && typeof l.request === 'function' ? l : null; } catch (_) { return null; } })();

  function sharedPollPossible() {
    return !!(locks && NativeBroadcastChannel && nativeFetch && CHANNEL_MODE !== 'own-poll');
  }

  function sharedChannel() {
    return new NativePromise(() => {
      const bc = new NativeBroadcastChannel(GROUP);
      let leader = null;
      let done = 0; // jobs finished: a "ready" from before the last handout is stale
      const me = () => ({ name: NAME, url: pageHref(), instance: INSTANCE_ID, done });
      const onJob = (m) => {
        markClaimed();
        const finished = () => { done++; announce(); };
        runJob(m.code, m.id).then(finished, finished);
      };
      const onRefused = () => { nameRefused().then(announce, announce); };
      function announce() {
        if (busy) return;
        if (leader) leader.ready(me());
        else bc.postMessage({ type: 'ready', realm: me() });
      }
      bc.onmessage = (e) => {
        const m = e.data;
        if (!m || typeof m !== 'object') return;
        if (m.type === 'job' && m.instance === INSTANCE_ID) onJob(m);
        else if (m.type === 'refused' && m.instance === INSTANCE_ID) onRefused();
        else if (m.type === 'ready' && leader && m.realm) leader.ready(m.realm);
        else if (m.type === 'bye' && leader) leader.gone(m.instance);
        else if (m.type === 'leader') announce(); // a new leader: tell it we are here
      };
      if (addListener && !IS_WORKER) addListener('pagehide', () => { try { bc.postMessage({ type: 'bye', instance: INSTANCE_ID }); } catch (_) { /* ignore */ } });
      const deliver = (m) => {
        if (m.instance === INSTANCE_ID) (m.type === 'job' ? onJob : onRefused)(m);
        else bc.postMessage(m);
      };
      locks.request('daebug-shared-poll-leader', () => {
        leader = sharedPollLeader(deliver);
        bc.postMessage({ type: 'leader' });
        announce();
        return leader.run(); // never settles while this realm lives
      }).catch(() => {});
      announce();
      setRepeat(announce, 3000);
      setTimer(markClaimed, 1500); // no refusal by then: the name is ours
    });
  }

  /** The leader's side: the ready realms, and the one long poll for all of them. */
  function sharedPollLeader(deliver) {
    const ready = new Map(); // instance -> { realm, seen }
    const minDone = new Map(); // instance -> `done` its next "ready" must show (after a handout)
    const manyUrl = () => new NativeURL(MANY_PATH, CHANNEL_ORIGIN || undefined).href;
    let pollId = '';
    let kicked = true;
    let wake = null;
    // The realm list changed: end the waiting poll politely (an aborted request could lose a
    // job handed out at that very moment), or wake the idle loop.
    const restart = () => {
      if (wake) { wake(); wake = null; }
      if (kicked || !pollId) return;
      kicked = true;
      nativeFetch(manyUrl(), { method: 'POST', cache: 'no-store', headers: { 'content-type': 'application/json' },
        body: jsonStringify({ kick: pollId }) }).then(readText, () => {});
    };
    return {
      ready(realm) {
        if (!realm || typeof realm.instance !== 'string') return;
        if ((Number(realm.done) || 0) < (minDone.get(realm.instance) || 0)) return; // sent before its job arrived
        const known = ready.has(realm.instance);
        ready.set(realm.instance, { realm, seen: now() });
        if (!known) restart();
      },
      gone(instance) {
        if (ready.delete(instance)) restart();
      },
      async run() {
        let backoff = 0;
        for (;;) {
          for (const [instance, entry] of ready) if (now() - entry.seen > 10000) ready.delete(instance);
          if (ready.size === 0) {
            await new NativePromise((resolve) => { wake = resolve; setTimer(resolve, 3000); });
            continue;
          }
          const realms = Array.from(ready.values(), (e) => ({ name: e.realm.name, url: e.realm.url, instance: e.realm.instance }));
          pollId = INSTANCE_ID + '-' + now().toString(36) + '-' + mathRandom().toString(36).slice(2, 8);
          kicked = false;
          try {
            const res = await nativeFetch(manyUrl(), {
              method: 'POST', cache: 'no-store', signal: timeoutSignal(120000),
              headers: { 'content-type': 'application/json' }, body: jsonStringify({ realms, poll: pollId }),
            });
            const text = await readText(res);
            if (!res.ok) throw new NativeError(`HTTP ${res.status}`);
            backoff = 0;
            const answer = text ? jsonParse(text) : {};
            if (answer.refused) {
              for (const name of answer.refused) {
                for (const [instance, entry] of ready) {
                  if (entry.realm.name === name) { ready.delete(instance); deliver({ type: 'refused', instance }); }
                }
              }
            } else if (answer.id && answer.instance) {
              const entry = ready.get(answer.instance);
              ready.delete(answer.instance);
              minDone.set(answer.instance, (entry ? Number(entry.realm.done) || 0 : 0) + 1);
              deliver({ type: 'job', instance: answer.instance, id: answer.id, code: answer.code });
            }
          } catch (_) {
            backoff = backoff ? Math.min(backoff * 2, 5000) : 500;
            await sleep(backoff);
          } finally {
            pollId = '';
          }
        }
      },
    };
  }

  /** The realm's connection loop: never throws, backs off on errors, no idle sleeps between jobs. */
  async function channelLoop() {
    let socketFailures = 0;
    let backoff = 0;
    let quickEmpties = 0;
    for (;;) {
      try {
        if (NativeWebSocket && !CHANNEL_MODE && (socketWorked || socketFailures < 2)) {
          const outcome = await socketSession();
          if (outcome === 'refused') { await nameRefused(); continue; }
          refusals = 0;
          if (outcome === 'failed') socketFailures++;
          else socketFailures = 0;
          backoff = backoff ? Math.min(backoff * 2, 5000) : 250;
          await sleep(backoff);
          continue;
        }
        if (!nativeFetch) return;
        if (sharedPollPossible()) return sharedChannel(); // never settles
        const outcome = await pollOnce();
        backoff = 0;
        if (outcome === 'refused') { await nameRefused(); continue; }
        refusals = 0;
        // A server that answers instantly instead of long-polling must not make us spin.
        quickEmpties = outcome === 'quick' ? quickEmpties + 1 : 0;
        if (quickEmpties >= 5) await sleep(250);
      } catch (_) {
        backoff = backoff ? Math.min(backoff * 2, 5000) : 500;
        await sleep(backoff);
      }
    }
  }

  // --- Jobs -----------------------------------------------------------------------------------

  /** Error text for a failed job: the stack without shim frames, or the thrown value rendered. */
  function failureText(err) {
    const tag = (() => { try { return objectTag(err); } catch (_) { return ''; } })();
    if (err === null || (typeof err !== 'object' && typeof err !== 'function') || !isErrorLike(err, tag)) {
      return cutText(render(err));
    }
    return cutText(sameOriginRelative(withoutShimFrames(errorHeadline(err))));
  }

  /** `http://host:port/-daebug-job/…` → `/-daebug-job/…` in stack text: shorter, and the same
   * in every host. */
  function sameOriginRelative(text) {
    return SERVER_ORIGIN ? text.split(SERVER_ORIGIN + JOB_PATH).join(JOB_PATH) : text;
  }

  /** Progress while a job runs: on new events (at most once a second) or every 5 s regardless. */
  function progressTick(job) {
    const elapsed = now() - job.startedAt;
    if (elapsed < 900 || job.progressInFlight) return;
    const hasNew = job.events.size > job.reportedCount || job.events.dropped !== job.reportedDropped;
    const sinceLast = now() - job.lastProgressAt;
    if (hasNew ? job.progressSent && sinceLast < 1000 : sinceLast < 5000) return;
    job.progressSent = true;
    job.reportedCount = job.events.size;
    job.reportedDropped = job.events.dropped;
    job.lastProgressAt = now();
    job.progressInFlight = postJson({ type: 'job-progress', jobId: job.id, backgroundEvents: forWire(job.events.snapshot()), elapsed })
      .catch(() => {})
      .then(() => { job.progressInFlight = null; });
  }

  // Jobs arrive as same-origin scripts (`/-daebug-job/<id>/<variant>.js`) rather than through
  // eval: that works under a CSP without 'unsafe-eval', and every engine (JavaScriptCore too)
  // reports real file:line:col for the job's code. Pages load a classic script (sloppy mode, as
  // a console); workers, and pages whose Trusted Types rule out our script URLs, import a module.
  const JOB_PATH = '/-daebug-job/';
  let scriptPolicy; // undefined: not tried yet; null: none to be had
  let pageUsesModules = IS_WORKER;
  const jobScripts = new Map(); // script element -> { fn, syntaxError }
  const jobScriptUrls = new Map(); // absolute URL -> script element
  const policyViolations = []; // recent CSP violations, to explain a blocked job script

  function isOwnUrl(url) {
    try {
      const u = new NativeURL(url);
      return u.origin === SERVER_ORIGIN && u.pathname.startsWith('/-daebug');
    } catch (_) { return false; }
  }

  /** Our script URLs as Trusted Types want them, when the page requires Trusted Types. */
  function trustedScriptUrl(url) {
    const tt = G.trustedTypes;
    if (!tt || typeof tt.createPolicy !== 'function') return url;
    if (scriptPolicy === undefined) {
      try {
        scriptPolicy = tt.createPolicy('daebug', {
          createScriptURL: (value) => {
            if (isOwnUrl(value)) return value;
            throw new TypeError('daebug policy: only Daebug URLs');
          },
        });
      } catch (_) { scriptPolicy = null; }
    }
    return scriptPolicy ? scriptPolicy.createScriptURL(url) : url;
  }

  function jobUrl(jobId, cand) {
    const kind = (pageUsesModules ? 'm' : 'c') + (HAS_IMPORT_MAP ? '' : 'n');
    const mode = cand.mode === 'l' ? `l${cand.p}-${cand.t}` : cand.mode;
    const id = String(jobId || 'x').replace(/[^\w.-]/g, '_');
    return new NativeURL(`${JOB_PATH}${id}/${kind}-${mode}.js`, SERVER_ORIGIN || undefined).href;
  }

  /** Why the policy blocked `url`, from the securitypolicyviolation events we saw. */
  function violationFor(url) {
    const v = policyViolations.find((e) => e.blockedURI === url || (e.blockedURI && url.startsWith(e.blockedURI)));
    if (!v) return '';
    return `the page's Content-Security-Policy (${v.effectiveDirective || v.violatedDirective}) blocked it`;
  }

  function loadClassicScript(url) {
    return new NativePromise((resolve) => {
      const entry = { fn: null, syntaxError: null };
      let el;
      const done = (outcome) => {
        jobScripts.delete(el);
        jobScriptUrls.delete(url);
        try { el && el.remove(); } catch (_) { /* ignore */ }
        resolve(outcome);
      };
      try {
        el = createElement('script');
        jobScripts.set(el, entry);
        jobScriptUrls.set(url, el);
        if (NONCE) el.nonce = NONCE;
        el.onload = () => done(entry.fn ? { fn: entry.fn } : entry.syntaxError ? { syntaxError: entry.syntaxError }
          : { blocked: violationFor(url) || 'the job script loaded but did not run' });
        el.onerror = () => setTimer(() => done({ blocked: violationFor(url) || 'the job script could not be loaded' }), 0);
        el.src = trustedScriptUrl(url);
      } catch (err) {
        // Trusted Types required, and no policy for our URLs: modules need none.
        done({ trustedTypes: err });
        return;
      }
      (DOC.head || DOC.documentElement).appendChild(el);
    });
  }

  async function importModule(url) {
    try {
      const mod = await import(url);
      return { fn: mod.default };
    } catch (err) {
      if (err && err.name === 'SyntaxError') return { syntaxError: err };
      return { blocked: violationFor(url) || `the job module could not be loaded (${String(err && err.message || err)})` };
    }
  }

  /** Called by each classic job script, with its own element, with its compiled function. */
  function registerJobScript(el, fn) {
    const entry = jobScripts.get(el);
    if (entry && typeof fn === 'function') entry.fn = fn;
  }

  /** A SyntaxError reported through the window's error event for one of our job scripts. */
  function jobScriptSyntaxError(e) {
    const key = e && e.filename ? jobScriptUrls.get(e.filename) : undefined;
    if (key === undefined) return false;
    const entry = jobScripts.get(key);
    if (entry) {
      const message = String(e.message || 'SyntaxError').replace(/^Uncaught /, '');
      const file = e.filename.replace(/\?.*$/, '').replace(SERVER_ORIGIN, '');
      entry.syntaxError = { text: `${message}\n    at ${file}:${e.lineno}:${e.colno}` };
    }
    return true;
  }

  class JobError extends NativeError {}

  /** The job's code as a function, from the first candidate body the browser parses. */
  async function compileJob(code, jobId) {
    if (!SERVER_ORIGIN || (!IS_WORKER && !createElement)) {
      return compile(code, `daebug-job-${String(jobId || 'x').replace(/[^\w.-]/g, '_')}.js`);
    }
    const candidates = bodyCandidates(code);
    let syntaxError = null;
    for (let i = 0; i < candidates.length; i++) {
      const url = jobUrl(jobId, candidates[i]);
      const got = pageUsesModules ? await importModule(url) : await loadClassicScript(url);
      if (got.fn) return got.fn;
      if (got.trustedTypes) { pageUsesModules = true; i--; continue; }
      if (got.syntaxError) { syntaxError = got.syntaxError; continue; }
      throw new JobError(`Daebug could not run this job: ${got.blocked}. ` + (got.blocked.includes('Content-Security-Policy')
        ? "Allow 'self' in the page's script-src (or give Daebug's scripts the page's nonce: serve the page through Daebug, which copies it), or run the code in the worker realm."
        : 'Check that the dev server still serves /-daebug-job/ (see the terminal).'));
    }
    throw syntaxError;
  }

  async function runJob(code, jobId) {
    const job = { id: jobId, events: new EventBuffer(), startedAt: now(), lastProgressAt: now(),
      reportedCount: 0, reportedDropped: 0, progressInFlight: null };
    busy = true;
    flushBackground(); // earlier events belong before this job's
    currentJob = job;
    const ticker = setRepeat(() => progressTick(job), 250);
    let outcome;
    let fn = null;
    try {
      fn = await compileJob(code, jobId);
    } catch (err) {
      // A syntax error's stack is all shim frames: its message (and location) is the answer.
      const text = err && typeof err.text === 'string' ? err.text : err instanceof JobError ? err.message : String(err);
      outcome = { ok: false, error: cutText(text) };
    }
    if (fn) {
      try {
        const encoded = encodeResult(await fn.call(G));
        // Copy JSON values now: page code may mutate the object while the result is posted.
        if (!encoded.valueKind) encoded.value = jsonParse(jsonStringify(encoded.value));
        outcome = objectAssign({ ok: true }, encoded);
      } catch (err) {
        outcome = { ok: false, error: failureText(err) };
      }
    }
    clearRepeat(ticker);
    // Keep progress before the result, but never let a stuck request hold the result back.
    if (job.progressInFlight) await promiseRace([job.progressInFlight, sleep(3000)]);
    currentJob = null;
    outcome.jobId = jobId;
    outcome.backgroundEvents = forWire(job.events.snapshot());
    await postWithRetry(jsonStringify(outcome));
    busy = false;
  }

  // --- Worker realm (started and watched by the page) -----------------------------------------

  const workerState = { worker: null, name: '', timeoutMs: 20000 };

  function heartbeatTimeoutMs() {
    const configured = Number(sessionGet('daebug-heartbeat-ms'));
    return configured > 0 ? configured : 20000;
  }

  function startWorker() {
    if (!NativeWorker) return;
    let worker;
    try {
      const port = (DIRECT_PORT ? '&port=' + DIRECT_PORT : '') + (CHANNEL_MODE ? '&channel=' + CHANNEL_MODE : '');
      const url = new NativeURL(WORKER_PATH + '?name=' + encodeURIComponent(workerState.name) + port, SERVER_ORIGIN || undefined);
      worker = new NativeWorker(trustedScriptUrl(url.href), { type: 'module' });
    } catch (err) {
      debugLog('could not start the worker realm:', err);
      const trustedTypes = G.trustedTypes && !scriptPolicy;
      recordEvent(() => ({ type: 'console', level: 'warn', eventAt: isoNow(),
        message: `[daebug] the worker realm could not start: ${String(err && err.message || err)}` + (trustedTypes
          ? ". This page requires Trusted Types and does not allow a policy named 'daebug': add daebug to its trusted-types directive."
          : '') }));
      return;
    }
    workerState.worker = worker;
    workerState.startedAt = now();
    worker.addEventListener('message', (e) => {
      if (e.data && typeof e.data === 'object' && e.data.__daebug === 'pong') {
        workerState.lastPongAt = now();
        workerState.pingSince = null;
        workerState.restarts = 0;
        e.stopImmediatePropagation();
      }
    });
    worker.addEventListener('error', (e) => {
      // Errors inside the worker are captured by the worker realm itself; keep them out of the
      // page's window.onerror.
      e.preventDefault();
      if (typeof G.ErrorEvent === 'function' && e instanceof G.ErrorEvent && e.message) return;
      // A load failure (404, CSP, no module workers) won't heal by restarting: log it and stop.
      debugLog('the worker realm failed to load:', workerState.name);
      if (workerState.worker === worker) stopWorkerRealm();
    });
  }

  /** Every ~2 s: ping, and restart the worker if a ping has gone unanswered for too long. */
  function heartbeatTick(intervalMs) {
    const state = workerState;
    if (!state.worker) return;
    const t = now();
    // Our own timer ran late (page blocked or throttled): the pong may be queued, not missing.
    if (state.lastTickAt && t - state.lastTickAt > intervalMs * 3) state.pingSince = null;
    state.lastTickAt = t;
    const limit = Math.min(state.timeoutMs * 2 ** (state.restarts || 0), 300000);
    if (state.pingSince !== null && state.pingSince !== undefined && t - state.pingSince > limit) {
      const duration = t - (state.lastPongAt || state.startedAt);
      try { state.worker.terminate(); } catch (_) { /* ignore */ }
      state.worker = null;
      state.pingSince = null;
      state.restarts = (state.restarts || 0) + 1;
      startWorker();
      postJson({ type: 'worker-timeout', duration }, state.name).catch(() => {});
      return;
    }
    if (state.pingSince === null || state.pingSince === undefined) state.pingSince = t;
    try { state.worker.postMessage({ __daebug: 'ping' }); } catch (_) { /* ignore */ }
  }

  function startWorkerRealm() {
    workerState.name = NAME + '-webworker';
    workerState.timeoutMs = heartbeatTimeoutMs();
    startWorker();
    if (!workerState.worker) return;
    const intervalMs = Math.max(100, Math.min(2000, workerState.timeoutMs / 4));
    workerState.timer = setRepeat(() => { try { heartbeatTick(intervalMs); } catch (_) { /* ignore */ } }, intervalMs);
  }

  function stopWorkerRealm() {
    clearRepeat(workerState.timer);
    try { workerState.worker.terminate(); } catch (_) { /* ignore */ }
    workerState.worker = null;
  }

  /** Inside the worker: answer pings at once (even while a job awaits) and hide them from user code. */
  function answerPings() {
    if (!addListener) return;
    addListener('message', (e) => {
      if (e.data && typeof e.data === 'object' && e.data.__daebug === 'ping') {
        e.stopImmediatePropagation();
        try { G.postMessage({ __daebug: 'pong' }); } catch (_) { /* ignore */ }
      }
    });
  }

  // --- Start ----------------------------------------------------------------------------------

  let lastTestReport = null;
  const api = {
    get name() { return NAME; },
    version: VERSION,
    kind: IS_WORKER ? 'worker' : 'page',
    render,
    compile,
    evaluate,
    encodeResult,
    formatConsoleArgs,
    bodyCandidates,
    assembleBody,
    job: registerJobScript,
    get channel() { return activeSocket ? 'websocket' : !claimed ? 'connecting' : sharedPollPossible() ? 'shared-poll' : 'long-poll'; },
    get worker() { return workerState.worker; },
    get heartbeatTimeoutMs() { return workerState.timeoutMs; },
    // Used by the node:test module: isolated test frames find their page's run here, and the
    // latest report of tests typed straight into the log is kept here.
    testFrames: {},
    get lastTestReport() { return lastTestReport; },
    set lastTestReport(report) { lastTestReport = report; },
  };
  if (IS_WORKER) api.mainPage = NAME.endsWith('-webworker') ? NAME.slice(0, -'-webworker'.length) : '';
  defineProperty(G, '__daebug', { value: api, configurable: true, enumerable: false, writable: false });

  try {
    wrapConsole();
    listenForUncaught();
    setRepeat(() => { try { flushBackground(); } catch (_) { /* ignore */ } }, FLUSH_INTERVAL_MS);
    if (IS_WORKER) {
      answerPings();
      postJson({ type: 'worker-init', mainPage: api.mainPage }).catch(() => {}).then(channelLoop);
    } else {
      if (addListener) addListener('pagehide', beaconBackground);
      // The worker realm starts once the page's name is its own (it is named after the page).
      onClaimed = startWorkerRealm;
      claimName().then(channelLoop);
    }
  } catch (err) {
    debugLog('shim failed to start:', err);
  }
})();
