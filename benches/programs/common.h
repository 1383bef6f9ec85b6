/* What every benchmark program shares.
 *
 * Each program exports `run(n, seed)`: it does `n` iterations of its work,
 * starting from `seed`, and returns a checksum of everything it computed,
 * so that no engine (and no compiler) can skip the work, and so that the
 * WebAssembly build can be checked against the native build of the same
 * source. Everything is 32-bit unsigned arithmetic: the checksum is the
 * same on wasm32 and on a 64-bit host.
 *
 * Natively the programs are linked into one binary, so `RUN` gives each
 * `run` its own name there (the build passes -DPROGRAM=name). */
#ifndef PROGRAMS_COMMON_H
#define PROGRAMS_COMMON_H

#include <stdint.h>

#ifdef __cplusplus
#define PROGRAMS_EXTERN extern "C"
#else
#define PROGRAMS_EXTERN
#endif

#ifdef PROGRAM
#define PROGRAMS_CAT2(a, b) a##_##b
#define PROGRAMS_CAT(a, b) PROGRAMS_CAT2(a, b)
#define RUN PROGRAMS_CAT(trestle_program, PROGRAM)
#else
#define RUN run
#endif

#if defined(__wasm__)
#define PROGRAMS_EXPORT __attribute__((export_name("run")))
#else
#define PROGRAMS_EXPORT
#endif

/* The entry point of a program: `RUN_FUNCTION { ... }`. */
#define RUN_FUNCTION PROGRAMS_EXTERN PROGRAMS_EXPORT int32_t RUN(int32_t n, int32_t seed)

/* A small, fast pseudo-random step (xorshift32); never returns 0 for a
 * nonzero state. */
static inline uint32_t next_random(uint32_t x) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* Mixes a value into a checksum. */
static inline uint32_t mix(uint32_t acc, uint32_t v) {
    return (acc ^ v) * 0x9E3779B1u + 0x7F4A7C15u;
}

#endif
