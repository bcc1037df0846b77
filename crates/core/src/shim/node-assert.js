/**
 * Daebug's browser implementation of `node:assert` and `node:assert/strict`.
 *
 * Served verbatim by the Rust core at `/-daebug-node:assert.js`; the page import map points
 * `node:assert` at that URL and `node:assert/strict` at `/-daebug-node:assert.js?strict`.
 *
 * This file owns:
 *   - the assertion functions (ok, equal, strictEqual, deepEqual, deepStrictEqual, their `not`
 *     forms, throws/doesNotThrow, rejects/doesNotReject, match/doesNotMatch, fail, ifError);
 *   - `AssertionError`, with messages that show the difference between the two values as a
 *     compact `+ actual - expected` line diff;
 *   - the deep-equality algorithm (loose and strict), written from Node's documented rules;
 *   - a small Node-`util.inspect`-like renderer used only for messages.
 *
 * It is plain ESM with no Node built-ins, so it runs in pages, workers and (for our own tests)
 * in Node itself. Both URLs share one implementation: the `?strict` instance imports the plain
 * instance and re-exports it, so `AssertionError` is one class whichever specifier is used.
 *
 * Differences from Node, on purpose or by necessity:
 *   - `assert.ok(x)` cannot quote the caller's source; it says `assert.ok(<value>)` instead;
 *   - `deepEqual` failures show the same line diff as `deepStrictEqual` (Node prints the two
 *     values one after the other);
 *   - Errors render as `[Name: message]` (no stack) and Promises as `Promise { <state unknown> }`;
 *   - not provided: CallTracker, partialDeepStrictEqual, the `diff` option, the `assert.ok`
 *     source-reading message, and `util.isDeepStrictEqual`.
 */

// ---------------------------------------------------------------------------------------------
// Type checks. The Object.prototype.toString tag picks the candidate type cheaply; a brand
// check (calling a built-in getter/method on the value, which throws for impostors) confirms
// it, so values from other realms are recognised and a faked Symbol.toStringTag is not.
// ---------------------------------------------------------------------------------------------

const objectToString = (value) => Object.prototype.toString.call(value);
const hasTag = (value, tag) => isObjectLike(value) && objectToString(value) === `[object ${tag}]`;
const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const isEnumerableOwn = (object, key) => Object.prototype.propertyIsEnumerable.call(object, key);
const isObjectLike = (value) => value !== null && typeof value === 'object';

function passesBrandCheck(method, value, ...args) {
  try {
    method.call(value, ...args);
    return true;
  } catch {
    return false;
  }
}

function getterOf(prototype, key) {
  const descriptor = prototype && Object.getOwnPropertyDescriptor(prototype, key);
  return descriptor && descriptor.get;
}

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayTagGetter = getterOf(typedArrayPrototype, Symbol.toStringTag);
const arrayBufferByteLength = getterOf(ArrayBuffer.prototype, 'byteLength');
const sharedArrayBufferByteLength =
  typeof SharedArrayBuffer === 'function' ? getterOf(SharedArrayBuffer.prototype, 'byteLength') : undefined;
const regExpSourceGetter = getterOf(RegExp.prototype, 'source');
const mapSizeGetter = getterOf(Map.prototype, 'size');
const setSizeGetter = getterOf(Set.prototype, 'size');

const isDate = (value) => hasTag(value, 'Date') && passesBrandCheck(Date.prototype.getTime, value);
const isRegExp = (value) =>
  hasTag(value, 'RegExp') && value !== RegExp.prototype && passesBrandCheck(regExpSourceGetter, value);
const isMap = (value) => hasTag(value, 'Map') && passesBrandCheck(mapSizeGetter, value);
const isSet = (value) => hasTag(value, 'Set') && passesBrandCheck(setSizeGetter, value);
const isWeakMap = (value) => hasTag(value, 'WeakMap') && passesBrandCheck(WeakMap.prototype.has, value, {});
const isWeakSet = (value) => hasTag(value, 'WeakSet') && passesBrandCheck(WeakSet.prototype.has, value, {});
const typedArrayName = (value) => (ArrayBuffer.isView(value) ? typedArrayTagGetter.call(value) : undefined);
const isTypedArray = (value) => typedArrayName(value) !== undefined;
const isDataView = (value) => ArrayBuffer.isView(value) && !isTypedArray(value);
const isArrayBuffer = (value) => hasTag(value, 'ArrayBuffer') && passesBrandCheck(arrayBufferByteLength, value);
const isSharedArrayBuffer = (value) =>
  sharedArrayBufferByteLength !== undefined && hasTag(value, 'SharedArrayBuffer') &&
  passesBrandCheck(sharedArrayBufferByteLength, value);
const isAnyArrayBuffer = (value) => isArrayBuffer(value) || isSharedArrayBuffer(value);
const isError = (value) => value instanceof Error || (isObjectLike(value) && objectToString(value) === '[object Error]');
const isPromise = (value) => value instanceof Promise || (isObjectLike(value) && objectToString(value) === '[object Promise]');
const isArguments = (value) => isObjectLike(value) && objectToString(value) === '[object Arguments]';

const BOXED_KINDS = [
  ['Number', Number.prototype.valueOf],
  ['String', String.prototype.valueOf],
  ['Boolean', Boolean.prototype.valueOf],
  ['BigInt', typeof BigInt === 'function' ? BigInt.prototype.valueOf : undefined],
  ['Symbol', Symbol.prototype.valueOf],
];

/** For a boxed primitive (`new Number(1)`, `Object('a')`...) returns its kind name, else undefined. */
function boxedKind(value) {
  if (!isObjectLike(value)) return undefined;
  const tag = objectToString(value).slice(8, -1);
  const entry = BOXED_KINDS.find(([kind]) => kind === tag);
  return entry && entry[1] && passesBrandCheck(entry[1], value) ? tag : undefined;
}

function unboxed(value, kind) {
  return BOXED_KINDS.find(([name]) => name === kind)[1].call(value);
}

/** Own enumerable string keys, plus own enumerable symbol keys when `withSymbols`. */
function ownEnumerableKeys(object, withSymbols) {
  const keys = Object.keys(object);
  if (withSymbols) {
    for (const symbol of Object.getOwnPropertySymbols(object)) {
      if (isEnumerableOwn(object, symbol)) keys.push(symbol);
    }
  }
  return keys;
}

const isIndexKey = (key) => typeof key === 'string' && /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;

