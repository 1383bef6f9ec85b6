//! [`Instance`]: instantiation (imports checked and written into a fresh
//! vmctx, tables, memories and globals created, segments applied, start
//! function run) and export lookup.

use crate::store::{StoreOpaque, TableElements};
use crate::vm::memory::LinearMemory;
use crate::vm::table_buf::TableBuf;
use crate::{AsContextMut, Extern, Func, Global, GlobalType, Memory, MemoryType, Module, Table};
use anyhow::{Result, anyhow, bail};
use std::alloc::Layout;
use trestle_compiler::{
    ConstExpr, ConstOp, ElementItems, EntityIndex, ModuleInfo, RefFamily, SegmentMode, WasmRefType,
};
use trestle_vmctx::{
    Trap, VMCTX_MAGIC, VMContext, VMFuncRef, VMFunctionImport, VMGlobalDefinition, VMGlobalImport,
    VMMemoryImport, VMOffsets, VMTableEntry, VMTableImport,
};

/// The most elements a table may have. Larger minimums fail instantiation
/// and larger growth is refused, so a module cannot make the host allocate
/// without bound.
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// The most table elements one store may hold in all its tables together,
/// so many large tables cannot exhaust the host's memory either.
pub(crate) const MAX_STORE_TABLE_ELEMENTS: u64 = 100_000_000;

/// Checks that a table of `minimum` elements may be created in `store`.
pub(crate) fn check_table_size(store: &StoreOpaque, minimum: u64) -> Result<()> {
    if minimum > MAX_TABLE_ELEMENTS {
        bail!("table minimum size of {minimum} elements exceeds the limit of {MAX_TABLE_ELEMENTS}");
    }
    if store.table_elements + minimum > MAX_STORE_TABLE_ELEMENTS {
        bail!(
            "a table of {minimum} elements exceeds the limit of {MAX_STORE_TABLE_ELEMENTS} table \
             elements in one store"
        );
    }
    Ok(())
}

/// The storage of a new table of `n` elements: lazily initialized funcref
/// entries (zeroed memory), or every element set to `init` (a raw funcref or
/// externref word).
///
/// # Errors
///
/// When the memory cannot be allocated.
pub(crate) fn new_table_elements(
    store: &StoreOpaque,
    element: WasmRefType,
    n: usize,
    lazy: bool,
    init: usize,
) -> Result<TableElements> {
    let oom = || anyhow!("out of memory allocating a table of {n} elements");
    let pool = &store.engine.inner.table_pool;
    Ok(match element.family() {
        // Two words per element: the code words, then the funcref words.
        RefFamily::Func if lazy => {
            let words = n.checked_mul(2).ok_or_else(oom)?;
            TableElements::Func(TableBuf::zeroed(words, pool).ok_or_else(oom)?)
        }
        RefFamily::Func => {
            // SAFETY: `init` is null or a live funcref of the store.
            let entry = unsafe { VMTableEntry::from_func_ref(init as *const VMFuncRef) };
            let words = n.checked_mul(2).ok_or_else(oom)?;
            let mut buf =
                TableBuf::filled(words, entry.wasm_call.expose_provenance()).ok_or_else(oom)?;
            let refs = &mut buf.slice_mut(words)[n..];
            // SAFETY: the slice is valid for writes of its length.
            unsafe {
                crate::vm::table_buf::fill_raw(
                    refs.as_mut_ptr(),
                    refs.len(),
                    entry.func_ref.expose_provenance(),
                )
            };
            TableElements::Func(buf)
        }
        // Null externrefs and anyrefs are zero words.
        RefFamily::Extern | RefFamily::Any if init == 0 => {
            TableElements::Extern(TableBuf::zeroed(n, pool).ok_or_else(oom)?)
        }
        RefFamily::Extern | RefFamily::Any => {
            TableElements::Extern(TableBuf::filled(n, init).ok_or_else(oom)?)
        }
    })
}

/// An instance's vmctx allocation.
pub(crate) struct VmctxAlloc {
    ptr: *mut u8,
    layout: Layout,
}

impl VmctxAlloc {
    fn new(size: u32) -> Self {
        let layout = Layout::from_size_align(size as usize, 16).expect("vmctx layout");
        // SAFETY: the size is at least the header size, never zero.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Self { ptr, layout }
    }

    pub(crate) fn vmctx(&self) -> *mut VMContext {
        self.ptr.cast()
    }

    /// A pointer to the field at `offset`.
    pub(crate) fn at<T>(&self, offset: u32) -> *mut T {
        debug_assert!((offset as usize) < self.layout.size());
        // SAFETY: offsets come from the module's `VMOffsets`, inside the
        // allocation.
        unsafe { self.ptr.add(offset as usize).cast() }
    }
}

