/**
 * `daebug()` for `vite.config` (Vite 5 to 8, plain or inside a framework): in dev only, mounts
 * the core's `/-daebug*` endpoints ahead of Vite's own middleware and puts the shim and import
 * map into every page, three ways (each idempotent, so a page gets the shim exactly once):
 *
 * 1. `transformIndexHtml`, for the `index.html` Vite serves itself;
 * 2. rewriting `text/html` responses written through Vite's middleware stack — how
 *    server-rendered pages of SvelteKit, Astro, React Router and Nuxt get it (lib/html-responses);
 * 3. a few lines appended to Vite's client module (`/@vite/client`), which every page of a dev
 *    server loads, for pages whose HTML never passes through Vite's middleware at all.
 *
 * It also maps `node:test` / `node:assert` in the app's own modules to Daebug's in-page
 * versions, keeps one Daebug per project root however many Vite servers run (lib/shared), and
 * adds nothing to `vite build`.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { daebugMiddleware } from './lib/middleware.js';
import { htmlResponses } from './lib/html-responses.js';
import { acquire, release } from './lib/shared.js';
import { commandLine, projectRoot } from './lib/project.js';
import { validateOptions } from '@daebug/native/host/options';

const native = createRequire(import.meta.url)('@daebug/native');
const NAME = '@daebug/vite-plugin';
const SHIM_PATH = '/-daebug-shim.js';
const NODE_MODULES = {
  'node:test': '/-daebug-node:test.js',
  'node:assert': '/-daebug-node:assert.js',
  'node:assert/strict': '/-daebug-node:assert.js?strict',
};
/** How long after the first page was served a missing realm is worth a warning (tests shorten it). */
const noRealmWarningMs = () => Number(process.env.DAEBUG_NO_REALM_WARNING_MS) || 10_000;
const DOCS = '"Any other setup" in docs/frameworks.md of Daebug';

/**
 * @param {import('./index.d.ts').DaebugViteOptions} [options]
 */
export default function daebug(options) {
  const opts = validateOptions(options, NAME);
  const warnAfter = noRealmWarningMs();
  let config;
  let root;
  /** This Vite server's hold on the root's shared Daebug. */
  const owner = { logger: undefined, onShutdown: undefined };
  /** @type {{ instance: any, directPort?: number, entry: any } | undefined} */
  let held;
  let starting;
  let stopped = false;
  let warnTimer;

  function start(server) {
    starting ??= (async () => {
      owner.logger = config.logger;
      if (server.httpServer) {
        owner.onShutdown = (text) => {
          // As in the standalone server, %%SHUTDOWN%% stops the server that hosts Daebug.
          config.logger.info(`[daebug] ${text} Stopping the dev server.`, { timestamp: true });
          server.close().finally(() => process.exit(0));
        };
      }
      const got = await acquire(root, owner, () => new native.Daebug({
        root,
        timeout: opts.timeout,
        allowedHosts: allowedHosts(opts.allowedHosts, config.server),
        commandName: commandLine(),
      }));
      if (stopped) {
        release(root, owner);
        return;
      }
      held = got;
      if (got.entry.owners.size === 1) {
        config.logger.info(`[daebug] agents: append JS to the logs listed in ${got.instance.registryPath}`, { timestamp: true });
      }
      requireTokenOnNetwork(server, got.instance);
    })();
    return starting;
  }

  function stop() {
    stopped = true;
    clearTimeout(warnTimer);
    held = undefined;
    return root ? release(root, owner) : Promise.resolve();
  }

  /** A page was served: if no realm has connected 10 s later, say how to add the shim by hand. */
  function pageServed() {
    if (warnTimer || !held) return;
    const entry = held.entry;
    warnTimer = setTimeout(() => {
      if (!entry.connected && !entry.warned && !stopped) {
        entry.warned = true;
        config.logger.warn(`[daebug] pages were served but none connected after ${Math.round(warnAfter / 1000)} s: add <script data-daebug src="${SHIM_PATH}"></script> to your HTML (see ${DOCS})`, { timestamp: true });
      }
    }, warnAfter);
    warnTimer.unref?.();
  }

  const inject = (html) => native.injectHtml(html, held?.directPort);

  /**
   * Vite listening on a network address (`--host`): anyone who reaches its port could drive the
   * realms through Daebug's endpoints there, so from now on they need Daebug's access token
   * (SPEC 8), as the standalone server's do; pages opened as `…/?token=…` get it in a cookie
   * (`tokenCookie` below). The loopback endpoint for local agents (`daebug run`) needs none.
   */
  function requireTokenOnNetwork(server, instance) {
    const address = server.httpServer?.address?.();
    if (!address || typeof address !== 'object') return;
    const token = instance.requireToken(address.address);
    if (!token) return;
    const scheme = config.server?.https ? 'https' : 'http';
    const urls = server.resolvedUrls?.network?.length ? server.resolvedUrls.network : [`${scheme}://localhost:${address.port}/`];
    config.logger.info(`[daebug] Vite listens on the network: Daebug's endpoints need its token. Open pages as ${urls.map((u) => `${u}?token=${token}`).join(' or ')}`, { timestamp: true });
  }

  return {
    name: 'daebug',
    apply: 'serve',
    // Ahead of Vite's own resolver, which would turn `node:test` into an empty browser stub.
    enforce: 'pre',
    // Daebug's own files change on every request and reply: keep them out of Vite's watcher.
    config() {
      return { server: { watch: { ignored: ['**/daebug.md', '**/daebug/**'] } } };
    },
    configResolved(resolved) {
      config = resolved;
      root = resolve(projectRoot(resolved), opts.root ?? '.');
    },
    configureServer(server) {
      if (process.env.VITEST) return; // Vitest's server has no pages to drive.
      // Mounted now, i.e. ahead of Vite's internal middleware.
      server.middlewares.use(daebugMiddleware(() => held?.instance));
      server.middlewares.use(tokenCookie(() => held?.instance));
      server.middlewares.use(htmlResponses((html) => {
        pageServed();
        return inject(html);
      }));
      const http = server.httpServer;
      const onError = (e) => config.logger.error(`[daebug] ${e.message}`, { timestamp: true });
      if (http) {
        if (http.listening) start(server).catch(onError);
        else http.once('listening', () => start(server).catch(onError));
        http.once('close', stop);
      } else {
        // Middleware mode: the host owns the HTTP server; stop with Vite's plugin container.
        return start(server).catch(onError);
      }
    },
    transformIndexHtml: {
      // After Vite's own transforms, so the import map and shim land ahead of /@vite/client.
      order: 'post',
      handler: (html) => inject(html),
    },
    resolveId(id, _importer, opts) {
      // The app's own modules (in-page tests) get Daebug's node:test and node:assert.
      if (!process.env.VITEST && !opts?.ssr && Object.hasOwn(NODE_MODULES, id)) return { id: NODE_MODULES[id], external: true };
      return null;
    },
    transform(code, id, opts) {
      if (process.env.VITEST || opts?.ssr || !/\/vite\/dist\/client\/client\.mjs(\?|$)/.test(id.replace(/\\/g, '/'))) return null;
      pageServed();
      return { code: code + clientFallback(held?.directPort), map: null };
    },
    buildEnd() {
      if (config?.server?.middlewareMode) stop();
    },
    closeBundle() {
      if (config?.server?.middlewareMode) stop();
    },
  };
}

