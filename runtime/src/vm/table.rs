//! [`Table`]: the owner of one WebAssembly table. It holds the table's
//! storage and the definition compiled code reads (base, length, inline
//! capacity), enforces its limits, grows it, initializes funcref entries
//! lazily, and implements `get`, `set`, `fill`, `copy`, `init` and `grow`.
//! The embedding API ([`crate::Table`]) and the libcalls are thin wrappers
//! over it.
//!
//! A funcref table of capacity `n` is `2 * n` words: the code words of its
//! elements, then their funcref words (see [`VMTableEntry`]). An externref
//! or anyref table is one word per element: 0 for null, else a slot index
//! of the store's heap plus one.

use super::meter::{Meter, TABLE_CHUNK};
use super::table_buf::{TableBuf, TablePool, fill_raw};
use super::{Definition, GrowthLimiter, StoreInstanceIndex, StoreTableIndex, in_bounds};
use anyhow::{Result, anyhow, bail};
use cranelift_entity::{EntityRef, PrimaryMap};
use std::ops::Range;
use std::sync::Arc;
use trestle_compiler::{
    DefinedTableIndex, ElemIndex, FuncIndex, RefFamily, WasmRefType, WasmTableType,
};
use trestle_vmctx::{Trap, VMFuncRef, VMTableDefinition, VMTableEntry};

/// The most elements a table may have. A larger declared minimum fails
/// instantiation (and [`crate::Table::new`]), and growth past it is
/// refused (`table.grow` returns -1), so a module cannot make the host
/// allocate without bound.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// The most table elements one store may hold in all its tables together,
/// so many large tables cannot exhaust the host's memory either. Storage
/// counts, not length: a table grown by the runtime keeps room to grow in
/// place (its storage doubles), and that room counts.
pub const MAX_STORE_TABLE_ELEMENTS: u64 = 100_000_000;

/// The table elements a store holds, against
/// [`MAX_STORE_TABLE_ELEMENTS`].
#[derive(Debug, Default)]
pub(crate) struct TableBudget {
    held: u64,
}

impl TableBudget {
    /// Checks that a table of `minimum` elements may be created.
    fn check(&self, minimum: u64) -> Result<()> {
        if minimum > MAX_TABLE_ELEMENTS {
            bail!(
                "table minimum size of {minimum} elements exceeds the limit of {MAX_TABLE_ELEMENTS}"
            );
        }
        if self.held + minimum > MAX_STORE_TABLE_ELEMENTS {
            bail!(
                "a table of {minimum} elements exceeds the limit of {MAX_STORE_TABLE_ELEMENTS} \
                 table elements in one store"
            );
        }
        Ok(())
    }

    /// How many more elements the store's tables may hold.
    fn remaining(&self) -> u64 {
        MAX_STORE_TABLE_ELEMENTS.saturating_sub(self.held)
    }

    /// Counts again after tables were dropped.
    pub(crate) fn recount(&mut self, tables: &PrimaryMap<StoreTableIndex, Table>) {
        self.held = tables.values().map(Table::capacity).sum();
    }
}

/// What creating or growing a table asks of its store: the embedder's
/// limiter and the store's element budget.
pub(crate) struct Growth<'a> {
    /// Asked before the table is created or grows.
    pub(crate) limiter: &'a mut dyn GrowthLimiter,
    /// Charged with the storage.
    pub(crate) budget: &'a mut TableBudget,
}

/// How the entries of a new table start out.
pub(crate) enum TableInit {
    /// A funcref table whose entries are written on first access from the
    /// active element segments recorded with [`Table::lazy_mut`].
    Lazy,
    /// Every entry is this raw word (a funcref pointer, a heap word, or 0
    /// for null).
    Value(usize),
    /// A funcref table of the same type that an earlier instance of the
    /// same module left as its instantiation made it
    /// ([`Table::take_sealed`]), with the same vmctx: its entries are
    /// final already (or written on first access, as recorded), and
    /// [`Table::is_restored`] says so.
    Restored(SealedTable),
}

/// The state of a funcref table that nothing but lazy initialization
/// wrote since its instantiation: see [`Table::take_sealed`].
pub(crate) struct SealedTable {
    buf: TableBuf<usize>,
    lazy: Option<LazyInit>,
}

impl SealedTable {
    /// The bytes of storage held.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.capacity() * size_of::<usize>()
    }
}

