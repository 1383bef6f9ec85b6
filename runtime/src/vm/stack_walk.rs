//! Walking the frames of WebAssembly code by their frame pointers.
//!
//! With backtraces on, every compiled function keeps its frame pointer,
//! and every function that calls another has a frame anyway, so the wasm
//! part of a thread's stack is a chain of frame records: at a frame
//! pointer `fp`, the word at `fp` is the caller's frame pointer and the
//! word after it the return address into the caller (the same layout on
//! x86-64 and aarch64). A walk starts at a trap (the faulting program
//! counter and frame pointer, read in the signal handler), at the frame
//! of the wasm-to-host trampoline through which wasm last called the host
//! (`VMStoreContext::last_wasm_exit_fp`), or at the call of a libcall that
//! trapped (the frame pointer and return address its shim recorded,
//! `VMStoreContext::last_libcall_fp` / `last_libcall_pc`, walked as if the
//! call instruction had faulted), and follows the chain while the
//! return addresses lie in function bodies. The first return address into
//! anything else (an entry trampoline, host code) ends it: the frames
//! beyond belong to the host, which may not keep frame pointers at all.

use super::code_memory::is_wasm_body_pc;

/// Appends the program counters of the wasm frames of a stack to `pcs`,
/// innermost first: `trap_pc` when the walk starts at a trap in a function
/// body, then the return address of each frame record from `fp` on.
///
/// Allocates only by growing `pcs`; it is called in the signal handler of
/// a trap in wasm code, which holds no lock of the allocator.
///
/// # Safety
///
/// `fp` must be zero or the frame pointer of a frame of wasm code (or of a
/// trampoline called by wasm code) that is live on this thread's stack,
/// and `trap_pc`, if any, a program counter in the body of the function
/// that frame belongs to.
pub(crate) unsafe fn walk(trap_pc: Option<usize>, mut fp: usize, pcs: &mut Vec<usize>) {
    if let Some(pc) = trap_pc {
        pcs.push(pc);
    }
    // Callers' frames lie at higher addresses; a chain that does not
    // climb is not a chain of frames.
    while fp != 0 && fp.is_multiple_of(std::mem::align_of::<usize>()) {
        let record = fp as *const usize;
        // SAFETY: per the contract, `fp` is the frame pointer of a live
        // wasm or trampoline frame, which Cranelift starts with a frame
        // record of two words; every later `fp` came from such a record
        // whose return address was in a function body, so it is that
        // function's frame pointer.
        let (caller_fp, return_address) = unsafe { (*record, *record.add(1)) };
        // The call instruction itself precedes the return address.
        if return_address == 0 || !is_wasm_body_pc(return_address - 1) {
            break;
        }
        pcs.push(return_address);
        if caller_fp <= fp {
            break;
        }
        fp = caller_fp;
    }
}
