/**
 * `daebug()` for `vite.config`: in `vite dev` only, mounts the core's `/-daebug*` endpoints
 * ahead of Vite's own middleware, injects the shim and import map into every HTML page via
 * `transformIndexHtml`, logs through Vite's logger, and stops with the dev server. It adds
 * nothing to `vite build`.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { daebugMiddleware } from './lib/middleware.js';
import { closeOnSignals } from '@daebug/native/host/signals';
import { validateOptions } from '@daebug/native/host/options';

const native = createRequire(import.meta.url)('@daebug/native');
const NAME = '@daebug/vite-plugin';
/** Closing instances by root: a restarted dev server waits for the old one's registry write. */
const closing = new Map();

/**
 * @param {import('./index.d.ts').DaebugViteOptions} [options]
 * @returns {import('vite').Plugin}
 */
export default function daebug(options) {
  const opts = validateOptions(options, NAME);
  /** @type {import('vite').ResolvedConfig} */
  let config;
  /** @type {import('@daebug/native').Daebug | undefined} */
  let instance;
  let root;
  /** Port of the core's own endpoint listener, once started (see `start`). */
  let directPort;
  let removeSignalHandlers = () => {};

  async function start(server) {
    root = resolve(config.root, opts.root ?? '.');
    await closing.get(root);
    // Handlers first, so no signal can slip in between the registry's first write and them.
    let current;
    removeSignalHandlers = closeOnSignals(() => current?.closeNow());
    current = instance = new native.Daebug({
      root,
      timeout: opts.timeout,
      allowedHosts: allowedHosts(opts.allowedHosts, config.server),
      commandName: 'npx vite',
    });
    const logger = config.logger;
    // The core also answers its endpoints on a loopback port of its own; pages are told to use
    // it, so long polls and results do not go through Vite's (Node's) request handling. The
    // middleware below stays as the fallback (pages opened on a non-loopback host).
    try {
      directPort = (await current.listen({ port: 0, host: '127.0.0.1', endpointsOnly: true })).port;
    } catch (e) {
      directPort = undefined;
      logger.warn(`[daebug] no direct endpoint (${e.message}); realms go through Vite`, { timestamp: true });
    }
    instance.onNotice((n) => {
      if (n.kind === 'shutdown-requested') {
        if (server.httpServer) {
          // As in the standalone server, %%SHUTDOWN%% stops the server that hosts Daebug.
          logger.info(`[daebug] ${n.text} Stopping the dev server.`, { timestamp: true });
          server.close().finally(() => process.exit(0));
        } else {
          logger.info(`[daebug] ${n.text} Daebug stopped; your server keeps running.`, { timestamp: true });
          stop();
        }
      } else if (n.kind === 'diagnostic') {
        logger.warn(`[daebug] ${n.text}`, { timestamp: true });
      } else {
        logger.info(`[daebug] ${n.text}`, { timestamp: true });
      }
    });
    logger.info(`[daebug] agents: append JS to the logs listed in ${instance.registryPath}`, { timestamp: true });
  }

  function stop() {
    const current = instance;
    instance = undefined;
    directPort = undefined;
    removeSignalHandlers();
    if (!current) return;
    const key = root;
    const done = current.close().catch(() => {});
    closing.set(key, done);
    done.then(() => closing.get(key) === done && closing.delete(key));
  }

  return {
    name: 'daebug',
    apply: 'serve',
    // Daebug's own files change on every request and reply: keep them out of Vite's watcher
    // (no HMR work, no reloads for Markdown the app never imports).
    config(user) {
      const base = resolve(user.root ?? process.cwd(), opts.root ?? '.');
      return { server: { watch: { ignored: [resolve(base, 'daebug', '**'), resolve(base, 'daebug.md')] } } };
    },
    configResolved(resolved) {
      config = resolved;
    },
    configureServer(server) {
      if (process.env.VITEST) return; // Vitest's server has no pages to drive.
      // Mounted now, i.e. ahead of Vite's internal middleware.
      server.middlewares.use(daebugMiddleware(() => instance));
      const http = server.httpServer;
      if (http) {
        http.once('listening', () => start(server).catch((e) => config.logger.error(`[daebug] ${e.message}`)));
        http.once('close', stop);
      } else {
        // Middleware mode: the host owns the HTTP server; stop with Vite's plugin container.
        return start(server);
      }
    },
    // After Vite's own transforms, so the import map and shim land ahead of /@vite/client.
    transformIndexHtml: {
      order: 'post',
      handler: (html) => native.injectHtml(html, directPort),
    },
    buildEnd() {
      if (config?.server?.middlewareMode) stop();
    },
  };
}

export { daebug };

/** Ours, plus the dev server's own `server.allowedHosts` and a specific `server.host`. */
function allowedHosts(own = [], server = {}) {
  const hosts = [...own];
  if (server.allowedHosts === true) hosts.push('*');
  else if (Array.isArray(server.allowedHosts)) hosts.push(...server.allowedHosts);
  if (typeof server.host === 'string' && !['0.0.0.0', '::', ''].includes(server.host)) hosts.push(server.host);
  return hosts;
}