impl Drop for VmctxAlloc {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

/// The runtime state of an instance, owned by its store.
pub(crate) struct InstanceData {
    pub(crate) module: Module,
    pub(crate) vmctx: VmctxAlloc,
    /// Store indices of every memory, table and global, imports included.
    pub(crate) memories: Vec<u32>,
    pub(crate) tables: Vec<u32>,
    pub(crate) globals: Vec<u32>,
    /// The raw words of each element segment not yet dropped.
    pub(crate) elements: Vec<Option<Box<[usize]>>>,
    /// Whether each data segment was dropped.
    pub(crate) dropped_data: Vec<bool>,
}

impl InstanceData {
    pub(crate) fn info(&self) -> &ModuleInfo {
        self.module.info()
    }

    pub(crate) fn offsets(&self) -> &VMOffsets {
        self.module.offsets()
    }

    /// The funcref of function `index` of this instance.
    pub(crate) fn func_ref(&self, index: u32) -> *const VMFuncRef {
        self.vmctx.at(self.offsets().func_ref(index))
    }
}

/// An instantiated module.
///
/// ```
/// use trestle::{Engine, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (func (export "two") (result i32) i32.const 2))"#)?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let two = instance.get_typed_func::<(), i32>(&mut store, "two")?;
/// assert_eq!(two.call(&mut store, ())?, 2);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: crate::store::StoreId,
    pub(crate) index: u32,
}

/// A named export of an instance.
#[derive(Debug, Clone)]
pub struct Export<'instance> {
    name: &'instance str,
    definition: Extern,
}

impl<'instance> Export<'instance> {
    /// The export's name.
    pub fn name(&self) -> &'instance str {
        self.name
    }

    /// The exported item.
    pub fn into_extern(self) -> Extern {
        self.definition
    }

    /// The exported function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        self.definition.into_func()
    }
}

impl Instance {
    /// Instantiates `module` with `imports`, given in the order of
    /// [`Module::imports`].
    ///
    /// # Errors
    ///
    /// When the imports do not match the module's (count, kind or type), an
    /// import belongs to another store, a table or memory cannot be
    /// allocated or is refused by the store's limiter, a segment does not
    /// fit (a [`Trap`]), or the start function traps. Effects of segments
    /// applied before a failing one stay visible through imported tables
    /// and memories, as the specification says.
    ///
    /// # Panics
    ///
    /// When the module was compiled for another engine.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        let cx = store.as_context_mut();
        cx.0.prepare_limiter();
        instantiate(&mut cx.0.opaque, module, imports)
    }

    fn data<'a>(&self, store: &'a StoreOpaque) -> &'a InstanceData {
        store.assert_owns(self.store);
        &store.instances[self.index as usize]
    }

    /// The export called `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = &mut store.as_context_mut().0.opaque;
        let index = self
            .data(store)
            .info()
            .exports
            .iter()
            .find(|e| e.name == name)?
            .index;
        Some(export_extern(store, self.index, index))
    }

    /// All exports, in order.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn exports<'a, T: 'a>(
        &'a self,
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> impl ExactSizeIterator<Item = Export<'a>> + 'a {
        let cx: crate::store::StoreContextMut<'a, T> = store.into();
        let store = &mut cx.0.opaque;
        let module = self.data(store).module.clone();
        let list: Vec<(usize, EntityIndex)> = module
            .info()
            .exports
            .iter()
            .enumerate()
            .map(|(i, e)| (i, e.index))
            .collect();
        let externs: Vec<Extern> = list
            .iter()
            .map(|(_, index)| export_extern(store, self.index, *index))
            .collect();
        let names: Vec<&'a str> = list
            .iter()
            .map(|(i, _)| {
                let name: *const str = module.info().exports[*i].name.as_str();
                // SAFETY: the module's export names live as long as the
                // store's reference to the module, which outlives 'a
                // because the store is borrowed for 'a.
                unsafe { &*name }
            })
            .collect();
        names
            .into_iter()
            .zip(externs)
            .map(|(name, definition)| Export { name, definition })
    }

    /// The exported function `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` with static parameter and result types.
    ///
    /// # Errors
    ///
    /// When there is no such function or its type differs.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_typed_func<Params, Results>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<crate::TypedFunc<Params, Results>>
    where
        Params: crate::WasmParams,
        Results: crate::WasmResults,
    {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| anyhow!("failed to find function export `{name}`"))?;
        f.typed::<Params, Results>(&store)
    }

    /// The exported memory `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported global `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported table `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }
}