function bytesOf(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

// ---------------------------------------------------------------------------------------------
// Rendering values for messages (Node `util.inspect`-like).
//   single-line mode: `{ a: 1, b: [ 1, 2 ] }`, depth-limited, for short messages;
//   multi-line mode:  one property or item per line with sorted keys, for line diffs.
// ---------------------------------------------------------------------------------------------

const MAX_ENTRIES_MULTILINE = 10000;
const MAX_ENTRIES_SINGLE_LINE = 100;
const MAX_DEPTH_SINGLE_LINE = 4;
const MAX_BUFFER_BYTES_SHOWN = 50;

/**
 * Renders `value` the way Node's inspector would, closely enough for assertion messages.
 * @param {unknown} value
 * @param {{ multiline?: boolean }} [options] multi-line mode also sorts keys and entries.
 */
function inspect(value, { multiline = false } = {}) {
  const state = { multiline, sorted: multiline, stack: [], refIds: new Map(), nextRefId: 1 };
  return renderValue(value, state, 0);
}

function renderValue(value, state, depth) {
  if (typeof value === 'function' && !hasVisibleProperties(value)) return functionLabel(value);
  if (!isObjectLike(value) && typeof value !== 'function') return renderPrimitive(value, state);
  if (state.stack.includes(value)) return `[Circular *${refIdFor(value, state)}]`;
  if (!state.multiline && depth > MAX_DEPTH_SINGLE_LINE) return `[${shortTypeName(value)}]`;

  state.stack.push(value);
  let rendered;
  try {
    rendered = renderObject(value, state, depth);
  } finally {
    state.stack.pop();
  }
  const refId = state.refIds.get(value);
  return refId === undefined ? rendered : `<ref *${refId}> ${rendered}`;
}

function refIdFor(value, state) {
  if (!state.refIds.has(value)) state.refIds.set(value, state.nextRefId++);
  return state.refIds.get(value);
}

function hasVisibleProperties(object) {
  return ownEnumerableKeys(object, true).length > 0;
}

function shortTypeName(value) {
  if (Array.isArray(value)) return 'Array';
  const name = constructorName(value);
  return name || 'Object';
}

function constructorName(value) {
  try {
    const prototype = Object.getPrototypeOf(value);
    if (prototype === null) return null;
    const ctor = hasOwn(prototype, 'constructor') ? prototype.constructor : undefined;
    return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : '';
  } catch {
    return '';
  }
}

function renderPrimitive(value, state) {
  switch (typeof value) {
    case 'string':
      return state.multiline ? renderMultilineString(value) : quoteString(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    default:
      return String(value);
  }
}

/** Long strings with newlines are split Node-style into `'line\n' +` pieces, one per line. */
function renderMultilineString(text) {
  if (text.length <= 16 || !text.includes('\n')) return quoteString(text);
  const pieces = text.match(/[^\n]*\n|[^\n]+$/g);
  return pieces.map(quoteString).join(' +\n');
}

const STRING_ESCAPES = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\\': '\\\\' };

/** Quotes like Node: single quotes unless the text contains one, then double, then backticks. */
function quoteString(text) {
  let quote = "'";
  if (text.includes("'")) {
    if (!text.includes('"')) quote = '"';
    else if (!text.includes('`') && !text.includes('${')) quote = '`';
  }
  let out = '';
  for (const char of text) {
    if (char === quote) out += `\\${quote}`;
    else if (STRING_ESCAPES[char]) out += STRING_ESCAPES[char];
    else if (char < ' ' || char === '\x7f') out += `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else if (char.length === 1 && char >= '\ud800' && char <= '\udfff') out += `\\u${char.charCodeAt(0).toString(16)}`;
    else out += char;
  }
  return quote + out + quote;
}

function functionLabel(fn) {
  let source = '';
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    // Not a real function (e.g. a revoked proxy): fall through to the generic label.
  }
  const name = typeof fn.name === 'string' && fn.name ? fn.name : '';
  if (/^class\b/.test(source)) {
    const parent = Object.getPrototypeOf(fn);
    const extendsPart = typeof parent === 'function' && parent.name ? ` extends ${parent.name}` : '';
    return `[class ${name || '(anonymous)'}${extendsPart}]`;
  }
  const kind = functionKind(fn);
  return name ? `[${kind}: ${name}]` : `[${kind} (anonymous)]`;
}

function functionKind(fn) {
  const tag = objectToString(fn).slice(8, -1);
  return tag === 'Function' || !tag.endsWith('Function') ? 'Function' : tag;
}

/** Renders a non-primitive: picks a prefix, braces and entries per kind, then lays them out. */
function renderObject(value, state, depth) {
  const parts = describeObject(value, state, depth);
  const entries = parts.entries.concat(renderProperties(value, parts.skipKey, state, depth));
  if (parts.base !== undefined && entries.length === 0) return parts.base;
  const prefix = parts.base !== undefined ? parts.base : parts.prefix;
  return layout(prefix, parts.braces, entries, state);
}

function describeObject(value, state, depth) {
  const render = (item) => renderValue(item, state, depth + 1);
  if (Array.isArray(value)) return describeArray(value, state, render);
  if (isArguments(value)) return { prefix: '[Arguments]', braces: ['[', ']'], ...arrayItems(value, state, render) };
  const typedName = typedArrayName(value);
  if (typedName) return describeTypedArray(value, typedName, state, render);
  if (isAnyArrayBuffer(value)) return describeArrayBuffer(value);
  if (isDataView(value)) return describeDataView(value, render);
  if (isMap(value)) return describeMap(value, state, render);
  if (isSet(value)) return describeSet(value, state, render);
  if (isWeakMap(value) || isWeakSet(value)) {
    return { prefix: isWeakMap(value) ? 'WeakMap' : 'WeakSet', braces: ['{', '}'], entries: ['<items unknown>'] };
  }
  if (typeof value === 'function') return { base: functionLabel(value), braces: ['{', '}'], entries: [] };
  if (isDate(value)) return { base: dateLabel(value), braces: ['{', '}'], entries: [] };
  if (isRegExp(value)) return { base: String(value), braces: ['{', '}'], entries: [] };
  if (isError(value)) return describeError(value, render);
  const kind = boxedKind(value);
  if (kind) return describeBoxed(value, kind, state);
  if (isPromise(value)) return { prefix: 'Promise', braces: ['{', '}'], entries: ['<state unknown>'] };
  return { prefix: objectPrefix(value), braces: ['{', '}'], entries: [] };
}

function describeArray(array, state, render) {
  const name = constructorName(array);
  const prefix = name === 'Array' ? '' : `${name === null ? '[Array: null prototype]' : name}(${array.length})`;
  return { prefix, braces: ['[', ']'], ...arrayItems(array, state, render) };
}

/** Items of an array-like, with runs of holes collapsed to `<N empty items>`. */
function arrayItems(arrayLike, state, render) {
  const limit = state.multiline ? MAX_ENTRIES_MULTILINE : MAX_ENTRIES_SINGLE_LINE;
  const entries = [];
  let holes = 0;
  const flushHoles = () => {
    if (holes > 0) entries.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    holes = 0;
  };
  const length = arrayLike.length;
  for (let index = 0; index < length; index++) {
    if (entries.length >= limit) {
      flushHoles();
      entries.push(`... ${length - index} more item${length - index > 1 ? 's' : ''}`);
      break;
    }
    if (!hasOwn(arrayLike, index)) {
      holes++;
      continue;
    }
    flushHoles();
    entries.push(renderProperty(arrayLike, String(index), render, state).value);
  }
  flushHoles();
  return { entries, skipKey: isIndexKey };
}

function describeTypedArray(array, name, state, render) {
  const limit = state.multiline ? MAX_ENTRIES_MULTILINE : MAX_ENTRIES_SINGLE_LINE;
  const entries = [];
  for (let index = 0; index < array.length; index++) {
    if (index >= limit) {
      entries.push(`... ${array.length - index} more items`);
      break;
    }
    entries.push(render(array[index]));
  }
  return { prefix: `${name}(${array.length})`, braces: ['[', ']'], entries, skipKey: isIndexKey };
}

function hexBytes(value) {
  const bytes = bytesOf(value);
  const shown = Array.from(bytes.subarray(0, MAX_BUFFER_BYTES_SHOWN), (byte) => byte.toString(16).padStart(2, '0'));
  const more = bytes.length > MAX_BUFFER_BYTES_SHOWN ? ` ... ${bytes.length - MAX_BUFFER_BYTES_SHOWN} more bytes` : '';
  return `<${shown.join(' ')}${more}>`;
}

function describeArrayBuffer(buffer) {
  const name = isSharedArrayBuffer(buffer) ? 'SharedArrayBuffer' : 'ArrayBuffer';
  return {
    prefix: name,
    braces: ['{', '}'],
    entries: [`[Uint8Contents]: ${hexBytes(buffer)}`, `byteLength: ${buffer.byteLength}`],
  };
}

function describeDataView(view, render) {
  return {
    prefix: 'DataView',
    braces: ['{', '}'],
    entries: [`byteLength: ${view.byteLength}`, `byteOffset: ${view.byteOffset}`, `buffer: ${render(view.buffer)}`],
  };
}

function sortedIfNeeded(entries, state) {
  return state.sorted ? entries.slice().sort(compareStrings) : entries;
}

const compareStrings = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function describeMap(map, state, render) {
  const entries = [];
  for (const [key, item] of map) entries.push(`${render(key)} => ${render(item)}`);
  return { prefix: `Map(${map.size})`, braces: ['{', '}'], entries: sortedIfNeeded(entries, state) };
}

function describeSet(set, state, render) {
  const entries = [];
  for (const item of set) entries.push(render(item));
  return { prefix: `Set(${set.size})`, braces: ['{', '}'], entries: sortedIfNeeded(entries, state) };
}

function dateLabel(date) {
  const time = date.getTime();
  return Number.isNaN(time) ? 'Invalid Date' : date.toISOString();
}

function errorLabel(error) {
  let name = 'Error';
  let message = '';
  try {
    name = String(error.name);
    message = String(error.message);
  } catch {
    // Throwing getters: keep the defaults.
  }
  return message ? `${name}: ${message}` : name;
}

/** Errors render as `[Name: message]`, plus `[cause]`/`[errors]` when present and hidden. */
function describeError(error, render) {
  const entries = [];
  for (const key of ['cause', 'errors']) {
    if (hasOwn(error, key) && !isEnumerableOwn(error, key)) entries.push(`[${key}]: ${render(error[key])}`);
  }
  const skipKey = (key) => key === 'stack' || key === 'message';
  return { base: `[${errorLabel(error)}]`, braces: ['{', '}'], entries, skipKey };
}

function describeBoxed(value, kind, state) {
  const inner = renderPrimitive(unboxed(value, kind), { ...state, multiline: false });
  const length = kind === 'String' ? String.prototype.valueOf.call(value).length : 0;
  const skipKey = (key) => kind === 'String' && isIndexKey(key) && Number(key) < length;
  return { base: `[${kind}: ${inner}]`, braces: ['{', '}'], entries: [], skipKey };
}

function objectPrefix(value) {
  const name = constructorName(value);
  const tag = value[Symbol.toStringTag];
  if (name === null) return tag ? `[${tag}: null prototype]` : '[Object: null prototype]';
  let prefix = name === 'Object' ? '' : name;
  if (typeof tag === 'string' && tag && tag !== name) prefix = `${prefix || 'Object'} [${tag}]`;
  return prefix;
}

/** `key: value` entries for own enumerable string and symbol keys (sorted in multi-line mode). */
function renderProperties(object, skipKey, state, depth) {
  const render = (item) => renderValue(item, state, depth + 1);
  const keys = ownEnumerableKeys(object, false).filter((key) => !(skipKey && skipKey(key)));
  if (state.sorted) keys.sort(compareStrings);
  for (const symbol of Object.getOwnPropertySymbols(object)) {
    if (isEnumerableOwn(object, symbol)) keys.push(symbol);
  }
  return keys.map((key) => {
    const { value } = renderProperty(object, key, render, state);
    return `${renderKey(key)}: ${value}`;
  });
}

function renderProperty(object, key, render, state) {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  if (!descriptor || !('get' in descriptor || 'set' in descriptor)) {
    return { value: render(descriptor ? descriptor.value : object[key]) };
  }
  if (!descriptor.get) return { value: '[Setter]' };
  const label = descriptor.set ? 'Getter/Setter' : 'Getter';
  if (!state.multiline) return { value: `[${label}]` };
  try {
    return { value: `[${label}: ${render(descriptor.get.call(object))}]` };
  } catch (error) {
    return { value: `[${label}: <Inspection threw (${errorLabel(error)})>]` };
  }
}

function renderKey(key) {
  if (typeof key === 'symbol') return `[${key.toString()}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : quoteString(key);
}

function layout(prefix, [open, close], entries, state) {
  const head = prefix ? `${prefix} ` : '';
  if (entries.length === 0) return `${head}${open}${close}`;
  if (!state.multiline) return `${head}${open} ${entries.join(', ')} ${close}`;
  const body = entries.map((entry) => indentLines(entry, '  ')).join(',\n');
  return `${head}${open}\n${body}\n${close}`;
}

const indentLines = (text, indent) => text.split('\n').map((line) => indent + line).join('\n');

// ---------------------------------------------------------------------------------------------
// Line diff for messages: `+` lines come from actual, `-` lines from expected.
// ---------------------------------------------------------------------------------------------

const DIFF_CONTEXT_LINES = 3;
const MAX_LCS_CELLS = 4_000_000;

/**
 * Returns [{ kind: ' ' | '+' | '-', line }] turning `expected` lines into `actual` lines.
 * Lines that differ only by a trailing comma count as unchanged (the last item of a list has
 * none), and are printed as in `actual`.
 */
function diffLines(actualLines, expectedLines) {
  const withoutComma = (line) => (line.endsWith(',') ? line.slice(0, -1) : line);
  const actual = actualLines.map(withoutComma);
  const expected = expectedLines.map(withoutComma);
  let start = 0;
  while (start < actual.length && start < expected.length && actual[start] === expected[start]) start++;
  let endA = actual.length;
  let endE = expected.length;
  while (endA > start && endE > start && actual[endA - 1] === expected[endE - 1]) {
    endA--;
    endE--;
  }
  const operations = diffMiddle(actual.slice(start, endA), expected.slice(start, endE));
  let indexA = start;
  let indexE = start;
  const middle = operations.map(({ kind }) => {
    if (kind === '-') return { kind, line: expectedLines[indexE++] };
    indexE += kind === ' ' ? 1 : 0;
    return { kind, line: actualLines[indexA++] };
  });
  const head = actualLines.slice(0, start).map((line) => ({ kind: ' ', line }));
  const tail = actualLines.slice(endA).map((line) => ({ kind: ' ', line }));
  return head.concat(middle, tail);
}

/** Longest-common-subsequence diff; falls back to "all replaced" when the table would be huge. */
function diffMiddle(actual, expected) {
  const rows = actual.length;
  const cols = expected.length;
  if (rows * cols > MAX_LCS_CELLS) {
    return actual.map((line) => ({ kind: '+', line })).concat(expected.map((line) => ({ kind: '-', line })));
  }
  const width = cols + 1;
  const table = new Uint32Array((rows + 1) * width);
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = cols - 1; j >= 0; j--) {
      table[i * width + j] = actual[i] === expected[j]
        ? table[(i + 1) * width + j + 1] + 1
        : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const result = [];
  let added = [];
  let removed = [];
  const flush = () => {
    result.push(...added, ...removed);
    added = [];
    removed = [];
  };
  let i = 0;
  let j = 0;
  while (i < rows || j < cols) {
    if (i < rows && j < cols && actual[i] === expected[j]) {
      flush();
      result.push({ kind: ' ', line: actual[i] });
      i++;
      j++;
    } else if (j >= cols || (i < rows && table[(i + 1) * width + j] >= table[i * width + j + 1])) {
      added.push({ kind: '+', line: actual[i++] });
    } else {
      removed.push({ kind: '-', line: expected[j++] });
    }
  }
  flush();
  return result;
}

/** Prints a diff, keeping a few unchanged lines around each change and eliding the rest. */
function formatDiff(operations) {
  const keep = operations.map(() => false);
  operations.forEach((operation, index) => {
    if (operation.kind === ' ') return;
    const from = Math.max(0, index - DIFF_CONTEXT_LINES);
    const to = Math.min(operations.length - 1, index + DIFF_CONTEXT_LINES);
    for (let k = from; k <= to; k++) keep[k] = true;
  });
  const lines = [];
  for (let index = 0; index < operations.length; index++) {
    if (keep[index]) {
      const { kind, line } = operations[index];
      lines.push(`${kind} ${line}`);
      continue;
    }
    let end = index;
    while (end + 1 < operations.length && !keep[end + 1]) end++;
    const skipped = end - index + 1;
    if (skipped === 1) lines.push(`  ${operations[index].line}`);
    else lines.push(`... ${skipped} unchanged lines`);
    index = end;
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Messages generated for AssertionError.
// ---------------------------------------------------------------------------------------------

const EQUALITY_HEADERS = {
  deepStrictEqual: 'Expected values to be strictly deep-equal:',
  strictEqual: 'Expected values to be strictly equal:',
  deepEqual: 'Expected values to be loosely deep-equal:',
};

const INEQUALITY_HEADERS = {
  notDeepStrictEqual: 'Expected "actual" not to be strictly deep-equal to:',
  notStrictEqual: 'Expected "actual" to be strictly unequal to:',
  notDeepEqual: 'Expected "actual" not to be loosely deep-equal to:',
};

const SHORT_LINE = 60;

/**
 * Like Node, a caller's message for strictEqual/deepStrictEqual replaces only the header line
 * of the generated message: the difference is still shown below it.
 */
function messageWithDifference(message, actual, expected, operator) {
  if (operator !== 'strictEqual' && operator !== 'deepStrictEqual') return String(message);
  const generated = generateMessage(actual, expected, operator);
  return String(message) + generated.slice(generated.indexOf('\n'));
}

function generateMessage(actual, expected, operator) {
  if (operator in EQUALITY_HEADERS) return equalityMessage(actual, expected, operator);
  if (operator in INEQUALITY_HEADERS) return inequalityMessage(actual, expected, operator);
  return `${inspect(actual)} ${operator} ${inspect(expected)}`;
}

function equalityMessage(actual, expected, operator) {
  const header = EQUALITY_HEADERS[operator];
  const actualText = inspect(actual, { multiline: true });
  const expectedText = inspect(expected, { multiline: true });
  const bothOneLine = !actualText.includes('\n') && !expectedText.includes('\n');
  const anyObject = isObjectLike(actual) || isObjectLike(expected);
  if (bothOneLine && !anyObject && actualText.length + expectedText.length <= SHORT_LINE) {
    const sign = operator === 'deepEqual' ? '!=' : '!==';
    return `${header}\n\n${actualText} ${sign} ${expectedText}\n`;
  }
  if (actualText === expectedText) return sameRenderingMessage(operator, actualText);
  const diff = formatDiff(diffLines(actualText.split('\n'), expectedText.split('\n')));
  return `${header}\n+ actual - expected\n\n${diff}`;
}

function sameRenderingMessage(operator, rendered) {
  if (operator === 'strictEqual') return `Values have same structure but are not reference-equal:\n\n${rendered}\n`;
  const kind = operator === 'deepEqual' ? 'loosely' : 'strictly';
  return `Values are not ${kind} deep-equal, although they render the same ` +
    `(they differ in something not shown, e.g. a prototype or a non-visible property):\n\n${rendered}\n`;
}

function inequalityMessage(actual, expected, operator) {
  const rendered = inspect(expected, { multiline: true });
  if (operator === 'notStrictEqual' && isObjectLike(expected)) {
    return `Expected "actual" not to be reference-equal to "expected":\n\n${rendered}\n`;
  }
  if (!rendered.includes('\n') && rendered.length <= SHORT_LINE) return `${INEQUALITY_HEADERS[operator]} ${rendered}`;
  return `${INEQUALITY_HEADERS[operator]}\n\n${rendered}\n`;
}

// ---------------------------------------------------------------------------------------------
// AssertionError
// ---------------------------------------------------------------------------------------------

/** The error every failed assertion throws (unless the caller passed an Error as message). */
class AssertionError extends Error {
  /**
   * @param {{ message?: string, actual?: unknown, expected?: unknown, operator?: string,
   *           stackStartFn?: Function }} options
   */
  constructor(options) {
    if (!isObjectLike(options)) {
      throw makeTypeError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object.');
    }
    const { message, actual, expected, operator, stackStartFn } = options;
    const generatedMessage = message === undefined || message === null;
    super(generatedMessage
      ? generateMessage(actual, expected, operator)
      : messageWithDifference(message, actual, expected, operator));
    captureStack(this, stackStartFn || AssertionError);
    this.generatedMessage = generatedMessage;
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
  }

  toString() {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

Object.defineProperty(AssertionError.prototype, 'name', {
  value: 'AssertionError', writable: true, configurable: true, enumerable: false,
});

/**
 * Points the stack at the caller of the assertion (where the engine supports it) and makes
 * its first line read `AssertionError [ERR_ASSERTION]: ...` as in Node.
 */
function captureStack(error, stackStartFn) {
  if (typeof Error.captureStackTrace !== 'function') return;
  error.name = 'AssertionError [ERR_ASSERTION]';
  Error.captureStackTrace(error, stackStartFn);
  void error.stack; // V8 formats lazily; read it now, while the name is the long form.
  delete error.name;
}

function makeTypeError(code, message) {
  const error = new TypeError(message);
  error.code = code;
  return error;
}

/** Throws: the caller's Error as-is, or an AssertionError built from `options`. */
function raise(options) {
  if (options.message instanceof Error) throw options.message;
  throw new AssertionError(options);
}

// ---------------------------------------------------------------------------------------------
// Deep equality (Node's documented rules for deepEqual / deepStrictEqual)
// ---------------------------------------------------------------------------------------------

const LOOSE = false;
const STRICT = true;

/** Returns whether `a` and `b` are deep-equal, loosely (`strict` false) or strictly. */
function isDeepEqual(a, b, strict) {
  return compareValues(a, b, strict, { inProgressA: new Map(), inProgressB: new Map() });
}

function comparePrimitives(a, b, strict) {
  if (strict) return Object.is(a, b);
  return a == b || (Number.isNaN(a) && Number.isNaN(b)); // eslint-disable-line eqeqeq
}

function compareValues(a, b, strict, memo) {
  if (a === b) return a !== 0 || !strict || Object.is(a, b);
  if (!isObjectLike(a) || !isObjectLike(b)) {
    return !isObjectLike(a) && !isObjectLike(b) && comparePrimitives(a, b, strict);
  }
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (objectToString(a) !== objectToString(b)) return false;
  return compareObjectsOnce(a, b, strict, memo);
}

/**
 * Guards against cycles: if both objects are already being compared further up, they are
 * equal exactly when they were entered at the same depth ("both sides circular").
 */
function compareObjectsOnce(a, b, strict, memo) {
  const depthA = memo.inProgressA.get(a);
  const depthB = memo.inProgressB.get(b);
  if (depthA !== undefined && depthB !== undefined) return depthA === depthB;
  const depth = memo.inProgressA.size;
  const enteredA = depthA === undefined;
  const enteredB = depthB === undefined;
  if (enteredA) memo.inProgressA.set(a, depth);
  if (enteredB) memo.inProgressB.set(b, depth);
  try {
    return compareObjects(a, b, strict, memo);
  } finally {
    if (enteredA) memo.inProgressA.delete(a);
    if (enteredB) memo.inProgressB.delete(b);
  }
}

/** Type-specific checks first, then own enumerable properties (indices excluded where apt). */
function compareObjects(a, b, strict, memo) {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return compareProperties(a, b, strict, memo);
  }
  if (isDate(a)) {
    if (!isDate(b) || a.getTime() !== b.getTime()) return false;
  } else if (isRegExp(a)) {
    if (!isRegExp(b) || !sameRegExp(a, b)) return false;
  } else if (isError(a)) {
    if (!isError(b) || !sameErrorBasics(a, b, strict, memo)) return false;
  } else if (ArrayBuffer.isView(a)) {
    if (!ArrayBuffer.isView(b) || !sameViewContents(a, b, strict)) return false;
    return compareProperties(a, b, strict, memo, isIndexKey);
  } else if (isAnyArrayBuffer(a)) {
    if (!isAnyArrayBuffer(b) || !sameBytes(a, b)) return false;
  } else if (boxedKind(a) || boxedKind(b)) {
    if (!sameBoxedValue(a, b)) return false;
  } else if (isMap(a)) {
    if (!isMap(b) || a.size !== b.size || !sameMapEntries(a, b, strict, memo)) return false;
  } else if (isSet(a)) {
    if (!isSet(b) || a.size !== b.size || !sameSetItems(a, b, strict, memo)) return false;
  }
  return compareProperties(a, b, strict, memo);
}

function sameRegExp(a, b) {
  return a.source === b.source && a.flags === b.flags && a.lastIndex === b.lastIndex;
}

/** Error name, message, cause and (AggregateError) errors count even when not enumerable. */
function sameErrorBasics(a, b, strict, memo) {
  if (a.message !== b.message || a.name !== b.name) return false;
  for (const key of ['cause', 'errors']) {
    const inA = hasOwn(a, key);
    if (inA !== hasOwn(b, key)) return false;
    if (inA && !compareValues(a[key], b[key], strict, memo)) return false;
  }
  return true;
}

/** Loose Float32/64 arrays compare element-wise with `==`; everything else compares bytes. */
function sameViewContents(a, b, strict) {
  if (a.byteLength !== b.byteLength) return false;
  const name = typedArrayName(a);
  if (!strict && (name === 'Float32Array' || name === 'Float64Array')) {
    if (a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) {
      if (a[index] !== b[index]) return false;
    }
    return true;
  }
  return sameBytes(a, b);
}

function sameBytes(a, b) {
  const bytesA = bytesOf(a);
  const bytesB = bytesOf(b);
  if (bytesA.length !== bytesB.length) return false;
  for (let index = 0; index < bytesA.length; index++) {
    if (bytesA[index] !== bytesB[index]) return false;
  }
  return true;
}

function sameBoxedValue(a, b) {
  const kind = boxedKind(a);
  if (!kind || kind !== boxedKind(b)) return false;
  return Object.is(unboxed(a, kind), unboxed(b, kind));
}

/** Compares own enumerable keys (and, in strict mode, enumerable symbol keys) unordered. */
function compareProperties(a, b, strict, memo, skipKey) {
  const keep = (key) => !(skipKey && skipKey(key));
  const keysA = ownEnumerableKeys(a, strict).filter(keep);
  const keysB = ownEnumerableKeys(b, strict).filter(keep);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!isEnumerableOwn(b, key)) return false;
  }
  for (const key of keysA) {
    if (!compareValues(a[key], b[key], strict, memo)) return false;
  }
  return true;
}

/**
 * Map entries are matched by key. Object keys (and, in loose mode, primitive keys with no
 * exact counterpart) are paired greedily with a deep-equal key whose value is deep-equal too.
 */
function sameMapEntries(a, b, strict, memo) {
  const unmatched = [];
  const exactlyMatched = new Set();
  for (const [key, value] of a) {
    if (!isObjectLike(key) && b.has(key) && compareValues(value, b.get(key), strict, memo)) {
      exactlyMatched.add(key);
    } else if (isObjectLike(key) || !strict) {
      unmatched.push([key, value]);
    } else {
      return false;
    }
  }
  if (unmatched.length === 0) return true;
  const candidates = [...b].filter(([key]) => !exactlyMatched.has(key) && (isObjectLike(key) || !strict));
  return pairAll(unmatched, candidates, ([keyA, valueA], [keyB, valueB]) =>
    compareValues(keyA, keyB, strict, memo) && compareValues(valueA, valueB, strict, memo));
}

/** Set items: exact membership first, then greedy deep pairing for the rest (as for Maps). */
function sameSetItems(a, b, strict, memo) {
  const unmatched = [];
  for (const item of a) {
    if (!isObjectLike(item) && b.has(item)) continue;
    if (isObjectLike(item) || !strict) unmatched.push(item);
    else return false;
  }
  if (unmatched.length === 0) return true;
  const candidates = [...b].filter((item) => isObjectLike(item) || !(a.has(item)));
  return pairAll(unmatched, candidates, (itemA, itemB) => compareValues(itemA, itemB, strict, memo));
}

function pairAll(unmatched, candidates, isMatch) {
  const remaining = candidates.slice();
  for (const entry of unmatched) {
    const index = remaining.findIndex((candidate) => isMatch(entry, candidate));
    if (index === -1) return false;
    remaining.splice(index, 1);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

function innerOk(stackStartFn, argumentCount, value, message) {
  if (value) return;
  if (argumentCount === 0 || message === undefined || message === null) {
    const error = new AssertionError({
      message: argumentCount === 0
        ? 'No value argument passed to `assert.ok()`'
        : `The expression evaluated to a falsy value:\n\n  assert.ok(${inspect(value)})\n`,
      actual: value, expected: true, operator: '==', stackStartFn,
    });
    error.generatedMessage = true;
    throw error;
  }
  raise({ message, actual: value, expected: true, operator: '==', stackStartFn });
}

/** `assert.ok(value[, message])`: fails when `value` is falsy. */
function ok(...args) {
  innerOk(ok, args.length, ...args);
}

function looseEqual(actual, expected, message) {
  if (comparePrimitives(actual, expected, LOOSE)) return;
  raise({ message, actual, expected, operator: '==', stackStartFn: looseEqual });
}

function looseNotEqual(actual, expected, message) {
  if (!comparePrimitives(actual, expected, LOOSE)) return;
  raise({ message, actual, expected, operator: '!=', stackStartFn: looseNotEqual });
}

/** `assert.strictEqual`: `Object.is` equality. */
function strictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) return;
  raise({ message, actual, expected, operator: 'strictEqual', stackStartFn: strictEqual });
}

/** `assert.notStrictEqual`: fails when `Object.is(actual, expected)`. */
function notStrictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) return;
  raise({ message, actual, expected, operator: 'notStrictEqual', stackStartFn: notStrictEqual });
}

function looseDeepEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected, LOOSE)) return;
  raise({ message, actual, expected, operator: 'deepEqual', stackStartFn: looseDeepEqual });
}

