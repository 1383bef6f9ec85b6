#!/usr/bin/env bash
# Builds textstats.wasm, the large module of the compilation benchmark
# (`trestle bench --compile-module benches/programs/textstats.wasm`, see
# docs/benchmarks.md): a C++ program that instantiates a large part of the
# C++ standard library (iostreams, locales, regular expressions, containers)
# for both char and wchar_t. It is built without optimization (-O0, as a
# debug build in an edit-compile-run loop is), which keeps every function
# of the library apart: about 4,500 functions. The .wasm is committed, so
# running the benchmark needs no C++ toolchain.
#
# Needs clang, lld, wasi-libc, libc++ for wasm32 and the wasm32 compiler-rt
# builtins; on Debian:
#   apt-get install clang lld wasi-libc libc++-dev-wasm32 libclang-rt-dev-wasm32
# WASI_SYSROOT points at another wasi-libc sysroot (default: /usr).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
sysroot=${WASI_SYSROOT:-/usr}
clang++ --target=wasm32-wasi "--sysroot=$sysroot" -std=c++17 -O0 -Wall -fno-exceptions \
    -Wl,--strip-all textstats.cc -o textstats.wasm