/// The [`Extern`] for an entity of instance `inst`.
pub(crate) fn export_extern(store: &mut StoreOpaque, inst: u32, index: EntityIndex) -> Extern {
    let data = &store.instances[inst as usize];
    let id = store.id;
    match index {
        EntityIndex::Function(f) => {
            let r = data.func_ref(f);
            // SAFETY: a funcref inside a live vmctx of this store.
            Extern::Func(unsafe { store.func_from_ref(r) })
        }
        EntityIndex::Memory(m) => Extern::Memory(Memory {
            store: id,
            index: data.memories[m as usize],
        }),
        EntityIndex::Table(t) => {
            Extern::Table(Table::from_store_index(store, data.tables[t as usize]))
        }
        EntityIndex::Global(g) => Extern::Global(Global {
            store: id,
            index: data.globals[g as usize],
        }),
    }
}

fn import_name(info: &ModuleInfo, i: usize) -> String {
    format!("{}::{}", info.imports[i].module, info.imports[i].name)
}

/// Checks import `i` against its definition and writes it into the vmctx.
fn link_import(
    store: &mut StoreOpaque,
    info: &ModuleInfo,
    offsets: &VMOffsets,
    vmctx: &VmctxAlloc,
    i: usize,
    ext: &Extern,
    lists: &mut (Vec<u32>, Vec<u32>, Vec<u32>),
) -> Result<()> {
    if ext.store_id() != store.id {
        bail!("import `{}` belongs to another store", import_name(info, i));
    }
    let incompatible = |what: String| {
        anyhow!(
            "incompatible import type for `{}`: {what}",
            import_name(info, i)
        )
    };
    match (info.imports[i].index, ext) {
        (EntityIndex::Function(f), Extern::Func(func)) => {
            let fd = &store.funcs[func.index as usize];
            // SAFETY: funcrefs of a store stay valid while it lives.
            let r = unsafe { *fd.func_ref };
            if !store.engine.is_subtype_id(r.type_id, info.func_type_id(f)) {
                return Err(incompatible(format!(
                    "expected {}, found {}",
                    crate::FuncType::from_wasm(info.func_type(f).clone()),
                    crate::FuncType::from_wasm(fd.ty.clone())
                )));
            }
            // SAFETY: offsets of this module's vmctx.
            unsafe {
                vmctx
                    .at::<VMFunctionImport>(offsets.imported_function(f))
                    .write(VMFunctionImport {
                        wasm_call: r.wasm_call,
                        vmctx: r.vmctx,
                    });
                vmctx.at::<VMFuncRef>(offsets.func_ref(f)).write(r);
            }
        }
        (EntityIndex::Table(t), Extern::Table(table)) => {
            let expected = info.tables[t as usize];
            let table_index = table.index(store);
            let td = &store.tables[table_index as usize];
            let actual_min = td.len();
            let ok = td.ty.element == expected.element
                && td.ty.table64 == expected.table64
                && actual_min >= expected.minimum
                && match expected.maximum {
                    None => true,
                    Some(em) => td.ty.maximum.is_some_and(|am| am <= em),
                };
            if !ok {
                return Err(incompatible(format!(
                    "expected table of {} {}..{:?}, found {} {}..{:?}",
                    elem_name(expected.element),
                    expected.minimum,
                    expected.maximum,
                    elem_name(td.ty.element),
                    actual_min,
                    td.ty.maximum
                )));
            }
            // Code compiled for a table that cannot grow finds its funcref
            // words `maximum` words after its code words: its capacity must
            // be exactly that, which holds because storage never grows past
            // the table's maximum.
            if expected.maximum == Some(expected.minimum) {
                assert_eq!(
                    td.capacity(),
                    expected.minimum,
                    "a table of fixed size must have its size as capacity"
                );
            }
            // SAFETY: offsets of this module's vmctx.
            unsafe {
                vmctx
                    .at::<VMTableImport>(offsets.imported_table(t))
                    .write(VMTableImport {
                        from: td.def,
                        vmctx: std::ptr::null_mut(),
                    });
            }
            lists.1.push(table_index);
        }
        (EntityIndex::Memory(m), Extern::Memory(mem)) => {
            let expected = info.memories[m as usize];
            let md = &store.memories[mem.index as usize];
            let actual_min = md.memory.size_pages();
            let ok = actual_min >= expected.minimum
                && match expected.maximum {
                    None => true,
                    Some(em) => md.ty.maximum().is_some_and(|am| am <= em),
                };
            if !ok {
                return Err(incompatible(format!(
                    "expected memory {}..{:?} pages, found {}..{:?}",
                    expected.minimum,
                    expected.maximum,
                    actual_min,
                    md.ty.maximum()
                )));
            }
            // SAFETY: offsets of this module's vmctx.
            unsafe {
                vmctx
                    .at::<VMMemoryImport>(offsets.imported_memory(m))
                    .write(VMMemoryImport {
                        from: md.def,
                        vmctx: std::ptr::null_mut(),
                    });
            }
            lists.0.push(mem.index);
        }
        (EntityIndex::Global(g), Extern::Global(global)) => {
            let expected = GlobalType::from_wasm(info.globals[g as usize]);
            let gd = &store.globals[global.index as usize];
            // An immutable global may have a subtype of the declared type;
            // a mutable one must have the very type, as it is also written.
            let matches = gd.ty.is_mutable() == expected.is_mutable()
                && if expected.is_mutable() {
                    gd.ty == expected
                } else {
                    store
                        .engine
                        .val_subtype(gd.ty.content().to_wasm(), expected.content().to_wasm())
                };
            if !matches {
                return Err(incompatible(format!(
                    "expected global {:?}, found {:?}",
                    expected, gd.ty
                )));
            }
            // SAFETY: offsets of this module's vmctx.
            unsafe {
                vmctx
                    .at::<VMGlobalImport>(offsets.imported_global(g))
                    .write(VMGlobalImport { from: gd.def });
            }
            lists.2.push(global.index);
        }
        (_, ext) => {
            let expected = match info.imports[i].index {
                EntityIndex::Function(_) => "function",
                EntityIndex::Table(_) => "table",
                EntityIndex::Memory(_) => "memory",
                EntityIndex::Global(_) => "global",
            };
            return Err(incompatible(format!(
                "expected {expected}, found {}",
                ext.kind_name()
            )));
        }
    }
    Ok(())
}

