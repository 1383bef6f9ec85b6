#!/usr/bin/env bash
# Builds the benchmark programs to WebAssembly; the .wasm files are
# committed, so neither the tests nor the benchmarks need a C toolchain.
#
# - wasm/NAME.wasm: the programs of the `programs` group of `trestle bench`
#   (src/bench/programs.rs). Their native builds, which confirm the
#   checksums and give the native times, are made by the CLI package's build
#   script (build.rs) with the host's C and C++ compilers.
# - textstats.wasm: the large module of the compilation benchmark
#   (`trestle bench --compile-module benches/programs/textstats.wasm`, see
#   docs/benchmarks.md): a C++ program that instantiates a large part of the
#   C++ standard library (iostreams, locales, regular expressions,
#   containers) for both char and wchar_t. It is built without optimization
#   (-O0, as a debug build in an edit-compile-run loop is), which keeps every
#   function of the library apart: about 4,500 functions.
#
# Needs clang, lld, wasi-libc, libc++ for wasm32 and the wasm32 compiler-rt
# builtins; on Debian:
#   apt-get install clang lld wasi-libc libc++-dev-wasm32 libclang-rt-dev-wasm32
# WASI_SYSROOT points at another wasi-libc sysroot (default: /usr, where
# Debian installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

sysroot=${WASI_SYSROOT:-/usr}
wasi=(--target=wasm32-wasi "--sysroot=$sysroot")

# The programs use wasi-libc only for its headers and memcpy/memset: no
# start files, no entry point, and they import nothing.
flags=("${wasi[@]}" -O2 -Wall -Werror -nostartfiles -Wl,--no-entry -Wl,--strip-all)
mkdir -p wasm
for src in virtual.cc interp.c sort.c lexer.c callable.cc visitor.cc direct.c; do
    name=${src%.*}
    case $src in
        *.cc) clang++ "${flags[@]}" -fno-exceptions -fno-rtti -nostdlib++ "$src" -o "wasm/$name.wasm" ;;
        *) clang "${flags[@]}" "$src" -o "wasm/$name.wasm" ;;
    esac
    echo "wasm/$name.wasm: $(wc -c < "wasm/$name.wasm") bytes"
done

clang++ "${wasi[@]}" -std=c++17 -O0 -Wall -fno-exceptions \
    -Wl,--strip-all textstats.cc -o textstats.wasm
echo "textstats.wasm: $(wc -c < textstats.wasm) bytes"