/// The storage of a table's elements; their number is in the table's
/// definition.
enum TableElements {
    /// The two arrays of a funcref table: for a capacity of `n`, `2 * n`
    /// words, the code words then the funcref words.
    Func(TableBuf<usize>),
    /// One word per element.
    Words(TableBuf<usize>),
}

/// The elements of a funcref table, as its two arrays.
struct FuncElements<'a> {
    /// The code words.
    codes: &'a mut [usize],
    /// The funcref words.
    refs: &'a mut [usize],
}

impl FuncElements<'_> {
    /// Sets element `i`.
    fn set(&mut self, i: usize, e: VMTableEntry) {
        self.codes[i] = e.wasm_call.expose_provenance();
        self.refs[i] = e.func_ref.expose_provenance();
    }

    /// Sets the elements in `range` to `e`.
    fn fill(&mut self, range: Range<usize>, e: VMTableEntry) {
        let (codes, refs) = (&mut self.codes[range.clone()], &mut self.refs[range]);
        // SAFETY: both slices are valid for writes of their lengths.
        unsafe {
            fill_raw(
                codes.as_mut_ptr(),
                codes.len(),
                e.wasm_call.expose_provenance(),
            );
            fill_raw(
                refs.as_mut_ptr(),
                refs.len(),
                e.func_ref.expose_provenance(),
            );
        }
    }
}

/// The elements of a table, by kind.
enum ElementsMut<'a> {
    Func(FuncElements<'a>),
    Words(&'a mut [usize]),
}

/// Converts a raw funcref word to a table entry.
fn func_entry(raw: usize) -> VMTableEntry {
    // SAFETY: raw funcref words are null or point at live funcrefs of the
    // store whose table receives them.
    unsafe { VMTableEntry::from_func_ref(raw as *const VMFuncRef) }
}

/// Evaluates the items of element segments made of constant expressions,
/// for lazy initialization; the store implements it, since the expressions
/// read the globals and functions of the instance that declared them.
pub(crate) trait SegmentItems {
    /// The raw word of item `k` of segment `segment` of instance
    /// `instance`.
    fn expression_item(&self, instance: StoreInstanceIndex, segment: ElemIndex, k: u32) -> usize;
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
        indices: *const FuncIndex,
    },
    /// Constant expressions of `segment` of `instance`, evaluated on first
    /// access.
    Expressions {
        instance: StoreInstanceIndex,
        segment: ElemIndex,
    },
}

/// Entries per bit of [`LazyInit`]'s pending-chunk bitmap.
const LAZY_CHUNK: usize = 64;

/// What a lazily initialized funcref table needs to write its entries on
/// first access.
#[derive(Debug)]
pub(crate) struct LazyInit {
    /// The active segments aimed at the table, in the order they were
    /// applied: for an entry, the last one covering it wins; entries no
    /// segment covers are null.
    placements: Vec<LazyPlacement>,
    /// One bit per [`LAZY_CHUNK`] entries of the initial length, set while
    /// the chunk may still hold entries not yet written, so `table.copy`
    /// only scans chunks that can need it. Entries past the initial length
    /// come from growth, which writes them.
    maybe_uninit: Vec<u64>,
}

