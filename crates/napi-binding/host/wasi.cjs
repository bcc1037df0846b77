/**
 * The Node host around the WebAssembly (WASI) build of the core. WASI gives the core no sockets,
 * no file-change events and no threads of its own for a CLI, so this file supplies exactly
 * those, with the same JS API as the native binding:
 *
 * - `Daebug#listen(options)`: a node:http server. Every request goes to the core — `handleSite`
 *   (static files, injection, `/-daebug*`) for the standalone server, `handle` for
 *   `endpointsOnly` — except, with `proxyTo`, non-Daebug requests, which are forwarded to the
 *   other server after the core's host check, their HTML passed through the core's `injectHtml`.
 *   With `tlsCert`/`tlsKey`, node:https. On a non-loopback address the core requires its access
 *   token from then on (`hostListening`); the URL carries it.
 * - the realms' WebSocket (`/-daebug-ws`): upgraded here with the `ws` package and bridged onto
 *   the core's channel session (`socketBridge`): the core checks the request and speaks the
 *   protocol; this file only moves frames. As a front proxy, other upgrades are forwarded.
 * - file watching: `fs.watch` on the root and `daebug/`, each path handed to `pathChanged`
 *   (the core decides what is relevant and what it means).
 * - `runCli(argv)`: flags parsed and checked by the core (`prepareCli`), then `listen`, the
 *   banner, notices, Ctrl-C/SIGTERM and `%%SHUTDOWN%%` as the native CLI handles them.
 *   `daebug run|realms|mcp` run in the core (`runAgentCli`: discovery, flags, output, exit
 *   codes); this file only sends the HTTP requests the core asks for (`agentRequest`).
 * - the discovery file (`<tmp>/daebug-servers/…`) is the core's, written by `hostListening`
 *   and removed on close, as natively; this file only tells the core the process id.
 *
 * No protocol logic lives here: requests, logs, registry and security are the core's.
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { WebSocketServer } = require('ws');

/** Bodies larger than this are refused before they reach the core (its own limit is 4 MiB). */
const MAX_BODY = 8 * 1024 * 1024;
/** The core's `server::READ_TIMEOUT`. */
const READ_TIMEOUT_MS = 10_000;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * @param {any} binding  the WASI binding as napi-rs loaded it
 * @returns {any} the same API as the native binding
 */
function hostWasi(binding) {
  const Base = binding.Daebug;
  // WASI has no process id: the discovery files this process writes carry the host's.
  binding.setHostPid(process.pid);
  /** Per instance: its watchers and its server, if listening. */
  const hosts = new WeakMap();
  /** Instances not closed yet, for the exit teardown below. */
  const open = new Set();
  // The generated loader tears the WASI instance down in its own 'exit' listener (emnapi
  // context destroyed, threads terminated); a `closeNow()` from a later 'exit' listener (such as
  // host/signals.mjs's) then reaches a dead instance and daebug.md keeps saying "live". So the
  // instances still open are closed here, synchronously on this thread, before that teardown:
  // prepended, this listener runs first whatever was registered before it.
  process.prependListener('exit', () => {
    for (const d of [...open]) {
      try {
        d.closeNow();
      } catch {}
    }
  });

  function Daebug(options) {
    if (!new.target) throw new TypeError("Class constructor Daebug cannot be invoked without 'new'");
    // WASI has no working directory of its own: a relative root is the host's.
    if (options && typeof options.root === 'string' && options.root !== '') {
      options = { ...options, root: path.resolve(options.root) };
    }
    const d = new Base(options);
    open.add(d);
    hosts.set(d, { watch: watchRoot(d), server: null, sockets: new Set() });
    return d;
  }
  Daebug.prototype = Base.prototype;
  Object.defineProperty(Daebug, 'name', { value: 'Daebug' });

  const baseClose = Base.prototype.close;
  const baseCloseNow = Base.prototype.closeNow;
  Base.prototype.closeNow = function closeNow() {
    // Once closed, never call into the core again: at exit its instance may be gone.
    if (!open.delete(this)) return;
    baseCloseNow.call(this);
    stopHost(hosts.get(this), false);
  };
  Base.prototype.close = async function close() {
    if (!open.delete(this)) return;
    await baseClose.call(this);
    await stopHost(hosts.get(this), true);
  };
  Base.prototype.listen = function listen(options) {
    return listenWith(binding, this, hosts.get(this), options ?? {});
  };

  const api = Object.create(null);
  for (const key of Object.keys(binding)) api[key] = binding[key];
  api.Daebug = Daebug;
  api.runCli = (argv) => runCli(api, argv);
  api.__napiBindingTarget = binding.__napiBindingTarget;
  return api;
}