fn elem_name(e: WasmRefType) -> String {
    crate::RefType::from_wasm(e).to_string()
}

/// Evaluates a constant expression that allocates nothing (no `array.new`)
/// to the raw bits of its value (references as pointer-sized words).
///
/// # Panics
///
/// When the expression allocates: use [`eval_const_in`] for those.
pub(crate) fn eval_const(
    store: &StoreOpaque,
    inst: &InstanceData,
    globals: &[u32],
    expr: &ConstExpr,
) -> u128 {
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    for op in expr.ops.iter() {
        eval_pure_op(store, inst, globals, *op, &mut stack);
    }
    stack.pop().expect("validated: one result")
}

/// Whether evaluating `expr` allocates GC values.
fn allocates(expr: &ConstExpr) -> bool {
    expr.ops.iter().any(|op| {
        matches!(
            op,
            ConstOp::ArrayNew(_) | ConstOp::ArrayNewDefault(_) | ConstOp::ArrayNewFixed(..)
        )
    })
}

/// Evaluates any constant expression of instance `inst`, allocating the
/// arrays it creates in the store's heap.
///
/// # Errors
///
/// When an array is too large or the heap cannot hold it.
pub(crate) fn eval_const_in(
    store: &mut StoreOpaque,
    inst: u32,
    globals: &[u32],
    expr: &ConstExpr,
) -> Result<u128> {
    if !allocates(expr) {
        return Ok(eval_const(
            store,
            &store.instances[inst as usize],
            globals,
            expr,
        ));
    }
    let module = store.instances[inst as usize].module.clone();
    let info = module.info();
    let mut stack: Vec<u128> = Vec::with_capacity(2);
    for op in expr.ops.iter() {
        let (ty, elems) = match *op {
            ConstOp::ArrayNew(t) => {
                let len = stack.pop().expect("validated") as u32;
                let init = stack.pop().expect("validated");
                (t, array_elems(store, len, |_| init)?)
            }
            ConstOp::ArrayNewDefault(t) => {
                let len = stack.pop().expect("validated") as u32;
                (t, array_elems(store, len, |_| 0)?)
            }
            ConstOp::ArrayNewFixed(t, n) => {
                let at = stack.len().checked_sub(n as usize).expect("validated");
                let values = stack.split_off(at);
                (t, array_elems(store, n, |i| values[i])?)
            }
            op => {
                eval_pure_op(
                    store,
                    &store.instances[inst as usize],
                    globals,
                    op,
                    &mut stack,
                );
                continue;
            }
        };
        let sub = &info.sub_types[ty as usize];
        let trestle_compiler::WasmCompositeType::Array(field) = sub.composite else {
            unreachable!("validated: array.new names an array type")
        };
        let (mask, traced) = match field.storage {
            trestle_compiler::WasmStorageType::I8 => (0xff, false),
            trestle_compiler::WasmStorageType::I16 => (0xffff, false),
            trestle_compiler::WasmStorageType::Val(v) => (
                u128::MAX,
                matches!(v, trestle_compiler::WasmValType::Ref(r) if !r.is_func()),
            ),
        };
        let elems = elems.into_iter().map(|e| e & mask).collect();
        let word = store.new_gc_array(crate::gc::GcArray {
            type_id: info.type_ids[ty as usize],
            traced,
            elems,
        })?;
        stack.push(word as u128);
    }
    Ok(stack.pop().expect("validated: one result"))
}