impl LazyInit {
    /// Nothing written yet in a table of `len` entries.
    fn new(len: usize) -> Self {
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

    /// Records a segment applied after the ones recorded so far.
    pub(crate) fn push(&mut self, placement: LazyPlacement) {
        self.placements.push(placement);
    }

    /// The raw word lazy initialization puts at `index`.
    fn item(&self, index: u64, items: &dyn SegmentItems) -> usize {
        let Some(p) = self
            .placements
            .iter()
            .rev()
            .find(|p| index.wrapping_sub(p.start) < p.len)
        else {
            return 0;
        };
        let k = (index - p.start) as usize;
        match p.items {
            LazyItems::Functions { func_refs, indices } => {
                // SAFETY: `k` is below the segment's length, and its items
                // are valid function indices; the module and the vmctx of
                // the instance that recorded the placement live as long as
                // its store, which owns this table too.
                let func_ref = unsafe { func_refs.add((*indices.add(k)).index()) };
                func_ref as usize
            }
            LazyItems::Expressions { instance, segment } => {
                items.expression_item(instance, segment, k as u32)
            }
        }
    }

    /// Whether chunk `c` may hold entries not yet written.
    fn chunk_pending(&self, c: usize) -> bool {
        self.maybe_uninit
            .get(c / 64)
            .is_some_and(|w| w & (1 << (c % 64)) != 0)
    }

    /// Records that chunk `c` holds no entry left to write.
    fn chunk_done(&mut self, c: usize) {
        if let Some(w) = self.maybe_uninit.get_mut(c / 64) {
            *w &= !(1 << (c % 64));
        }
    }
}

/// A table: see the [module documentation](self).
pub(crate) struct Table {
    elements: TableElements,
    /// The base, length and inline capacity compiled code reads. The length
    /// here is the table's length: compiled code grows tables by writing
    /// it.
    def: Definition<VMTableDefinition>,
    ty: WasmTableType,
    /// For lazily initialized funcref tables: where the entries not yet
    /// written come from.
    lazy: Option<LazyInit>,
    /// The defining instance and defined index, as a [`crate::Table`]
    /// handle names the table.
    owner: (StoreInstanceIndex, DefinedTableIndex),
    /// Whether compiled code may grow the table in place, up to its
    /// capacity; otherwise every growth reaches [`Table::grow`].
    inline_growth: bool,
    /// Whether the storage came from [`TableInit::Restored`].
    restored: bool,
}

impl Table {
    /// A table of type `ty` with its declared minimum of elements, set up
    /// as `init` says, after asking the limiter.
    ///
    /// `def` is where compiled code reads the table's definition (inside a
    /// vmctx), or `None` for a table of the host, which then owns its
    /// definition. `owner` names the table as [`crate::Table`] handles do.
    /// With `inline_growth`, compiled code may grow the table in place up
    /// to its capacity; without, every growth comes here, so the limiter
    /// and the fuel meter see it.
    ///
    /// # Errors
    ///
    /// When the minimum is over [`MAX_TABLE_ELEMENTS`] or the store's
    /// budget, the limiter refuses, or the memory cannot be allocated.
    ///
    /// # Safety
    ///
    /// A `def` must be valid for reads and writes, used by nothing but this
    /// table and compiled code, for the table's whole life.
    pub(crate) unsafe fn new(
        ty: WasmTableType,
        init: TableInit,
        def: Option<*mut VMTableDefinition>,
        owner: (StoreInstanceIndex, DefinedTableIndex),
        inline_growth: bool,
        growth: Growth<'_>,
        pool: &Arc<TablePool>,
    ) -> Result<Table> {
        growth.budget.check(ty.minimum)?;
        let max = ty.maximum.map(|m| m.min(usize::MAX as u64) as usize);
        if !growth.limiter.table_growing(0, ty.minimum as usize, max) {
            bail!("table of {} elements refused by the limiter", ty.minimum);
        }
        let n = ty.minimum as usize;
        // Restored storage of another shape (never made by this crate) is
        // not used.
        let (init, lazy) = match init {
            TableInit::Restored(t)
                if !ty.element.is_func() || Some(t.buf.capacity()) != n.checked_mul(2) =>
            {
                (TableInit::Value(0), None)
            }
            TableInit::Restored(SealedTable { buf, lazy }) => {
                (TableInit::Restored(SealedTable { buf, lazy: None }), lazy)
            }
            TableInit::Lazy if ty.element.is_func() => (TableInit::Lazy, Some(LazyInit::new(n))),
            init => (init, None),
        };
        let restored = matches!(init, TableInit::Restored(_));
        let elements = new_elements(ty.element, n, init, pool)?;
        let empty = VMTableDefinition {
            base: std::ptr::null_mut(),
            current_elements: ty.minimum,
            inline_capacity: 0,
            func_refs: std::ptr::null_mut(),
        };
        let mut table = Table {
            elements,
            // SAFETY: per this function's contract.
            def: unsafe { Definition::new(def, empty) },
            ty,
            lazy,
            owner,
            inline_growth,
            restored,
        };
        table.sync_def();
        growth.budget.held += table.capacity();
        Ok(table)
    }

    /// The table's type as declared.
    pub(crate) fn ty(&self) -> WasmTableType {
        self.ty
    }

    /// The table's type with its current size as the minimum, which is
    /// what import matching and [`crate::Table::ty`] go by.
    pub(crate) fn current_ty(&self) -> WasmTableType {
        WasmTableType {
            minimum: self.len(),
            ..self.ty
        }
    }

    /// The element type.
    pub(crate) fn element(&self) -> WasmRefType {
        self.ty.element
    }

    /// The defining instance and defined index.
    pub(crate) fn owner(&self) -> (StoreInstanceIndex, DefinedTableIndex) {
        self.owner
    }

