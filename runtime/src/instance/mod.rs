//! [`Instance`]: an instantiated module, its exports, and instantiation.
//!
//! Instantiation goes in this order, each step in its own module:
//! [`link`] checks the imports and writes them into a fresh vmctx
//! ([`crate::vm::vmctx`]); the defined tables and memories are created;
//! the funcrefs of the defined functions are written and the instance is
//! registered with its store; then [`segments`] fills the tables that have
//! an initializer expression, the defined globals are evaluated
//! ([`const_expr`]), the passive segments are evaluated and the active ones
//! applied, and the start function runs.
//!
//! A failure or a panic before the instance is registered drops the tables
//! and memories it made; after that, the instance stays registered (its
//! segments may have written to imported tables and memories, which the
//! specification keeps).

mod const_expr;
mod link;
mod segments;

pub(crate) use const_expr::ConstEnv;

use crate::store::{StoreId, StoreOpaque};
use crate::vm::table::TableInit;
use crate::vm::vmctx::VmctxAlloc;
use crate::vm::{
    StoreGlobalIndex, StoreInstanceIndex, StoreMemoryIndex, StoreTableIndex, StoreTagIndex,
};
use crate::{AsContextMut, Extern, Func, Global, Memory, Module, Table};
use anyhow::{Result, anyhow};
use cranelift_entity::{EntityRef, PrimaryMap, SecondaryMap};
use std::panic::{self, AssertUnwindSafe};
use trestle_compiler::{
    DataIndex, DefinedMemoryIndex, ElemIndex, EntityIndex, FuncIndex, GlobalIndex, MemoryIndex,
    ModuleInfo, TableIndex, TagIndex,
};
use trestle_vmctx::{VMFuncRef, ValRaw};

/// The runtime state of an instance, owned by its store.
pub(crate) struct InstanceData {
    pub(crate) module: Module,
    pub(crate) vmctx: VmctxAlloc,
    /// Store indices of every memory, table and global, imports included.
    pub(crate) memories: PrimaryMap<MemoryIndex, StoreMemoryIndex>,
    pub(crate) tables: PrimaryMap<TableIndex, StoreTableIndex>,
    pub(crate) globals: PrimaryMap<GlobalIndex, StoreGlobalIndex>,
    /// Store indices of every tag, imports included: an imported tag is
    /// the exporter's.
    pub(crate) tags: PrimaryMap<TagIndex, StoreTagIndex>,
    /// The raw words of each element segment not yet dropped.
    pub(crate) elements: SecondaryMap<ElemIndex, Option<Box<[usize]>>>,
    /// Whether each data segment was dropped.
    pub(crate) dropped_data: SecondaryMap<DataIndex, bool>,
}

impl InstanceData {
    pub(crate) fn info(&self) -> &ModuleInfo {
        self.module.info()
    }

    /// The funcref of function `index` of this instance.
    pub(crate) fn func_ref(&self, index: FuncIndex) -> *const VMFuncRef {
        self.vmctx.func_ref(index)
    }

    /// The items of element segment `i` as raw words: empty once dropped.
    pub(crate) fn element_segment(&self, i: ElemIndex) -> &[usize] {
        self.elements[i].as_deref().unwrap_or(&[])
    }

    /// The bytes of data segment `i`: empty once dropped.
    pub(crate) fn data_segment(&self, i: DataIndex) -> &[u8] {
        if self.dropped_data[i] {
            &[]
        } else {
            &self.info().data[i].data
        }
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
    pub(crate) store: StoreId,
    pub(crate) index: StoreInstanceIndex,
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
    /// fit (a [`crate::Trap`]), or the start function traps. Effects of segments
    /// applied before a failing one stay visible through imported tables
    /// and memories, as the specification says.
    ///
    /// # Panics
    ///
    /// When the module was compiled for another engine, and when host code
    /// run by the instantiation panics (the store's limiter, a host
    /// function the start function calls): the panic is resumed here, with
    /// the store left usable (see [`crate::Store`]).
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
        &store.instances[self.index]
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

    /// The exported tag `name`.
    ///
    /// # Panics
    ///
    /// When the instance belongs to another store.
    pub fn get_tag(&self, store: impl AsContextMut, name: &str) -> Option<crate::Tag> {
        self.get_export(store, name)?.into_tag()
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
pub(crate) fn export_extern(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    index: EntityIndex,
) -> Extern {
    let data = &store.instances[inst];
    let id = store.id;
    match index {
        EntityIndex::Function(f) => {
            let r = data.func_ref(f);
            // SAFETY: a funcref inside a live vmctx of this store.
            Extern::Func(unsafe { store.func_from_ref(r) })
        }
        EntityIndex::Memory(m) => Extern::Memory(Memory {
            store: id,
            index: data.memories[m],
        }),
        EntityIndex::Table(t) => Extern::Table(Table::from_store_index(store, data.tables[t])),
        EntityIndex::Global(g) => Extern::Global(Global {
            store: id,
            index: data.globals[g],
        }),
        EntityIndex::Tag(t) => Extern::Tag(crate::Tag {
            store: id,
            index: data.tags[t],
        }),
    }
}

fn instantiate(store: &mut StoreOpaque, module: &Module, imports: &[Extern]) -> Result<Instance> {
    assert!(
        crate::Engine::same(module.engine(), store.engine()),
        "module compiled for another engine"
    );
    // The arrays constant expressions allocate are rooted until the
    // instance is complete: until then some live only on the evaluation
    // stack, and a collection an allocation triggers must not free them.
    // Afterwards globals, tables and segments hold what is still used.
    let mark = store.externrefs.enter_scope();
    let before = (
        store.instances.len(),
        store.tables.len(),
        store.memories.len(),
    );
    // A panic (in the embedder's limiter, a host function called by the
    // start function, a host value's destructor run by a collection) is
    // resumed once the store is consistent again.
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        instantiate_rooted(store, module, imports)
    }));
    store.externrefs.exit_scope(mark);
    let registered = store.instances.len() > before.0;
    if !registered && !matches!(result, Ok(Ok(_))) {
        // Nothing refers to the tables and memories made so far.
        store.truncate_entities(before.1, before.2);
    }
    match result {
        Ok(result) => result,
        Err(payload) => panic::resume_unwind(payload),
    }
}