/// The elements of a new array of `len`, element `i` being `value(i)`,
/// within the store's budget of array elements.
fn array_elems(
    store: &mut StoreOpaque,
    len: u32,
    value: impl Fn(usize) -> u128,
) -> Result<Vec<u128>> {
    if len as usize > crate::gc::MAX_ARRAY_CELLS {
        bail!("allocation size too large: an array of {len} elements");
    }
    store.reserve_array_cells(len as usize)?;
    let mut elems = Vec::new();
    elems
        .try_reserve_exact(len as usize)
        .map_err(|_| anyhow!("out of memory allocating an array of {len} elements"))?;
    elems.extend((0..len as usize).map(value));
    Ok(elems)
}

/// Applies one operator that allocates nothing to the stack.
fn eval_pure_op(
    store: &StoreOpaque,
    inst: &InstanceData,
    globals: &[u32],
    op: ConstOp,
    stack: &mut Vec<u128>,
) {
    let v = match op {
        ConstOp::I32(v) => u128::from(v as u32),
        ConstOp::I64(v) => u128::from(v as u64),
        ConstOp::F32(v) => u128::from(v),
        ConstOp::F64(v) => u128::from(v),
        ConstOp::V128(v) => v,
        ConstOp::GlobalGet(g) => {
            let def = store.globals[globals[g as usize] as usize].def;
            // SAFETY: global definitions of a store stay valid while it
            // lives.
            u128::from_le_bytes(unsafe { (*def).storage })
        }
        ConstOp::RefNull(_) => 0,
        ConstOp::RefFunc(f) => inst.func_ref(f) as usize as u128,
        ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
            let b = stack.pop().expect("validated") as u32;
            let a = stack.pop().expect("validated") as u32;
            u128::from(match op {
                ConstOp::I32Add => a.wrapping_add(b),
                ConstOp::I32Sub => a.wrapping_sub(b),
                _ => a.wrapping_mul(b),
            })
        }
        ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
            let b = stack.pop().expect("validated") as u64;
            let a = stack.pop().expect("validated") as u64;
            u128::from(match op {
                ConstOp::I64Add => a.wrapping_add(b),
                ConstOp::I64Sub => a.wrapping_sub(b),
                _ => a.wrapping_mul(b),
            })
        }
        ConstOp::ArrayNew(_) | ConstOp::ArrayNewDefault(_) | ConstOp::ArrayNewFixed(..) => {
            panic!("an allocating constant expression evaluated without the store")
        }
    };
    stack.push(v);
}

/// Links the imports into `vmctx` and creates the defined tables and
/// memories; returns the store indices of every memory, table and imported
/// global.
fn create_entities(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
    vmctx: &VmctxAlloc,
    inst_index: u32,
) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
    let info = module.info();
    let offsets = module.offsets();
    let mut lists = (Vec::new(), Vec::new(), Vec::new());
    for (i, ext) in imports.iter().enumerate() {
        link_import(store, info, offsets, vmctx, i, ext, &mut lists)?;
    }
    let (mut memories, mut tables, globals) = lists;

    // Defined tables.
    for (i, ty) in info.tables[info.num_imported_tables as usize..]
        .iter()
        .enumerate()
    {
        check_table_size(store, ty.minimum)?;
        if !store.table_growing(
            0,
            ty.minimum as usize,
            ty.maximum.map(|m| m.min(usize::MAX as u64) as usize),
        ) {
            bail!("table of {} elements refused by the limiter", ty.minimum);
        }
        let n = ty.minimum as usize;
        // A table with an initializer expression is filled once the
        // instance's functions exist (below), so it is never lazy.
        let lazy = ty.element.is_func()
            && store.engine.config().table_lazy_init
            && info.table_inits[i].is_none();
        let elements = new_table_elements(store, ty.element, n, lazy, 0)?;
        let def = vmctx.at(offsets.defined_table(i as u32));
        let index = store.push_table(elements, n as u64, *ty, Some(def), (inst_index, i as u32));
        if lazy {
            store.tables[index as usize].lazy = Some(LazyInit::new(n));
        }
        tables.push(index);
    }

    // Defined memories.
    for (i, ty) in info.memories[info.num_imported_memories as usize..]
        .iter()
        .enumerate()
    {
        let bytes = |p: u64| (p.saturating_mul(crate::vm::memory::WASM_PAGE_SIZE)) as usize;
        if !store.memory_growing(0, bytes(ty.minimum), ty.maximum.map(bytes)) {
            bail!("memory of {} pages refused by the limiter", ty.minimum);
        }
        let memory = LinearMemory::new(ty.minimum, ty.maximum)?;
        let def = vmctx.at(offsets.defined_memory(i as u32));
        memories.push(store.push_memory_in(memory, def, MemoryType { inner: *ty }));
    }

    Ok((memories, tables, globals))
}

