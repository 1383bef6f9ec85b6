//! Libcalls: the runtime functions compiled code calls through the builtins
//! array of the vmctx, each a thin wrapper over the entity it works on
//! ([`vm::Table`], [`vm::Memory`]).
//!
//! The list is written once, in [`trestle_vmctx::foreach_libcall!`]: the
//! compiler builds its signatures from it, and the macro below builds from
//! it both the `extern "C"` entry points and the array. Every entry point
//! is the same code: find the store and the instance from the caller's
//! vmctx, run the body (the function of the same name below, which returns
//! `Result<_, Trap>`) under [`traphandlers::leave_wasm_with`], which turns
//! an `Err(trap)` into a trap and carries a panic of the body (the
//! embedder's limiter panicking inside `table.grow`, say) across the wasm
//! frames to the caller of [`crate::Func::call`], where it is resumed. A
//! panic never unwinds into compiled code. Adding a libcall is one line in
//! the list plus its body here; a body whose signature drifts from the list
//! does not compile.
//!
//! Compiled code calls a libcall directly, not through a trampoline, so
//! nothing on its side records where it left wasm. The address in the
//! builtins array is therefore a shim of a few instructions in front of
//! the entry point (x86-64 and aarch64): it stores the frame pointer
//! register, still the calling wasm function's, and the return address
//! into that function in the store context
//! (`VMStoreContext::last_libcall_fp` / `last_libcall_pc`), then jumps to
//! the entry point. A trap the body returns then carries the wasm frames
//! from there ([`traphandlers::leave_wasm_with`]). The cost is two stores
//! per libcall, none on the paths compiled code handles inline.
//!
//! Bulk operations charge fuel for their work and check the epoch deadline
//! between chunks of it, through the store's [`vm::Meter`].

use crate::store::StoreOpaque;
use crate::vm::{self, StoreInstanceIndex, traphandlers};
use trestle_compiler::{CanonicalTypeId, DataIndex, ElemIndex, MemoryIndex, TableIndex};
use trestle_vmctx::{Trap, VMContext, VMStoreContext};

/// The array of libcall entry points, in [`trestle_vmctx::LibcallIndex`]
/// order.
#[repr(transparent)]
struct Builtins([*const (); trestle_vmctx::NUM_LIBCALLS as usize]);

// SAFETY: the array holds only function pointers, never written.
unsafe impl Sync for Builtins {}

macro_rules! kind_type {
    (vmctx) => { *mut VMContext };
    (ptr) => { usize };
    (i32) => { u32 };
    (i64) => { u64 };
}

