//! Catching traps: signal handlers and the `setjmp`/`longjmp` protocol.
//!
//! Every entry from the host into WebAssembly goes through [`catch_traps`],
//! which arms a jump buffer (in the C helper `trestle_setjmp_call`) and pushes
//! an *activation* on a thread-local stack. A WebAssembly execution ends
//! abnormally in one of two ways, both of which long-jump back to the
//! innermost activation:
//!
//! * a hardware fault (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`) at a program
//!   counter inside registered WebAssembly code: the signal handler installed
//!   by [`init_traps`] looks up the trap in the code's trap table
//!   ([`lookup_trap`]) and jumps;
//! * a call to [`raise_trap`], [`raise_error`] or [`raise_panic`], made by
//!   libcalls (through [`leave_wasm_with`]) and host-call shims.
//!
//! Faults that are not WebAssembly traps are forwarded to whichever handler
//! was installed before ours (for Rust programs, the standard library's stack
//! overflow reporter), or, if there was none, re-raised with the default
//! action so the process dies as it would have without Trestle.
//!
//! Long-jumping skips Rust frames without running their destructors. The
//! frames skipped are those of compiled WebAssembly code (which has none) and
//! of the `!`-returning `raise_*` calls; callers of `raise_*` must have no
//! live values with destructors, which is why the `raise_*` functions are
//! `unsafe` (see [`raise_trap`]). A panic must not unwind through compiled
//! code either (the `extern "C"` frames in between would abort the
//! process): host code called from WebAssembly runs under `catch_unwind`,
//! and the payload is carried across the wasm frames by [`raise_panic`]
//! and resumed once out of them.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::mem::{self, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::Once;

use trestle_vmctx::{Trap, VMStoreContext};

use super::code_memory::{is_wasm_body_pc, is_wasm_pc, lookup_trap};
use super::stack_walk;

unsafe extern "C" {
    /// Defined in `helpers.c`: arms a `sigjmp_buf`, stores its address into
    /// `*jmp_buf_slot`, calls `body(data)` and returns 1; returns 0 if
    /// `trestle_longjmp` jumped back to it.
    fn trestle_setjmp_call(
        body: extern "C" fn(*mut libc::c_void),
        data: *mut libc::c_void,
        jmp_buf_slot: *mut *mut libc::c_void,
    ) -> libc::c_int;

    /// Defined in `helpers.c`: `siglongjmp`s to the buffer `jmp_buf`.
    fn trestle_longjmp(jmp_buf: *mut libc::c_void) -> !;
}

/// Why a call into WebAssembly did not return normally.
#[derive(Debug)]
pub(crate) enum UnwindReason {
    /// A WebAssembly trap.
    Trap(Trap),
    /// An error raised by the host (for example by a host function).
    Error(anyhow::Error),
    /// A panic in host code, to be resumed once out of WebAssembly frames.
    Panic(Box<dyn Any + Send>),
}

/// One [`catch_traps`] on this thread's stack.
struct Activation {
    /// The armed `sigjmp_buf`, written by `trestle_setjmp_call`.
    jmp_buf: Cell<*mut libc::c_void>,
    /// Why we unwound, written just before long-jumping.
    reason: UnsafeCell<Option<UnwindReason>>,
    /// The enclosing activation (null for the outermost one).
    prev: *const Activation,
    /// Where the signal handler writes the program counters of the wasm
    /// frames of a trap ([`stack_walk::walk`]); null when backtraces are
    /// not captured.
    backtrace: *mut Vec<usize>,
}

thread_local! {
    /// The innermost activation of this thread, null outside `catch_traps`.
    ///
    /// A `const`-initialized `Cell` of a pointer needs neither lazy
    /// initialization nor a destructor, so reading it in a signal handler is
    /// a plain thread-local load.
    static ACTIVATION: Cell<*const Activation> = const { Cell::new(ptr::null()) };
}

/// The signals whose faults can be WebAssembly traps.
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The actions that were installed before ours, indexed like [`SIGNALS`].
struct PreviousActions(UnsafeCell<[MaybeUninit<libc::sigaction>; 4]>);