    /// The definition compiled code reads, for importers.
    pub(crate) fn definition(&self) -> *mut VMTableDefinition {
        self.def.as_ptr()
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> u64 {
        // SAFETY: `def` is this table's live definition.
        unsafe { (*self.def.as_ptr()).current_elements }
    }

    /// How many elements the storage holds without moving.
    pub(crate) fn capacity(&self) -> u64 {
        match &self.elements {
            TableElements::Func(b) => b.capacity() as u64 / 2,
            TableElements::Words(b) => b.capacity() as u64,
        }
    }

    /// Whether the entries came from an earlier instance of the same
    /// module ([`TableInit::Restored`]): the active segments are in place
    /// already.
    pub(crate) fn is_restored(&self) -> bool {
        self.restored
    }

    /// Marks the entries as what instantiation made them; see
    /// [`Table::take_sealed`].
    pub(crate) fn seal(&mut self) {
        if let TableElements::Func(b) = &mut self.elements {
            b.seal();
        }
    }

    /// The state of a funcref table that nothing but lazy initialization
    /// wrote since [`Table::seal`] (no write from the runtime, the host or
    /// another instance, no growth, no compiled code that stores into it
    /// inline), for [`TableInit::Restored`]; the table is left empty.
    /// `None`, with the table unchanged, for any other table.
    pub(crate) fn take_sealed(&mut self) -> Option<SealedTable> {
        let n = usize::try_from(self.ty.minimum).ok()?;
        let whole = self.len() == self.ty.minimum;
        match &mut self.elements {
            TableElements::Func(b) if whole && b.is_sealed() && b.capacity() == 2 * n => {
                let mut buf = std::mem::replace(b, TableBuf::new());
                buf.unseal();
                let lazy = self.lazy.take();
                self.set_len(0);
                self.sync_def();
                Some(SealedTable { buf, lazy })
            }
            _ => None,
        }
    }

    /// The lazy initialization state, for recording segments; `None` for
    /// a table that is not lazily initialized.
    pub(crate) fn lazy_mut(&mut self) -> Option<&mut LazyInit> {
        self.lazy.as_mut()
    }

    /// Whether compiled code may grow the table in place.
    pub(crate) fn set_inline_growth(&mut self, inline: bool) {
        self.inline_growth = inline;
        self.sync_def();
    }

    /// The words of a table that is not a funcref table (externref,
    /// anyref), for the collector.
    pub(crate) fn heap_words(&self) -> Option<&[usize]> {
        let len = self.len() as usize;
        match &self.elements {
            TableElements::Words(b) => Some(b.slice(len)),
            TableElements::Func(_) => None,
        }
    }

    /// Points the definition at the current storage and sets how far
    /// compiled code may grow the table in place: to the capacity, or not
    /// at all.
    fn sync_def(&mut self) {
        let capacity = self.capacity();
        let (base, func_refs) = match &self.elements {
            TableElements::Func(b) => {
                let base = b.as_mut_ptr();
                // SAFETY: the funcref words start `capacity` words in, inside
                // (or one past the end of) the `2 * capacity` words.
                (base, unsafe { base.add(capacity as usize) })
            }
            TableElements::Words(b) => (b.as_mut_ptr(), std::ptr::null_mut()),
        };
        let inline = if self.inline_growth {
            capacity
        } else {
            self.len()
        };
        // SAFETY: `def` is this table's live definition.
        unsafe {
            let def = self.def.as_ptr();
            (*def).base = base.cast();
            (*def).func_refs = func_refs.cast();
            (*def).inline_capacity = inline;
        }
    }

    /// Sets the number of elements (at most the capacity).
    fn set_len(&mut self, len: u64) {
        assert!(len <= self.capacity(), "table length beyond its capacity");
        // SAFETY: `def` is this table's live definition.
        unsafe { (*self.def.as_ptr()).current_elements = len };
    }

    /// The elements, by kind.
    fn elements_mut(&mut self) -> ElementsMut<'_> {
        self.elements_upto(self.len() as usize)
    }

    /// The first `len` element slots of the storage (at most the capacity),
    /// by kind: past the length for growth to write.
    fn elements_upto(&mut self, len: usize) -> ElementsMut<'_> {
        let capacity = self.capacity() as usize;
        match &mut self.elements {
            TableElements::Func(b) => {
                let (codes, refs) = b.slice_mut(2 * capacity).split_at_mut(capacity);
                ElementsMut::Func(FuncElements {
                    codes: &mut codes[..len],
                    refs: &mut refs[..len],
                })
            }
            TableElements::Words(b) => ElementsMut::Words(b.slice_mut(len)),
        }
    }

