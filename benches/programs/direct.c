/* The control kernel: the same shape of work as the others (small
 * functions called in a data-dependent loop) with direct calls only, so
 * it shows what an engine costs when no `call_indirect` is involved. The
 * callees are kept out of line so that the calls stay calls. */
#include "common.h"

#define NOINLINE __attribute__((noinline))

static NOINLINE uint32_t step_a(uint32_t x) { return x * 0x2C1B3C6Du + 1; }
static NOINLINE uint32_t step_b(uint32_t x) { return x ^ (x >> 13); }
static NOINLINE uint32_t step_c(uint32_t x) { return (x << 5) | (x >> 27); }
static NOINLINE uint32_t step_d(uint32_t x) { return x + 0x9E3779B9u; }

RUN_FUNCTION {
    uint32_t acc = (uint32_t)seed;
    for (int32_t i = 0; i < n; i++) {
        acc = step_a(acc);
        acc = step_b(acc);
        acc = step_c(acc);
        acc = step_d(acc) + (uint32_t)i;
    }
    return (int32_t)acc;
}
