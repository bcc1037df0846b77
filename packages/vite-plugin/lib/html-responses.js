/**
 * Injection into HTML *responses*, whoever renders them: a Connect middleware, mounted first in
 * Vite's stack, that wraps `res` so any `text/html` answer written to it later — by Vite's own
 * index.html middleware, by a framework's SSR handler further down the stack, or by a server
 * that runs Vite's middleware and then answers the request itself (Nuxt) — gets the shim and
 * the import map. Streamed pages stay streamed: only the bytes up to `</head>` are held back,
 * then everything passes through as it comes. Compressed pages (gzip, deflate, br) are
 * decompressed on the way and sent uncompressed.
 */
import zlib from 'node:zlib';

/** Held back at most this much while looking for `</head>`; then inject into what we have. */
const MAX_HEAD = 1024 * 1024;
const DECODERS = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * @param {(html: string) => string} inject  inserts the shim and import map (idempotent)
 * @param {() => void} [onHtml]  called for each HTML page injected into
 */
export function htmlResponses(inject, onHtml = () => {}) {
  return function daebugHtml(req, res, next) {
    if (req.method === 'GET' && !skip(req.url)) wrap(res, inject, onHtml);
    next();
  };
}

/** Requests that never answer with a page: Daebug's own, Vite's modules and assets. */
function skip(url = '') {
  return url.startsWith('/-daebug') || url.startsWith('/@') || url.startsWith('/node_modules/')
    || /\.(m?[jt]sx?|css|json|map|svg|png|jpe?g|gif|webp|avif|ico|woff2?|wasm)(\?|$)/.test(url);
}

function wrap(res, inject, onHtml) {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  /** undefined: not decided yet; false: pass through; object: injecting. */
  let mode;
  let ended = false;

  const restore = () => Object.assign(res, original);

  // Headers given to writeHead are applied with setHeader and the real writeHead is left to
  // Node (implicitly, on the first write), so they can still be changed once we know whether
  // the body is a page.
  res.writeHead = function writeHead(status, reason, headers) {
    if (mode !== undefined || res.headersSent) return original.writeHead.apply(res, arguments);
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    res.statusCode = status;
    if (reason) res.statusMessage = reason;
    if (Array.isArray(headers)) {
      const pairs = Array.isArray(headers[0]) ? headers : pairUp(headers);
      for (const [k, v] of pairs) res.setHeader(k, appendValue(res.getHeader(k), v));
    } else if (headers) {
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v);
    }
    return res;
  };

  function decide() {
    if (mode !== undefined) return mode;
    const type = String(res.getHeader('content-type') ?? '').toLowerCase();
    const encoding = String(res.getHeader('content-encoding') ?? 'identity').trim().toLowerCase();
    const ok = res.statusCode >= 200 && res.statusCode < 300 && res.statusCode !== 204;
    if (!ok || !type.startsWith('text/html') || !(encoding === 'identity' || DECODERS[encoding])) {
      mode = false;
      restore();
      return mode;
    }
    res.removeHeader('content-length');
    res.removeHeader('etag');
    let decoder;
    if (encoding !== 'identity') {
      res.removeHeader('content-encoding');
      decoder = DECODERS[encoding]();
      decoder.on('data', (chunk) => take(chunk));
      decoder.on('error', () => flushAll());
      decoder.on('end', () => finish());
    }
    mode = { chunks: [], size: 0, injected: false, decoder, endCallback: undefined };
    onHtml();
    return mode;
  }

  /** Plain bytes of the page arrive here (after decompression). */
  function take(chunk) {
    if (mode.injected) {
      original.write.call(res, chunk);
      return;
    }
    mode.chunks.push(chunk);
    mode.size += chunk.length;
    const held = Buffer.concat(mode.chunks);
    mode.chunks = [held];
    // latin1 maps bytes 1:1, and `</head` is ASCII, so the index is a byte offset on a
    // character boundary.
    const at = held.toString('latin1').toLowerCase().indexOf('</head');
    if (at >= 0) emit(held, at);
    else if (mode.size > MAX_HEAD) emit(held, held.length);
  }

  function emit(held, at) {
    mode.injected = true;
    mode.chunks = [];
    const head = inject(held.subarray(0, at).toString('utf8'));
    original.write.call(res, Buffer.concat([Buffer.from(head, 'utf8'), held.subarray(at)]));
  }

  function flushAll() {
    if (!mode.injected) {
      const held = Buffer.concat(mode.chunks);
      if (held.length) {
        mode.injected = true;
        const page = Buffer.from(inject(held.toString('utf8')), 'utf8');
        if (!res.headersSent) res.setHeader('content-length', page.length);
        original.write.call(res, page);
      }
    }
  }

  function finish() {
    flushAll();
    restore();
    original.end.call(res, mode.endCallback);
  }

  res.flushHeaders = function flushHeaders() {
    decide();
    return original.flushHeaders.apply(res, arguments);
  };

  res.write = function write(chunk, encoding, callback) {
    if (!decide()) return original.write.apply(res, arguments);
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const bytes = toBuffer(chunk, encoding);
    if (mode.decoder) mode.decoder.write(bytes);
    else if (bytes.length) take(bytes);
    if (callback) process.nextTick(callback);
    return true;
  };

  res.end = function end(chunk, encoding, callback) {
    if (ended) return res;
    if (!decide()) return original.end.apply(res, arguments);
    ended = true;
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    mode.endCallback = callback;
    const bytes = chunk == null ? undefined : toBuffer(chunk, encoding);
    if (mode.decoder) {
      mode.decoder.end(bytes);
    } else {
      if (bytes?.length) take(bytes);
      finish();
    }
    return res;
  };
}

function toBuffer(chunk, encoding) {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), typeof encoding === 'string' ? encoding : 'utf8');
}

function pairUp(flat) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

function appendValue(existing, value) {
  if (existing === undefined) return value;
  return [].concat(existing, value);
}