// ----- file watching ----------------------------------------------------------------------

/**
 * The core's own temporary files (`.daebug-*`: each edit writes a new version beside the file,
 * and on WASI keeps the replaced one under a hidden link while it watches it). The core ignores
 * every dotfile (`watcher::is_relevant`); a busy log makes several of these a request, each a
 * call into the core on this thread, so they are dropped here.
 */
function ownTemp(name) {
  return String(name).startsWith('.daebug-');
}

function watchRoot(d) {
  const root = d.root;
  const logDir = path.join(root, 'daebug');
  const st = { closed: false, rootWatcher: null, logWatcher: null };
  const watchLogs = () => {
    if (st.closed) return;
    let w;
    try {
      w = fs.watch(logDir, { persistent: false }, (_event, name) => {
        if (name && ownTemp(name)) return;
        d.pathChanged(name ? path.join(logDir, String(name)) : logDir);
      });
    } catch {
      return; // not there yet: the root watcher sees it appear
    }
    w.on('error', () => {
      w.close();
      if (st.logWatcher === w) st.logWatcher = null;
    });
    st.logWatcher?.close();
    st.logWatcher = w;
  };
  try {
    st.rootWatcher = fs.watch(root, { persistent: false }, (_event, name) => {
      if (name && ownTemp(name)) return;
      const p = name ? path.join(root, String(name)) : logDir;
      if (p === logDir) watchLogs();
      d.pathChanged(p);
    });
    st.rootWatcher.on('error', () => {});
  } catch (e) {
    throw new Error(`daebug: cannot watch ${root}: ${e.message}`);
  }
  watchLogs();
  return st;
}

// ----- listening ----------------------------------------------------------------------------

