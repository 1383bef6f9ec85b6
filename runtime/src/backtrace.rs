//! [`WasmBacktrace`] and [`FrameInfo`]: the WebAssembly functions on the
//! stack when a trap happened, a host function returned an error, or a
//! host function asked.
//!
//! The frames are found by their frame pointers (`vm::stack_walk`): the
//! signal handler walks them at a trap in wasm code, a libcall that traps
//! from the call its shim recorded, a host function from the frame of the
//! trampoline through which wasm called it. Each program counter is
//! looked up in the table of functions its module's code was registered
//! with ([`trestle_compiler::FrameTable`]), which gives the function's
//! index, its name from the `name` section, and the offset in the module
//! of the instruction the code came from.
//!
//! A trap's error and a host function's error carry the backtrace as
//! context, found with `error.downcast_ref::<WasmBacktrace>()`, when
//! [`crate::Config::wasm_backtrace`] is on (the default).

use crate::AsContext;
use crate::vm::code_memory::frame_at;
use crate::vm::stack_walk;
use std::fmt;

/// The WebAssembly frames of a stack, innermost first.
///
/// ```
/// use trestle::{Engine, Instance, Module, Store, WasmBacktrace};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func $inner (export "run") unreachable))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
/// let error = run.call(&mut store, ()).unwrap_err();
/// let backtrace = error.downcast_ref::<WasmBacktrace>().unwrap();
/// assert_eq!(backtrace.frames()[0].func_name(), Some("inner"));
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

/// One WebAssembly function on the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    func_index: u32,
    func_name: Option<String>,
    module_name: Option<String>,
    module_offset: Option<usize>,
    func_offset: Option<usize>,
}

impl FrameInfo {
    /// The frame of `func`, of the module of `table`, at `module_offset`.
    fn new(
        table: &trestle_compiler::FrameTable,
        func: &trestle_compiler::FuncFrameInfo,
        module_offset: Option<u32>,
    ) -> Self {
        FrameInfo {
            func_index: func.func_index.as_u32(),
            func_name: func.name.clone(),
            module_name: table.module_name.clone(),
            module_offset: module_offset.map(|o| o as usize),
            func_offset: module_offset
                .and_then(|o| o.checked_sub(func.module_start))
                .map(|o| o as usize),
        }
    }

    /// The function's index in its module's function index space (imports
    /// first).
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from its module's `name` section, as written
    /// there (mangled, if it was); [`FrameInfo::demangled_name`] gives the
    /// readable form.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The function's name, demangled when it is a mangled Rust or C++
    /// name.
    pub fn demangled_name(&self) -> Option<String> {
        self.func_name.as_deref().map(demangle)
    }

    /// The module's name from its `name` section.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// The byte offset in the module of the instruction this frame is at:
    /// the one that trapped, or the call that is running. `None` when the
    /// module was compiled without backtraces, or the frame is in the
    /// function's entry, before its first instruction.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset
    }

    /// [`FrameInfo::module_offset`], counted from the start of the
    /// function's body (the byte after its size) in the module.
    pub fn func_offset(&self) -> Option<usize> {
        self.func_offset
    }
}

impl WasmBacktrace {
    /// The wasm frames of the store's stack, when a host function called
    /// from wasm runs; empty when backtraces are off
    /// ([`crate::Config::wasm_backtrace`]) or no wasm is running.
    pub fn capture(store: impl AsContext) -> WasmBacktrace {
        let store = store.as_context();
        if store.0.opaque.engine.config().wasm_backtrace {
            Self::force_capture(store)
        } else {
            WasmBacktrace::default()
        }
    }

    /// [`WasmBacktrace::capture`], even when backtraces are off. The frames
    /// are found then, but have no offsets: the code has no address map.
    pub fn force_capture(store: impl AsContext) -> WasmBacktrace {
        let store = store.as_context();
        let exit_fp = store.0.opaque.vm_store_context.last_wasm_exit_fp;
        let mut pcs = Vec::new();
        // SAFETY: the field is zero unless wasm called the host through a
        // trampoline since the store's innermost entry into wasm, which
        // clears it and restores it when it returns: the frame it names
        // is that of the trampoline under the running host function, live
        // on this thread's stack (a store is used by one thread at a time).
        unsafe { stack_walk::walk(None, exit_fp, &mut pcs) };
        Self::from_pcs(&pcs, false)
    }

    /// The frames of the program counters a walk found, innermost first;
    /// `at_trap` when the first is the faulting instruction rather than a
    /// return address.
    pub(crate) fn from_pcs(pcs: &[usize], at_trap: bool) -> WasmBacktrace {
        let mut frames = Vec::new();
        for (i, &pc) in pcs.iter().enumerate() {
            // A return address follows its call: look up the call.
            let pc = if i == 0 && at_trap { pc } else { pc - 1 };
            let Some((table, offset)) = frame_at(pc) else {
                continue;
            };
            let Some(func) = table.lookup(offset) else {
                continue;
            };
            let range = func.address_range(offset - func.body.start);
            // Code copied from an inlined function: its frame first.
            if let Some(inlined) = range.and_then(|r| r.inlined)
                && let Some(callee) = table.func(inlined.func)
            {
                frames.push(FrameInfo::new(&table, callee, inlined.module_offset));
            }
            frames.push(FrameInfo::new(&table, func, range.map(|r| r.module_offset)));
        }
        WasmBacktrace { frames }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

/// Writes `index: offset - module!function` lines, one per frame.
impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error while executing at wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            write!(f, "\n  {i:>3}: ")?;
            if let Some(offset) = frame.module_offset {
                write!(f, "{offset:#6x} - ")?;
            }
            write!(f, "{}!", frame.module_name().unwrap_or("<unknown>"))?;
            match frame.demangled_name() {
                Some(name) => f.write_str(&name)?,
                None => write!(f, "<wasm function {}>", frame.func_index)?,
            }
        }
        Ok(())
    }
}

/// The readable form of a function name: demangled when it is a mangled
/// Rust (legacy or v0) or C++ (Itanium) name, else the name itself.
pub(crate) fn demangle(name: &str) -> String {
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the hash of legacy symbols.
        return format!("{rust:#}");
    }
    if name.starts_with("_Z")
        && let Ok(symbol) = cpp_demangle::Symbol::new(name)
        && let Ok(readable) = symbol.demangle()
    {
        return readable;
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn names_are_demangled() {
        assert_eq!(
            demangle("_ZN4core9panicking5panic17h0123456789abcdefE"),
            "core::panicking::panic"
        );
        assert_eq!(demangle("_RNvCs1234_7mycrate3foo"), "mycrate::foo");
        assert_eq!(demangle("_Z3addii"), "add(int, int)");
        assert_eq!(demangle("_ZN2ns5Point6lengthEv"), "ns::Point::length()");
        assert_eq!(demangle("plain_c_name"), "plain_c_name");
        assert_eq!(demangle("_Z"), "_Z");
    }
}
