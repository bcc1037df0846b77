/**
 * Builds src/ into www/js/ in watch mode and serves www/ with live reload. Daebug adds one
 * plugin and one call: `dbg.serve(ctx, …)` where esbuild alone would call `ctx.serve(…)`.
 */
import * as esbuild from 'esbuild';
import daebug from '@daebug/esbuild-plugin';

const dbg = daebug();
const ctx = await esbuild.context({
  entryPoints: ['src/app.js'],
  bundle: true,
  outdir: 'www/js',
  sourcemap: true,
  logLevel: 'info',
  plugins: [dbg],
});
await ctx.watch();
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const { url } = await dbg.serve(ctx, { servedir: 'www', port });
console.log(`Open ${url}`);
