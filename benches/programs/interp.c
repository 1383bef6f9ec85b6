/* A bytecode interpreter with a handler table: a small stack machine runs
 * a program that computes a few rounds of an integer hash; each
 * instruction is dispatched through a table of handler functions, one
 * `call_indirect` per instruction. */
#include "common.h"

enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_MUL, OP_XOR, OP_SHR, OP_DUP, OP_JNZ, OP_DEC, OP_HALT, OP_COUNT };

struct vm {
    uint32_t stack[16];
    uint32_t sp;
    uint32_t pc;
    uint32_t regs[4];
    const uint32_t *code;
    int running;
};

typedef void (*handler)(struct vm *);

static void op_push(struct vm *m) { m->stack[m->sp++ & 15] = m->code[m->pc++]; }
static void op_load(struct vm *m) { m->stack[m->sp++ & 15] = m->regs[m->code[m->pc++] & 3]; }
static void op_store(struct vm *m) { m->regs[m->code[m->pc++] & 3] = m->stack[--m->sp & 15]; }
static void op_add(struct vm *m) { m->sp--; m->stack[(m->sp - 1) & 15] += m->stack[m->sp & 15]; }
static void op_mul(struct vm *m) { m->sp--; m->stack[(m->sp - 1) & 15] *= m->stack[m->sp & 15]; }
static void op_xor(struct vm *m) { m->sp--; m->stack[(m->sp - 1) & 15] ^= m->stack[m->sp & 15]; }
static void op_shr(struct vm *m) { m->sp--; m->stack[(m->sp - 1) & 15] >>= m->stack[m->sp & 15] & 31; }
static void op_dup(struct vm *m) { m->stack[m->sp & 15] = m->stack[(m->sp - 1) & 15]; m->sp++; }
static void op_jnz(struct vm *m) {
    uint32_t target = m->code[m->pc++];
    if (m->stack[--m->sp & 15] != 0) m->pc = target;
}
static void op_dec(struct vm *m) { m->regs[m->code[m->pc++] & 3] -= 1; }
static void op_halt(struct vm *m) { m->running = 0; }

static const handler handlers[OP_COUNT] = {
    op_push, op_load, op_store, op_add, op_mul, op_xor, op_shr, op_dup, op_jnz, op_dec, op_halt,
};

/* r0: the hash, r1: the loop counter (set by the host loop), r2: a
 * constant multiplier. The loop body: r0 = ((r0 ^ (r0 >> 15)) * r2) + r1. */
static const uint32_t program[] = {
    /* 0 */ OP_LOAD, 0, OP_DUP, OP_PUSH, 15, OP_SHR, OP_XOR,
    /* 7 */ OP_LOAD, 2, OP_MUL, OP_LOAD, 1, OP_ADD, OP_STORE, 0,
    /* 15 */ OP_DEC, 1, OP_LOAD, 1, OP_JNZ, 0,
    /* 21 */ OP_HALT,
};

/* The instructions executed for one pass over a counter of 8. */
#define PASS 8u

RUN_FUNCTION {
    struct vm m = {{0}, 0, 0, {(uint32_t)seed, 0, 0x2C1B3C6Du, 0}, program, 1};
    /* n counts interpreted loop iterations, in passes of PASS. */
    for (int32_t done = 0; done < n; done += PASS) {
        m.regs[1] = PASS;
        m.pc = 0;
        m.running = 1;
        while (m.running) {
            handlers[m.code[m.pc++]](&m);
        }
    }
    return (int32_t)m.regs[0];
}