function looseNotDeepEqual(actual, expected, message) {
  if (!isDeepEqual(actual, expected, LOOSE)) return;
  raise({ message, actual, expected, operator: 'notDeepEqual', stackStartFn: looseNotDeepEqual });
}

/** `assert.deepStrictEqual`: strict deep equality (prototypes, -0, symbol keys...). */
function deepStrictEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected, STRICT)) return;
  raise({ message, actual, expected, operator: 'deepStrictEqual', stackStartFn: deepStrictEqual });
}

/** `assert.notDeepStrictEqual`. */
function notDeepStrictEqual(actual, expected, message) {
  if (!isDeepEqual(actual, expected, STRICT)) return;
  raise({ message, actual, expected, operator: 'notDeepStrictEqual', stackStartFn: notDeepStrictEqual });
}

/** `assert.fail([message])` (also the deprecated `fail(actual, expected, message, operator)`). */
function fail(...args) {
  let [message] = args;
  let actual;
  let expected;
  let operator = 'fail';
  if (args.length >= 2) {
    [actual, expected, message, operator = '!='] = args;
    if (message === undefined) message = `${inspect(actual)} ${operator} ${inspect(expected)}`;
  }
  if (message instanceof Error) throw message;
  const error = new AssertionError({
    message: message === undefined ? 'Failed' : message, actual, expected, operator, stackStartFn: fail,
  });
  if (args.length === 0) error.generatedMessage = true;
  throw error;
}

