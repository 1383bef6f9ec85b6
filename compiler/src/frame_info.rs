//! What the runtime needs to name compiled code: for each defined function,
//! its index, its name from the module's `name` section, where its body and
//! its entry trampoline lie in the module's code, and the map from its
//! machine code offsets back to the WebAssembly bytecode, and the call
//! sites inside `try_table`s with their exception handlers.
//!
//! A [`FrameTable`] is plain data (offsets and strings, no pointers), kept
//! next to the code in a [`crate::CompiledModule`]. Backtraces look return
//! addresses up in it ([`FrameTable::lookup`]) and the profiler writes its
//! ranges to a perf map.

use crate::index::FuncIndex;
use std::collections::HashMap;

/// A range of a module's code: `len` bytes from offset `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CodeRange {
    /// Offset of the first byte in the module's code.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl CodeRange {
    /// Whether `offset` lies inside the range.
    pub fn contains(&self, offset: u32) -> bool {
        offset >= self.start && offset - self.start < self.len
    }
}

/// One code range of a function's machine code that was generated for one
/// WebAssembly instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressRange {
    /// First code offset, relative to the start of the function's body.
    pub start: u32,
    /// Code offset just past the range, relative to the body's start.
    pub end: u32,
    /// Byte offset of the instruction in the module; for code inlined
    /// from a callee, the offset of the call.
    pub module_offset: u32,
    /// The function the code was inlined from, when it was: its frame is
    /// above the one of the function containing the code.
    pub inlined: Option<InlinedFrame>,
}

/// The frame of a function whose code was copied into a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlinedFrame {
    /// The inlined function.
    pub func: FuncIndex,
    /// Byte offset in the module of the instruction the code came from,
    /// when known.
    pub module_offset: Option<u32>,
}

/// A call inside a `try_table`, as the runtime's unwinder sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallSite {
    /// The call's return address, relative to the start of the body.
    pub ret_addr: u32,
    /// How far below the frame pointer the stack pointer is at the call
    /// (and must be again at a handler): the frame's size below its
    /// frame record, outgoing argument area included.
    pub frame_offset: u32,
    /// The handlers, innermost `try_table` first, each clause in order:
    /// the first that matches catches.
    pub handlers: Box<[ExceptionHandler]>,
}

/// One handler of a [`CallSite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExceptionHandler {
    /// The tag it catches, an index of the module's tag space, or `None`
    /// for `catch_all` and `catch_all_ref`.
    pub tag: Option<u32>,
    /// Where the function's vmctx is saved, as an offset from the stack
    /// pointer at the call: the tag index is resolved through it.
    pub vmctx_sp_offset: u32,
    /// The handler's code, relative to the start of the body.
    pub target: u32,
}

/// One defined function, as backtraces and profilers see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FuncFrameInfo {
    /// The function's index in the module's function index space.
    pub func_index: FuncIndex,
    /// Its name from the `name` section, as written there (not demangled).
    pub name: Option<String>,
    /// Byte offset of the function's body in the module (its size field).
    pub module_start: u32,
    /// The function's body in the module's code.
    pub body: CodeRange,
    /// Its array-to-wasm entry trampoline in the module's code, if it has
    /// one (only functions the host may call do).
    pub array_call: Option<CodeRange>,
    /// Code ranges and the instruction each came from, sorted by code
    /// offset; empty when the module was compiled without backtraces.
    pub address_map: Box<[AddressRange]>,
    /// The calls with exception handlers, sorted by return address.
    pub call_sites: Box<[CallSite]>,
}

impl FuncFrameInfo {
    /// The module offset of the instruction whose code contains
    /// `body_offset` (relative to the start of the body), if the address
    /// map covers it.
    ///
    /// The call site whose return address is `body_offset`, if it has
    /// exception handlers, is [`FuncFrameInfo::call_site`].
    pub fn module_offset(&self, body_offset: u32) -> Option<u32> {
        self.address_range(body_offset).map(|r| r.module_offset)
    }

