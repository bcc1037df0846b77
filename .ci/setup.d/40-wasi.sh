# The WebAssembly (WASI) build of the core, built once (release) and reused by every test that
# needs it: tests/install (packed tarballs installed without Rust, native and WASI) and the second
# run of the host suite on WASI (tests/install/hosts-wasi.test.mjs). npm packages first, because
# the build goes through napi's CLI and emnapi.
rustup target add wasm32-wasip1-threads
npm install --no-audit --no-fund --loglevel=error
t=$(date +%s)
npm run build:wasm -w @daebug/native
echo "ci: wasm build took $(( $(date +%s) - t )) s"
# The WASI tests skip without the build on a developer's machine; here its absence is a failure.
export DAEBUG_REQUIRE_WASI=1