/** `assert.ifError(value)`: throws when `value` is neither `null` nor `undefined`. */
function ifError(value) {
  if (value === null || value === undefined) return;
  const detail = isObjectLike(value) && typeof value.message === 'string' && value.message
    ? value.message
    : inspect(value);
  const error = new AssertionError({
    message: `ifError got unwanted exception: ${detail}`,
    actual: value, expected: null, operator: 'ifError', stackStartFn: ifError,
  });
  if (isError(value) && typeof value.stack === 'string' && typeof error.stack === 'string') {
    error.stack = `${error.stack}\n\nCaused by the unwanted exception:\n${value.stack}`;
  }
  throw error;
}

function assertRegExpArgument(regexp) {
  if (!isRegExp(regexp)) {
    throw makeTypeError('ERR_INVALID_ARG_TYPE',
      `The "regexp" argument must be an instance of RegExp. Received ${inspect(regexp)}`);
  }
}

function checkMatch(string, regexp, message, wantMatch, stackStartFn) {
  assertRegExpArgument(regexp);
  const operator = wantMatch ? 'match' : 'doesNotMatch';
  let generated;
  if (typeof string !== 'string') {
    generated = `The "string" argument must be of type string. Received type ${typeof string} (${inspect(string)})`;
  } else if ((regexp.exec(string) !== null) === wantMatch) {
    return;
  } else if (wantMatch) {
    generated = `The input did not match the regular expression ${inspect(regexp)}. Input:\n\n${inspect(string)}\n`;
  } else {
    generated = `The input was expected to not match the regular expression ${inspect(regexp)}. Input:\n\n${inspect(string)}\n`;
  }
  failWithMessage(string, regexp, message, generated, operator, stackStartFn);
}