fn instantiate(store: &mut StoreOpaque, module: &Module, imports: &[Extern]) -> Result<Instance> {
    // The arrays constant expressions allocate are rooted until the
    // instance is complete: until then some live only on the evaluation
    // stack, and a collection an allocation triggers must not free them.
    // Afterwards globals, tables and segments hold what is still used.
    let mark = store.externrefs.enter_scope();
    let result = instantiate_rooted(store, module, imports);
    store.externrefs.exit_scope(mark);
    result
}

fn instantiate_rooted(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    assert!(
        crate::Engine::same(module.engine(), store.engine()),
        "module compiled for another engine"
    );
    let info = module.info();
    let offsets = module.offsets();
    if imports.len() != info.imports.len() {
        bail!(
            "expected {} imports, found {}",
            info.imports.len(),
            imports.len()
        );
    }
    let vmctx = VmctxAlloc::new(offsets.size());
    let inst_index = store.instances.len() as u32;
    // SAFETY: header offsets inside the fresh allocation.
    unsafe {
        vmctx.at::<u32>(VMOffsets::VMCTX_MAGIC).write(VMCTX_MAGIC);
        vmctx
            .at::<*mut StoreOpaque>(VMOffsets::VMCTX_STORE)
            .write(store);
        vmctx
            .at::<*mut trestle_vmctx::VMStoreContext>(VMOffsets::VMCTX_STORE_CONTEXT)
            .write(&mut *store.vm_store_context);
        vmctx
            .at::<*const ()>(VMOffsets::VMCTX_BUILTINS)
            .write(crate::vm::libcalls::builtins());
        vmctx
            .at::<usize>(VMOffsets::VMCTX_INSTANCE)
            .write(inst_index as usize);
    }

    // Nothing refers to the tables and memories made here until the instance
    // is registered, so a failure before that drops them all again.
    let marks = (store.tables.len(), store.memories.len());
    let (memories, tables, mut globals) =
        match create_entities(store, module, imports, &vmctx, inst_index) {
            Ok(lists) => lists,
            Err(e) => {
                store.tables.truncate(marks.0);
                store.memories.truncate(marks.1);
                store.table_elements = store.tables.iter().map(|t| t.capacity()).sum();
                return Err(e);
            }
        };

    // Defined functions' funcrefs.
    let code = module.code_base();
    for (i, loc) in module.func_locs().iter().enumerate() {
        let f = info.num_imported_funcs + i as u32;
        // SAFETY: offsets inside the code and the vmctx.
        unsafe {
            vmctx
                .at::<VMFuncRef>(offsets.func_ref(f))
                .write(VMFuncRef::new(
                    code.add(loc.wasm_call as usize),
                    code.add(loc.array_call as usize),
                    vmctx.vmctx(),
                    info.func_type_id(f),
                ));
        }
    }

    store.instances.push(InstanceData {
        module: module.clone(),
        vmctx,
        memories,
        tables,
        globals: Vec::new(),
        elements: Vec::new(),
        dropped_data: vec![false; info.data.len()],
    });

    // Defined tables with an initializer expression, which may read
    // imported globals and name functions of this instance.
    for (i, init) in info.table_inits.iter().enumerate() {
        let Some(init) = init else { continue };
        let value = eval_const_in(store, inst_index, &globals, init)? as usize;
        if value != 0 {
            let t =
                store.instances[inst_index as usize].tables[info.num_imported_tables as usize + i];
            let len = store.tables[t as usize].len();
            store
                .table_fill(t, 0, value, len)
                .expect("the whole table is in bounds");
        }
    }

    // Defined globals, in order (an initializer may read earlier ones).
    for (i, init) in info.global_inits.iter().enumerate() {
        let g = info.num_imported_globals + i as u32;
        let value = eval_const_in(store, inst_index, &globals, init)?;
        let inst = &store.instances[inst_index as usize];
        let def = inst
            .vmctx
            .at::<VMGlobalDefinition>(inst.offsets().defined_global(i as u32));
        // SAFETY: inside the live vmctx.
        unsafe {
            (*def).storage = value.to_le_bytes();
        }
        let ty = GlobalType::from_wasm(info.globals[g as usize]);
        globals.push(store.push_global(ty, Some(def)));
    }

    // Passive segments keep their items, evaluated once, for `table.init`;
    // active ones are applied below and declared ones are dropped.
    {
        let inst = &mut store.instances[inst_index as usize];
        inst.globals = globals;
        inst.elements = vec![None; info.elements.len()];
    }
    for (i, seg) in info.elements.iter().enumerate() {
        if matches!(seg.mode, SegmentMode::Passive) {
            let words: Box<[usize]> = (0..seg.items.len() as u32)
                .map(|k| segment_item_in(store, inst_index, i as u32, k))
                .collect::<Result<_>>()?;
            store.instances[inst_index as usize].elements[i] = Some(words);
        }
    }

    let instance = Instance {
        store: store.id,
        index: inst_index,
    };
    initialize_segments(store, inst_index)?;

    if let Some(start) = info.start {
        let r = store.instances[inst_index as usize].func_ref(start);
        let mut values = [trestle_vmctx::ValRaw::default(); 1];
        // SAFETY: a funcref of this instance, of type [] -> [].
        unsafe { crate::func::invoke_raw(store, r, &mut values)? };
    }
    Ok(instance)
}

