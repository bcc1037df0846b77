/**
 * The `daebug` npm package: the core's command line (`runCli` in @daebug/native), so
 * `npx daebug` has the Rust binary's flags, output and exit codes. No logic of its own.
 */
import { createRequire } from 'node:module';

const native = createRequire(import.meta.url)('@daebug/native');

/**
 * Run `daebug` with the given arguments (those after the command name).
 * @param {string[]} [args]
 * @returns {Promise<number>} the exit code
 */
export function run(args = process.argv.slice(2)) {
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    throw new TypeError('daebug: run(args) expects an array of strings');
  }
  return native.runCli(args);
}
