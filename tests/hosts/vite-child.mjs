// A Vite dev server in a process of its own, for the host benchmark: measuring from the process
// that serves would put the measuring loop on Vite's event loop.
//   node tests/hosts/vite-child.mjs <root> <port> <with-plugin: 0|1>
// Prints `READY <url>` once listening; stops on SIGTERM.
import { createServer } from 'vite';
import daebug from '@daebug/vite-plugin';

const [root, port, withPlugin] = process.argv.slice(2);
const server = await createServer({
  root,
  configFile: false,
  logLevel: 'silent',
  plugins: withPlugin === '1' ? [daebug()] : [],
  server: { port: Number(port), strictPort: true, host: '127.0.0.1' },
});
await server.listen();
console.log(`READY http://127.0.0.1:${port}/`);
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