/// One active element segment recorded by a lazily initialized table: its
/// items `0..len` go to `start..start + len`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LazyPlacement {
    pub(crate) start: u64,
    pub(crate) len: u64,
    pub(crate) items: LazyItems,
}

/// Where the items of a [`LazyPlacement`] come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LazyItems {
    /// Function indices, resolved without a lookup on first access: item
    /// `k` is the funcref at `func_refs + indices[k]`.
    Functions {
        /// The defining instance's funcrefs (inside its vmctx).
        func_refs: *const VMFuncRef,
        /// The segment's function indices (inside its module).
        indices: *const u32,
    },
    /// Constant expressions of `segment` of `instance`, evaluated on first
    /// access.
    Expressions { instance: u32, segment: u32 },
}

/// The item lazy initialization puts at an index.
pub(crate) enum LazyItem {
    /// A raw funcref word (null for entries no segment covers).
    Raw(usize),
    /// Item `k` of an expression segment of an instance.
    Expression { instance: u32, segment: u32, k: u32 },
}

/// Entries per bit of [`LazyInit::maybe_uninit`].
pub(crate) const LAZY_CHUNK: usize = 64;

/// What a lazily initialized funcref table needs to write its entries on
/// first access.
#[derive(Debug)]
pub(crate) struct LazyInit {
    /// The active segments aimed at the table, in the order they were
    /// applied: for an entry, the last one covering it wins; entries no
    /// segment covers are null.
    pub(crate) placements: Vec<LazyPlacement>,
    /// One bit per [`LAZY_CHUNK`] entries of the initial length, set while
    /// the chunk may still hold entries not yet written, so `table.copy`
    /// only scans chunks that can need it. Entries past the initial length
    /// come from growth, which writes them.
    pub(crate) maybe_uninit: Vec<u64>,
}

impl LazyInit {
    /// Nothing written yet in a table of `len` entries.
    pub(crate) fn new(len: usize) -> Self {
        let chunks = len.div_ceil(LAZY_CHUNK);
        let mut maybe_uninit = vec![u64::MAX; chunks.div_ceil(64)];
        if let Some(last) = maybe_uninit.last_mut()
            && !chunks.is_multiple_of(64)
        {
            *last = (1u64 << (chunks % 64)) - 1;
        }
        Self {
            placements: Vec::new(),
            maybe_uninit,
        }
    }

    /// The item lazy initialization puts at `index`.
    pub(crate) fn item(&self, index: u64) -> LazyItem {
        let Some(p) = self
            .placements
            .iter()
            .rev()
            .find(|p| index.wrapping_sub(p.start) < p.len)
        else {
            return LazyItem::Raw(0);
        };
        let k = (index - p.start) as usize;
        match p.items {
            LazyItems::Functions { func_refs, indices } => {
                // SAFETY: `k` is below the segment's length, and its items
                // are valid function indices; the module and the vmctx of
                // the instance that recorded the placement live as long as
                // its store, which owns this table too.
                let func_ref = unsafe { func_refs.add(*indices.add(k) as usize) };
                LazyItem::Raw(func_ref as usize)
            }
            LazyItems::Expressions { instance, segment } => LazyItem::Expression {
                instance,
                segment,
                k: k as u32,
            },
        }
    }

    /// Whether chunk `c` may hold entries not yet written.
    pub(crate) fn chunk_pending(&self, c: usize) -> bool {
        self.maybe_uninit
            .get(c / 64)
            .is_some_and(|w| w & (1 << (c % 64)) != 0)
    }

    /// Records that chunk `c` holds no entry left to write.
    pub(crate) fn chunk_done(&mut self, c: usize) {
        if let Some(w) = self.maybe_uninit.get_mut(c / 64) {
            *w &= !(1 << (c % 64));
        }
    }
}

