//! [`VmctxAlloc`]: an instance's vmctx allocation, and every read and
//! write of it on the runtime side, at the offsets [`VMOffsets`] gives
//! (the compiler bakes the same offsets into code).

use super::StoreInstanceIndex;
use cranelift_entity::EntityRef;
use std::alloc::Layout;
use std::ptr::NonNull;
use trestle_compiler::{
    DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex, FuncIndex, GlobalIndex, MemoryIndex,
    TableIndex,
};
use trestle_vmctx::{
    VMCTX_MAGIC, VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMGlobalImport,
    VMMemoryDefinition, VMMemoryImport, VMOffsets, VMStoreContext, VMTableDefinition,
    VMTableImport,
};

/// An instance's vmctx: one zeroed allocation laid out by the module's
/// [`VMOffsets`].
pub(crate) struct VmctxAlloc {
    ptr: NonNull<u8>,
    layout: Layout,
    offsets: VMOffsets,
}

/// Defines the setters that point an imported entity's vmctx entry at its
/// definition: each writes one import record at the entity's offset.
macro_rules! import_setters {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($index:ident: $index_ty:ty, $from:ident: $from_ty:ty) at $offset:ident
            = $import:expr;
    )*) => {$(
        $(#[$doc])*
        pub(crate) unsafe fn $name(&self, $index: $index_ty, $from: $from_ty) {
            // SAFETY: the import's field, valid per this function's contract.
            unsafe { self.write(self.offsets.$offset($index.as_u32()), $import) }
        }
    )*};
}

impl VmctxAlloc {
    /// A zeroed vmctx for a module with these offsets.
    pub(crate) fn new(offsets: &VMOffsets) -> Self {
        let layout = Layout::from_size_align(offsets.size() as usize, 16).expect("vmctx layout");
        // SAFETY: the size is at least the header size, never zero.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout)
        };
        Self {
            ptr,
            layout,
            offsets: *offsets,
        }
    }

    /// Zeroes the allocation again, as [`VmctxAlloc::new`] made it, but for
    /// the funcrefs of the defined functions (the last part of the layout):
    /// for another instance of the same module, whose defined functions'
    /// funcrefs (code, type and this very vmctx) are the ones already
    /// there.
    pub(crate) fn clear_but_defined_funcs(&mut self) {
        let counts = self.offsets.counts();
        let end = if counts.imported_funcs < counts.funcs {
            self.offsets.func_ref(counts.imported_funcs) as usize
        } else {
            self.layout.size()
        };
        // SAFETY: `end` is at most the allocation's `layout.size()` bytes,
        // owned here and borrowed exclusively.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr(), 0, end) }
    }

    /// The vmctx pointer compiled code receives.
    pub(crate) fn vmctx(&self) -> *mut VMContext {
        self.ptr.as_ptr().cast()
    }

    /// A pointer to the `T` at `offset`.
    ///
    /// # Panics
    ///
    /// When a `T` at `offset` would not lie inside the allocation or would
    /// not be aligned.
    pub(crate) fn at<T>(&self, offset: u32) -> *mut T {
        let offset = offset as usize;
        assert!(
            offset
                .checked_add(size_of::<T>())
                .is_some_and(|end| end <= self.layout.size())
                && offset.is_multiple_of(align_of::<T>()),
            "vmctx field at {offset} out of bounds or misaligned"
        );
        // SAFETY: in bounds, checked above; the base is 16-aligned, so the
        // field is aligned too.
        unsafe { self.ptr.as_ptr().add(offset).cast() }
    }

    /// Writes `value` at `offset`.
    ///
    /// # Safety
    ///
    /// `value` must be what the layout puts at `offset`, valid for as long
    /// as compiled code may read it there.
    unsafe fn write<T>(&self, offset: u32, value: T) {
        // SAFETY: inside the allocation and aligned, per `at`'s checks.
        unsafe { self.at::<T>(offset).write(value) }
    }

    /// Writes the header: the magic number, the owning store, its context,
    /// the libcall array and the instance's index.
    ///
    /// # Safety
    ///
    /// The pointers must stay valid while the instance lives: compiled
    /// code and libcalls dereference them.
    pub(crate) unsafe fn init_header(
        &self,
        store: *mut (),
        store_context: *mut VMStoreContext,
        builtins: *const (),
        instance: StoreInstanceIndex,
    ) {
        // SAFETY: the header's fields, valid per this function's contract.
        unsafe {
            self.write(VMOffsets::VMCTX_MAGIC, VMCTX_MAGIC);
            self.write(VMOffsets::VMCTX_STORE, store);
            self.write(VMOffsets::VMCTX_STORE_CONTEXT, store_context);
            self.write(VMOffsets::VMCTX_BUILTINS, builtins);
            self.write(VMOffsets::VMCTX_INSTANCE, instance.index());
        }
    }

    /// The funcref of function `f` (imported or defined).
    pub(crate) fn func_ref(&self, f: FuncIndex) -> *mut VMFuncRef {
        self.at(self.offsets.func_ref(f.as_u32()))
    }

    /// Where compiled code reads defined table `i`.
    pub(crate) fn defined_table(&self, i: DefinedTableIndex) -> *mut VMTableDefinition {
        self.at(self.offsets.defined_table(i.as_u32()))
    }

    /// Where compiled code reads defined memory `i`.
    pub(crate) fn defined_memory(&self, i: DefinedMemoryIndex) -> *mut VMMemoryDefinition {
        self.at(self.offsets.defined_memory(i.as_u32()))
    }

    /// The storage of defined global `i`.
    pub(crate) fn defined_global(&self, i: DefinedGlobalIndex) -> *mut VMGlobalDefinition {
        self.at(self.offsets.defined_global(i.as_u32()))
    }

    /// Sets the funcref of function `f`, and for an imported function its
    /// import entry too.
    ///
    /// # Safety
    ///
    /// `r` must describe a function of the type the module gives `f`,
    /// live as long as the instance.
    pub(crate) unsafe fn set_func(&self, f: FuncIndex, r: VMFuncRef) {
        let import = VMFunctionImport {
            wasm_call: r.wasm_call,
            vmctx: r.vmctx,
        };
        // SAFETY: the function's fields, valid per this function's
        // contract.
        unsafe {
            if f.as_u32() < self.offsets.counts().imported_funcs {
                self.write(self.offsets.imported_function(f.as_u32()), import);
            }
            self.write(self.offsets.func_ref(f.as_u32()), r);
        }
    }

    import_setters! {
        /// Points imported table `t` at its definition.
        ///
        /// # Safety
        ///
        /// `from` must be the definition of a live table of the type the
        /// module imports, living as long as the instance.
        fn set_table_import(t: TableIndex, from: *mut VMTableDefinition) at imported_table
            = VMTableImport { from, vmctx: std::ptr::null_mut() };
        /// Points imported memory `m` at its definition.
        ///
        /// # Safety
        ///
        /// As [`VmctxAlloc::set_table_import`], for a memory.
        fn set_memory_import(m: MemoryIndex, from: *mut VMMemoryDefinition) at imported_memory
            = VMMemoryImport { from, vmctx: std::ptr::null_mut() };
        /// Points imported global `g` at its storage.
        ///
        /// # Safety
        ///
        /// As [`VmctxAlloc::set_table_import`], for a global.
        fn set_global_import(g: GlobalIndex, from: *mut VMGlobalDefinition) at imported_global
            = VMGlobalImport { from };
    }
}

