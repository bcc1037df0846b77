#!/usr/bin/env node
/**
 * `npm run pack [DIR]`: build and pack every publishable package into DIR (default `dist/`):
 * `daebug`, `@daebug/vite-plugin`, `@daebug/esbuild-plugin`, `@daebug/native` (JavaScript only)
 * and the per-platform packages of @daebug/native that this machine can build:
 *
 *   wasm32-wasi      release build for wasm32-wasip1-threads (needs `rustup target add wasm32-wasip1-threads`)
 *   linux-x64-gnu    against glibc 2.17, through cargo-zigbuild + zig (`pip install ziglang cargo-zigbuild`)
 *   linux-arm64-gnu  the same, cross-compiled (needs `rustup target add aarch64-unknown-linux-gnu`)
 *
 * darwin-x64, darwin-arm64 and win32-x64-msvc are built on their own runners by
 * .github/workflows/release.yml, which then runs this script with `--prebuilt DIR`.
 *
 * Options (after DIR):
 *   --targets a,b     only these platform packages (names as above; default: all three)
 *   --prebuilt DIR    take `daebug.<platform>.node` / wasm files from DIR instead of building
 *   --local           build nothing: pack linux-x64-gnu and wasm32-wasi from what is already
 *                     built in crates/napi-binding (`npm run build:debug|build|build:wasm -w
 *                     @daebug/native`), stripped. For CI, which builds the wasm once in setup
 *                     and the native binding in `npm test`'s pretest, and checks installation.
 * Binaries are stripped. Every tarball carries the repository's LICENSE (copied into a staged copy
 * of each package). Prints how long each platform build took and each tarball with its size.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LICENSE = path.join(repo, 'LICENSE');
const binding = path.join(repo, 'crates/napi-binding');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const local = args.includes('--local');
if (local) args.splice(args.indexOf('--local'), 1);
const targets = (flag('--targets') ?? (local ? 'linux-x64-gnu,wasm32-wasi' : 'linux-x64-gnu,linux-arm64-gnu,wasm32-wasi')).split(',').filter(Boolean);
const prebuilt = flag('--prebuilt') ?? (local ? binding : undefined);
const out = path.resolve(args[0] ?? 'dist');

const PLATFORMS = {
  'linux-x64-gnu': { triple: 'x86_64-unknown-linux-gnu', zig: 'x86_64-unknown-linux-gnu.2.17' },
  'linux-arm64-gnu': { triple: 'aarch64-unknown-linux-gnu', zig: 'aarch64-unknown-linux-gnu.2.17' },
  'darwin-x64': { triple: 'x86_64-apple-darwin' },
  'darwin-arm64': { triple: 'aarch64-apple-darwin' },
  'win32-x64-msvc': { triple: 'x86_64-pc-windows-msvc' },
  'wasm32-wasi': { triple: 'wasm32-wasip1-threads' },
};
/** Keep in step with the `build:wasm` script of crates/napi-binding/package.json (README there says why). */
const WASM_RUSTFLAGS = '--cfg tokio_unstable --cfg target_feature="atomics" -A explicit_builtin_cfgs_in_flags';
const WASM_FILES = ['daebug.wasm32-wasi.wasm', 'daebug.wasi.cjs', 'daebug.wasi-browser.js', 'wasi-worker.mjs', 'wasi-worker-browser.mjs'];

const run = (cmd, argv, opts = {}) => {
  console.error(`pack: ${cmd} ${argv.join(' ')}`);
  return execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], cwd: repo, ...opts });
};
const napi = (argv, env = {}) =>
  run(process.execPath, [path.join(repo, 'node_modules/@napi-rs/cli/dist/cli.js'), 'build', ...argv], {
    cwd: binding,
    env: { ...process.env, ...env },
  });

for (const t of targets) if (!PLATFORMS[t]) fail(`unknown target ${t}; known: ${Object.keys(PLATFORMS).join(', ')}`);
fs.mkdirSync(out, { recursive: true });
const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'daebug-pack-'));

