// esbuild served with keyfile/certfile behind @daebug/esbuild-plugin: Daebug's front proxy
// serves HTTPS with that certificate (a self-signed one made with openssl here), pages get the
// shim and answer, esbuild's live reload (server-sent events) still arrives through it, and a
// plain-HTTP request to the HTTPS port gets no page. Real Chromium (told to accept the
// self-signed certificate).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { freePort, launchBrowser, openRealm, removeTree, REPO_ROOT, runJs } from '../helpers/daebug.mjs';
import { copyExample, waitForShutDownRegistry } from './checks.mjs';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'esbuild');

function getHttps(url) {
  return new Promise((resolve, reject) => {
    https.get(url, { rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

describe('esbuild serve over HTTPS with the Daebug plugin', () => {
  let ctx;
  let browser;
  let host;
  let served;

  before(async () => {
    const esbuild = await import('esbuild');
    const { default: daebug } = await import('@daebug/esbuild-plugin');
    const root = copyExample(EXAMPLE);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', path.join(root, 'key.pem'), '-out', path.join(root, 'cert.pem')], { stdio: 'ignore' });
    const dbg = daebug({ log: () => {} });
    ctx = await esbuild.context({
      absWorkingDir: root,
      entryPoints: ['src/app.js'],
      bundle: true,
      outdir: 'www/js',
      logLevel: 'silent',
      plugins: [dbg],
    });
    await ctx.watch();
    served = await dbg.serve(ctx, { servedir: path.join(root, 'www'), port: await freePort(), keyfile: 'key.pem', certfile: 'cert.pem' });
    host = { url: `https://127.0.0.1:${served.port}/`, root, registry: path.join(root, 'daebug.md'), logDir: path.join(root, 'daebug') };
    browser = await launchBrowser({ args: ['--ignore-certificate-errors'] });
  });

  after(async () => {
    if (browser) await browser.close();
    if (ctx) await ctx.dispose();
    if (host) await removeTree(path.dirname(host.root));
  });

  test('the URL is https, and esbuild itself stays plain HTTP on loopback', async () => {
    assert.equal(served.url, `https://localhost:${served.port}/`);
    assert.deepEqual(served.esbuild.hosts, ['127.0.0.1']);
    assert.equal((await fetch(`http://127.0.0.1:${served.esbuild.port}/`)).status, 200);
  });

  test('pages come over HTTPS with the shim injected', async () => {
    const res = await getHttps(host.url);
    assert.equal(res.status, 200);
    assert.equal((res.body.match(/<script data-daebug[ >]/g) ?? []).length, 1, res.body);
    const shim = await getHttps(new URL('/-daebug-shim.js', host.url).href);
    assert.equal(shim.status, 200);
  });

  test('a plain-HTTP request to the HTTPS port gets no page', async () => {
    const answer = await fetch(`http://127.0.0.1:${served.port}/`).then((r) => r.status, (e) => e.cause?.code ?? e.message);
    assert.notEqual(answer, 200);
  });

  test('the page registers, answers, and live reload still arrives through the proxy', async () => {
    const realm = await openRealm(host, browser, '/', { timeout: 20000 });
    assert.equal(await realm.page.evaluate(() => location.protocol), 'https:');
    const reply = await runJs(realm.log, '6 * 7');
    assert.equal(reply.body, '42');
    fs.writeFileSync(path.join(host.root, 'src', 'message.js'), "export const message = 'Rebuilt over HTTPS.';\n");
    await realm.page.waitForFunction(() => document.getElementById('message')?.textContent === 'Rebuilt over HTTPS.', null, { timeout: 15000 });
    await realm.page.waitForFunction(() => globalThis.__daebug && globalThis.__daebug.name, null, { timeout: 10000 });
    const again = await runJs(realm.log, "document.getElementById('message').textContent");
    assert.equal(again.body, '"Rebuilt over HTTPS."');
  });

  test('a certificate file that is not PEM is one clear error', async () => {
    const { default: daebug } = await import('@daebug/esbuild-plugin');
    const dir = path.join(host.root, 'bad');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'bad.pem'), 'not a certificate\n');
    const fake = { serve: async () => ({ hosts: ['127.0.0.1'], port: 9 }) };
    const dbg = daebug({ root: dir, log: () => {} });
    await assert.rejects(dbg.serve(fake, { port: await freePort(), keyfile: path.join(host.root, 'key.pem'), certfile: path.join(dir, 'bad.pem') }), /^Error: daebug: HTTPS: the certificate file holds no certificate$/);
  });

  test('ctx.dispose() rewrites the registry as shut down', async () => {
    await ctx.dispose();
    ctx = null;
    await waitForShutDownRegistry(host);
  });
});