/** `assert.match(string, regexp[, message])`. */
function match(string, regexp, message) {
  checkMatch(string, regexp, message, true, match);
}

/** `assert.doesNotMatch(string, regexp[, message])`. */
function doesNotMatch(string, regexp, message) {
  checkMatch(string, regexp, message, false, doesNotMatch);
}

// --- throws / rejects -------------------------------------------------------------------------

const NO_EXCEPTION = Symbol('no exception');

function catchSync(fn) {
  if (typeof fn !== 'function') {
    throw makeTypeError('ERR_INVALID_ARG_TYPE', `The "fn" argument must be of type function. Received ${inspect(fn)}`);
  }
  try {
    fn();
  } catch (error) {
    return error;
  }
  return NO_EXCEPTION;
}

/** Resolves to the rejection reason of a promise (or of the promise an async fn returns). */
async function catchAsync(promiseOrFn) {
  let promise = promiseOrFn;
  if (typeof promiseOrFn === 'function') {
    promise = promiseOrFn();
    if (!isThenable(promise)) {
      throw makeTypeError('ERR_INVALID_RETURN_VALUE',
        `Expected instance of Promise to be returned from the "promiseFn" function but got ${inspect(promise)}.`);
    }
  } else if (!isThenable(promiseOrFn)) {
    throw makeTypeError('ERR_INVALID_ARG_TYPE',
      `The "promiseFn" argument must be of type function or an instance of Promise. Received ${inspect(promiseOrFn)}`);
  }
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return NO_EXCEPTION;
}