async function listenWith(binding, d, st, options) {
  if (!st) throw new Error('daebug: this instance is closed');
  if (st.server) throw new Error('daebug: already listening; close() first');
  const { port, host = '127.0.0.1', proxyTo, endpointsOnly, tlsCert, tlsKey } = options;
  if (proxyTo != null && endpointsOnly) throw new Error('daebug: listen() takes proxyTo or endpointsOnly, not both');
  if ((tlsCert == null) !== (tlsKey == null)) throw new Error('daebug: listen() needs both tlsCert and tlsKey, or neither');
  const tls = tlsCert != null ? { cert: tlsCert, key: tlsKey } : null;
  const target = proxyTo != null ? parseTarget(proxyTo) : null;
  const mode = target ? 'proxy' : endpointsOnly ? 'endpoints' : 'site';
  let ports;
  if (port != null) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`daebug: port ${port} is out of range`);
    ports = [port];
  } else {
    ports = binding.candidatePorts(path.basename(d.root));
  }
  let nextId = 1;
  // As the core's own listeners (server::READ_TIMEOUT): a client that sends half a request is
  // disconnected after 10 s; checked every second rather than Node's default 30.
  const serverOptions = { noDelay: true, headersTimeout: READ_TIMEOUT_MS, requestTimeout: READ_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  let createServer = http.createServer;
  if (tls) {
    // As the native listener: HTTPS with the host's certificate (esbuild's certfile/keyfile).
    checkTls(tls);
    Object.assign(serverOptions, tls);
    createServer = https.createServer;
  }
  const server = createServer(serverOptions, (req, res) => {
    nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
    serveOne(binding, d, mode, target, nextId, req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Daebug failed to answer: ${e.message}\n`);
      } else res.destroy();
    });
  });
  server.on('connection', (s) => {
    st.sockets.add(s);
    s.on('close', () => st.sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY, perMessageDeflate: false });
  st.wss = wss;
  server.on('upgrade', (req, socket, head) => {
    upgrade(d, wss, mode, target, req, socket, head).catch(() => socket.destroy());
  });
  let bound;
  for (const p of ports) {
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      bound = server.address().port;
      break;
    } catch (e) {
      if (e.code === 'EADDRINUSE') continue;
      throw new Error(`daebug: cannot listen on ${host}:${p}: ${e.message}`);
    }
  }
  if (bound === undefined) {
    throw new Error(
      port != null
        ? `daebug: port ${port} is in use by another program; choose another port`
        : "daebug: no free port among the ones derived from the root's name; pass a port",
    );
  }
  st.server = server;
  // On a non-loopback address the core now requires its access token (SPEC 8); the URL carries
  // it, as the native listener's does. (Set before any request is read: this continuation runs
  // before the event loop takes the first connection.)
  st.token = d.hostListening(host, bound, tls != null) ?? null;
  // As the native listener does: an agent's %%SHUTDOWN%% stops the engine and the listener.
  st.shutdownTimer = setInterval(() => {
    if (d.isShutdownRequested) {
      clearInterval(st.shutdownTimer);
      d.close().catch(() => {});
    }
  }, 100);
  st.shutdownTimer.unref();
  const display = ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'].includes(host)
    ? 'localhost'
    : host.includes(':') ? `[${host}]` : host;
  return { host, port: bound, url: `${tls ? 'https' : 'http'}://${display}:${bound}/${st.token ? `?token=${st.token}` : ''}` };
}

async function serveOne(binding, d, mode, target, id, req, res) {
  const url = req.url ?? '/';
  const ours = url.startsWith('/-daebug');
  if (mode === 'proxy' && !ours) return forward(binding, d, target, req, res);
  if (mode === 'endpoints' && !ours) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
    return;
  }
  const body = await readBody(req);
  if (body === null) {
    res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end('Daebug refused this request: body too large.\n');
    return;
  }
  const onClose = () => {
    if (!res.writableFinished) d.cancel(id);
  };
  res.on('close', onClose);
  const request = { id, method: req.method ?? 'GET', url, headers: req.headers, body };
  const answer = mode === 'site' ? await d.handleSite(request) : await d.handle(request);
  res.off('close', onClose);
  if (res.destroyed) return;
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

/**
 * One upgrade request: the realms' channel (`/-daebug-ws`) is bridged onto the core; as a front
 * proxy, any other upgrade is forwarded to the other server both ways (as the native proxy).
 */
async function upgrade(d, wss, mode, target, req, socket, head) {
  socket.on('error', () => socket.destroy());
  const url = req.url ?? '/';
  if (!/^\/-daebug-ws(\?|$)/.test(url)) {
    if (mode === 'proxy' && !url.startsWith('/-daebug')) return forwardUpgrade(d, target, req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  // Not a WebSocket handshake `ws` would complete: refused before the core opens a session.
  const key = req.headers['sec-websocket-key'];
  if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket' || !/^[+/0-9A-Za-z]{22}==$/.test(key ?? '') || !['8', '13'].includes(req.headers['sec-websocket-version'])) {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 41\r\n\r\nDaebug: not a valid WebSocket handshake.\n');
    return;
  }
  const bridge = d.socketBridge();
  const answer = await bridge.open({ method: req.method ?? 'GET', url, headers: req.headers });
  if (answer.status !== 101) {
    const head = [`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}`];
    for (const [k, v] of Object.entries(answer.headers)) {
      if (k !== 'content-length' && k !== 'connection') head.push(`${k}: ${v}`);
    }
    head.push('connection: close', `content-length: ${answer.body.length}`, '', '');
    socket.end(Buffer.concat([Buffer.from(head.join('\r\n')), answer.body]));
    return;
  }
  // From here the core's session runs; it ends when the realm's socket does.
  socket.once('close', () => bridge.end());
  if (socket.destroyed) return bridge.end();
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => bridge.push(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)));
    ws.on('close', () => bridge.end());
    ws.on('error', () => bridge.end());
    (async () => {
      for (;;) {
        const frame = await bridge.next();
        if (frame == null || ws.readyState !== ws.OPEN) break;
        ws.send(frame);
      }
      ws.close();
    })().catch(() => ws.terminate());
  });
}

