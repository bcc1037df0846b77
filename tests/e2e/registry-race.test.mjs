// Standalone server: an agent's %%SHUTDOWN%% line must survive the server's own rewrites of
// daebug.md (SPEC 4: "A line that is exactly %%SHUTDOWN%% (outside fenced blocks) stops the server
// gracefully"; SPEC 3.4: an agent's edit is never lost).
//
// The registry is rewritten whenever a realm appears or changes state. Here realms connect
// (simulated with raw long polls, no browser needed) while the agent appends %%SHUTDOWN%%; if the
// server overwrites daebug.md from memory without looking at what is on disk, the line can vanish
// before the watcher sees it and the server keeps running. Each trial takes ~0.2 s when the
// server behaves; a lost line fails the test at the first occurrence.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { appendToLog, readText, removeTree, startServer, tempDir } from '../helpers/daebug.mjs';

const TRIALS = 6;

describe('registry rewrites vs %%SHUTDOWN%%', () => {
  const cleanups = [];
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test(`%%SHUTDOWN%% appended while realms connect stops the server (${TRIALS} trials)`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const root = path.join(tempDir('daebug-race-'), 'site');
      fs.mkdirSync(root);
      fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><p>race</p>');
      const server = await startServer({ root });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
      const requests = [];
      cleanups.push(async () => {
        requests.forEach((r) => r.destroy());
        agent.destroy();
        await server.stop();
        await removeTree(path.dirname(root));
      });
      const connect = (i) => {
        const req = http.get(`${server.url}-daebug-channel?name=sim-${trial}-${i}&url=${encodeURIComponent(server.url)}`,
          { agent }, (res) => res.resume());
        req.on('error', () => {});
        requests.push(req);
      };
      for (let i = 0; i < 30; i++) connect(i);
      await new Promise((resolve) => setTimeout(resolve, 5));
      appendToLog(server.registry, '\n%%SHUTDOWN%%\n');
      for (let i = 30; i < 60; i++) connect(i);
      const status = await Promise.race([
        server.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running after 3 s'), 3000)),
      ]);
      const text = readText(server.registry) || '';
      assert.deepEqual(status, { code: 0, signal: null },
        `trial ${trial + 1}: the server did not stop; the %%SHUTDOWN%% line ` +
        `${/^%%SHUTDOWN%%$/m.test(text) ? 'is still in' : 'was overwritten in'} daebug.md:\n${text.slice(0, 1500)}`);
      requests.forEach((r) => r.destroy());
    }
  });
});