macro_rules! libcalls {
    ($( $(#[$attr:meta])* $name:ident( vmctx: vmctx $(, $pname:ident: $pkind:ident)* ) $(-> $result:ident)?; )*) => {
        /// The `extern "C"` entry points, one per libcall.
        mod entry {
            use super::*;
            $(
                $(#[$attr])*
                pub(super) unsafe extern "C" fn $name(
                    vmctx: *mut VMContext $(, $pname: kind_type!($pkind))*
                ) $(-> kind_type!($result))? {
                    // SAFETY: compiled code calls its libcalls with its own
                    // vmctx, inside `catch_traps`, and this call is all the
                    // entry point does.
                    unsafe { enter(vmctx, |store, instance| super::$name(store, instance $(, $pname)*)) }
                }
            )*
        }

        /// The shims in front of the entry points, one per libcall.
        mod shim {
            #[allow(unused_imports, reason = "only some targets have shims")]
            use super::*;
            $(
                exit_shim!($name);
            )*
        }

        static BUILTINS: Builtins = {
            let mut entries = [$(shim::$name as *const (),)*];
            // Compiled code throws through the stub, which records its own
            // exit and calls the entry point (see `throw_stub`).
            entries[trestle_vmctx::LibcallIndex::throw_ref as usize] = throw_stub::address();
            Builtins(entries)
        };
    };
}

/// The shim of libcall `$name`: records the calling wasm function's frame
/// pointer and the return address into it in the store context, then
/// jumps to the entry point with the arguments untouched.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
macro_rules! exit_shim {
    ($name:ident) => {
        /// Records the exit from wasm and jumps to the entry point.
        ///
        /// # Safety
        ///
        /// Called only by compiled code, as the entry point is; `rdi` is
        /// the caller's vmctx.
        #[unsafe(naked)]
        pub(super) unsafe extern "C" fn $name() {
            // `rax` and `r11` are scratch and carry no argument; the
            // return address is at the stack pointer on entry.
            core::arch::naked_asm!(
                "mov rax, qword ptr [rdi + {store_context}]",
                "mov qword ptr [rax + {exit_fp}], rbp",
                "mov r11, qword ptr [rsp]",
                "mov qword ptr [rax + {exit_pc}], r11",
                "jmp {entry}",
                store_context = const trestle_vmctx::VMOffsets::VMCTX_STORE_CONTEXT,
                exit_fp = const trestle_vmctx::VMOffsets::STORE_CONTEXT_LAST_LIBCALL_FP,
                exit_pc = const trestle_vmctx::VMOffsets::STORE_CONTEXT_LAST_LIBCALL_PC,
                entry = sym super::entry::$name,
            )
        }
    };
}

/// The shim of libcall `$name` (see the x86-64 version): `x29` is the
/// frame pointer, `x30` the return address, `x16` scratch.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
macro_rules! exit_shim {
    ($name:ident) => {
        /// Records the exit from wasm and jumps to the entry point.
        ///
        /// # Safety
        ///
        /// Called only by compiled code, as the entry point is; `x0` is
        /// the caller's vmctx.
        #[unsafe(naked)]
        pub(super) unsafe extern "C" fn $name() {
            core::arch::naked_asm!(
                "ldr x16, [x0, #{store_context}]",
                "str x29, [x16, #{exit_fp}]",
                "str x30, [x16, #{exit_pc}]",
                "b {entry}",
                store_context = const trestle_vmctx::VMOffsets::VMCTX_STORE_CONTEXT,
                exit_fp = const trestle_vmctx::VMOffsets::STORE_CONTEXT_LAST_LIBCALL_FP,
                exit_pc = const trestle_vmctx::VMOffsets::STORE_CONTEXT_LAST_LIBCALL_PC,
                entry = sym super::entry::$name,
            )
        }
    };
}

/// Elsewhere there is no shim: the entry point itself, and traps raised by
/// libcalls carry no backtrace.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
macro_rules! exit_shim {
    ($name:ident) => {
        pub(super) use super::entry::$name;
    };
}

trestle_vmctx::foreach_libcall!(libcalls);

/// The address of the builtins array, for the vmctx header.
pub(crate) fn builtins() -> *const () {
    BUILTINS.0.as_ptr().cast()
}

/// Runs the body of a libcall called with `vmctx`, with the store and the
/// instance index, and returns its value or leaves WebAssembly (see the
/// [module documentation](self)).
///
/// # Safety
///
/// `vmctx` must be the vmctx of a live instance whose compiled code made
/// this call, inside `catch_traps`, and the caller must return right after
/// (it is skipped on a trap or a panic).
unsafe fn enter<R>(
    vmctx: *mut VMContext,
    body: impl FnOnce(&mut StoreOpaque, StoreInstanceIndex) -> Result<R, Trap>,
) -> R {
    // SAFETY: per the contract, the header holds the instance's store and
    // index; the store is not otherwise used while compiled code waits
    // for this call.
    let (store, instance) = unsafe {
        let (store, instance) = vm::vmctx::store_and_instance(vmctx);
        (&mut *store.cast::<StoreOpaque>(), instance)
    };
    // The store context outlives the call (it is boxed in the store) and
    // is read through this pointer only once the body has returned.
    let store_context: *const VMStoreContext = &*store.vm_store_context;
    // SAFETY: per the contract; the shim in front of this entry point
    // recorded the exit of this very call in the store context.
    unsafe { traphandlers::leave_wasm_with(store_context, || body(store, instance)) }
}

// ---- Memory --------------------------------------------------------------

// The bodies take the raw indices of the libcall list and convert them
// first: a memory, table, element or data segment index of the caller's
// module, or a canonical type id.

fn memory_grow(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    memory: u32,
    delta: u64,
) -> Result<u64, Trap> {
    let memory = MemoryIndex::from_u32(memory);
    let m = store.instances[inst].memories[memory];
    Ok(store.memory_grow(m, delta).unwrap_or(u64::MAX))
}

fn memory_fill(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    memory: u32,
    dst: u64,
    val: u32,
    len: u64,
) -> Result<(), Trap> {
    let memory = MemoryIndex::from_u32(memory);
    let meter = store.meter();
    let m = store.instances[inst].memories[memory];
    store.memories[m].fill(dst, val as u8, len, &meter)
}

fn memory_copy(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) -> Result<(), Trap> {
    let (dst_mem, src_mem) = (
        MemoryIndex::from_u32(dst_mem),
        MemoryIndex::from_u32(src_mem),
    );
    let meter = store.meter();
    let data = &store.instances[inst];
    let (dm, sm) = (data.memories[dst_mem], data.memories[src_mem]);
    vm::Memory::copy(&mut store.memories, dm, dst, sm, src, len, &meter)
}

fn memory_init(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> Result<(), Trap> {
    let (memory, data) = (MemoryIndex::from_u32(memory), DataIndex::from_u32(data));
    let meter = store.meter();
    let instance = &store.instances[inst];
    let m = instance.memories[memory];
    let bytes = instance.data_segment(data);
    let (src, len) = (u64::from(src), u64::from(len));
    store.memories[m].init(dst, bytes, src, len, &meter)
}

fn data_drop(store: &mut StoreOpaque, inst: StoreInstanceIndex, data: u32) -> Result<(), Trap> {
    store.instances[inst].dropped_data[DataIndex::from_u32(data)] = true;
    Ok(())
}

// ---- Tables --------------------------------------------------------------

fn table_grow(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    table: u32,
    delta: u64,
    init: usize,
) -> Result<u64, Trap> {
    let table = TableIndex::from_u32(table);
    let meter = store.meter();
    let t = store.instances[inst].tables[table];
    Ok(store
        .table_grow(t, delta, init, &meter)?
        .unwrap_or(u64::MAX))
}

fn table_fill(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    table: u32,
    dst: u64,
    val: usize,
    len: u64,
) -> Result<(), Trap> {
    let table = TableIndex::from_u32(table);
    let meter = store.meter();
    let t = store.instances[inst].tables[table];
    store.tables[t].fill(dst, val, len, &meter)
}

fn table_copy(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    dst_table: u32,
    dst: u64,
    src_table: u32,
    src: u64,
    len: u64,
) -> Result<(), Trap> {
    let (dst_table, src_table) = (
        TableIndex::from_u32(dst_table),
        TableIndex::from_u32(src_table),
    );
    let meter = store.meter();
    let data = &store.instances[inst];
    let (dt, st) = (data.tables[dst_table], data.tables[src_table]);
    let (tables, items) = store.tables_and_items();
    vm::Table::copy(tables, dt, dst, st, src, len, &items, &meter)
}

fn table_init(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> Result<(), Trap> {
    let (table, elem) = (TableIndex::from_u32(table), ElemIndex::from_u32(elem));
    let meter = store.meter();
    let instance = &store.instances[inst];
    let t = instance.tables[table];
    let words = instance.element_segment(elem);
    let (src, len) = (u64::from(src), u64::from(len));
    store.tables[t].init(dst, words, src, len, &meter)
}

fn elem_drop(store: &mut StoreOpaque, inst: StoreInstanceIndex, elem: u32) -> Result<(), Trap> {
    store.instances[inst].elements[ElemIndex::from_u32(elem)] = None;
    Ok(())
}

fn table_lazy_init(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    table: u32,
    index: u64,
) -> Result<usize, Trap> {
    let table = TableIndex::from_u32(table);
    let t = store.instances[inst].tables[table];
    let (tables, items) = store.tables_and_items();
    tables[t]
        .lazy_entry(index, &items)
        .ok_or(Trap::UndefinedElement)
}

// ---- Exceptions ------------------------------------------------------------

fn exn_new(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    tag: u32,
    values: usize,
) -> Result<usize, Trap> {
    // SAFETY: compiled code passes one cell per parameter of the tag.
    Ok(unsafe { crate::exception::exn_new(store, inst, tag, values) })
}

fn exn_payload(
    store: &mut StoreOpaque,
    _inst: StoreInstanceIndex,
    exn: usize,
    values: usize,
) -> Result<(), Trap> {
    // SAFETY: compiled code passes a caught (live, non-null) exception and
    // one cell per value of its tag's payload.
    unsafe { crate::exception::exn_payload(store, exn, values) };
    Ok(())
}

/// The jump from the host to a wasm handler (a host function's throw).
pub(crate) use throw_stub::{SUPPORTED as CAN_RESUME, resume_at};

/// The body of the throw stub's call: the address of the resume record of
/// the handler, or, when no wasm frame catches the exception, a long jump
/// to the host with the [`crate::ThrownException`] error.
fn throw_ref(
    store: &mut StoreOpaque,
    _inst: StoreInstanceIndex,
    exn: usize,
    fp: usize,
    pc: usize,
) -> Result<usize, Trap> {
    // SAFETY: the stub passes the frame pointer of the wasm function that
    // called it and its return address into that function; compiled code
    // checked `exn` for null, and non-null words name live exceptions.
    match unsafe { crate::exception::throw_ref(store, exn, fp, pc) } {
        Ok(resume) => Ok(resume as usize),
        // SAFETY: the frames skipped are this body's (the error moves into
        // the activation, nothing else here owns resources), the entry
        // point's and the stub's, and wasm frames; no panic is unwinding.
        Err(err) => unsafe { traphandlers::raise_error(err) },
    }
}

/// The stub compiled code calls to throw, with the `tail` convention and
/// `(vmctx, exn)`: it adds the caller's frame pointer and its own return
/// address, calls the `throw_ref` entry point, and resumes from the
/// record that returns ([`crate::vm::unwind::Resume`]) through
/// `trestle_resume`: stack pointer, frame pointer, the `exnref` in the
/// first payload register, then a jump to the handler. It never returns
/// to its caller.
///
/// The stub is written for Linux on x86-64 and aarch64 (ELF directives);
/// elsewhere compiled code throws into a stand-in that traps instead.
mod throw_stub {
    use crate::vm::unwind::Resume;

    /// Whether this platform has the stub and `trestle_resume`.
    pub(crate) const SUPPORTED: bool = cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ));

    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    unsafe extern "C" {
        fn trestle_throw_stub();
        fn trestle_resume(record: *const Resume) -> !;
    }

    /// Jumps to the handler `record` names, as the stub's second half
    /// does; never returns.
    ///
    /// # Safety
    ///
    /// `record` must name a handler of a live wasm frame on this thread's
    /// stack, older than every frame of the caller that is skipped, and
    /// those frames must own nothing.
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    pub(crate) unsafe fn resume_at(record: *const Resume) -> ! {
        // SAFETY: per this function's contract.
        unsafe { trestle_resume(record) }
    }

    /// Where the stub does not exist: never called, since [`SUPPORTED`]
    /// is false.
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    pub(crate) unsafe fn resume_at(_record: *const Resume) -> ! {
        unreachable!("no resume on this platform")
    }

    /// The stub's address, for the builtins array.
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    pub(super) const fn address() -> *const () {
        trestle_throw_stub as *const ()
    }

    /// The stand-in's address, for the builtins array.
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    pub(super) const fn address() -> *const () {
        unsupported as *const ()
    }

    /// Where no stub exists: a throw traps ("unreachable").
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    extern "C" fn unsupported(_vmctx: *mut trestle_vmctx::VMContext, _exn: usize) {
        // SAFETY: called by compiled code inside `catch_traps`, as its last
        // action; this frame owns nothing.
        unsafe { crate::vm::traphandlers::raise_trap(trestle_vmctx::Trap::UnreachableCodeReached) }
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl trestle_throw_stub",
        ".hidden trestle_throw_stub",
        ".type trestle_throw_stub, @function",
        "trestle_throw_stub:",
        // rdi = vmctx, rsi = exn; add fp (the caller's rbp) and pc (the
        // return address on top of the stack).
        "mov rdx, rbp",
        "mov rcx, [rsp]",
        // Realign the stack for the call.
        "sub rsp, 8",
        "call {entry}",
        "mov rdi, rax",
        "jmp trestle_resume",
        ".size trestle_throw_stub, . - trestle_throw_stub",
        "",
        // trestle_resume(rdi = &Resume { pc, sp, fp, payload }): also the
        // jump of a host function's throw (`exception::throw_if_exception`).
        ".p2align 4",
        ".globl trestle_resume",
        ".hidden trestle_resume",
        ".type trestle_resume, @function",
        "trestle_resume:",
        "mov rcx, [rdi]",
        "mov rsp, [rdi + 8]",
        "mov rbp, [rdi + 16]",
        "mov rax, [rdi + 24]",
        "xor edx, edx",
        "jmp rcx",
        ".size trestle_resume, . - trestle_resume",
        entry = sym super::entry::throw_ref,
    );

    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl trestle_throw_stub",
        ".hidden trestle_throw_stub",
        ".type trestle_throw_stub, %function",
        "trestle_throw_stub:",
        // x0 = vmctx, x1 = exn; add fp (x29) and pc (the link register).
        "mov x2, x29",
        "mov x3, x30",
        "stp x29, x30, [sp, #-16]!",
        "bl {entry}",
        "b trestle_resume",
        ".size trestle_throw_stub, . - trestle_throw_stub",
        "",
        // trestle_resume(x0 = &Resume { pc, sp, fp, payload }): also the
        // jump of a host function's throw (`exception::throw_if_exception`).
        ".p2align 4",
        ".globl trestle_resume",
        ".hidden trestle_resume",
        ".type trestle_resume, %function",
        "trestle_resume:",
        "ldr x16, [x0]",
        "ldr x17, [x0, #8]",
        "ldr x29, [x0, #16]",
        "ldr x0, [x0, #24]",
        "mov x1, xzr",
        "mov sp, x17",
        "br x16",
        ".size trestle_resume, . - trestle_resume",
        entry = sym super::entry::throw_ref,
    );
}

/// Whether the type with canonical id `actual` is `expected` or declares it
/// as a (transitive) supertype: the slow path of `call_indirect` against a
/// type that is not final.
fn is_subtype(
    store: &mut StoreOpaque,
    _inst: StoreInstanceIndex,
    actual: u32,
    expected: u32,
) -> Result<u32, Trap> {
    let (actual, expected) = (
        CanonicalTypeId::from_u32(actual),
        CanonicalTypeId::from_u32(expected),
    );
    Ok(u32::from(store.engine.is_subtype_id(actual, expected)))
}
