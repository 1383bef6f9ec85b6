/*
 * Tiny C helpers for Trestle's trap handling.
 *
 * Rust cannot call `setjmp` safely (a function that returns twice breaks the
 * compiler's assumptions), so the `sigsetjmp` lives here, in a C frame that
 * returns to Rust exactly once: 1 when the body returned normally, 0 when a
 * trap (or a raised error or panic) long-jumped back to it.
 */

#include <setjmp.h>

/*
 * Calls `body(data)` with a jump buffer armed.
 *
 * The address of the buffer is stored into `*jmp_buf_slot` before `body`
 * runs, so that `trestle_longjmp` can return here from anywhere inside it,
 * including from a signal handler. Returns 1 if `body` returned, 0 if it was
 * unwound by `trestle_longjmp`.
 *
 * The signal mask is not saved: Trestle's signal handlers are installed with
 * SA_NODEFER, so nothing is left blocked when a handler jumps out.
 */
int trestle_setjmp_call(void (*body)(void *), void *data, void **jmp_buf_slot) {
    sigjmp_buf buf;
    if (sigsetjmp(buf, 0)) {
        return 0;
    }
    *jmp_buf_slot = &buf;
    body(data);
    return 1;
}

/* Unwinds to the `trestle_setjmp_call` whose buffer is `buf`. */
__attribute__((noreturn)) void trestle_longjmp(void *buf) {
    siglongjmp(*(sigjmp_buf *)buf, 1);
}

/*
 * Makes freshly written code in [start, end) visible to instruction fetch
 * (a no-op on x86-64, cache maintenance on aarch64).
 */
void trestle_clear_cache(void *start, void *end) {
    __builtin___clear_cache((char *)start, (char *)end);
}
