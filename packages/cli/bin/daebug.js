#!/usr/bin/env node
/** The `daebug` command (`npx daebug`): runs the core's CLI and exits with its code. */

// Loaded dynamically so that a platform with no usable build of the core gets the one-line
// reason from @daebug/native (what is missing, how to install it) instead of a stack trace.
let run;
try {
  ({ run } = await import('../index.js'));
} catch (err) {
  const msg = String(err?.message ?? err);
  console.error(msg.startsWith('daebug:') ? msg : `daebug: ${msg}`);
  process.exit(1);
}

// The core stops gracefully on Ctrl-C and SIGTERM. Listening here first makes Node hand these
// signals to its event loop instead of its default handler, which re-raises them and, chained
// behind the core's handler, would loop. If the core has not stopped 5 s after a signal (or on
// a second one), exit anyway.
let signalled = false;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    if (signalled) process.exit(code);
    signalled = true;
    setTimeout(() => process.exit(code), 5000).unref();
  });
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`daebug: ${err?.message ?? err}`);
    process.exit(1);
  },
);
