// The release builds of the native packages, as users get them from npm: linux-x64-gnu and
// linux-arm64-gnu built against glibc 2.17 (cargo-zigbuild + zig) and packed by
//   node scripts/pack.mjs target/npm-release --targets linux-x64-gnu,linux-arm64-gnu
// (CI does it once in .ci/setup.d/50-native-release.sh and sets DAEBUG_REQUIRE_RELEASE=1). Shared
// by shipped-binaries.test.mjs and install.test.mjs; not a test file itself.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/daebug.mjs';

export const RELEASE_DIR = path.join(REPO_ROOT, 'target/npm-release');
export const RELEASE_REQUIRED = process.env.DAEBUG_REQUIRE_RELEASE === '1';
export const VERSION = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'crates/napi-binding/package.json'), 'utf8')).version;
/** The oldest glibc the Linux packages promise (README: "glibc ≥ 2.17"). */
export const MAX_GLIBC = '2.17';

/** The release tarball of a platform package (it may not exist). */
export const releaseTarball = (platform) => path.join(RELEASE_DIR, `daebug-native-${platform}-${VERSION}.tgz`);

/** `1.5 MB` / `12.3 kB`, as scripts/pack.mjs prints sizes. */
export function size(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

/** Compare dotted versions numerically: negative, zero or positive. */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const readelf = (args, file) => execFileSync('readelf', [...args, '-W', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

/**
 * What an ELF shared object is and needs: `machine` as readelf names it ("Advanced Micro Devices
 * X86-64", "AArch64"), `elfClass`, `type`, its section names, and every `GLIBC_*` symbol version it
 * requires (from the dynamic symbols and the version-needs section), sorted oldest first.
 */
export function elf(file) {
  const header = readelf(['-h'], file);
  const field = (name) => header.match(new RegExp(`^\\s*${name}:\\s*(.+)$`, 'm'))?.[1].trim();
  const sections = [...readelf(['-S'], file).matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((m) => m[1]);
  const versions = readelf(['--dyn-syms', '-V'], file);
  const glibc = [...new Set([...versions.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]))].sort(compareVersions);
  return {
    machine: field('Machine'),
    elfClass: field('Class'),
    type: field('Type'),
    sections,
    glibc,
    glibcPrivate: /GLIBC_PRIVATE/.test(versions),
  };
}

/** Extract a tarball into `dir`; returns the list of its entries (`package/…`). */
export function untar(tarball, dir) {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
}
