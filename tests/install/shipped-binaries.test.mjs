// The native packages as released: linux-x64-gnu and linux-arm64-gnu built against glibc 2.17
// (cargo-zigbuild + zig) by scripts/pack.mjs. Each tarball holds exactly its package.json,
// README.md, LICENSE and one stripped shared object for the right machine, which requires no
// glibc symbol version newer than 2.17; its package.json restricts it to its os/cpu/libc, and
// its version is @daebug/native's. Logs each tarball's packed size.
//
// Needs the tarballs in target/npm-release (`node scripts/pack.mjs target/npm-release --targets
// linux-x64-gnu,linux-arm64-gnu`, which needs `pip install ziglang cargo-zigbuild` and
// `rustup target add aarch64-unknown-linux-gnu`; CI does it in .ci/setup.d/50-native-release.sh).
// Without them the tests are skipped locally, and fail when DAEBUG_REQUIRE_RELEASE=1 (CI).

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/daebug.mjs';
import { compareVersions, elf, MAX_GLIBC, RELEASE_REQUIRED, releaseTarball, size, untar, VERSION } from './release.mjs';

const PLATFORMS = [
  { platform: 'linux-x64-gnu', machine: 'Advanced Micro Devices X86-64', cpu: 'x64' },
  { platform: 'linux-arm64-gnu', machine: 'AArch64', cpu: 'arm64' },
];

test('the version check reads dotted versions as numbers', () => {
  assert.ok(compareVersions('2.17', '2.17') === 0);
  assert.ok(compareVersions('2.9', '2.17') < 0);
  assert.ok(compareVersions('2.18', '2.17') > 0);
  assert.ok(compareVersions('2.34', '2.17') > 0);
  assert.ok(compareVersions('2.17.1', '2.17') > 0);
});

for (const { platform, machine, cpu } of PLATFORMS) {
  const tarball = releaseTarball(platform);
  const have = fs.existsSync(tarball);
  const skip = !have && !RELEASE_REQUIRED
    ? `no release build in ${path.dirname(tarball)} (node scripts/pack.mjs target/npm-release --targets linux-x64-gnu,linux-arm64-gnu)`
    : false;

  describe(`@daebug/native-${platform} as released`, { skip }, () => {
    let dir;
    let entries;
    const binary = `daebug.${platform}.node`;

    before(() => {
      assert.ok(have, `DAEBUG_REQUIRE_RELEASE=1 but there is no ${tarball}: the glibc 2.17 release build is missing`);
      dir = tempDir(`daebug-release-${platform}-`);
      entries = untar(tarball, dir);
    });

    test('holds package.json, README.md, LICENSE and the binary, nothing else; packed size', (t) => {
      t.diagnostic(`${path.basename(tarball)}: ${size(fs.statSync(tarball).size)} packed`);
      assert.deepEqual(entries, ['package/LICENSE', 'package/README.md', `package/${binary}`, 'package/package.json']);
      assert.match(fs.readFileSync(path.join(dir, 'package/LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the Daebug authors\n/);
      t.diagnostic(`${binary}: ${size(fs.statSync(path.join(dir, 'package', binary)).size)} unpacked`);
    });

    test(`package.json: os linux, cpu ${cpu}, libc glibc, main is the binary, version ${VERSION}`, () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package/package.json'), 'utf8'));
      assert.equal(pkg.name, `@daebug/native-${platform}`);
      assert.equal(pkg.version, VERSION);
      assert.deepEqual(pkg.os, ['linux']);
      assert.deepEqual(pkg.cpu, [cpu]);
      assert.deepEqual(pkg.libc, ['glibc']);
      assert.equal(pkg.main, binary);
      assert.equal(pkg.license, 'MIT');
    });

    test(`the binary: a stripped 64-bit ${machine} shared object needing glibc ≤ ${MAX_GLIBC}`, (t) => {
      const info = elf(path.join(dir, 'package', binary));
      assert.equal(info.machine, machine);
      assert.equal(info.elfClass, 'ELF64');
      assert.match(info.type, /^DYN\b/);
      // Stripped: no symbol table and no debug info left (the dynamic symbols napi needs stay).
      assert.ok(!info.sections.includes('.symtab'), `not stripped: has .symtab (${info.sections.join(' ')})`);
      assert.deepEqual(info.sections.filter((s) => s.startsWith('.debug')), []);
      assert.ok(info.sections.includes('.dynsym'));
      // A glibc-linked library always needs some GLIBC_x.y: none found means readelf was misread.
      assert.ok(info.glibc.length > 0, 'no GLIBC_ symbol versions found');
      const highest = info.glibc.at(-1);
      t.diagnostic(`highest glibc symbol version required: GLIBC_${highest}`);
      assert.ok(compareVersions(highest, MAX_GLIBC) <= 0, `needs GLIBC_${highest} (> ${MAX_GLIBC}): ${info.glibc.join(', ')}`);
      assert.equal(info.glibcPrivate, false, 'needs GLIBC_PRIVATE');
    });
  });
}