impl Drop for VmctxAlloc {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The store pointer and instance index in the header of an instance's
/// vmctx.
///
/// # Safety
///
/// `vmctx` must be the vmctx of a live instance.
pub(crate) unsafe fn store_and_instance(vmctx: *mut VMContext) -> (*mut (), StoreInstanceIndex) {
    // SAFETY: header fields written by `init_header`, per the contract.
    unsafe {
        let base = vmctx.cast::<u8>();
        let store = *base.add(VMOffsets::VMCTX_STORE as usize).cast::<*mut ()>();
        let inst = *base.add(VMOffsets::VMCTX_INSTANCE as usize).cast::<usize>();
        (store, StoreInstanceIndex::new(inst))
    }
}

/// The instance index of a callee or caller context, or `None` for null or
/// a host function's context.
///
/// # Safety
///
/// `vmctx` must be null or point at an instance's vmctx or a host
/// function's context; both start with a magic number.
pub(crate) unsafe fn instance_of(vmctx: *mut VMContext) -> Option<StoreInstanceIndex> {
    if vmctx.is_null() {
        return None;
    }
    // SAFETY: per the contract, the first four bytes are a magic number
    // and, for a vmctx, the header follows.
    unsafe {
        let base = vmctx.cast::<u8>();
        if *base.cast::<u32>() != VMCTX_MAGIC {
            return None;
        }
        let inst = *base.add(VMOffsets::VMCTX_INSTANCE as usize).cast::<usize>();
        Some(StoreInstanceIndex::new(inst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::AssertUnwindSafe;
    use trestle_vmctx::ModuleCounts;

    #[test]
    fn field_pointers_are_checked() {
        let offsets = VMOffsets::new(ModuleCounts::default()).unwrap();
        let vmctx = VmctxAlloc::new(&offsets);
        let size = offsets.size();
        assert!(!vmctx.at::<u32>(size - 4).is_null());
        let past = std::panic::catch_unwind(AssertUnwindSafe(|| vmctx.at::<u64>(size - 4)));
        assert!(past.is_err(), "a field past the end");
        let misaligned = std::panic::catch_unwind(AssertUnwindSafe(|| vmctx.at::<u64>(4)));
        assert!(misaligned.is_err(), "a misaligned field");
    }
}
