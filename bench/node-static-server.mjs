// Baseline for the static-serving benchmark: the simplest reasonable Node static server.
// Every request reads the file (fs.readFile) and ends the response with it, like a naive dev
// server. Runs in its own process so the load generator never shares its event loop.
//
//   node bench/node-static-server.mjs <root> <port>
// Prints "listening <port>" once ready.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [root, portArg] = process.argv.slice(2);
const base = path.resolve(root);
const types = { '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.css': 'text/css' };

const server = http.createServer((req, res) => {
  const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path.join(base, pathname);
  if (!file.startsWith(base + path.sep)) {
    res.statusCode = 403;
    res.end();
    return;
  }
  fs.readFile(file, (err, data) => {
    if (err) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-type', types[path.extname(file)] || 'application/octet-stream');
    res.setHeader('cache-control', 'no-cache');
    res.end(data);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(portArg), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
