/**
 * One Daebug per project root in a process, however many Vite servers use the plugin (Nuxt runs
 * a client and a server Vite; frameworks start helper servers; a config change restarts the dev
 * server). Each Vite server `acquire`s the root's instance and `release`s it when it closes;
 * the last release closes Daebug. The table lives on `globalThis`, so copies of this module
 * loaded twice (config files bundled separately) still share it. Also owns the stop paths: our
 * signal handlers run before the host's, and a process `exit` (a framework calling
 * `process.exit`, an uncaught error) closes Daebug synchronously, so `daebug.md` always ends up
 * saying the server stopped.
 */
import { closeOnSignals } from '@daebug/native/host/signals';

const TABLE = Symbol.for('@daebug/vite-plugin:instances');
/** @type {Map<string, Entry>} */
const table = (globalThis[TABLE] ??= new Map());

/**
 * @typedef {object} Owner
 * @property {import('vite').Logger} logger
 * @property {(text: string) => void} [onShutdown]  stop the host (set by servers with pages)
 * @typedef {object} Entry
 * @property {Promise<{ instance: any, directPort?: number }>} ready
 * @property {Set<Owner>} owners
 * @property {Promise<void>} [closed]
 * @property {boolean} connected  a realm connected at least once
 * @property {() => void} removeHandlers
 */

/**
 * @param {string} root
 * @param {Owner} owner
 * @param {() => any} create  makes the native instance
 * @returns {Promise<{ instance: any, directPort?: number, entry: Entry }>}
 */
export async function acquire(root, owner, create) {
  let entry = table.get(root);
  if (entry?.closed) {
    await entry.closed;
    entry = table.get(root);
  }
  if (!entry || entry.closed) {
    entry = { owners: new Set(), connected: false, removeHandlers: () => {} };
    table.set(root, entry);
    entry.ready = start(entry, create);
  }
  entry.owners.add(owner);
  try {
    return { ...(await entry.ready), entry };
  } catch (e) {
    entry.owners.delete(owner);
    if (table.get(root) === entry) table.delete(root);
    throw e;
  }
}

async function start(entry, create) {
  // Handlers first, so no signal can slip in between the registry's first write and them.
  let instance;
  entry.removeHandlers = closeOnSignals(() => instance?.closeNow());
  instance = create();
  const first = () => [...entry.owners][0];
  let directPort;
  try {
    directPort = (await instance.listen({ port: 0, host: '127.0.0.1', endpointsOnly: true })).port;
  } catch (e) {
    first()?.logger.warn(`[daebug] no direct endpoint (${e.message}); realms go through Vite`, { timestamp: true });
  }
  instance.onNotice((n) => {
    const owners = [...entry.owners];
    const logger = owners[0]?.logger;
    if (n.kind === 'realm-connected') entry.connected = true;
    if (n.kind === 'shutdown-requested') {
      const host = owners.find((o) => o.onShutdown);
      if (host) host.onShutdown(n.text);
      else {
        logger?.info(`[daebug] ${n.text} Daebug stopped; your server keeps running.`, { timestamp: true });
        closeEntry(entry);
      }
    } else if (n.kind === 'diagnostic') {
      logger?.warn(`[daebug] ${n.text}`, { timestamp: true });
    } else {
      logger?.info(`[daebug] ${n.text}`, { timestamp: true });
    }
  });
  return { instance, directPort };
}

/** @returns {Promise<void>} resolves once the registry says the server stopped */
export function release(root, owner) {
  const entry = table.get(root);
  if (!entry || !entry.owners.delete(owner) || entry.owners.size > 0) return entry?.closed ?? Promise.resolve();
  return closeEntry(entry);
}

function closeEntry(entry) {
  if (entry.closed) return entry.closed;
  entry.removeHandlers();
  entry.closed = entry.ready.then(
    ({ instance }) => instance.close().catch(() => {}),
    () => {},
  ).finally(() => {
    for (const [key, value] of table) if (value === entry) table.delete(key);
  });
  return entry.closed;
}