// SAFETY: the array is written only inside `init_traps`'s `Once` (by the
// `sigaction` calls that install our handlers, each entry before the handler
// that reads it is live) and only read afterwards.
unsafe impl Sync for PreviousActions {}

static PREVIOUS: PreviousActions = PreviousActions(UnsafeCell::new([
    MaybeUninit::uninit(),
    MaybeUninit::uninit(),
    MaybeUninit::uninit(),
    MaybeUninit::uninit(),
]));

/// Installs the signal handlers that turn faults in WebAssembly code into
/// traps. Runs once per process; later calls do nothing.
///
/// # Panics
///
/// Panics if a handler cannot be installed.
pub(crate) fn init_traps() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        for (i, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: an all-zero `sigaction` is a valid value; the fields
            // that matter are set below.
            let mut action: libc::sigaction = unsafe { mem::zeroed() };
            action.sa_sigaction = trap_handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
            // SAFETY: `action.sa_mask` is a valid `sigset_t` to initialize.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: we are inside the `Once`, the only writer of
            // `PREVIOUS`; the handler reads entry `i` only once it has been
            // installed by this very call, which fills the entry first.
            let rc = unsafe {
                let previous = (*PREVIOUS.0.get())[i].as_mut_ptr();
                libc::sigaction(signal, &action, previous)
            };
            assert_eq!(
                rc,
                0,
                "failed to install the handler of signal {signal}: {}",
                std::io::Error::last_os_error()
            );
        }
    });
}

/// The program counter and the frame pointer register when the signal was
/// raised.
///
/// # Safety
///
/// `context` must be the `ucontext_t` pointer a `SA_SIGINFO` handler got.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
unsafe fn faulting_pc_and_fp(context: *mut libc::c_void) -> (usize, usize) {
    // SAFETY: per this function's contract, `context` points at the
    // interrupted thread's `ucontext_t`.
    let mcontext = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext };
    #[cfg(target_arch = "x86_64")]
    let registers = (
        mcontext.gregs[libc::REG_RIP as usize],
        mcontext.gregs[libc::REG_RBP as usize],
    );
    // The frame pointer is `x29`.
    #[cfg(target_arch = "aarch64")]
    let registers = (mcontext.pc, mcontext.regs[29]);
    (registers.0 as usize, registers.1 as usize)
}

/// The program counter and the frame pointer when the signal was raised:
/// unknown on this platform, so no fault is ever treated as a trap and
/// traps have no backtrace.
///
/// # Safety
///
/// No requirement; the signature matches the supported platforms'.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
unsafe fn faulting_pc_and_fp(_context: *mut libc::c_void) -> (usize, usize) {
    (0, 0)
}

/// Our handler of `SIGSEGV`, `SIGBUS`, `SIGILL` and `SIGFPE`.
///
/// Async-signal-safe: it reads a thread-local, does a wait-free registry
/// lookup, and either long-jumps or forwards the signal.
extern "C" fn trap_handler(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let activation = ACTIVATION.get();
    if !activation.is_null() {
        // SAFETY: the kernel passes the interrupted context to `SA_SIGINFO`
        // handlers.
        let (pc, fp) = unsafe { faulting_pc_and_fp(context) };
        let trap = lookup_trap(pc).or_else(|| {
            ((signal == libc::SIGSEGV || signal == libc::SIGBUS) && is_wasm_pc(pc))
                .then_some(Trap::MemoryOutOfBounds)
        });
        if let Some(trap) = trap {
            // SAFETY: `activation` is live (see below); a non-null
            // `backtrace` points at the vector its `catch_traps` caller
            // lent, untouched while wasm runs. The fault is in a function
            // body (checked) whose frame pointer is the register's value,
            // and the wasm code it interrupted holds no lock of the
            // allocator the walk may use.
            unsafe {
                let backtrace = (*activation).backtrace;
                if !backtrace.is_null() && is_wasm_body_pc(pc) {
                    stack_walk::walk(Some(pc), fp, &mut *backtrace);
                }
            }
            // SAFETY: `activation` is this thread's innermost live
            // activation (it is unlinked before its `catch_traps` returns),
            // and the fault interrupted WebAssembly code running inside it,
            // which holds no reference to its `reason`. Its jump buffer is
            // armed (`trestle_setjmp_call` stores it before running the
            // body). The frames we jump over are WebAssembly code and this
            // handler, none with pending destructors (`trap` is `Copy`).
            unsafe {
                *(*activation).reason.get() = Some(UnwindReason::Trap(trap));
                trestle_longjmp((*activation).jmp_buf.get());
            }
        }
    }
    // SAFETY: the arguments are those the kernel gave us.
    unsafe { forward_signal(signal, info, context) }
}

