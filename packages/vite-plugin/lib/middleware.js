/**
 * Connect middleware that hands `/-daebug*` requests to a Daebug instance (the core answers;
 * this only moves bytes) and lets everything else through. A request whose client goes away
 * is cancelled, so a long poll never takes a job for a closed connection.
 */

const PREFIX = '/-daebug';
/** The core refuses larger bodies (413); reading stops a little past its limit. */
const MAX_READ = 4 * 1024 * 1024 + 1;

/**
 * @param {() => import('@daebug/native').Daebug | undefined} getInstance
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next: (err?: unknown) => void) => void}
 */
export function daebugMiddleware(getInstance) {
  let lastId = 0;
  return function daebug(req, res, next) {
    if (!req.url || !req.url.startsWith(PREFIX)) return next();
    const instance = getInstance();
    if (!instance) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Daebug is not running.\n');
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      if (size < MAX_READ) chunks.push(chunk);
      size += chunk.length;
    });
    req.on('error', () => {});
    req.on('end', () => {
      lastId = (lastId % 0x7fffffff) + 1;
      const id = lastId;
      let done = false;
      res.on('close', () => {
        if (!done) instance.cancel(id);
      });
      const body = Buffer.concat(chunks);
      instance.handle({ id, method: req.method ?? 'GET', url: req.url, headers: req.headers, body }).then(
        (out) => {
          done = true;
          if (res.destroyed || res.writableEnded) return;
          res.writeHead(out.status, out.headers);
          res.end(out.body);
        },
        (err) => {
          done = true;
          next(err);
        },
      );
    });
  };
}
