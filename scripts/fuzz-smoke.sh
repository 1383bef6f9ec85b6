#!/usr/bin/env bash
# Runs one fuzz target for a given time and fails on any finding.
#
#   scripts/fuzz-smoke.sh TARGET SECONDS
#
# TARGET is differential, table_ops or compile (see fuzz/src/lib.rs). With
# cargo-fuzz and a nightly toolchain installed, the target runs under
# libFuzzer (`cargo +nightly fuzz run`, with AddressSanitizer); otherwise,
# or with FUZZ_DRIVER=smoke, the stable driver fuzz/src/bin/smoke.rs feeds
# it random input from a seeded PRNG (FUZZ_SEED, default fixed).
# FUZZ_FEATURES names cargo features of the fuzz crate to build with, e.g.
# FUZZ_FEATURES=wasmtime-oracle to compare with Wasmtime instead of wasmi
# (modules then also use exception handling and tail calls).
#
# Findings land in fuzz/artifacts/TARGET/. Replay one with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
# or, without cargo-fuzz,
#   (cd fuzz && cargo run --release --bin smoke -- TARGET --replay FILE)
set -euo pipefail

usage() {
    echo "usage: $0 differential|table_ops|compile SECONDS" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
target=$1
seconds=$2
case "$target" in
    differential | table_ops | compile) ;;
    *) usage ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || usage

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

feature_args=()
if [[ -n "${FUZZ_FEATURES:-}" ]]; then
    feature_args=(--features "$FUZZ_FEATURES")
fi

driver=${FUZZ_DRIVER:-}
if [[ -z "$driver" ]]; then
    if cargo fuzz --version >/dev/null 2>&1 && rustup run nightly rustc --version >/dev/null 2>&1; then
        driver=libfuzzer
    else
        driver=smoke
    fi
fi

case "$driver" in
    libfuzzer)
        echo "==> cargo +nightly fuzz run $target (${seconds} s)"
        mkdir -p "corpus/$target"
        # -timeout: no single input may run 30 s; -max_len and
        # -len_control=0: wasm-smith needs a few KiB to build a module of
        # 20 functions, so long inputs from the start.
        cargo +nightly fuzz run "${feature_args[@]}" "$target" -- \
            -max_total_time="$seconds" \
            -timeout=30 \
            -max_len=8192 \
            -len_control=0 \
            -rss_limit_mb=4096 \
            -print_final_stats=1
        ;;
    smoke)
        echo "==> smoke driver: $target (${seconds} s)"
        cargo build --quiet --release --bin smoke "${feature_args[@]}"
        seed_args=()
        if [[ -n "${FUZZ_SEED:-}" ]]; then
            seed_args=(--seed "$FUZZ_SEED")
        fi
        target/release/smoke "$target" "$seconds" "${seed_args[@]}"
        ;;
    *)
        echo "FUZZ_DRIVER must be libfuzzer or smoke, not $driver" >&2
        exit 2
        ;;
esac