export { daebug };

/**
 * Appended to Vite's client module: a page that has no shim yet (its HTML never went through
 * Vite) gets the import map and the shim added from here.
 */
function clientFallback(directPort) {
  const map = JSON.stringify({ imports: NODE_MODULES });
  const port = directPort ? JSON.stringify(String(directPort)) : 'null';
  return `
;(() => {
  try {
    if (typeof document === 'undefined' || document.querySelector('script[data-daebug]')) return;
    const map = document.createElement('script');
    map.type = 'importmap';
    map.setAttribute('data-daebug-importmap', '');
    map.textContent = ${JSON.stringify(map)};
    document.head.append(map);
    const shim = document.createElement('script');
    shim.setAttribute('data-daebug', '');
    if (${port}) shim.setAttribute('data-daebug-port', ${port});
    shim.src = ${JSON.stringify(SHIM_PATH)};
    document.head.append(shim);
  } catch (_) { /* never break the page */ }
})();
`;
}

/**
 * A page requested as `…/?token=…` with Daebug's token (Vite on a network address) gets it in a
 * cookie, so that the page's own requests to Daebug's endpoints carry it. The core checks the
 * token and writes the cookie; this only adds the header.
 */
function tokenCookie(getInstance) {
  return function daebugTokenCookie(req, res, next) {
    const instance = req.url && req.url.includes('token=') ? getInstance() : undefined;
    const cookie = instance?.tokenCookie?.(req.url);
    if (cookie) res.appendHeader('set-cookie', cookie);
    next();
  };
}

/** Ours, plus the dev server's own `server.allowedHosts` and a specific `server.host`. */
function allowedHosts(own = [], server = {}) {
  const hosts = [...own];
  if (server.allowedHosts === true) hosts.push('*');
  else if (Array.isArray(server.allowedHosts)) hosts.push(...server.allowedHosts);
  if (typeof server.host === 'string' && !['0.0.0.0', '::', ''].includes(server.host)) hosts.push(server.host);
  return hosts;
}