    /// Grows the storage to hold `capacity` elements, keeping them; `false`
    /// when the memory cannot be had. The new elements are zero.
    fn grow_capacity(&mut self, capacity: u64) -> bool {
        let old = self.capacity() as usize;
        let Ok(new) = usize::try_from(capacity) else {
            return false;
        };
        match &mut self.elements {
            TableElements::Words(b) => b.grow(new),
            TableElements::Func(b) => {
                let Some(words) = new.checked_mul(2) else {
                    return false;
                };
                let Some(mut grown) = TableBuf::<usize>::heap_zeroed(words) else {
                    return false;
                };
                grown.set_lanes(2);
                let from = b.slice(2 * old);
                let to = grown.slice_mut(words);
                to[..old].copy_from_slice(&from[..old]);
                to[new..new + old].copy_from_slice(&from[old..]);
                *b = grown;
                true
            }
        }
    }

    /// The raw word at `index`, written first from the element segments if
    /// lazy initialization has not reached it yet; `None` when out of
    /// bounds.
    pub(crate) fn get(&mut self, index: u64, items: &dyn SegmentItems) -> Option<usize> {
        match &self.elements {
            TableElements::Words(b) => {
                let i = usize::try_from(index).ok()?;
                b.slice(self.len() as usize).get(i).copied()
            }
            TableElements::Func(_) => self.materialize(index, items),
        }
    }

    /// Writes the entry at `index` of a funcref table if lazy
    /// initialization has not yet, and returns the address of its code
    /// word: what compiled code's cold path of `call_indirect` and
    /// `table.get` asks for. `None` when out of bounds.
    pub(crate) fn lazy_entry(&mut self, index: u64, items: &dyn SegmentItems) -> Option<usize> {
        self.materialize(index, items)?;
        // SAFETY: `index` is in bounds (materialized above), so the code
        // word is inside the storage.
        Some(unsafe { self.code_word(index) } as usize)
    }

    /// The address of the code word of element `index` of a funcref table.
    ///
    /// # Safety
    ///
    /// `index` must be below the capacity.
    unsafe fn code_word(&self, index: u64) -> *mut usize {
        match &self.elements {
            // SAFETY: per the contract, inside the storage.
            TableElements::Func(b) => unsafe { b.as_mut_ptr().add(index as usize) },
            TableElements::Words(_) => unreachable!("validated: a funcref table"),
        }
    }

    /// The funcref word of element `index` of a funcref table, the element
    /// written first from the table's element segments if lazy
    /// initialization has not reached it yet; `None` when out of bounds.
    fn materialize(&mut self, index: u64, items: &dyn SegmentItems) -> Option<usize> {
        if index >= self.len() {
            return None;
        }
        let capacity = self.capacity() as usize;
        // SAFETY: `index` is below the length, so both words are inside the
        // `2 * capacity` words of the storage.
        let (code, func_ref) = unsafe {
            let code = self.code_word(index);
            (code, code.add(capacity))
        };
        // SAFETY: as above; the words are plain data.
        let (c, r) = unsafe { (*code, *func_ref) };
        if c != 0 || r != 0 {
            return Some(r);
        }
        let raw = match &self.lazy {
            Some(lazy) => lazy.item(index, items),
            None => 0,
        };
        let i = index as usize;
        let e = func_entry(raw);
        // SAFETY: as above; nothing else refers to the words while the
        // table is borrowed here, and evaluating the item did not touch the
        // table's storage.
        unsafe {
            code.write(e.wasm_call.expose_provenance());
            func_ref.write(raw);
        }
        // What the segments say, as for any instance of the module: the
        // table stays sealed.
        match &mut self.elements {
            TableElements::Func(b) | TableElements::Words(b) => b.note_initialized(i..i + 1),
        }
        Some(raw)
    }

    /// Records that the runtime writes the elements `range`: how the
    /// storage is zeroed when it goes back to the engine's pool (see
    /// [`TableBuf::note_written`]). Every writer of the runtime calls it.
    fn note_written(&mut self, range: Range<usize>) {
        match &mut self.elements {
            TableElements::Func(b) | TableElements::Words(b) => b.note_written(range),
        }
    }

