#!/usr/bin/env bash
# Builds the WASI test programs and records what they should print.
#
# Each source is compiled twice: to WebAssembly with clang and wasi-libc
# (wasm/NAME.wasm, committed, so the tests need no C toolchain), and
# natively with the host compiler. The native build runs with the same
# arguments, environment and input the test gives the WebAssembly build
# (tests/all/wasi/programs.rs), and its standard output and exit status are
# recorded in expected/NAME.stdout and expected/NAME.status.
#
# Needs clang, lld, wasi-libc, libc++ for wasm32 and the wasm32 compiler-rt
# builtins; on Debian:
#   apt-get install clang lld wasi-libc libc++-dev-wasm32 libclang-rt-dev-wasm32
# WASI_SYSROOT points at another wasi-libc sysroot (default: /usr, where
# Debian installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

sysroot=${WASI_SYSROOT:-/usr}
wasm_flags=(--target=wasm32-wasi "--sysroot=$sysroot" -O2 -Wall -Wl,--strip-all)
native=$(mktemp -d)
trap 'rm -rf "$native"' EXIT
mkdir -p wasm expected

for src in *.c *.cc; do
    name=${src%.*}
    case $src in
        *.cc)
            clang++ "${wasm_flags[@]}" -fno-exceptions "$src" -o "wasm/$name.wasm"
            c++ -O2 "$src" -o "$native/$name"
            ;;
        *)
            clang "${wasm_flags[@]}" "$src" -o "wasm/$name.wasm"
            cc -O2 "$src" -o "$native/$name"
            ;;
    esac
done

# Runs a native build with an empty environment plus the given NAME=VALUE
# pairs, recording its output; `--` separates the environment from the
# arguments. Standard input comes from the caller.
record() {
    local name=$1
    shift
    local env=()
    while [[ $1 != -- ]]; do
        env+=("$1")
        shift
    done
    shift
    local status=0
    env -i "${env[@]}" "$native/$name" "$@" > "expected/$name.stdout" || status=$?
    echo "$status" > "expected/$name.status"
}

record args_env GREETING=hello EMPTY= 'SPACED=a b' -- one "two words" -x '' < /dev/null
record stdin_upper -- < stdin_upper.input
for name in files listdir; do
    dir=$(mktemp -d)
    record "$name" -- "$dir" < /dev/null
    rm -rf "$dir"
done
record clocks -- < /dev/null
record random -- < /dev/null
record exit_code -- 42 < /dev/null
record shapes -- < /dev/null

# The README's example.
clang "${wasm_flags[@]}" ../../examples/hello-wasi.c -o ../../examples/hello-wasi.wasm

ls -l wasm