fn instantiate_rooted(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    let info = module.info();
    // An earlier instance's vmctx and tables, when the module kept them:
    // the tables' entries point into this very allocation, and its defined
    // functions' funcrefs (which depend only on the module and the vmctx's
    // address) are kept as they are.
    let (vmctx, mut restored, funcs_kept) = match module.instance_cache().take() {
        Some(mut kept) => {
            kept.vmctx.clear_but_defined_funcs();
            (kept.vmctx, kept.tables, true)
        }
        None => (VmctxAlloc::new(module.offsets()), Vec::new(), false),
    };
    let inst_index = store.instances.next_key();
    let store_ptr: *mut StoreOpaque = store;
    // SAFETY: the store and its boxed context outlive its instances; the
    // libcall array is static.
    unsafe {
        vmctx.init_header(
            store_ptr.cast(),
            &mut *store.vm_store_context,
            crate::libcalls::builtins(),
            inst_index,
        );
    }
    let mut entities = link::link_imports(store, module, &vmctx, imports)?;

    // Defined tables. A table with an initializer expression is filled once
    // the instance's functions exist (below), so it is never lazy.
    for (i, table_init) in info.table_inits.iter() {
        let ty = &info.tables[info.table_index(i)];
        let lazy =
            ty.element.is_func() && store.engine.config().table_lazy_init && table_init.is_none();
        let init = match restored.iter().position(|(j, _)| *j == i) {
            Some(k) => TableInit::Restored(restored.swap_remove(k).1),
            None if lazy => TableInit::Lazy,
            None => TableInit::Value(0),
        };
        let def = vmctx.defined_table(i);
        // SAFETY: a definition inside the vmctx, which lives as long as the
        // store once the instance is registered (the table is dropped
        // otherwise).
        let t = unsafe { store.new_table(*ty, init, Some(def), (inst_index, i))? };
        entities.tables.push(t);
    }
    // The tables this module's code stores into inline, defined or
    // imported: the runtime does not see those writes.
    for t in &info.code_written_tables {
        store.tables[entities.tables[*t]].note_code_writes();
    }

    // Defined memories.
    for (i, ty) in info
        .memories
        .values()
        .skip(info.num_imported_memories as usize)
        .enumerate()
    {
        let def = vmctx.defined_memory(DefinedMemoryIndex::new(i));
        // SAFETY: as for tables.
        let m = unsafe { store.new_memory(*ty, Some(def))? };
        entities.memories.push(m);
    }

    // Defined functions' funcrefs, unless a kept vmctx holds them.
    if !funcs_kept {
        let code = module.code_base();
        for (i, loc) in module.func_locs().iter() {
            let f = info.func_index(i);
            // SAFETY: offsets inside the module's code; the funcref
            // describes the compiled function of its declared type.
            unsafe {
                vmctx.set_func(
                    f,
                    VMFuncRef::new(
                        code.add(loc.wasm_call as usize),
                        loc.array_call
                            .map_or(std::ptr::null(), |at| code.add(at as usize)),
                        vmctx.vmctx(),
                        info.func_type_id(f).as_u32(),
                    ),
                );
            }
        }
    }

    // Defined tags: each a new identity.
    let mut tags = entities.tags;
    for t in info.tags.keys().skip(info.num_imported_tags as usize) {
        let ty = crate::TagType::new(crate::FuncType::from_wasm(info.tag_type(t).clone()));
        let type_id = info.type_ids[info.tags[t]];
        tags.push(store.tags.push(crate::exception::TagData { ty, type_id }));
    }

    let mut globals = entities.globals;
    store.instances.push(InstanceData {
        module: module.clone(),
        vmctx,
        memories: entities.memories,
        tables: entities.tables,
        tags,
        globals: PrimaryMap::new(),
        elements: SecondaryMap::new(),
        dropped_data: SecondaryMap::with_capacity(info.data.len()),
    });

    segments::fill_initialized_tables(store, inst_index, &globals)?;

    // Defined globals, in order (an initializer may read earlier ones).
    for (i, init) in info.global_inits.iter() {
        let g = info.global_index(i);
        let value = const_expr::eval_const_in(store, inst_index, &globals, init)?;
        let def = store.instances[inst_index].vmctx.defined_global(i);
        let ty = info.globals[g];
        // SAFETY: storage inside the registered instance's vmctx.
        globals.push(unsafe { store.new_global(ty, Some(def), value.to_le_bytes()) });
    }
    store.instances[inst_index].globals = globals;

    segments::evaluate_passive(store, inst_index)?;
    segments::apply_active(store, inst_index)?;
    // The tables a later instance may reuse are final now, unless
    // something writes them from here on.
    for &i in module.instance_cache().tables() {
        let t = store.instances[inst_index].tables[info.table_index(i)];
        store.tables[t].seal();
    }

    if let Some(start) = info.start {
        let r = store.instances[inst_index].func_ref(start);
        let mut values = [ValRaw::default(); 1];
        // SAFETY: a funcref of this instance, of type [] -> [].
        unsafe { crate::func::invoke_raw(store, r, &mut values)? };
    }
    Ok(Instance {
        store: store.id,
        index: inst_index,
    })
}