/// Hands a signal that is not a WebAssembly trap to the previous handler.
///
/// # Safety
///
/// Must be called from [`trap_handler`] with its arguments, after
/// [`init_traps`] saved the previous actions.
unsafe fn forward_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let Some(i) = SIGNALS.iter().position(|&s| s == signal) else {
        return;
    };
    // SAFETY: our handler is only installed by `init_traps`, after it saved
    // the previous action of `signal` into entry `i`; nothing writes it
    // afterwards.
    let previous = unsafe { (*PREVIOUS.0.get())[i].assume_init_ref() };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the process dies as if we had never been there.
        // SAFETY: an all-zero `sigaction` is valid; `SIG_DFL` with an empty
        // mask is the default disposition.
        unsafe {
            let mut action: libc::sigaction = mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut());
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with `SA_SIGINFO`, the previous handler has this type and
        // expects exactly the arguments the kernel gave us.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                mem::transmute(handler);
            f(signal, info, context);
        }
    } else {
        // SAFETY: without `SA_SIGINFO`, the previous handler is a plain
        // `void (*)(int)`.
        unsafe {
            let f: extern "C" fn(libc::c_int) = mem::transmute(handler);
            f(signal);
        }
    }
}

/// The state shared between [`catch_traps`] and its trampoline.
struct CallData<F> {
    f: Option<F>,
    panic: Option<Box<dyn Any + Send>>,
}

/// Calls the closure of a [`catch_traps`], catching its panics.
extern "C" fn trampoline<F: FnOnce()>(data: *mut libc::c_void) {
    // SAFETY: `catch_traps::<F>` passes a pointer to its `CallData<F>`, which
    // outlives this call and is not otherwise accessed during it.
    let data = unsafe { &mut *data.cast::<CallData<F>>() };
    if let Some(f) = data.f.take()
        && let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f))
    {
        data.panic = Some(payload);
    }
}

/// Runs `f`, catching WebAssembly traps, raised errors and panics.
///
/// Installs the signal handlers if needed ([`init_traps`]) and pushes an
/// activation on this thread's stack, so calls nest: host → wasm → host →
/// wasm works, and a trap unwinds to the innermost `catch_traps`.
///
/// If `(*store_ctx).stack_limit` is `usize::MAX` (this is the store's
/// outermost entry into WebAssembly), it is set to roughly the current stack
/// pointer minus `max_wasm_stack` for the duration of the call and reset to
/// `usize::MAX` afterwards, whether `f` returned or was unwound.
///
/// Returns `Ok(())` if `f` returned, and the reason otherwise: a trap (a
/// fault in WebAssembly code or [`raise_trap`]), an error ([`raise_error`]),
/// or a panic ([`raise_panic`], or a panic unwinding out of `f` itself).
/// When `f` was unwound by a long jump, the values it owned are leaked, not
/// dropped.
///
/// # Safety
///
/// `store_ctx` must point at a valid [`VMStoreContext`] that is not accessed
/// through other references while this function reads and writes its
/// `stack_limit` (compiled code reading it concurrently on this thread is
/// fine). Everything `f` runs must follow the long-jump discipline: frames
/// between a trap or `raise_*` call and this function may be skipped without
/// running destructors.
#[cfg(test)]
pub(crate) unsafe fn catch_traps<F: FnOnce()>(
    store_ctx: *mut VMStoreContext,
    max_wasm_stack: usize,
    f: F,
) -> Result<(), UnwindReason> {
    // SAFETY: per this function's contract.
    unsafe { catch_traps_with_backtrace(store_ctx, max_wasm_stack, None, f) }
}

