/** The `daebug` npm package: the core's command line, as `npx daebug` runs it. */

/**
 * Run `daebug` with the given arguments (those after the command name; default: this
 * process's). Resolves to the exit code once the server stops.
 */
export declare function run(args?: string[]): Promise<number>;