    /// Records that compiled code may store into the table itself (an
    /// inline `table.set` or `table.grow` of a module that defines or
    /// imports it), unseen by the runtime.
    pub(crate) fn note_code_writes(&mut self) {
        match &mut self.elements {
            TableElements::Func(b) | TableElements::Words(b) => b.note_code_writes(),
        }
    }

    /// Writes every lazily initialized entry in the chunks that overlap
    /// `range` (in bounds), checking the epoch deadline between chunks of
    /// work.
    fn materialize_range(
        &mut self,
        range: Range<usize>,
        items: &dyn SegmentItems,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let Some(lazy) = &self.lazy else {
            return Ok(());
        };
        if range.is_empty() {
            return Ok(());
        }
        let len = self.len() as usize;
        let chunks: Vec<usize> = (range.start / LAZY_CHUNK..=(range.end - 1) / LAZY_CHUNK)
            .filter(|c| lazy.chunk_pending(*c))
            .collect();
        meter.in_chunks(chunks.len(), TABLE_CHUNK / LAZY_CHUNK, |batch| {
            for &c in &chunks[batch] {
                let end = ((c + 1) * LAZY_CHUNK).min(len);
                for i in c * LAZY_CHUNK..end {
                    self.materialize(i as u64, items);
                }
                if let Some(lazy) = &mut self.lazy {
                    lazy.chunk_done(c);
                }
            }
        })
    }

    /// Writes the raw word `raw` at `index`.
    ///
    /// # Errors
    ///
    /// [`Trap::TableOutOfBounds`] when `index` is out of bounds.
    pub(crate) fn set(&mut self, index: u64, raw: usize) -> Result<(), Trap> {
        if index >= self.len() {
            return Err(Trap::TableOutOfBounds);
        }
        let i = index as usize;
        self.note_written(i..i + 1);
        match self.elements_mut() {
            ElementsMut::Func(mut v) => v.set(i, func_entry(raw)),
            ElementsMut::Words(w) => w[i] = raw,
        }
        Ok(())
    }

    /// Writes functions `indices` (of the array of funcrefs at
    /// `func_refs`) from `index` on: an active element segment of function
    /// indices, applied at instantiation.
    ///
    /// # Errors
    ///
    /// [`Trap::TableOutOfBounds`] when the range is out of bounds.
    ///
    /// # Safety
    ///
    /// `func_refs.add(i)` must be a live funcref of the table's store for
    /// every `i` of `indices`.
    pub(crate) unsafe fn set_functions(
        &mut self,
        index: u64,
        func_refs: *const VMFuncRef,
        indices: &[FuncIndex],
    ) -> Result<(), Trap> {
        let r = in_bounds(index, indices.len() as u64, self.len()).ok_or(Trap::TableOutOfBounds)?;
        self.note_written(r.clone());
        match self.elements_mut() {
            ElementsMut::Func(v) => {
                let (codes, refs) = (&mut v.codes[r.clone()], &mut v.refs[r]);
                for ((code, func_ref), f) in codes.iter_mut().zip(refs.iter_mut()).zip(indices) {
                    // SAFETY: per this function's contract, a live funcref.
                    let e = unsafe { VMTableEntry::from_func_ref(func_refs.add(f.index())) };
                    *code = e.wasm_call.expose_provenance();
                    *func_ref = e.func_ref.expose_provenance();
                }
            }
            ElementsMut::Words(_) => unreachable!("validated: function items go to funcref tables"),
        }
        Ok(())
    }

    /// Sets the element slots in `range` (within the capacity) to `raw`,
    /// in chunks.
    fn fill_range(&mut self, range: Range<usize>, raw: usize, meter: &Meter) -> Result<(), Trap> {
        self.note_written(range.clone());
        let start = range.start;
        match self.elements_upto(range.end) {
            ElementsMut::Func(mut v) => {
                let e = func_entry(raw);
                meter.in_chunks(range.len(), TABLE_CHUNK, |r| {
                    v.fill(start + r.start..start + r.end, e);
                })
            }
            ElementsMut::Words(w) => meter.in_chunks(range.len(), TABLE_CHUNK, |r| {
                let words = &mut w[start + r.start..start + r.end];
                // SAFETY: the slice is valid for writes of its length.
                unsafe { fill_raw(words.as_mut_ptr(), words.len(), raw) }
            }),
        }
    }