/// [`catch_traps`], which also, when `backtrace` is given, appends to it
/// the program counters of the wasm frames of a trap raised by a fault in
/// wasm code, innermost first ([`stack_walk::walk`]). Nothing is recorded
/// unless such a trap happens.
///
/// # Safety
///
/// As for [`catch_traps`]; besides, compiled code run by `f` must keep its
/// frame pointers when `backtrace` is given.
pub(crate) unsafe fn catch_traps_with_backtrace<F: FnOnce()>(
    store_ctx: *mut VMStoreContext,
    max_wasm_stack: usize,
    backtrace: Option<&mut Vec<usize>>,
    f: F,
) -> Result<(), UnwindReason> {
    init_traps();

    let stack_marker = 0u8;
    let approximate_sp = ptr::addr_of!(stack_marker) as usize;
    // SAFETY: `store_ctx` is valid per this function's contract.
    let reset_limit = unsafe {
        if (*store_ctx).stack_limit == usize::MAX {
            (*store_ctx).stack_limit = approximate_sp.saturating_sub(max_wasm_stack);
            true
        } else {
            false
        }
    };

    let activation = Activation {
        jmp_buf: Cell::new(ptr::null_mut()),
        reason: UnsafeCell::new(None),
        prev: ACTIVATION.get(),
        backtrace: backtrace.map_or(ptr::null_mut(), ptr::from_mut),
    };
    ACTIVATION.set(&activation);
    let mut data = CallData {
        f: Some(f),
        panic: None,
    };
    // SAFETY: `trampoline::<F>` expects a `CallData<F>`, which `data` is and
    // which lives until after the call. The jump buffer slot is
    // `activation.jmp_buf`, alive for the whole call. `trestle_setjmp_call`
    // returns exactly once (the `sigsetjmp` is in its own C frame), so this
    // frame is never re-entered.
    let returned = unsafe {
        trestle_setjmp_call(
            trampoline::<F>,
            ptr::from_mut(&mut data).cast(),
            activation.jmp_buf.as_ptr(),
        )
    };
    ACTIVATION.set(activation.prev);

    if reset_limit {
        // SAFETY: as above.
        unsafe { (*store_ctx).stack_limit = usize::MAX };
    }

    let reason = activation.reason.into_inner();
    if returned != 0 {
        debug_assert!(reason.is_none());
        match data.panic {
            None => Ok(()),
            Some(payload) => Err(UnwindReason::Panic(payload)),
        }
    } else {
        Err(reason.expect("long-jumped without an unwind reason"))
    }
}

/// Stores `reason` in the innermost activation and jumps to it.
fn raise(reason: UnwindReason, what: &str) -> ! {
    let activation = ACTIVATION.get();
    if activation.is_null() {
        panic!("{what} called outside of `catch_traps`: there is no WebAssembly call to unwind");
    }
    // SAFETY: `activation` is this thread's innermost live activation; its
    // body is running (we are inside it), so its jump buffer is armed and
    // nothing else refers to its `reason`. `reason` is moved into the
    // activation, so this frame owns nothing with a destructor when it is
    // skipped (`what` is a borrowed `&str`); the caller's frames are the
    // caller's responsibility, as documented on the `raise_*` functions.
    unsafe {
        *(*activation).reason.get() = Some(reason);
        trestle_longjmp((*activation).jmp_buf.get())
    }
}

/// Unwinds to the innermost [`catch_traps`], which returns
/// `Err(UnwindReason::Trap(trap))`.
///
/// # Safety
///
/// Frames between here and that `catch_traps` are skipped without running
/// destructors: the caller (a libcall or a host-call shim, called by
/// compiled code) must make this call as its last action, with no live
/// values that own resources (`String`s, `Box`es, guards, ...) in its
/// frame or in any skipped host frame, and no panic may be unwinding.
///
/// # Panics
///
/// Panics if this thread is not inside a `catch_traps`.
pub(crate) unsafe fn raise_trap(trap: Trap) -> ! {
    raise(UnwindReason::Trap(trap), "raise_trap")
}

