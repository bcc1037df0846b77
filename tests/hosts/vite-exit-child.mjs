// A Vite dev server with the Daebug plugin that ends the way hosts end in the wild, for
// vite-exit.test.mjs. `node vite-exit-child.mjs <root> <port>`; prints READY once listening,
// then reads one command from stdin:
//   throw — an uncaught error; exit — process.exit(3); close — server.close(), then nothing.
// Like Nuxt and React Router, it installs a SIGINT handler that calls process.exit *before*
// Vite and the plugin load.
process.on('SIGINT', () => process.exit(130));

const { createServer } = await import('vite');
const { default: daebug } = await import('@daebug/vite-plugin');
const [root, port] = process.argv.slice(2);
const server = await createServer({
  root,
  configFile: false,
  logLevel: 'silent',
  plugins: [daebug()],
  server: { port: Number(port), strictPort: true, host: '127.0.0.1' },
});
await server.listen();
console.log('READY');
process.stdin.setEncoding('utf8');
process.stdin.once('data', (line) => {
  const command = line.trim();
  if (command === 'throw') setTimeout(() => { throw new Error('boom from the host'); });
  else if (command === 'exit') process.exit(3);
  else if (command === 'close') server.close().then(() => process.stdin.destroy());
});