const isThenable = (value) => value !== null && (typeof value === 'object' || typeof value === 'function') &&
  typeof value.then === 'function';

/** Validates the optional `error` argument and normalises the string-as-message form. */
function normaliseExpectation(error, message, argumentCount) {
  if (typeof error === 'string') {
    if (argumentCount === 3) {
      throw makeTypeError('ERR_INVALID_ARG_TYPE',
        'The "error" argument must be of type function or an instance of Error, RegExp, or Object. Received a string');
    }
    return { expected: undefined, message: error, messageFromErrorArgument: true };
  }
  const valid = error === undefined || typeof error === 'function' || isObjectLike(error);
  if (!valid) {
    throw makeTypeError('ERR_INVALID_ARG_TYPE',
      `The "error" argument must be of type function or an instance of Error, RegExp, or Object. Received ${inspect(error)}`);
  }
  return { expected: error, message, messageFromErrorArgument: false };
}

function missingExceptionMessage(kind, expected, message) {
  let details = '';
  if (expected && typeof expected.name === 'string' && expected.name) details += ` (${expected.name})`;
  details += message ? `: ${message}` : '.';
  return `Missing expected ${kind}${details}`;
}

/** Checks a caught value against a class, RegExp, validation function or object pattern. */
function validateCaught(actual, expected, message, operator, stackStartFn) {
  if (typeof expected !== 'function') {
    if (isRegExp(expected)) return validateWithRegExp(actual, expected, message, operator, stackStartFn);
    return validateWithObject(actual, expected, message, operator, stackStartFn);
  }
  if (expected.prototype !== undefined && actual instanceof expected) return;
  if (Error === expected || Error.prototype.isPrototypeOf(expected.prototype ?? null)) {
    const received = isObjectLike(actual) && actual.constructor && actual.constructor.name
      ? `Received "${actual.constructor.name}"`
      : `Received ${inspect(actual)}`;
    let generated = `The error is expected to be an instance of "${expected.name}". ${received}`;
    if (isError(actual)) generated += `\n\nError message:\n\n${actual.message}`;
    failWithMessage(actual, expected, message, generated, operator, stackStartFn);
  }
  const result = expected.call({}, actual);
  if (result === true) return;
  const fnName = expected.name ? `"${expected.name}" ` : '';
  const generated = `The ${fnName}validation function is expected to return "true". Received ${inspect(result)}` +
    `\n\nCaught error:\n\n${isError(actual) ? errorLabel(actual) : inspect(actual)}`;
  failWithMessage(actual, expected, message, generated, operator, stackStartFn);
}

