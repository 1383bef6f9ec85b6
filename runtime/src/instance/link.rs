//! Import matching and linking: each import is checked against the
//! definition given for it (kind, type, store) and written into the new
//! instance's vmctx.
//!
//! Tables and memories match by their current size, as their types report
//! it ([`crate::Table::ty`], [`crate::Memory::ty`]): the import's minimum
//! must not exceed it, and an import with a maximum needs a definition
//! whose maximum is no larger. Functions match when their type is the
//! import's or declares it as a supertype; immutable globals when their
//! value type is a subtype of the import's, mutable ones only with the very
//! type. A mismatch is an error that shows both types as they are written
//! in the text format, such as `expected (table 1 10 funcref), found (table
//! 0 funcref)`.

use crate::externals::extern_type;
use crate::store::StoreOpaque;
use crate::vm::vmctx::VmctxAlloc;
use crate::vm::{StoreGlobalIndex, StoreMemoryIndex, StoreTableIndex, StoreTagIndex};
use crate::{Extern, Module};
use anyhow::{Result, anyhow, bail};
use cranelift_entity::PrimaryMap;
use trestle_compiler::{
    CanonicalTypeId, EntityIndex, GlobalIndex, MemoryIndex, ModuleInfo, TableIndex, TagIndex,
};

/// The store indices of an instance's memories, tables and globals, imports
/// first.
#[derive(Default)]
pub(super) struct Entities {
    pub(super) memories: PrimaryMap<MemoryIndex, StoreMemoryIndex>,
    pub(super) tables: PrimaryMap<TableIndex, StoreTableIndex>,
    pub(super) globals: PrimaryMap<GlobalIndex, StoreGlobalIndex>,
    pub(super) tags: PrimaryMap<TagIndex, StoreTagIndex>,
}

fn import_name(info: &ModuleInfo, i: usize) -> String {
    format!("{}::{}", info.imports[i].module, info.imports[i].name)
}

/// Whether limits `actual` satisfy limits `expected`, minimum and
/// optional maximum each.
fn limits_match(actual: (u64, Option<u64>), expected: (u64, Option<u64>)) -> bool {
    actual.0 >= expected.0
        && match expected.1 {
            None => true,
            Some(em) => actual.1.is_some_and(|am| am <= em),
        }
}

/// Checks every import and writes it into `vmctx`.
///
/// # Errors
///
/// When the number of imports differs from the module's, or an import
/// belongs to another store or does not match (kind or type).
pub(super) fn link_imports(
    store: &StoreOpaque,
    module: &Module,
    vmctx: &VmctxAlloc,
    imports: &[Extern],
) -> Result<Entities> {
    let info = module.info();
    if imports.len() != info.imports.len() {
        bail!(
            "expected {} imports, found {}",
            info.imports.len(),
            imports.len()
        );
    }
    let mut entities = Entities::default();
    for (i, ext) in imports.iter().enumerate() {
        link_import(store, module, vmctx, i, ext, &mut entities)?;
    }
    Ok(entities)
}

/// Checks import `i` against its definition and writes it into the vmctx.
fn link_import(
    store: &StoreOpaque,
    module: &Module,
    vmctx: &VmctxAlloc,
    i: usize,
    ext: &Extern,
    entities: &mut Entities,
) -> Result<()> {
    let info = module.info();
    if ext.store_id() != store.id {
        bail!("import `{}` belongs to another store", import_name(info, i));
    }
    let incompatible = || {
        anyhow!(
            "incompatible import type for `{}`: expected {}, found {}",
            import_name(info, i),
            module.entity_type(info.imports[i].index),
            extern_type(store, ext)
        )
    };
    match (info.imports[i].index, ext) {
        (EntityIndex::Function(f), Extern::Func(func)) => {
            let fd = &store.funcs[func.index];
            // SAFETY: funcrefs of a store stay valid while it lives.
            let r = unsafe { *fd.func_ref };
            let actual = CanonicalTypeId::from_u32(r.type_id);
            if !store.engine.is_subtype_id(actual, info.func_type_id(f)) {
                return Err(incompatible());
            }
            // SAFETY: a live function of the store, of a subtype of the
            // import's type.
            unsafe { vmctx.set_func(f, r) };
        }
        (EntityIndex::Table(t), Extern::Table(table)) => {
            let expected = info.tables[t];
            let table_index = table.index(store);
            let table = &store.tables[table_index];
            let actual = table.current_ty();
            let ok = actual.element == expected.element
                && actual.table64 == expected.table64
                && limits_match(
                    (actual.minimum, actual.maximum),
                    (expected.minimum, expected.maximum),
                );
            if !ok {
                return Err(incompatible());
            }
            // Code compiled for a table that cannot grow finds its funcref
            // words `maximum` words after its code words: its capacity must
            // be exactly that, which holds because storage never grows past
            // the table's maximum.
            if expected.maximum == Some(expected.minimum) {
                assert_eq!(
                    table.capacity(),
                    expected.minimum,
                    "a table of fixed size must have its size as capacity"
                );
            }
            // SAFETY: the definition of a live table of the store, of a
            // matching type.
            unsafe { vmctx.set_table_import(t, table.definition()) };
            entities.tables.push(table_index);
        }
        (EntityIndex::Memory(m), Extern::Memory(mem)) => {
            let expected = info.memories[m];
            let memory = &store.memories[mem.index];
            let actual = memory.current_ty();
            let ok = actual.memory64 == expected.memory64
                && limits_match(
                    (actual.minimum, actual.maximum),
                    (expected.minimum, expected.maximum),
                );
            if !ok {
                return Err(incompatible());
            }
            // SAFETY: the definition of a live memory of the store, of a
            // matching type.
            unsafe { vmctx.set_memory_import(m, memory.definition()) };
            entities.memories.push(mem.index);
        }
        (EntityIndex::Global(g), Extern::Global(global)) => {
            let expected = info.globals[g];
            let gd = &store.globals[global.index];
            let actual = gd.ty();
            // An immutable global may have a subtype of the declared type;
            // a mutable one must have the very type, as it is also written.
            let matches = actual.mutable == expected.mutable
                && if expected.mutable {
                    actual == expected
                } else {
                    store.engine.val_subtype(actual.ty, expected.ty)
                };
            if !matches {
                return Err(incompatible());
            }
            // SAFETY: the storage of a live global of the store, of a
            // matching type.
            unsafe { vmctx.set_global_import(g, gd.definition()) };
            entities.globals.push(global.index);
        }
        (EntityIndex::Tag(t), Extern::Tag(tag)) => {
            // Tags match by their exact type (the same canonical type, so
            // the same recursion group too); the import is the tag itself.
            if store.tags[tag.index].type_id != info.type_ids[info.tags[t]] {
                return Err(incompatible());
            }
            entities.tags.push(tag.index);
        }
        _ => return Err(incompatible()),
    }
    Ok(())
}