    /// `table.fill`: sets `len` elements from `dst` to `raw`.
    ///
    /// # Errors
    ///
    /// [`Trap::TableOutOfBounds`] when the range is out of bounds, and
    /// what `meter` raises.
    pub(crate) fn fill(
        &mut self,
        dst: u64,
        raw: usize,
        len: u64,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let r = in_bounds(dst, len, self.len()).ok_or(Trap::TableOutOfBounds)?;
        meter.charge(len)?;
        self.fill_range(r, raw, meter)
    }

    /// `table.init`: copies items `src..src + len` of a segment's raw
    /// words (empty once dropped) to `dst` onwards.
    ///
    /// # Errors
    ///
    /// [`Trap::TableOutOfBounds`] when either range is out of bounds, and
    /// what `meter` raises.
    pub(crate) fn init(
        &mut self,
        dst: u64,
        segment: &[usize],
        src: u64,
        len: u64,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let s = in_bounds(src, len, segment.len() as u64).ok_or(Trap::TableOutOfBounds)?;
        let d = in_bounds(dst, len, self.len()).ok_or(Trap::TableOutOfBounds)?;
        meter.charge(len)?;
        self.note_written(d.clone());
        let words = &segment[s];
        match self.elements_mut() {
            ElementsMut::Func(mut v) => meter.in_chunks(words.len(), TABLE_CHUNK, |r| {
                for i in r {
                    v.set(d.start + i, func_entry(words[i]));
                }
            }),
            ElementsMut::Words(w) => meter.in_chunks(words.len(), TABLE_CHUNK, |r| {
                w[d.start + r.start..d.start + r.end].copy_from_slice(&words[r]);
            }),
        }
    }

    /// `table.copy`: copies `len` elements of `tables[src_t]` from `src` to
    /// `tables[dst_t]` at `dst`; the tables may be the same and the ranges
    /// may overlap. Entries of the source not yet lazily initialized are
    /// written first: their contents depend on the table they are in.
    ///
    /// # Errors
    ///
    /// [`Trap::TableOutOfBounds`] when either range is out of bounds, and
    /// what `meter` raises.
    ///
    /// # Panics
    ///
    /// When the tables' element representations differ (validation rules
    /// it out).
    #[expect(
        clippy::too_many_arguments,
        reason = "the operands of table.copy, plus the tables, the segment items and the meter"
    )]
    pub(crate) fn copy(
        tables: &mut PrimaryMap<StoreTableIndex, Table>,
        dst_t: StoreTableIndex,
        dst: u64,
        src_t: StoreTableIndex,
        src: u64,
        len: u64,
        items: &dyn SegmentItems,
        meter: &Meter,
    ) -> Result<(), Trap> {
        let s = in_bounds(src, len, tables[src_t].len()).ok_or(Trap::TableOutOfBounds)?;
        let d = in_bounds(dst, len, tables[dst_t].len()).ok_or(Trap::TableOutOfBounds)?;
        meter.charge(len)?;
        tables[src_t].materialize_range(s.clone(), items, meter)?;
        tables[dst_t].note_written(d.clone());
        if src_t == dst_t {
            return match tables[dst_t].elements_mut() {
                ElementsMut::Func(v) => {
                    meter.copy_in_chunks(s.len(), s.start, d.start, TABLE_CHUNK, |r, to| {
                        v.codes.copy_within(r.clone(), to);
                        v.refs.copy_within(r, to);
                    })
                }
                ElementsMut::Words(w) => {
                    meter.copy_in_chunks(s.len(), s.start, d.start, TABLE_CHUNK, |r, to| {
                        w.copy_within(r, to);
                    })
                }
            };
        }
        let [from, to] = tables
            .get_disjoint_mut([src_t, dst_t])
            .expect("two tables of the store");
        let chunks = |copy: &mut dyn FnMut(Range<usize>, Range<usize>)| {
            meter.in_chunks(s.len(), TABLE_CHUNK, |r| {
                copy(
                    s.start + r.start..s.start + r.end,
                    d.start + r.start..d.start + r.end,
                );
            })
        };
        match (from.elements_mut(), to.elements_mut()) {
            (ElementsMut::Func(sv), ElementsMut::Func(dv)) => chunks(&mut |s, d| {
                dv.codes[d.clone()].copy_from_slice(&sv.codes[s.clone()]);
                dv.refs[d].copy_from_slice(&sv.refs[s]);
            }),
            (ElementsMut::Words(sw), ElementsMut::Words(dw)) => chunks(&mut |s, d| {
                dw[d].copy_from_slice(&sw[s]);
            }),
            _ => unreachable!("validated: table.copy between tables of one element type"),
        }
    }

    /// `table.grow`: grows the table by `delta` elements set to `raw`;
    /// the old size, or `None` when refused (past the maximum or
    /// [`MAX_TABLE_ELEMENTS`], by the limiter or the store's budget, or on
    /// allocation failure).
    ///
    /// The storage grows by doubling (within the table's maximum and the
    /// store's budget, which counts capacity), so compiled code can do most
    /// growth in place without calling here. The fuel of the new elements
    /// is charged only once the growth is known to succeed.
    ///
    /// # Errors
    ///
    /// What `meter` raises; the table keeps its size.
    pub(crate) fn grow(
        &mut self,
        delta: u64,
        raw: usize,
        growth: Growth<'_>,
        meter: &Meter,
    ) -> Result<Option<u64>, Trap> {
        let old = self.len();
        if delta == 0 {
            return Ok(Some(old));
        }
        let new = old.saturating_add(delta);
        let declared = self.ty.maximum.map(|m| m.min(usize::MAX as u64) as usize);
        let max = self.ty.maximum.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS);
        let desired = new.min(usize::MAX as u64) as usize;
        if !growth
            .limiter
            .table_growing(old as usize, desired, declared)
        {
            return Ok(None);
        }
        let cap = self.capacity();
        let budget = growth.budget.remaining();
        if new > max || new.saturating_sub(cap) > budget {
            growth.limiter.table_grow_failed(anyhow!(
                "table of {old} elements cannot grow by {delta}: the maximum is {max}"
            ));
            return Ok(None);
        }
        if new > cap {
            let roomy = new.max(cap.saturating_mul(2)).min(max).min(cap + budget);
            let grown = self.grow_capacity(roomy) || self.grow_capacity(new);
            if !grown {
                growth
                    .limiter
                    .table_grow_failed(anyhow!("out of memory growing a table by {delta}"));
                return Ok(None);
            }
            growth.budget.held += self.capacity() - cap;
            // The storage moved: compiled code must see the new one even
            // if the fill below is interrupted.
            self.sync_def();
        }
        meter.charge(delta)?;
        self.fill_range(old as usize..new as usize, raw, meter)?;
        self.set_len(new);
        self.sync_def();
        Ok(Some(old))
    }
}