/** Build (or find) the files of one platform package; returns their directory. */
function build(platform) {
  const dir = path.join(staging, 'build', platform);
  fs.mkdirSync(dir, { recursive: true });
  if (prebuilt) {
    const files = platform === 'wasm32-wasi' ? WASM_FILES : [`daebug.${platform}.node`];
    for (const f of files) {
      const from = path.join(prebuilt, f);
      if (!fs.existsSync(from)) fail(`--prebuilt ${prebuilt} has no ${f}`);
      fs.copyFileSync(from, path.join(dir, f));
    }
    return dir;
  }
  const common = ['--platform', '--strip', '--no-js', '--output-dir', dir];
  if (platform === 'wasm32-wasi') {
    napi([...common, '--release', '--target', 'wasm32-wasip1-threads', '--no-default-features', '--dts', 'wasi.d.ts'], {
      RUSTFLAGS: `${process.env.RUSTFLAGS ?? ''} ${WASM_RUSTFLAGS}`.trim(),
    });
    // napi writes the WASI loaders next to the crate, not into --output-dir.
    for (const f of WASM_FILES) {
      for (const from of [path.join(dir, f), path.join(binding, f)]) {
        if (fs.existsSync(from)) {
          if (from !== path.join(dir, f)) fs.copyFileSync(from, path.join(dir, f));
          break;
        }
      }
    }
    return dir;
  }
  const p = PLATFORMS[platform];
  if (p.zig) {
    if (!hasZig()) fail(`building ${platform} against glibc 2.17 needs zig and cargo-zigbuild: pip install ziglang cargo-zigbuild`);
    napi([...common, '--release', '--cross-compile', '--target', p.zig]);
  } else {
    napi([...common, '--release', '--target', p.triple]);
  }
  return dir;
}

function hasZig() {
  try {
    execFileSync('cargo-zigbuild', ['--version'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  for (const probe of [['zig', ['version']], ['python3', ['-m', 'ziglang', 'version']]]) {
    try {
      execFileSync(probe[0], probe[1], { stdio: 'ignore' });
      return true;
    } catch {}
  }
  return false;
}

const tarballs = [];
function pack(dir) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const r of JSON.parse(json)) tarballs.push(r);
}

for (const platform of targets) {
  const started = Date.now();
  const built = build(platform);
  if (!prebuilt) console.error(`pack: built ${platform} in ${Math.round((Date.now() - started) / 1000)} s`);
  const pkgDir = path.join(staging, 'npm', platform);
  fs.cpSync(path.join(binding, 'npm', platform), pkgDir, { recursive: true });
  fs.copyFileSync(LICENSE, path.join(pkgDir, 'LICENSE'));
  const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  for (const f of manifest.files) {
    const from = path.join(built, f);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(pkgDir, f));
    else if (!f.endsWith('.d.cts')) fail(`build of ${platform} produced no ${f}`);
  }
  if (platform !== 'wasm32-wasi') strip(path.join(pkgDir, manifest.main), PLATFORMS[platform].triple);
  pack(pkgDir);
}

// The JavaScript packages: each workspace copied to the staging folder with the LICENSE added (npm
// packs a LICENSE in the package's folder whatever `files` says; the one at the repo root is not
// in it). Their `files` lists choose the rest; builds and node_modules are not even copied.
for (const ws of ['crates/napi-binding', 'packages/cli', 'packages/vite-plugin', 'packages/esbuild-plugin']) {
  const dir = path.join(staging, 'js', ws);
  fs.cpSync(path.join(repo, ws), dir, {
    recursive: true,
    filter: (from) => !/(^|[\\/])(node_modules|target)$|\.(node|wasm)$/.test(from),
  });
  fs.copyFileSync(LICENSE, path.join(dir, 'LICENSE'));
  pack(dir);
}
fs.rmSync(staging, { recursive: true, force: true });

console.log(`\npacked into ${out}:`);
for (const t of tarballs) {
  console.log(`  ${t.filename.padEnd(48)} ${kb(t.size).padStart(9)} packed  ${kb(t.unpackedSize).padStart(9)} unpacked`);
}

function kb(n) {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} kB`;
}

/** napi's --strip covers release builds; make sure a debug build for CI is stripped too. */
function strip(file, triple) {
  // Release builds are stripped by napi (--strip); a local debug build is stripped here.
  if (triple !== 'x86_64-unknown-linux-gnu' || process.platform !== 'linux' || process.arch !== 'x64') return;
  try {
    execFileSync('strip', ['--strip-debug', '--strip-unneeded', file], { stdio: 'ignore' });
  } catch {}
}

function fail(msg) {
  console.error(`pack: ${msg}`);
  process.exit(1);
}
