// Which build of the core loads: `NAPI_RS_FORCE_WASI=1` means the WebAssembly build or nothing
// (never a silent fall back to the native one, which would let a WASI test run pass on native),
// `true` keeps napi-rs's meaning (WASI preferred, native as fallback), and the variable is the
// caller's again once the core has loaded (Vite's rolldown reads it too). Checked on a copy of
// the package that has the native build and no WebAssembly build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const nativeFile = fs.readdirSync(pkg).find((f) => /^daebug\..*\.node$/.test(f));
const skip = nativeFile ? false : 'needs the native build in crates/napi-binding (npm run build:debug -w @daebug/native)';

function nativeOnlyCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-loader-'));
  for (const f of ['index.js', 'binding.js', 'package.json', nativeFile]) fs.copyFileSync(path.join(pkg, f), path.join(dir, f));
  fs.cpSync(path.join(pkg, 'host'), path.join(dir, 'host'), { recursive: true });
  // The copy must not find the repository's node_modules (where a WASI package could sit).
  return dir;
}

const load = (dir, force) => {
  const env = { ...process.env, NAPI_RS_FORCE_WASI: force };
  delete env.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(dir)}); console.log(b.__napiBindingTarget, process.env.NAPI_RS_FORCE_WASI)`], { env, encoding: 'utf8', cwd: os.tmpdir() });
};

test('NAPI_RS_FORCE_WASI=1 without a loadable WebAssembly build: one line, not the native build', { skip }, () => {
  const dir = nativeOnlyCopy();
  const r = load(dir, '1');
  assert.notEqual(r.status, 0, `loaded: ${r.stdout}`);
  assert.match(r.stderr, /daebug: NAPI_RS_FORCE_WASI=1 asks for the WebAssembly build of the Daebug core, and it did not load on [^\n]*npm i -D @daebug\/native-wasm32-wasi/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("NAPI_RS_FORCE_WASI=true keeps napi-rs's meaning: the native build when WASI does not load; the variable is restored", { skip }, () => {
  const dir = nativeOnlyCopy();
  const r = load(dir, 'true');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'native true');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('NAPI_RS_FORCE_WASI=1 is restored for the rest of the process once the core has loaded', { skip }, () => {
  const r = load(pkg, '1');
  // Here the WASI build may or may not be built; either it loads (wasm32-wasi) or it fails in one line.
  if (r.status === 0) assert.equal(r.stdout.trim(), 'wasm32-wasi 1');
  else assert.match(r.stderr, /daebug: NAPI_RS_FORCE_WASI=1 asks for the WebAssembly build/);
});