/** A non-Daebug upgrade through the front proxy: after the host check, raw bytes both ways. */
function forwardUpgrade(d, target, req, socket, head) {
  if (!d.allowsHost(req.headers.host)) {
    socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 53\r\n\r\nDaebug refused this request: unexpected Host header.\n');
    return;
  }
  const i = target.lastIndexOf(':');
  const up = require('node:net').connect(Number(target.slice(i + 1)), target.slice(0, i).replace(/^\[|\]$/g, ''));
  up.on('error', () => {
    if (!socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  up.on('connect', () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let k = 0; k < req.rawHeaders.length; k += 2) lines.push(`${req.rawHeaders[k]}: ${req.rawHeaders[k + 1]}`);
    up.write(lines.join('\r\n') + '\r\n\r\n');
    if (head?.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  socket.on('close', () => up.destroy());
  up.on('close', () => socket.destroy());
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(binding, d, target, req, res) {
  if (!d.allowsHost(req.headers.host)) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Daebug refused this request: unexpected Host header.\n');
    return;
  }
  const [hostname, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const headers = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  // HTML must come back uncompressed to be injected.
  delete headers['accept-encoding'];
  const up = http.request({ hostname, port, method: req.method, path: req.url, headers }, (ur) => {
    const h = { ...ur.headers };
    for (const name of HOP_BY_HOP) delete h[name];
    const html = /^text\/html/i.test(String(ur.headers['content-type'] ?? '')) && !ur.headers['content-encoding'];
    if (!html || req.method === 'HEAD') {
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
      return;
    }
    const chunks = [];
    ur.on('data', (c) => chunks.push(c));
    ur.on('end', () => {
      const page = Buffer.from(binding.injectHtml(Buffer.concat(chunks).toString('utf8')), 'utf8');
      delete h.etag;
      h['content-length'] = String(page.length);
      res.writeHead(ur.statusCode ?? 200, h);
      res.end(page);
    });
    ur.on('error', () => res.destroy());
  });
  up.on('error', (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Daebug could not reach the server at http://${target}/ (${e.message}).\n`);
    } else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
}

/** The certificate and key are usable, or one line saying what is wrong (as the native listener). */
function checkTls({ cert, key }) {
  const crypto = require('node:crypto');
  if (!/-----BEGIN CERTIFICATE-----/.test(String(cert))) throw new Error('daebug: HTTPS: the certificate file holds no certificate');
  try {
    crypto.createPrivateKey(key);
  } catch (e) {
    throw new Error(`daebug: HTTPS: the key file holds no usable private key: ${e.message}`);
  }
  try {
    require('node:tls').createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`daebug: HTTPS: the certificate and key do not fit together: ${e.message}`);
  }
}

/** `http://127.0.0.1:8001/` or `127.0.0.1:8001` → `127.0.0.1:8001`, as the native listener. */
function parseTarget(target) {
  const t = String(target).trim().replace(/^http:\/\//, '').replace(/\/+$/, '');
  const i = t.lastIndexOf(':');
  const p = Number(t.slice(i + 1));
  if (i > 0 && !t.includes('/') && Number.isInteger(p) && p > 0 && p < 65536) return t;
  throw new Error(`daebug: proxyTo must look like 127.0.0.1:8001 (http only), got ${JSON.stringify(target)}`);
}

async function stopHost(st, graceful) {
  if (!st) return;
  if (st.watch && !st.watch.closed) {
    st.watch.closed = true;
    st.watch.rootWatcher?.close();
    st.watch.logWatcher?.close();
  }
  clearInterval(st.shutdownTimer);
  const server = st.server;
  st.server = null;
  if (!server) return;
  const closed = new Promise((resolve) => server.close(() => resolve()));
  server.closeIdleConnections?.();
  // Realms' sockets end with their sessions (the engine is closed); any left are dropped later.
  const dropAll = () => {
    server.closeAllConnections?.();
    for (const ws of st.wss?.clients ?? []) ws.terminate();
  };
  if (!graceful) {
    // As the native closeNow: stop accepting; open requests end in the background.
    setTimeout(dropAll, 3000).unref();
    return;
  }
  // As the native close: give open requests up to 3 s, then drop them.
  const timer = setTimeout(dropAll, 3000);
  await closed;
  clearTimeout(timer);
}

// ----- the command line ---------------------------------------------------------------------

async function runCli(api, argv) {
  if (argv.length > 0 && api.agentCommands().includes(argv[0])) {
    return api.runAgentCli(argv, process.cwd(), agentRequest);
  }
  const plan = api.prepareCli(argv, 'npx daebug', process.cwd());
  if (plan.exit != null) {
    if (plan.stdout) process.stdout.write(plan.stdout);
    if (plan.stderr) process.stderr.write(plan.stderr);
    return plan.exit;
  }
  const d = new api.Daebug({
    root: plan.root,
    timeout: plan.timeout,
    allowedHosts: plan.allowedHosts,
    commandName: plan.restartCommand,
  });
  let info;
  try {
    info = await d.listen({ port: plan.explicitPort ? plan.ports[0] : undefined, host: plan.host });
  } catch (e) {
    d.closeNow();
    const msg = String(e.message).replace(/^daebug: /, '')
      .replace('choose another port', 'pass a different --port')
      .replace("no free port among the ones derived from the root's name; pass a port", `no free port: tried ${plan.ports.join(', ')} (all in use); pass --port N`);
    process.stderr.write(`daebug: ${msg}\n`);
    return 1;
  }
  process.stdout.write(api.cliBanner(d.root, plan.host, info.port, d.registryPath, new URL(info.url).searchParams.get('token')));
  d.onNotice((n) => {
    if (n.kind !== 'shutdown-requested') process.stdout.write(`  ${n.text}\n`);
  });
  let cleanup = () => {};
  const reason = await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (d.isShutdownRequested) resolve('Stopping: %%SHUTDOWN%% found in daebug.md.');
    }, 100);
    const onInt = () => resolve('\nStopping (Ctrl-C).');
    const onTerm = () => resolve('Stopping (SIGTERM).');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    cleanup = () => {
      clearInterval(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  });
  cleanup();
  process.stdout.write(`${reason}\n`);
  await d.close();
  process.stdout.write(`Daebug stopped; ${d.registryPath} says so.\n`);
  return 0;
}

/**
 * One HTTP request of `daebug run|realms` for the core (which has no sockets on WASI): sent
 * as given, answered with the status and the whole body, or `error` (`broken` once the answer
 * had started). No timeout of its own: the core's run waits as long as the server does.
 */
function agentRequest({ method, url, headers, body }) {
  return new Promise((resolve) => {
    let started = false;
    let req;
    try {
      req = http.request(url, { method, headers: Object.fromEntries(headers), agent: false }, (res) => {
        started = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', (e) => resolve({ error: e.message, broken: true }));
      });
    } catch (e) {
      resolve({ error: e.message });
      return;
    }
    req.on('error', (e) => resolve({ error: e.message, broken: started }));
    req.end(body ?? undefined);
  });
}

module.exports = { hostWasi, parseTarget };