/** Throws the caller's message (or Error) if given, else an AssertionError with `generated`. */
function failWithMessage(actual, expected, message, generated, operator, stackStartFn) {
  if (message instanceof Error) throw message;
  const error = new AssertionError({ message: message ?? generated, actual, expected, operator, stackStartFn });
  error.generatedMessage = message === undefined || message === null;
  throw error;
}

function validateWithRegExp(actual, expected, message, operator, stackStartFn) {
  const text = String(actual);
  if (expected.exec(text) !== null) return;
  const generated = `The input did not match the regular expression ${inspect(expected)}. Input:\n\n${inspect(text)}\n`;
  failWithMessage(actual, expected, message, generated, operator, stackStartFn);
}

/** Object pattern: each own key (plus name/message for Error patterns) must deep-strict-match. */
function validateWithObject(actual, expected, message, operator, stackStartFn) {
  if (!isObjectLike(actual)) {
    if (message instanceof Error) throw message;
    const error = new AssertionError({ message, actual, expected, operator: 'deepStrictEqual', stackStartFn });
    error.operator = operator;
    throw error;
  }
  const keys = Object.keys(expected);
  if (isError(expected)) keys.push('name', 'message');
  else if (keys.length === 0) {
    throw makeTypeError('ERR_INVALID_ARG_VALUE', "The argument 'error' may not be an empty object. Received {}");
  }
  const mismatch = keys.some((key) => !keyMatches(actual, expected, key));
  if (!mismatch) return;
  if (message !== undefined && message !== null) failWithMessage(actual, expected, message, '', operator, stackStartFn);
  const error = new AssertionError({
    actual: comparisonView(actual, keys, actual, expected),
    expected: comparisonView(expected, keys, actual, expected),
    operator: 'deepStrictEqual',
    stackStartFn,
  });
  error.actual = actual;
  error.expected = expected;
  error.operator = operator;
  throw error;
}

function keyMatches(actual, expected, key) {
  if (!(key in actual)) return false;
  if (typeof actual[key] === 'string' && isRegExp(expected[key]) && expected[key].exec(actual[key]) !== null) return true;
  return isDeepEqual(actual[key], expected[key], STRICT);
}

/** A `Comparison { key: value }` object of just the compared keys, for the diff message. */
function comparisonView(source, keys, actual, expected) {
  const view = Object.create(Comparison.prototype);
  for (const key of keys) {
    if (!(key in source)) continue;
    const regexpMatched = source === expected && typeof actual[key] === 'string' && isRegExp(expected[key]) &&
      expected[key].exec(actual[key]) !== null;
    view[key] = regexpMatched ? actual[key] : source[key];
  }
  return view;
}

class Comparison {}

