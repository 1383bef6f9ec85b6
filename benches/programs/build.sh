#!/usr/bin/env bash
# Builds the benchmark programs to WebAssembly: wasm/NAME.wasm, committed,
# so neither the tests nor the benchmarks need a C toolchain. The native
# builds of the same sources, which confirm the checksums and give the
# native times, are made by the CLI package's build script (build.rs) with
# the host's C and C++ compilers.
#
# Needs clang, lld and wasi-libc (for the C headers and memcpy/memset; the
# programs import nothing); on Debian:
#   apt-get install clang lld wasi-libc
# WASI_SYSROOT points at another wasi-libc sysroot (default: /usr, where
# Debian installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

sysroot=${WASI_SYSROOT:-/usr}
flags=(--target=wasm32-wasi "--sysroot=$sysroot" -O2 -Wall -Werror
    -nostartfiles -Wl,--no-entry -Wl,--strip-all)
mkdir -p wasm

for src in *.c *.cc; do
    name=${src%.*}
    case $src in
        *.cc) clang++ "${flags[@]}" -fno-exceptions -fno-rtti -nostdlib++ "$src" -o "wasm/$name.wasm" ;;
        *) clang "${flags[@]}" "$src" -o "wasm/$name.wasm" ;;
    esac
    echo "wasm/$name.wasm: $(wc -c < "wasm/$name.wasm") bytes"
done