/// The storage of a new table of `n` elements of type `element`.
///
/// # Errors
///
/// When the memory cannot be allocated.
fn new_elements(
    element: WasmRefType,
    n: usize,
    init: TableInit,
    pool: &Arc<TablePool>,
) -> Result<TableElements> {
    let oom = || anyhow!("out of memory allocating a table of {n} elements");
    Ok(match (element.family(), init) {
        // Two words per element: the code words, then the funcref words,
        // all zero until lazy initialization writes them.
        (RefFamily::Func, TableInit::Lazy) => {
            let words = n.checked_mul(2).ok_or_else(oom)?;
            let mut buf = TableBuf::zeroed(words, pool).ok_or_else(oom)?;
            buf.set_lanes(2);
            TableElements::Func(buf)
        }
        (RefFamily::Func, TableInit::Restored(t)) => TableElements::Func(t.buf),
        (RefFamily::Func, TableInit::Value(raw)) => {
            let entry = func_entry(raw);
            let words = n.checked_mul(2).ok_or_else(oom)?;
            let mut buf = TableBuf::filled(words, entry.wasm_call.expose_provenance(), pool)
                .ok_or_else(oom)?;
            let refs = &mut buf.slice_mut(words)[n..];
            // SAFETY: the slice is valid for writes of its length.
            unsafe {
                fill_raw(
                    refs.as_mut_ptr(),
                    refs.len(),
                    entry.func_ref.expose_provenance(),
                )
            };
            TableElements::Func(buf)
        }
        // Null externrefs and anyrefs are zero words.
        (
            RefFamily::Extern | RefFamily::Any | RefFamily::Exn,
            TableInit::Value(0) | TableInit::Lazy | TableInit::Restored(_),
        ) => TableElements::Words(TableBuf::zeroed(n, pool).ok_or_else(oom)?),
        (RefFamily::Extern | RefFamily::Any | RefFamily::Exn, TableInit::Value(raw)) => {
            TableElements::Words(TableBuf::filled(n, raw, pool).ok_or_else(oom)?)
        }
    })
}
