#!/usr/bin/env bash
# Runs `cargo test ARGS...` with every test binary under valgrind's memcheck;
# any memcheck error fails the run (exit status 99 from the binary).
#
#   scripts/valgrind-tests.sh --test all -- tables:: externref_gc::lifetime --test-threads=1
#   scripts/valgrind-tests.sh --test all -- limits::limiter limits::resources \
#       limits::recursion linking:: malformed:: --test-threads=1
#   scripts/valgrind-tests.sh -p trestle --lib
#
# VALGRIND_FLAGS adds flags, e.g. VALGRIND_FLAGS="--leak-check=full
# --errors-for-leak-kinds=definite,indirect".
#
# Besides -q and --error-exitcode, the flags are there for traps, which are
# hardware faults caught by a signal handler:
#
# --smc-check=all-non-file
#     Compiled WebAssembly is written to anonymous memory at run time.
# --vex-iropt-register-updates=allregs-at-each-insn
#     By default valgrind keeps the guest program counter exact only at
#     memory accesses, so a fault of another instruction (the SIGFPE of the
#     `idiv` in a unit test of the trap handler) reaches the handler with
#     the address of the start of its block, which is no trap site, and the
#     process dies. With this flag the handler sees the faulting
#     instruction, as on hardware.
# --ignore-ranges=0x0-0xfff
#     The null page. With eager tables, call_indirect loads the signature id
#     through the entry's funcref without testing it for null: a null entry
#     faults at address 24 and the fault is the trap. Memcheck would report
#     every such trap as an invalid read. The page is never mapped, so a load
#     there still faults under valgrind: ignoring it hides no access that
#     could succeed.
# --suppressions=scripts/valgrind.supp
#     Unit tests of the trap handler that fault on PROT_NONE memory on
#     purpose (each entry names its test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runner="valgrind -q --error-exitcode=99 --smc-check=all-non-file"
runner+=" --vex-iropt-register-updates=allregs-at-each-insn"
runner+=" --ignore-ranges=0x0-0xfff"
runner+=" --suppressions=$root/scripts/valgrind.supp"
runner+=" ${VALGRIND_FLAGS:-}"

cd "$root"
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$runner" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$runner" \
    exec cargo test "$@"