/// The raw word of item `k` of element segment `seg` of instance `inst`.
pub(crate) fn segment_item(store: &StoreOpaque, inst: u32, seg: u32, k: u32) -> usize {
    let data = &store.instances[inst as usize];
    match &data.info().elements[seg as usize].items {
        ElementItems::Functions(f) => data.func_ref(f[k as usize]) as usize,
        ElementItems::Expressions(e) => {
            eval_const(store, data, &data.globals, &e[k as usize]) as usize
        }
    }
}

/// [`segment_item`] for any segment: arrays its expressions create are
/// allocated in the store.
///
/// # Errors
///
/// When an array is too large or the heap cannot hold it.
fn segment_item_in(store: &mut StoreOpaque, inst: u32, seg: u32, k: u32) -> Result<usize> {
    let module = store.instances[inst as usize].module.clone();
    match &module.info().elements[seg as usize].items {
        ElementItems::Expressions(e) if allocates(&e[k as usize]) => {
            let globals = store.instances[inst as usize].globals.clone();
            Ok(eval_const_in(store, inst, &globals, &e[k as usize])? as usize)
        }
        _ => Ok(segment_item(store, inst, seg, k)),
    }
}

/// Applies the active segments (the passive ones were evaluated and the
/// declared ones dropped already).
fn initialize_segments(store: &mut StoreOpaque, inst: u32) -> Result<()> {
    let module = store.instances[inst as usize].module.clone();
    let info = module.info();
    let offset_of = |store: &StoreOpaque, expr: &ConstExpr| -> u64 {
        let data = &store.instances[inst as usize];
        let v = eval_const(store, data, &data.globals, expr);
        // 32-bit offsets are zero-extended; 64-bit ones used whole.
        v as u64
    };
    let table64 = |t: u32| info.tables[t as usize].table64;
    let elem_offset = |store: &StoreOpaque, t: u32, e: &ConstExpr| {
        let v = offset_of(store, e);
        if table64(t) { v } else { u64::from(v as u32) }
    };

    for (i, seg) in info.elements.iter().enumerate() {
        match &seg.mode {
            SegmentMode::Active { index, offset } => {
                let start = elem_offset(store, *index, offset);
                let n = seg.items.len() as u64;
                let t = store.instances[inst as usize].tables[*index as usize];
                let table = &mut store.tables[t as usize];
                if start.checked_add(n).is_none_or(|end| end > table.len()) {
                    return Err(Trap::TableOutOfBounds.into());
                }
                let own_table = info.defined_table_index(*index).is_some();
                if own_table && table.lazy.is_some() {
                    // The instance's own table is untouched so far: its
                    // entries are written on first access instead, O(1)
                    // here. Imported tables may hold entries already and
                    // are written now.
                    let data = &store.instances[inst as usize];
                    let items = match &seg.items {
                        ElementItems::Functions(f) if !f.is_empty() => LazyItems::Functions {
                            func_refs: data.func_ref(0),
                            indices: f.as_ptr(),
                        },
                        _ => LazyItems::Expressions {
                            instance: inst,
                            segment: i as u32,
                        },
                    };
                    let Some(lazy) = &mut store.tables[t as usize].lazy else {
                        unreachable!("checked above")
                    };
                    lazy.placements.push(LazyPlacement {
                        start,
                        len: n,
                        items,
                    });
                    continue;
                }
                for k in 0..n {
                    let raw = segment_item_in(store, inst, i as u32, k as u32)?;
                    store
                        .table_set(t, start + k, raw)
                        .expect("segment bounds checked above");
                }
            }
            SegmentMode::Declared | SegmentMode::Passive => {}
        }
    }
    for (i, seg) in info.data.iter().enumerate() {
        if let SegmentMode::Active { index, offset } = &seg.mode {
            let start = u64::from(offset_of(store, offset) as u32);
            let m = store.instances[inst as usize].memories[*index as usize];
            crate::vm::libcalls::memory_init_impl(
                store,
                inst,
                m,
                i as u32,
                start,
                0,
                seg.data.len() as u32,
            )?;
            store.instances[inst as usize].dropped_data[i] = true;
        }
    }
    Ok(())
}

impl Extern {
    pub(crate) fn store_id(&self) -> crate::store::StoreId {
        match self {
            Extern::Func(f) => f.store,
            Extern::Memory(m) => m.store,
            Extern::Table(t) => t.store,
            Extern::Global(g) => g.store,
        }
    }

    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Extern::Func(_) => "function",
            Extern::Memory(_) => "memory",
            Extern::Table(_) => "table",
            Extern::Global(_) => "global",
        }
    }
}
