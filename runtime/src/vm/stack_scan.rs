//! Conservative scanning of the native stack for heap words.
//!
//! Compiled code keeps no record of which of its stack slots and registers
//! hold `externref`, `anyref` or `exnref` words, so while wasm runs, the
//! collector cannot ask its frames what they hold. It can look at them all
//! instead: wasm runs on the thread's own stack, below the frame of the
//! store's outermost entry into wasm, and at a collection every word a
//! wasm frame still needs is either in a stack slot of one of those frames
//! or in a callee-saved register, which a frame called since has pushed
//! onto the stack or which still holds it (values live across a call are
//! never in caller-saved registers). Spilling the callee-saved registers
//! and reading every word from here up to the entry's frame therefore sees
//! every word wasm holds, along with integers and addresses that merely
//! look like one. Those keep a value alive that is garbage, never the
//! reverse, so the collector stays sound and frees all but a few values
//! that wasm dropped.

/// Calls `visit` with every word of this thread's stack from the frame of
/// this call up to `top`, after spilling the callee-saved registers into
/// that range. Returns `false`, visiting nothing, on a target it has no
/// register spill for.
///
/// # Safety
///
/// `top` must be the address of a local of a frame of this thread that is
/// still live, older than the caller's.
#[inline(never)]
pub(crate) unsafe fn scan(top: usize, visit: &mut dyn FnMut(usize)) -> bool {
    let mut saved = [0usize; 12];
    if !spill_callee_saved(&mut saved) {
        return false;
    }
    // `saved` is in this frame, below every frame that called this one.
    let mut at = saved.as_ptr() as usize;
    while at < top {
        // SAFETY: `[at, top)` is part of this thread's stack between this
        // frame and a live older one (per the contract), mapped and
        // word-aligned.
        visit(unsafe { read_word(at) });
        at += std::mem::size_of::<usize>();
    }
    std::hint::black_box(&saved);
    true
}

/// An address in the caller's frame, the `top` of a later [`scan`] from
/// a frame the caller calls.
#[inline(always)]
pub(crate) fn here() -> usize {
    let anchor = 0u8;
    std::hint::black_box(std::ptr::addr_of!(anchor)) as usize
}

/// The instruction that loads the word at address `{p}` into `{w}`.
#[cfg(target_arch = "x86_64")]
macro_rules! load_word_instruction {
    () => {
        "mov {w}, qword ptr [{p}]"
    };
}

/// The instruction that loads the word at address `{p}` into `{w}`.
#[cfg(target_arch = "aarch64")]
macro_rules! load_word_instruction {
    () => {
        "ldr {w}, [{p}]"
    };
}

/// The word at `at`, read by one load instruction: the stack holds
/// padding and slots never written, which a Rust read may not observe as
/// an integer, but a machine load gives whatever bits are there.
///
/// # Safety
///
/// `at` must be mapped, readable and word-aligned.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn read_word(at: usize) -> usize {
    let word: usize;
    // SAFETY: per this function's contract; the load changes nothing.
    unsafe {
        std::arch::asm!(
            load_word_instruction!(),
            p = in(reg) at,
            w = lateout(reg) word,
            options(nostack, preserves_flags, readonly),
        );
    }
    word
}

/// Unused where there is no register spill ([`scan`] returns first).
///
/// # Safety
///
/// `at` must be mapped, readable and word-aligned.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn read_word(at: usize) -> usize {
    // SAFETY: per this function's contract.
    unsafe { (at as *const usize).read_volatile() }
}

/// Stores the callee-saved general registers into `saved`.
#[cfg(target_arch = "x86_64")]
fn spill_callee_saved(saved: &mut [usize; 12]) -> bool {
    // SAFETY: stores six registers into the first six words of `saved`.
    unsafe {
        std::arch::asm!(
            "mov [{p}], rbx",
            "mov [{p} + 8], rbp",
            "mov [{p} + 16], r12",
            "mov [{p} + 24], r13",
            "mov [{p} + 32], r14",
            "mov [{p} + 40], r15",
            p = in(reg) saved.as_mut_ptr(),
            options(nostack, preserves_flags),
        );
    }
    true
}

/// Stores the callee-saved general registers into `saved`.
#[cfg(target_arch = "aarch64")]
fn spill_callee_saved(saved: &mut [usize; 12]) -> bool {
    // SAFETY: stores eleven registers into the first eleven words of
    // `saved`.
    unsafe {
        std::arch::asm!(
            "stp x19, x20, [{p}]",
            "stp x21, x22, [{p}, #16]",
            "stp x23, x24, [{p}, #32]",
            "stp x25, x26, [{p}, #48]",
            "stp x27, x28, [{p}, #64]",
            "str x29, [{p}, #80]",
            p = in(reg) saved.as_mut_ptr(),
            options(nostack, preserves_flags),
        );
    }
    true
}

/// No spill here: the caller falls back to keeping every value wasm may
/// hold.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn spill_callee_saved(_saved: &mut [usize; 12]) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word held only in a local of a frame between the scan and `top`
    /// (or in a callee-saved register) is seen.
    #[test]
    fn sees_words_of_older_frames() {
        let top = here();
        assert!(holds_marker_and_scans(top));
    }

    #[inline(never)]
    fn holds_marker_and_scans(top: usize) -> bool {
        let marker = std::hint::black_box(0x5eed_f00d_usize);
        let mut found = false;
        // SAFETY: `top` is a local of the live caller.
        let scanned = unsafe { scan(top, &mut |w| found |= w == marker) };
        std::hint::black_box(marker);
        scanned && found
    }
}