function checkThrown(actual, stackStartFn, kind, error, message, argumentCount) {
  const expectation = normaliseExpectation(error, message, argumentCount);
  const operator = stackStartFn.name;
  if (actual === NO_EXCEPTION) {
    if (expectation.message instanceof Error) throw expectation.message;
    const generated = missingExceptionMessage(kind, expectation.expected, expectation.message);
    throw new AssertionError({ message: generated, actual: undefined, expected: expectation.expected, operator, stackStartFn });
  }
  if (expectation.messageFromErrorArgument && isObjectLike(actual) && actual.message === expectation.message) {
    throw makeTypeError('ERR_AMBIGUOUS_ARGUMENT',
      `The "error/message" argument is ambiguous. The error message "${actual.message}" is identical to the message.`);
  }
  if (expectation.expected !== undefined) {
    validateCaught(actual, expectation.expected, expectation.message, operator, stackStartFn);
  }
}

/** True when the caught value matches a class, RegExp or validation function (doesNotThrow). */
function matchesExpectation(actual, expected) {
  if (typeof expected !== 'function') {
    if (isRegExp(expected)) return expected.exec(String(actual)) !== null;
    throw makeTypeError('ERR_INVALID_ARG_TYPE',
      `The "expected" argument must be of type function or an instance of RegExp. Received ${inspect(expected)}`);
  }
  if (expected.prototype !== undefined && actual instanceof expected) return true;
  if (Error === expected || Error.prototype.isPrototypeOf(expected.prototype ?? null)) return false;
  return expected.call({}, actual) === true;
}

function checkNotThrown(actual, stackStartFn, kind, error, message) {
  if (actual === NO_EXCEPTION) return;
  if (typeof error === 'string') {
    message = error;
    error = undefined;
  }
  if (error !== undefined && !matchesExpectation(actual, error)) throw actual;
  if (message instanceof Error) throw message;
  let details = error && error.name ? ` (${error.name})` : '';
  details += message ? `: ${message}` : '.';
  const actualMessage = isObjectLike(actual) ? actual.message : actual;
  throw new AssertionError({
    message: `Got unwanted ${kind}${details}\nActual message: "${actualMessage}"`,
    actual, expected: error, operator: stackStartFn.name, stackStartFn,
  });
}

/** `assert.throws(fn[, error][, message])`. */
function throws(fn, ...rest) {
  checkThrown(catchSync(fn), throws, 'exception', rest[0], rest[1], rest.length + 1);
}

/** `assert.doesNotThrow(fn[, error][, message])`. */
function doesNotThrow(fn, ...rest) {
  checkNotThrown(catchSync(fn), doesNotThrow, 'exception', rest[0], rest[1]);
}

/** `assert.rejects(promiseOrAsyncFn[, error][, message])`. */
async function rejects(promiseOrFn, ...rest) {
  checkThrown(await catchAsync(promiseOrFn), rejects, 'rejection', rest[0], rest[1], rest.length + 1);
}

/** `assert.doesNotReject(promiseOrAsyncFn[, error][, message])`. */
async function doesNotReject(promiseOrFn, ...rest) {
  checkNotThrown(await catchAsync(promiseOrFn), doesNotReject, 'rejection', rest[0], rest[1]);
}

// ---------------------------------------------------------------------------------------------
// Assembling the `assert` function objects (loose default and `assert.strict`).
// ---------------------------------------------------------------------------------------------

const SHARED_ASSERTIONS = {
  ok, fail, ifError, strictEqual, notStrictEqual, deepStrictEqual, notDeepStrictEqual,
  throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, AssertionError,
};

function buildApi() {
  const nodeNames = { looseEqual: 'equal', looseNotEqual: 'notEqual', looseDeepEqual: 'deepEqual', looseNotDeepEqual: 'notDeepEqual' };
  for (const fn of [looseEqual, looseNotEqual, looseDeepEqual, looseNotDeepEqual]) {
    Object.defineProperty(fn, 'name', { value: nodeNames[fn.name] });
  }
  const loose = ok;
  Object.assign(loose, SHARED_ASSERTIONS, {
    equal: looseEqual, notEqual: looseNotEqual, deepEqual: looseDeepEqual, notDeepEqual: looseNotDeepEqual,
  });
  const strictAssert = function strict(...args) {
    innerOk(strictAssert, args.length, ...args);
  };
  Object.assign(strictAssert, SHARED_ASSERTIONS, {
    equal: strictEqual, notEqual: notStrictEqual, deepEqual: deepStrictEqual, notDeepEqual: notDeepStrictEqual,
  });
  strictAssert.strict = strictAssert;
  loose.strict = strictAssert;
  return loose;
}

/** The `?strict` URL re-exports the plain instance so both share one AssertionError class. */
async function loadPlainInstance(moduleUrl) {
  const url = new URL(moduleUrl);
  url.searchParams.delete('strict');
  try {
    const plain = await import(url.href);
    return typeof plain.default === 'function' && plain.default.strict ? plain.default : null;
  } catch {
    return null;
  }
}

const IS_STRICT_VARIANT = new URL(import.meta.url).searchParams.has('strict');
const looseAssert = (IS_STRICT_VARIANT && (await loadPlainInstance(import.meta.url))) || buildApi();
const assert = IS_STRICT_VARIANT ? looseAssert.strict : looseAssert;

// Every export is read from `assert`, so both URLs hand out the very same functions and class
// (the local declarations above are unused in the `?strict` instance).
export default assert;
const exportedOk = assert.ok;
const exportedEqual = assert.equal;
const exportedNotEqual = assert.notEqual;
const exportedStrictEqual = assert.strictEqual;
const exportedNotStrictEqual = assert.notStrictEqual;
const exportedDeepEqual = assert.deepEqual;
const exportedNotDeepEqual = assert.notDeepEqual;
const exportedDeepStrictEqual = assert.deepStrictEqual;
const exportedNotDeepStrictEqual = assert.notDeepStrictEqual;
const exportedThrows = assert.throws;
const exportedDoesNotThrow = assert.doesNotThrow;
const exportedRejects = assert.rejects;
const exportedDoesNotReject = assert.doesNotReject;
const exportedMatch = assert.match;
const exportedDoesNotMatch = assert.doesNotMatch;
const exportedFail = assert.fail;
const exportedIfError = assert.ifError;
const exportedStrict = assert.strict;
const exportedAssertionError = assert.AssertionError;
export {
  exportedOk as ok,
  exportedEqual as equal,
  exportedNotEqual as notEqual,
  exportedStrictEqual as strictEqual,
  exportedNotStrictEqual as notStrictEqual,
  exportedDeepEqual as deepEqual,
  exportedNotDeepEqual as notDeepEqual,
  exportedDeepStrictEqual as deepStrictEqual,
  exportedNotDeepStrictEqual as notDeepStrictEqual,
  exportedThrows as throws,
  exportedDoesNotThrow as doesNotThrow,
  exportedRejects as rejects,
  exportedDoesNotReject as doesNotReject,
  exportedMatch as match,
  exportedDoesNotMatch as doesNotMatch,
  exportedFail as fail,
  exportedIfError as ifError,
  exportedStrict as strict,
  exportedAssertionError as AssertionError,
};
