/**
 * `daebug()` for `vite.config`: Daebug in `vite dev`, nothing in `vite build`.
 *
 * These types import nothing from `vite`: the plugin object is described structurally, so it
 * is assignable to the `Plugin` / `PluginOption` of whichever Vite (5 to 8) the app uses,
 * never to a copy of Vite's types found next to this package.
 */

export interface DaebugViteOptions {
  /**
   * Where `daebug.md` and `daebug/` go, relative to the project root (the folder of the Vite
   * config file; for frameworks that configure Vite inline, the nearest folder at or above
   * Vite's root holding a `package.json`). Default: the project root.
   */
  root?: string;
  /** Seconds a job may run before it gets a timeout reply (default 60). */
  timeout?: number;
  /** Extra host names accepted in `Host`/`Origin`, besides loopback and Vite's `server.allowedHosts`. */
  allowedHosts?: string[];
}

/** The Vite plugin object (structural: fits any Vite version's `Plugin`). */
export interface DaebugVitePlugin {
  name: 'daebug';
  apply: 'serve';
}

/** The plugin: `plugins: [daebug()]`. Throws a one-line TypeError on invalid options. */
export default function daebug(options?: DaebugViteOptions): DaebugVitePlugin;
export { daebug };