    /// The address map's range containing `body_offset` (relative to the
    /// start of the body), if it covers it.
    pub fn address_range(&self, body_offset: u32) -> Option<&AddressRange> {
        let i = self
            .address_map
            .partition_point(|r| r.start <= body_offset)
            .checked_sub(1)?;
        let range = &self.address_map[i];
        (body_offset < range.end).then_some(range)
    }

    /// The call with exception handlers that returns to `ret_addr`
    /// (relative to the start of the body).
    pub fn call_site(&self, ret_addr: u32) -> Option<&CallSite> {
        find_sorted(&self.call_sites, ret_addr, |c| c.ret_addr)
    }
}

/// The functions of a compiled module and the names from its `name`
/// section.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FrameTable {
    /// The module's name from the `name` section.
    pub module_name: Option<String>,
    /// Every defined function, by defined index; their bodies lie in
    /// increasing code order.
    pub funcs: Vec<FuncFrameInfo>,
}

impl FrameTable {
    /// The defined function `func`, if the module defines it.
    pub fn func(&self, func: FuncIndex) -> Option<&FuncFrameInfo> {
        find_sorted(&self.funcs, func, |f| f.func_index)
    }

    /// The function whose body contains code offset `offset`.
    pub fn lookup(&self, offset: u32) -> Option<&FuncFrameInfo> {
        let i = self
            .funcs
            .partition_point(|f| f.body.start <= offset)
            .checked_sub(1)?;
        let func = &self.funcs[i];
        func.body.contains(offset).then_some(func)
    }
}

/// The item of `items`, sorted by `key`, whose key is `wanted`.
fn find_sorted<T, K: Ord>(items: &[T], wanted: K, key: impl FnMut(&T) -> K) -> Option<&T> {
    let i = items.binary_search_by_key(&wanted, key).ok()?;
    Some(&items[i])
}

/// The names a module's `name` section gives.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleNames {
    pub(crate) module: Option<String>,
    pub(crate) funcs: HashMap<u32, String>,
}

impl ModuleNames {
    /// Reads a `name` section. A malformed section is not an error (it is
    /// a custom section, which validation does not look at): the names
    /// read before the problem are kept and the rest are ignored.
    pub(crate) fn read(&mut self, reader: wasmparser::NameSectionReader<'_>) {
        for subsection in reader {
            let Ok(subsection) = subsection else { return };
            match subsection {
                wasmparser::Name::Module { name, .. } => self.module = Some(name.to_string()),
                wasmparser::Name::Function(map) => {
                    for naming in map {
                        let Ok(naming) = naming else { return };
                        self.funcs.insert(naming.index, naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(start: u32, len: u32, map: &[(u32, u32, u32)]) -> FuncFrameInfo {
        FuncFrameInfo {
            func_index: FuncIndex::from_u32(start),
            name: None,
            module_start: 0,
            body: CodeRange { start, len },
            array_call: None,
            address_map: map
                .iter()
                .map(|&(start, end, module_offset)| AddressRange {
                    start,
                    end,
                    module_offset,
                    inlined: None,
                })
                .collect(),
            call_sites: Box::new([]),
        }
    }

    #[test]
    fn lookup_finds_the_containing_body() {
        let table = FrameTable {
            module_name: None,
            funcs: vec![func(0, 16, &[]), func(32, 8, &[])],
        };
        assert_eq!(table.lookup(0).map(|f| f.body.start), Some(0));
        assert_eq!(table.lookup(15).map(|f| f.body.start), Some(0));
        assert_eq!(table.lookup(16), None);
        assert_eq!(table.lookup(31), None);
        assert_eq!(table.lookup(39).map(|f| f.body.start), Some(32));
        assert_eq!(table.lookup(40), None);
    }

    #[test]
    fn module_offsets_follow_the_address_map() {
        let f = func(0, 64, &[(4, 10, 0x20), (10, 12, 0x22), (20, 30, 0x25)]);
        assert_eq!(f.module_offset(3), None);
        assert_eq!(f.module_offset(4), Some(0x20));
        assert_eq!(f.module_offset(9), Some(0x20));
        assert_eq!(f.module_offset(11), Some(0x22));
        assert_eq!(f.module_offset(15), None);
        assert_eq!(f.module_offset(29), Some(0x25));
        assert_eq!(f.module_offset(30), None);
    }
}
