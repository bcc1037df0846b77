/** `daebug()` for `vite.config`: Daebug in `vite dev`, nothing in `vite build`. */
import type { Plugin } from 'vite';

export interface DaebugViteOptions {
  /** Where `daebug.md` and `daebug/` go, relative to Vite's root (default: Vite's root). */
  root?: string;
  /** Seconds a job may run before it gets a timeout reply (default 60). */
  timeout?: number;
  /** Extra host names accepted in `Host`/`Origin`, besides loopback and Vite's `server.allowedHosts`. */
  allowedHosts?: string[];
}

/** The plugin: `plugins: [daebug()]`. Throws a one-line TypeError on invalid options. */
export default function daebug(options?: DaebugViteOptions): Plugin;
export { daebug };