/// Unwinds to the innermost [`catch_traps`], which returns
/// `Err(UnwindReason::Error(err))`.
///
/// # Safety
///
/// As for [`raise_trap`]: the skipped frames own nothing.
///
/// # Panics
///
/// Panics if this thread is not inside a `catch_traps`.
pub(crate) unsafe fn raise_error(err: anyhow::Error) -> ! {
    raise(UnwindReason::Error(err), "raise_error")
}

/// Unwinds to the innermost [`catch_traps`], which returns
/// `Err(UnwindReason::Panic(payload))`, typically to be resumed with
/// [`std::panic::resume_unwind`] once out of WebAssembly frames.
///
/// # Safety
///
/// As for [`raise_trap`]: the skipped frames own nothing.
///
/// # Panics
///
/// Panics if this thread is not inside a `catch_traps`.
pub(crate) unsafe fn raise_panic(payload: Box<dyn Any + Send>) -> ! {
    raise(UnwindReason::Panic(payload), "raise_panic")
}

/// Runs the body of a libcall and returns its value to compiled code, or
/// leaves WebAssembly: with [`raise_trap`] when the body returns a trap,
/// with [`raise_panic`] when it panics (the panic is caught here, so it
/// never unwinds into compiled code, and resumed by the caller of
/// [`catch_traps`]).
///
/// A trap's wasm frames are walked from the libcall's exit recorded in
/// `store_ctx` (`last_libcall_fp` / `last_libcall_pc`) when the innermost
/// [`catch_traps_with_backtrace`] captures backtraces.
///
/// # Safety
///
/// Must be called by a function that compiled code called, inside a
/// [`catch_traps`], as the last thing that function does, with nothing
/// owning resources in its frame: on a trap or a panic, that frame and the
/// wasm frames above it are skipped. `store_ctx` must be valid for reads
/// once `body` has returned; when backtraces are captured, its exit must
/// be that of this call, made by compiled code that keeps its frame
/// pointers, or a return address outside wasm code.
pub(crate) unsafe fn leave_wasm_with<R>(
    store_ctx: *const VMStoreContext,
    body: impl FnOnce() -> Result<R, Trap>,
) -> R {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        // SAFETY: per this function's contract; the closure was consumed
        // by `catch_unwind` and the trap is `Copy`, so this frame owns
        // nothing.
        Ok(Err(trap)) => unsafe {
            record_libcall_backtrace(store_ctx);
            raise_trap(trap)
        },
        // SAFETY: as above; the payload moves into the activation.
        Err(payload) => unsafe { raise_panic(payload) },
    }
}

