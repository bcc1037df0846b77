/**
 * `daebug()` for esbuild: a plugin plus one call, `await plugin.serve(ctx, serveOptions)` in
 * place of `ctx.serve(serveOptions)`. esbuild then serves on a private loopback port and the
 * core listens on yours as a front proxy: `/-daebug*` goes to Daebug, everything else to
 * esbuild, with the shim injected into every HTML page (see README.md for why).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { relative, resolve } from 'node:path';
import { closeOnSignals } from '@daebug/native/host/signals';
import { validateOptions } from '@daebug/native/host/options';

const native = createRequire(import.meta.url)('@daebug/native');
const NAME = '@daebug/esbuild-plugin';
const KNOWN = ['root', 'timeout', 'allowedHosts', 'log'];
/** esbuild's own default ports, tried in order when no port is given. */
const DEFAULT_PORTS = [8000, 8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008, 8009];

/**
 * @param {import('./index.d.ts').DaebugEsbuildOptions} [options]
 * @returns {import('./index.d.ts').DaebugEsbuildPlugin}
 */
export default function daebug(options) {
  const opts = validateOptions(options, NAME, KNOWN);
  if (opts.log !== undefined && typeof opts.log !== 'function') {
    throw new TypeError(`${NAME}: log must be a function (line) => void`);
  }
  const log = opts.log ?? ((line) => console.log(line));
  let workingDir = process.cwd();
  /** @type {import('@daebug/native').Daebug | undefined} */
  let instance;
  let removeSignalHandlers = () => {};

  async function close() {
    const current = instance;
    instance = undefined;
    removeSignalHandlers();
    await current?.close();
  }

  async function serve(ctx, serveOptions = {}) {
    if (!ctx || typeof ctx.serve !== 'function') {
      throw new TypeError(`${NAME}: serve(ctx, options) expects the context from esbuild.context(...)`);
    }
    if (typeof serveOptions !== 'object' || serveOptions === null) {
      throw new TypeError(`${NAME}: serve options must be an object, as for ctx.serve()`);
    }
    if (instance) throw new Error(`${NAME}: serve() was already called for this plugin`);
    const { port, host, ...esbuildOptions } = serveOptions;
    validateOptions({ port, host }, NAME, ['port', 'host']);
    // HTTPS: Daebug's listener takes the certificate; esbuild stays plain HTTP behind it, on
    // loopback only.
    const { keyfile, certfile } = esbuildOptions;
    delete esbuildOptions.keyfile;
    delete esbuildOptions.certfile;
    let tls;
    if (keyfile || certfile) {
      if (!keyfile || !certfile) throw new TypeError(`${NAME}: HTTPS needs both keyfile and certfile`);
      tls = { tlsKey: readPem(resolve(workingDir, keyfile), 'keyfile'), tlsCert: readPem(resolve(workingDir, certfile), 'certfile') };
    }
    const root = resolve(workingDir, opts.root ?? '.');
    // Handlers first, so no signal can slip in between the registry's first write and them.
    let current;
    removeSignalHandlers = closeOnSignals(() => current?.closeNow());
    current = instance = new native.Daebug({
      root,
      timeout: opts.timeout,
      allowedHosts: opts.allowedHosts,
      // The command that started this process, with its arguments, as the way to start again.
      commandName: ['node', relative(process.cwd(), process.argv[1] ?? 'build.js') || '.', ...process.argv.slice(2)].map(quote).join(' '),
    });
    instance.onNotice((n) => {
      log(`[daebug] ${n.text}`);
      if (n.kind === 'shutdown-requested') {
        // As in the standalone server, %%SHUTDOWN%% stops the server that hosts Daebug.
        close().then(() => ctx.dispose());
      }
    });
    try {
      const inner = await ctx.serve({ ...esbuildOptions, host: '127.0.0.1', port: await freePort() });
      const info = await listenFirst(instance, port === undefined ? DEFAULT_PORTS : [port], host, `127.0.0.1:${inner.port}`, tls);
      log(`[daebug] serving ${info.url} (esbuild behind it on 127.0.0.1:${inner.port}); registry ${instance.registryPath}`);
      return { host: info.host, hosts: [info.host], port: info.port, url: info.url, esbuild: inner };
    } catch (err) {
      await close();
      throw err;
    }
  }

  const plugin = {
    name: 'daebug',
    setup(build) {
      workingDir = build.initialOptions.absWorkingDir ?? process.cwd();
      build.onDispose?.(() => {
        close().catch(() => {});
      });
    },
  };
  // esbuild rejects unknown enumerable keys on a plugin; these two are not enumerable.
  Object.defineProperties(plugin, { serve: { value: serve }, close: { value: close } });
  return plugin;
}

export { daebug };

function quote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${String(arg).replace(/'/g, `'\\''`)}'`;
}

function readPem(file, option) {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TypeError(`${NAME}: cannot read ${option} ${file}: ${e.code ?? e.message}`);
  }
}

async function listenFirst(instance, ports, host, proxyTo, tls) {
  let lastError;
  for (const port of ports) {
    try {
      return await instance.listen({ port, host, proxyTo, ...tls });
    } catch (err) {
      lastError = err;
      if (!/in use/.test(String(err?.message))) break;
    }
  }
  throw lastError;
}

/** A loopback port nothing listens on right now, for esbuild's private server. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}
