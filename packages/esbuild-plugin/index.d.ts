/** `daebug()` for esbuild's serve mode: the plugin, and `serve(ctx, options)` to call instead of `ctx.serve(options)`. */
import type { BuildContext, Plugin, ServeOptions, ServeResult } from 'esbuild';

export interface DaebugEsbuildOptions {
  /** Where `daebug.md` and `daebug/` go (default: esbuild's `absWorkingDir`, else the current directory). */
  root?: string;
  /** Seconds a job may run before it gets a timeout reply (default 60). */
  timeout?: number;
  /** Extra host names accepted in `Host`/`Origin`, besides loopback. */
  allowedHosts?: string[];
  /** Where Daebug's one-line notices go (default: `console.log`). */
  log?: (line: string) => void;
}

export interface DaebugServeResult {
  /** The address Daebug listens on (your `host`, default 127.0.0.1). */
  host: string;
  hosts: string[];
  /** Your `port`, or the first free one of esbuild's defaults 8000–8009. */
  port: number;
  /** The address to open in a browser. */
  url: string;
  /** What `ctx.serve()` returned for esbuild's private loopback server. */
  esbuild: ServeResult;
}

export interface DaebugEsbuildPlugin extends Plugin {
  /**
   * Use instead of `ctx.serve(options)`: esbuild serves on a private loopback port and Daebug
   * listens on `options.port`/`options.host`, forwarding everything but `/-daebug*` to esbuild
   * and injecting the shim into every HTML page. Throws a one-line error on invalid options.
   */
  serve(ctx: BuildContext, options?: ServeOptions): Promise<DaebugServeResult>;
  /** Stop Daebug (also done by `ctx.dispose()`). */
  close(): Promise<void>;
}

/** The plugin: `plugins: [dbg]` with `const dbg = daebug()`. Throws a one-line TypeError on invalid options. */
export default function daebug(options?: DaebugEsbuildOptions): DaebugEsbuildPlugin;
export { daebug };