/// Appends the wasm frames under the libcall whose exit `store_ctx`
/// records to the innermost activation's backtrace, if it captures one:
/// the call instruction in the function that made the libcall, then the
/// frames the frame pointer chain leads to.
///
/// # Safety
///
/// As for [`leave_wasm_with`], which calls it before leaving.
unsafe fn record_libcall_backtrace(store_ctx: *const VMStoreContext) {
    let activation = ACTIVATION.get();
    if activation.is_null() {
        return;
    }
    // SAFETY: the activation is live (we run inside its body); its
    // backtrace, when not null, is the vector its caller lent, which
    // nothing else touches while wasm runs; `store_ctx` is valid per the
    // contract.
    unsafe {
        let backtrace = (*activation).backtrace;
        let (fp, return_address) = ((*store_ctx).last_libcall_fp, (*store_ctx).last_libcall_pc);
        // The call instruction precedes the return address; the walk then
        // starts at the caller's frame record, as for a fault in its body.
        if !backtrace.is_null() && return_address != 0 && is_wasm_body_pc(return_address - 1) {
            stack_walk::walk(Some(return_address - 1), fp, &mut *backtrace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::code_memory::CodeMemory;
    use crate::vm::mmap::Mmap;

    /// A store context for tests.
    fn store() -> VMStoreContext {
        VMStoreContext::default()
    }

    fn trap_of(r: Result<(), UnwindReason>) -> Trap {
        match r {
            Err(UnwindReason::Trap(t)) => t,
            other => panic!("expected a trap, got {other:?}"),
        }
    }

    #[test]
    fn normal_return() {
        let mut s = store();
        let mut ran = false;
        // SAFETY: `s` is a valid store context used by nothing else.
        let r = unsafe { catch_traps(&mut s, 1 << 20, || ran = true) };
        assert!(r.is_ok());
        assert!(ran);
        assert_eq!(s.stack_limit, usize::MAX);
    }

    #[test]
    fn raise_trap_is_caught() {
        let mut s = store();
        for _ in 0..3 {
            // SAFETY: `s` is valid; the closure owns nothing with a
            // destructor when it raises.
            let r = unsafe { catch_traps(&mut s, 1 << 20, || raise_trap(Trap::BadSignature)) };
            assert_eq!(trap_of(r), Trap::BadSignature);
            assert_eq!(s.stack_limit, usize::MAX);
        }
    }

    #[test]
    fn nested_catch_traps() {
        let mut outer_store = store();
        let mut inner_store = store();
        let inner_ptr: *mut VMStoreContext = &mut inner_store;
        let mut inner_result = None;
        let mut after_inner = false;
        // SAFETY: both store contexts are valid and only used here.
        let r = unsafe {
            catch_traps(&mut outer_store, 1 << 20, || {
                for _ in 0..3 {
                    let r = catch_traps(inner_ptr, 1 << 20, || raise_trap(Trap::IntegerOverflow));
                    inner_result = Some(trap_of(r));
                }
                after_inner = true;
                raise_trap(Trap::UnreachableCodeReached)
            })
        };
        assert_eq!(inner_result, Some(Trap::IntegerOverflow));
        assert!(after_inner, "the outer call continued after the inner trap");
        assert_eq!(trap_of(r), Trap::UnreachableCodeReached);
        assert!(ACTIVATION.get().is_null());
    }

    #[test]
    fn raise_error_round_trips() {
        let mut s = store();
        // SAFETY: `s` is valid; the error is moved into `raise_error`.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                raise_error(anyhow::anyhow!("host function failed"))
            })
        };
        match r {
            Err(UnwindReason::Error(e)) => assert_eq!(e.to_string(), "host function failed"),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn raise_panic_round_trips() {
        let mut s = store();
        // SAFETY: `s` is valid; the payload is moved into `raise_panic`.
        let r = unsafe { catch_traps(&mut s, 1 << 20, || raise_panic(Box::new(42u32))) };
        match r {
            Err(UnwindReason::Panic(p)) => assert_eq!(p.downcast_ref::<u32>(), Some(&42)),
            other => panic!("expected a panic, got {other:?}"),
        }
    }

    #[test]
    fn panic_in_body_is_caught() {
        let mut s = store();
        // SAFETY: `s` is valid; panics unwind normally.
        let r = unsafe { catch_traps(&mut s, 1 << 20, || panic!("boom")) };
        match r {
            Err(UnwindReason::Panic(p)) => assert_eq!(p.downcast_ref::<&str>(), Some(&"boom")),
            other => panic!("expected a panic, got {other:?}"),
        }
        assert_eq!(s.stack_limit, usize::MAX);
    }

    #[test]
    #[should_panic(expected = "outside of `catch_traps`")]
    fn raise_outside_catch_traps_panics() {
        // SAFETY: outside `catch_traps` it panics before jumping anywhere.
        unsafe { raise_trap(Trap::Interrupt) };
    }

    #[test]
    fn leave_wasm_with_returns_traps_and_carries_panics() {
        let mut s = store();
        let mut value = 0;
        // SAFETY: `s` is valid; the closures own nothing when they leave.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                value = leave_wasm_with(&VMStoreContext::default(), || Ok(7))
            })
        };
        assert!(r.is_ok());
        assert_eq!(value, 7);
        // SAFETY: as above.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                leave_wasm_with::<()>(&VMStoreContext::default(), || Err(Trap::TableOutOfBounds))
            })
        };
        assert_eq!(trap_of(r), Trap::TableOutOfBounds);
        // SAFETY: as above.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                leave_wasm_with::<()>(&VMStoreContext::default(), || panic!("limiter"))
            })
        };
        match r {
            Err(UnwindReason::Panic(p)) => assert_eq!(p.downcast_ref::<&str>(), Some(&"limiter")),
            other => panic!("expected a panic, got {other:?}"),
        }
        assert_eq!(s.stack_limit, usize::MAX);
    }

    #[test]
    fn stack_limit_is_set_and_restored() {
        let mut s = store();
        let sp: *mut VMStoreContext = &mut s;
        let max = 512 << 10;
        let here = 0u8;
        let here = ptr::addr_of!(here) as usize;
        let mut seen = None;
        let mut nested_seen = None;
        // SAFETY: `s` is valid and only accessed through `sp` during the call.
        let r = unsafe {
            catch_traps(sp, max, || {
                seen = Some((*sp).stack_limit);
                // A nested entry of the same store keeps the outer limit.
                let r = catch_traps(sp, 1, || nested_seen = Some((*sp).stack_limit));
                assert!(r.is_ok());
                assert_eq!((*sp).stack_limit, seen.unwrap());
            })
        };
        assert!(r.is_ok());
        let limit = seen.unwrap();
        assert_ne!(limit, usize::MAX);
        assert!(
            limit < here && limit > here - max - (64 << 10),
            "{limit:#x} vs {here:#x}"
        );
        assert_eq!(nested_seen, Some(limit));
        assert_eq!(s.stack_limit, usize::MAX);

        // Restored after an unwind too, and an existing limit is kept.
        // SAFETY: as above.
        let r = unsafe { catch_traps(sp, max, || raise_trap(Trap::StackOverflow)) };
        assert_eq!(trap_of(r), Trap::StackOverflow);
        assert_eq!(s.stack_limit, usize::MAX);
        s.stack_limit = 1234;
        // SAFETY: as above.
        let r = unsafe { catch_traps(sp, max, || assert_eq!((*sp).stack_limit, 1234)) };
        assert!(r.is_ok());
        assert_eq!(s.stack_limit, 1234);
    }

    /// A function whose code is one `ud2`, and the memory holding it (keep
    /// it alive while the function may run).
    #[cfg(target_arch = "x86_64")]
    fn ud2_function() -> (std::sync::Arc<CodeMemory>, extern "C" fn()) {
        let code = CodeMemory::new(&[0x0f, 0x0b], vec![(0, Trap::UnreachableCodeReached)]).unwrap();
        // SAFETY: the code is a complete function (it never returns).
        let f: extern "C" fn() = unsafe { mem::transmute(code.base()) };
        (code, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn hardware_ud2_trap() {
        let (_code, f) = ud2_function();
        let mut s = store();
        for _ in 0..5 {
            // SAFETY: `s` is valid; the faulting code owns nothing.
            let r = unsafe { catch_traps(&mut s, 1 << 20, || f()) };
            assert_eq!(trap_of(r), Trap::UnreachableCodeReached);
            assert_eq!(s.stack_limit, usize::MAX);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn hardware_divide_by_zero_trap() {
        // xor ecx,ecx; mov eax,1; cdq; idiv ecx; ret
        let bytes = [0x31, 0xc9, 0xb8, 0x01, 0, 0, 0, 0x99, 0xf7, 0xf9, 0xc3];
        let code = CodeMemory::new(&bytes, vec![(8, Trap::IntegerDivisionByZero)]).unwrap();
        // SAFETY: the code is a complete `extern "C" fn()`.
        let f: extern "C" fn() = unsafe { mem::transmute(code.base()) };
        let mut s = store();
        for _ in 0..3 {
            // SAFETY: `s` is valid; the faulting code owns nothing.
            let r = unsafe { catch_traps(&mut s, 1 << 20, || f()) };
            assert_eq!(trap_of(r), Trap::IntegerDivisionByZero);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn hardware_out_of_bounds_load() {
        // mov rax, [rdi]; ret
        let code = CodeMemory::new(&[0x48, 0x8b, 0x07, 0xc3], vec![]).unwrap();
        // SAFETY: the code is a complete `extern "C" fn(*const u8) -> u64`.
        let load: extern "C" fn(*const u8) -> u64 = unsafe { mem::transmute(code.base()) };
        let mut mmap = Mmap::reserve(2 * crate::vm::mmap::page_size()).unwrap();
        let mut s = store();
        for i in 0..3 {
            // SAFETY: the pointer is inside a reservation, so the load
            // faults without touching anything else.
            let r = unsafe {
                catch_traps(&mut s, 1 << 20, || {
                    load(mmap.as_ptr().add(i * 8));
                })
            };
            assert_eq!(trap_of(r), Trap::MemoryOutOfBounds);
        }
        // The same code works on accessible memory.
        mmap.make_accessible(0, 8).unwrap();
        // SAFETY: the first page is now read-write.
        unsafe { mmap.as_mut_ptr().cast::<u64>().write(0x1122_3344_5566_7788) };
        let mut value = 0;
        // SAFETY: the load reads accessible memory.
        let r = unsafe { catch_traps(&mut s, 1 << 20, || value = load(mmap.as_ptr())) };
        assert!(r.is_ok());
        assert_eq!(value, 0x1122_3344_5566_7788);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn hardware_trap_past_linear_memory_end() {
        use crate::vm::memory::{LinearMemory, WASM_PAGE_SIZE};
        // mov rax, [rdi]; ret
        let code = CodeMemory::new(&[0x48, 0x8b, 0x07, 0xc3], vec![]).unwrap();
        // SAFETY: the code is a complete `extern "C" fn(*const u8) -> u64`.
        let load: extern "C" fn(*const u8) -> u64 = unsafe { mem::transmute(code.base()) };
        let mut memory = LinearMemory::new(1, None, false).unwrap();
        let mut s = store();
        let mut value = 1;
        // SAFETY: the last 8 bytes of the memory are accessible.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                value = load(memory.base().add(memory.byte_size() - 8))
            })
        };
        assert!(r.is_ok());
        assert_eq!(value, 0);
        for offset in [memory.byte_size(), (8 << 30) + 8] {
            // SAFETY: one byte past the end is inside the reservation; so is
            // the largest address compiled code can compute.
            let r =
                unsafe { catch_traps(&mut s, 1 << 20, || value = load(memory.base().add(offset))) };
            assert_eq!(trap_of(r), Trap::MemoryOutOfBounds);
        }
        assert_eq!(memory.grow(1), Some(1));
        // SAFETY: the second page is now accessible.
        let r = unsafe {
            catch_traps(&mut s, 1 << 20, || {
                value = load(memory.base().add(2 * WASM_PAGE_SIZE as usize - 8))
            })
        };
        assert!(r.is_ok());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn nested_hardware_traps() {
        let (_code, f) = ud2_function();
        let mut outer = store();
        let mut inner = store();
        let inner_ptr: *mut VMStoreContext = &mut inner;
        let mut count = 0;
        // SAFETY: both contexts are valid; the faulting code owns nothing.
        let r = unsafe {
            catch_traps(&mut outer, 1 << 20, || {
                for _ in 0..3 {
                    let r = catch_traps(inner_ptr, 1 << 20, || f());
                    assert_eq!(trap_of(r), Trap::UnreachableCodeReached);
                    count += 1;
                }
                f()
            })
        };
        assert_eq!(count, 3);
        assert_eq!(trap_of(r), Trap::UnreachableCodeReached);
    }

    /// A fault outside WebAssembly code, even inside `catch_traps`, is
    /// forwarded and kills the process as usual (checked in a child).
    #[test]
    fn non_wasm_fault_is_forwarded() {
        init_traps();
        let mmap = Mmap::reserve(crate::vm::mmap::page_size()).unwrap();
        let target = mmap.as_ptr();
        // SAFETY: the child only makes async-signal-safe calls (no
        // allocation, no locks) before it dies or `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: plain syscalls; the load faults on a reserved page and
            // is not in WebAssembly code, so it must not be caught.
            unsafe {
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                let mut s = VMStoreContext::default();
                let _ = catch_traps(&mut s, 1 << 20, || {
                    ptr::read_volatile(target);
                });
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: `pid` is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(rc, pid);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
            "child status {status:#x}"
        );
    }
}
