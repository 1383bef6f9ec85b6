//! [`Global`]: the owner of one WebAssembly global: its type and the
//! 16 bytes of storage compiled code reads and writes.

use super::Definition;
use trestle_compiler::{WasmGlobalType, WasmValType};
use trestle_vmctx::VMGlobalDefinition;

/// A global: its storage (inside the defining instance's vmctx, or owned
/// for globals of the host) and its type.
pub(crate) struct Global {
    def: Definition<VMGlobalDefinition>,
    ty: WasmGlobalType,
}

impl Global {
    /// A global of type `ty` holding `value` (its bits, little-endian).
    /// `def` is its storage inside a vmctx, or `None` for a global of the
    /// host, which then owns its storage.
    ///
    /// # Safety
    ///
    /// A `def` must be valid for reads and writes, used by nothing but this
    /// global and compiled code, for the global's whole life.
    pub(crate) unsafe fn new(
        ty: WasmGlobalType,
        def: Option<*mut VMGlobalDefinition>,
        value: [u8; 16],
    ) -> Global {
        let storage = VMGlobalDefinition { storage: value };
        // SAFETY: per this function's contract.
        let def = unsafe { Definition::new(def, storage) };
        Global { def, ty }
    }

    /// The global's type.
    pub(crate) fn ty(&self) -> WasmGlobalType {
        self.ty
    }

    /// The storage compiled code reads, for importers.
    pub(crate) fn definition(&self) -> *mut VMGlobalDefinition {
        self.def.as_ptr()
    }

    /// The value's bits.
    pub(crate) fn get(&self) -> [u8; 16] {
        // SAFETY: `def` is this global's live storage.
        unsafe { (*self.def.as_ptr()).storage }
    }

    /// Sets the value's bits.
    pub(crate) fn set(&mut self, value: [u8; 16]) {
        // SAFETY: `def` is this global's live storage.
        unsafe { (*self.def.as_ptr()).storage = value };
    }

    /// The word of the value when the global holds a reference into the
    /// store's heap (an externref or a GC value), for the collector.
    pub(crate) fn heap_word(&self) -> Option<usize> {
        match self.ty.ty {
            WasmValType::Ref(r) if !r.is_func() => Some(u128::from_le_bytes(self.get()) as usize),
            _ => None,
        }
    }
}
