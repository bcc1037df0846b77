# The shipped native packages, built once as a release would build them: linux-x64-gnu and
# linux-arm64-gnu against glibc 2.17 through cargo-zigbuild + zig (`scripts/pack.mjs`), packed into
# target/npm-release/. tests/install/shipped-binaries.test.mjs checks those tarballs (machine,
# stripped, glibc ≤ 2.17, os/cpu/libc, LICENSE) and tests/install/install.test.mjs installs the
# linux-x64-gnu one, not the debug build of `npm test`'s pretest. Needs the npm packages (napi's
# CLI), installed by 40-wasi.sh.
#
# zig and cargo-zigbuild are pip packages (ziglang, cargo-zigbuild). Debian's python3 refuses
# `pip install` outside a virtual environment (PEP 668), so they go into a venv kept in the user's
# cache (reused by the next run) unless they already work on PATH.
rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
zig_works() {
  command -v cargo-zigbuild >/dev/null 2>&1 &&
    { zig version >/dev/null 2>&1 || python3 -m ziglang version >/dev/null 2>&1; }
}
if ! zig_works; then
  zig_venv="${XDG_CACHE_HOME:-$HOME/.cache}/daebug-ci/zig-venv"
  if [ ! -x "$zig_venv/bin/pip" ]; then
    rm -rf "$zig_venv"
    if ! python3 -m venv "$zig_venv" >/dev/null 2>&1; then
      # Debian ships venv (ensurepip) in its own package.
      echo "ci: installing python3-venv for zig and cargo-zigbuild"
      rm -rf "$zig_venv"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$zig_venv"
    fi
  fi
  echo "ci: installing ziglang and cargo-zigbuild (pip) into $zig_venv"
  "$zig_venv/bin/pip" install --quiet --disable-pip-version-check ziglang cargo-zigbuild
  # The venv's python3 first on PATH: cargo-zigbuild runs zig as `python3 -m ziglang`.
  export PATH="$zig_venv/bin:$PATH"
  unset zig_venv
  zig_works || { echo "ci: cargo-zigbuild or zig still missing after pip install" >&2; exit 1; }
fi
unset -f zig_works
t=$(date +%s)
rm -rf target/npm-release
node scripts/pack.mjs target/npm-release --targets linux-x64-gnu,linux-arm64-gnu
echo "ci: glibc 2.17 release builds (linux-x64-gnu, linux-arm64-gnu) took $(( $(date +%s) - t )) s"
unset t
# Skipped without these tarballs on a developer's machine; here their absence is a failure.
export DAEBUG_REQUIRE_RELEASE=1
