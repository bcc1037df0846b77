/**
 * However a Node host stops, `daebug.md` must end up saying the server is down (SPEC 4).
 * - Ctrl-C, SIGTERM, SIGHUP: our handler is put *first* (frameworks such as Nuxt and React
 *   Router install handlers that call `process.exit` at once; ours must run before them). It
 *   closes Daebug synchronously; then, if nothing else in the process handles that signal, the
 *   signal is raised again so the process ends exactly as it would have without us.
 * - Any other end of the process that still runs JavaScript — `process.exit()` from a
 *   framework's own handler, an uncaught error, the event loop running dry — emits `exit`,
 *   where Daebug is closed synchronously too (the fallback).
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * @param {() => void} closeNow  synchronous, idempotent close (the binding's `closeNow`)
 * @returns {() => void} removes the handlers
 */
export function closeOnSignals(closeNow) {
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      remove();
      closeNow();
      // Nobody else handles it: die of the signal, as without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.prependListener(signal, handler);
    return [signal, handler];
  });
  const onExit = () => closeNow();
  process.on('exit', onExit);
  const remove = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    process.removeListener('exit', onExit);
  };
  return remove;
}
