//! Finding the handler of a thrown exception, and the record the throw
//! stub resumes from.
//!
//! A throw starts in the runtime's throw stub, called by a wasm function
//! (see `libcalls.rs`): the stub hands over that function's frame pointer
//! and the stub's return address. From there the walk follows the chain of
//! frame records as [`super::stack_walk`] does: at each wasm frame the
//! return address is looked up in the module's call-site table
//! ([`trestle_compiler::CallSite`]); a call made inside a `try_table` has
//! handlers, tried in order. A tagged handler matches when the tag index
//! it names, resolved through the vmctx its frame saved, is the thrown
//! exception's tag; a `catch_all` handler always matches. The walk ends at
//! the first return address outside a function body (an entry trampoline:
//! the host called the wasm beyond it), where the exception is not caught.
//!
//! Resuming at a handler sets the stack pointer to the frame's stack
//! pointer at the call (the frame pointer minus the call site's frame
//! offset, which Cranelift measures down to the outgoing argument area, so
//! a callee that popped its stack arguments and a tail-called frame give
//! the same value), the frame pointer to the frame's, and the first
//! payload register to the `exnref`. Cranelift treats every register as
//! clobbered at the handlers of a `try_call` of a `tail`-convention callee,
//! so nothing else needs restoring. The skipped frames are wasm frames,
//! which own nothing.

use super::code_memory::{frame_at, is_wasm_body_pc};
use trestle_vmctx::VMContext;

/// Where the throw stub resumes: read by the stub right after the
/// `throw_ref` libcall returns its address. The field order is the stub's.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Resume {
    /// The handler's code.
    pub(crate) pc: usize,
    /// The stack pointer of the handler's frame at the call.
    pub(crate) sp: usize,
    /// The handler's frame pointer.
    pub(crate) fp: usize,
    /// The `exnref` word, the handler block's parameter.
    pub(crate) payload: usize,
}

/// The innermost handler, from the wasm frame `fp` whose call returns to
/// `pc` outwards, that `matches` accepts: `matches` gets the vmctx the
/// frame saved and the handler's tag index in that frame's module (`None`
/// for a catch-all). Returns the resume record without its payload, or
/// `None` when no wasm frame before the host catches the exception.
///
/// # Safety
///
/// `fp` must be the frame pointer of a live wasm frame of this thread and
/// `pc` the return address of a call that frame made; the frames outward
/// of it must be intact (as they are while the callee runs).
pub(crate) unsafe fn find_handler(
    mut fp: usize,
    mut pc: usize,
    mut matches: impl FnMut(*mut VMContext, Option<u32>) -> bool,
) -> Option<Resume> {
    while fp != 0 && fp.is_multiple_of(16) && pc != 0 && is_wasm_body_pc(pc - 1) {
        if let Some(found) = frame_handler(fp, pc, &mut matches) {
            return Some(found);
        }
        let record = fp as *const usize;
        // SAFETY: `fp` is the frame pointer of a live wasm frame (per the
        // contract for the first, and because its return address was in a
        // function body for the next ones), which starts with a frame
        // record of two words.
        let (caller_fp, return_address) = unsafe { (*record, *record.add(1)) };
        if caller_fp <= fp {
            return None;
        }
        fp = caller_fp;
        pc = return_address;
    }
    None
}

/// The handler of the call returning to `pc` in frame `fp`, if that call
/// has one that `matches` accepts.
fn frame_handler(
    fp: usize,
    pc: usize,
    matches: &mut impl FnMut(*mut VMContext, Option<u32>) -> bool,
) -> Option<Resume> {
    let (frames, offset) = frame_at(pc)?;
    // The call instruction precedes its return address.
    let func = frames.lookup(offset.checked_sub(1)?)?;
    let site = func.call_site(offset - func.body.start)?;
    let sp = fp.checked_sub(site.frame_offset as usize)?;
    let code_start = pc - offset as usize;
    site.handlers.iter().find_map(|h| {
        let slot = (sp + h.vmctx_sp_offset as usize) as *const *mut VMContext;
        // SAFETY: the call site's metadata says the frame saved its vmctx
        // at this offset from the stack pointer at the call, inside the
        // live frame `fp`.
        let vmctx = unsafe { slot.read() };
        matches(vmctx, h.tag).then_some(Resume {
            pc: code_start + func.body.start as usize + h.target as usize,
            sp,
            fp,
            payload: 0,
        })
    })
}
