/**
 * Ctrl-C, SIGTERM or SIGHUP must leave `daebug.md` saying the server is down (SPEC 4), also
 * when the host process simply dies of the signal. On the signal, Daebug is closed
 * synchronously; then, if nothing else in the process handles that signal, it is raised again
 * so the process ends exactly as it would have without us.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * @param {() => void} closeNow  synchronous close (the binding's `closeNow`)
 * @returns {() => void} removes the handlers
 */
export function closeOnSignals(closeNow) {
  const handlers = SIGNALS.map((signal) => {
    // A host that already handles the signal (Vite handles SIGTERM) keeps doing so.
    const othersBefore = process.listenerCount(signal);
    const handler = () => {
      remove();
      closeNow();
      if (othersBefore === 0 && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
    return [signal, handler];
  });
  const remove = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
  return remove;
}
