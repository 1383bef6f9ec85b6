//! The externref heap of a store, its host roots and its collector.
//!
//! Compiled code sees an externref as a plain word: 0 for null, otherwise a
//! slot index plus one. The host sees an [`crate::ExternRef`], which also
//! carries the slot's *generation*: freeing a slot bumps it, so a handle
//! that outlived its value is recognized (and refused) instead of reading
//! whatever reuses the slot.
//!
//! Which values may be freed:
//!
//! - A value is *rooted* while a host handle to it was obtained inside a
//!   [`RootScope`] that is still open, inside a host function call that has
//!   not returned, or directly on the store (depth 0, rooted until the store
//!   is dropped).
//! - A value is *exposed* once it was handed to wasm or put in a table or a
//!   global: from then on a wasm frame may hold it, and compiled code keeps
//!   no record of which frames do. The mark is sticky until a collection
//!   that runs while no wasm of the store is on the stack recomputes it.
//!
//! A collection frees everything neither rooted nor reachable from a
//! table, a global, a passive element segment or, while wasm runs, a word
//! on the stack of the wasm that is running: compiled code has no stack
//! maps, so the stack is scanned conservatively (`vm::stack_scan`), and a
//! value wasm allocates and drops in a long call (an exception thrown and
//! caught in a loop) is freed while the call runs. Where the stack cannot
//! be scanned, a collection while wasm runs keeps every exposed value.

use crate::store::{StoreContext, StoreContextMut, StoreOpaque};
use crate::vm::stack_scan;
use crate::{AsContext, AsContextMut, HeapType};
use anyhow::{Result, bail};
use std::any::Any;
use std::cell::Cell;
use trestle_compiler::{CanonicalTypeId, WasmHeapType, WasmRefType};

/// A host value owned by the heap.
pub(crate) type Payload = Box<dyn Any + Send + Sync>;

/// A GC array allocated by wasm. It lives in the same heap as host values
/// (a slot of its own), so `anyref` words and `externref` words are both a
/// slot index plus one; the type system keeps the two hierarchies apart.
pub(crate) struct GcArray {
    /// The array's canonical type id.
    pub(crate) type_id: CanonicalTypeId,
    /// Whether the elements are references into this heap, which a
    /// collection must follow.
    pub(crate) traced: bool,
    /// The elements, each in the low bytes of a 16-byte cell (references
    /// as their words, packed integers zero-extended).
    pub(crate) elems: Vec<u128>,
}

/// `Slot::root_depth` of a slot that no scope roots.
const NOT_ROOTED: u32 = u32::MAX;

/// The fewest live values at which [`ExternRef::new`](crate::ExternRef::new)
/// collects first.
const MIN_THRESHOLD: usize = 1024;

/// The most slots a heap may have: slot indices stay below `u32::MAX - 1`,
/// so `index + 1` is never 0 and fits the handle.
const MAX_SLOTS: usize = u32::MAX as usize - 1;

/// The most elements all the live GC arrays of one store may hold
/// together: 2^26 elements of 16 bytes each, 1 GiB. Untrusted modules
/// allocate arrays in constant expressions, so the heap they can claim is
/// bounded: an allocation past it (after a collection) fails instantiation
/// with "allocation size too large".
pub const MAX_ARRAY_CELLS: usize = 1 << 26;

/// One slot of the heap: a host value, or free.
struct Slot {
    value: Option<Payload>,
    /// Bumped when the slot is freed.
    generation: u32,
    /// Whether wasm may hold the value (see the module docs). A `Cell`
    /// because values are handed to wasm through a shared borrow of the
    /// store.
    exposed: Cell<bool>,
    /// The depth of the scope that roots the value, or [`NOT_ROOTED`].
    root_depth: u32,
}

/// Where a scope starts: the root list's length and the depth outside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScopeMark {
    roots: usize,
    depth: u32,
}

/// The externref heap: a slab of slots with generations and a free list,
/// and the host roots of its open scopes.
pub(crate) struct ExternHeap {
    slots: Vec<Slot>,
    /// Free slots, reused last-freed first.
    free: Vec<u32>,
    /// Slots holding a value.
    live: usize,
    /// The slots rooted by scopes of depth 1 and more, in the order they
    /// were rooted; each scope owns a suffix.
    roots: Vec<u32>,
    /// The depth of the innermost open scope, 0 for the store itself.
    depth: u32,
    /// The live count at which the next [`ExternHeap::alloc`] asks for a
    /// collection.
    threshold: usize,
    /// The elements of every live [`GcArray`], held against
    /// [`MAX_ARRAY_CELLS`].
    array_cells: usize,
}

impl Default for ExternHeap {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            roots: Vec::new(),
            depth: 0,
            threshold: MIN_THRESHOLD,
            array_cells: 0,
        }
    }
}

impl ExternHeap {
    /// The number of slots holding a value.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Whether the next allocation should collect first.
    pub(crate) fn wants_collection(&self) -> bool {
        self.live >= self.threshold
    }

    /// Moves `value` into a slot rooted by the current scope; its index and
    /// generation.
    ///
    /// # Errors
    ///
    /// When the heap has no free slot and cannot grow.
    pub(crate) fn alloc(&mut self, value: Payload) -> Result<(u32, u32)> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() >= MAX_SLOTS {
                    bail!("too many externrefs in one store");
                }
                self.slots.push(Slot {
                    value: None,
                    generation: 0,
                    exposed: Cell::new(false),
                    root_depth: NOT_ROOTED,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.value.is_none() && slot.root_depth == NOT_ROOTED);
        slot.value = Some(value);
        slot.exposed.set(false);
        self.live += 1;
        let generation = slot.generation;
        self.root(index);
        Ok((index, generation))
    }

    /// Moves `value`, which wasm made and holds, into a slot that no scope
    /// roots and that is exposed; its index.
    ///
    /// # Errors
    ///
    /// When the heap has no free slot and cannot grow.
    fn alloc_exposed(&mut self, value: Payload) -> Result<u32> {
        let (index, _) = self.alloc(value)?;
        let slot = &mut self.slots[index as usize];
        if slot.root_depth == self.depth {
            slot.root_depth = NOT_ROOTED;
            if self.depth > 0 {
                self.roots.pop();
            }
        }
        slot.exposed.set(true);
        Ok(index)
    }

    /// The generation of the value in slot `index`, without rooting it.
    pub(crate) fn generation_of(&self, index: u32) -> u32 {
        self.slots[index as usize].generation
    }

    /// Whether slot `index` holds the value of generation `generation`.
    pub(crate) fn is_live(&self, index: u32, generation: u32) -> bool {
        self.slots
            .get(index as usize)
            .is_some_and(|s| s.generation == generation && s.value.is_some())
    }

    /// The value of a handle, or `None` when it was collected.
    pub(crate) fn get(&self, index: u32, generation: u32) -> Option<&(dyn Any + Send + Sync)> {
        let slot = self.slots.get(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_deref()
    }

    /// The value of a handle, mutably, or `None` when it was collected.
    pub(crate) fn get_mut(
        &mut self,
        index: u32,
        generation: u32,
    ) -> Option<&mut (dyn Any + Send + Sync)> {
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.as_deref_mut()
    }

    /// Marks the value in slot `index` as possibly held by wasm.
    pub(crate) fn expose(&self, index: u32) {
        self.slots[index as usize].exposed.set(true);
    }

    /// The generation of the value in slot `index`, which a table, a global
    /// or wasm holds, rooted by the current scope.
    pub(crate) fn root_raw(&mut self, index: u32) -> u32 {
        debug_assert!(
            self.slots[index as usize].value.is_some(),
            "a raw externref word names a free slot"
        );
        self.root(index);
        self.slots[index as usize].generation
    }

    /// Roots slot `index` in the current scope unless a scope that is still
    /// open (this one or an outer one) roots it already.
    fn root(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        if slot.root_depth != NOT_ROOTED {
            return;
        }
        slot.root_depth = self.depth;
        if self.depth > 0 {
            self.roots.push(index);
        }
    }

    /// Opens a scope; [`ExternHeap::exit_scope`] with the mark closes it.
    pub(crate) fn enter_scope(&mut self) -> ScopeMark {
        let mark = ScopeMark {
            roots: self.roots.len(),
            depth: self.depth,
        };
        // A depth this deep would need four billion nested scopes; stay
        // below the `NOT_ROOTED` marker regardless.
        self.depth = (self.depth + 1).min(NOT_ROOTED - 1);
        mark
    }

    /// Closes the scope opened with `mark`, and any scope inside it that
    /// was leaked: the values they rooted are rooted no more.
    pub(crate) fn exit_scope(&mut self, mark: ScopeMark) {
        let start = mark.roots.min(self.roots.len());
        for &index in &self.roots[start..] {
            self.slots[index as usize].root_depth = NOT_ROOTED;
        }
        self.roots.truncate(start);
        self.depth = mark.depth;
    }

    /// Frees every slot `keep` rejects; `keep` also gets the slot index and
    /// may update the exposure mark. The payloads are dropped only once the
    /// heap is consistent again, so a panicking destructor leaves no
    /// half-freed slot behind. `root_words` is how many words finding the
    /// roots read, which spaces out the next collection.
    fn sweep(&mut self, root_words: usize, mut keep: impl FnMut(u32, &Slot) -> bool) {
        let mut garbage: Vec<Payload> = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.value.is_none() || keep(i as u32, slot) {
                continue;
            }
            debug_assert_eq!(slot.root_depth, NOT_ROOTED);
            garbage.extend(slot.value.take());
            slot.exposed.set(false);
            // A slot whose generation would wrap is retired, so no handle
            // can ever name two values.
            if let Some(next) = slot.generation.checked_add(1) {
                slot.generation = next;
                self.free.push(i as u32);
            }
        }
        self.live -= garbage.len();
        let freed_cells: usize = garbage
            .iter()
            .filter_map(|p| p.downcast_ref::<GcArray>())
            .map(|a| a.elems.len())
            .sum();
        self.array_cells -= freed_cells;
        self.threshold = MIN_THRESHOLD
            .max(self.live.saturating_mul(2))
            .max(root_words / 4);
        drop(garbage);
    }
}

impl StoreOpaque {
    /// Moves `value` into the store's externref heap, collecting first when
    /// the heap has grown enough since the last collection.
    pub(crate) fn new_externref(&mut self, value: Payload) -> Result<(u32, u32)> {
        if self.externrefs.wants_collection() {
            self.gc();
        }
        self.externrefs.alloc(value)
    }

    /// Moves a new array into the heap; its word for wasm, from now on
    /// exposed to it.
    ///
    /// # Errors
    ///
    /// When the heap has no free slot and cannot grow.
    pub(crate) fn new_gc_array(&mut self, array: GcArray) -> Result<usize> {
        let cells = array.elems.len();
        let (index, _) = self.new_externref(Box::new(array))?;
        self.externrefs.array_cells += cells;
        self.externrefs.expose(index);
        Ok(index as usize + 1)
    }

    /// Moves an exception `throw` made into the heap; its `exnref` word,
    /// exposed to wasm and rooted by nothing (the throwing code holds it).
    ///
    /// # Panics
    ///
    /// When the heap has no free slot left (four billion live values).
    pub(crate) fn new_exception(&mut self, exn: crate::exception::ExnObject) -> usize {
        if self.externrefs.wants_collection() {
            self.gc();
        }
        let index = self
            .externrefs
            .alloc_exposed(Box::new(exn))
            .expect("the store's reference heap is full");
        index as usize + 1
    }

    /// The exception of `exnref` word `exn`.
    ///
    /// # Panics
    ///
    /// When `exn` is not the word of a live exception (compiled code only
    /// hands over such words).
    pub(crate) fn exception(&self, exn: usize) -> &crate::exception::ExnObject {
        exn.checked_sub(1)
            .and_then(|i| self.externrefs.slots.get(i))
            .and_then(|s| s.value.as_ref())
            .and_then(|v| v.downcast_ref::<crate::exception::ExnObject>())
            .expect("an exnref word names a live exception")
    }

    /// Makes sure the store's arrays may grow by `cells` elements,
    /// collecting first when they would exceed [`MAX_ARRAY_CELLS`].
    ///
    /// # Errors
    ///
    /// When the live arrays leave no room for `cells` more elements.
    pub(crate) fn reserve_array_cells(&mut self, cells: usize) -> Result<()> {
        let fits = |heap: &ExternHeap| {
            heap.array_cells
                .checked_add(cells)
                .is_some_and(|n| n <= MAX_ARRAY_CELLS)
        };
        if !fits(&self.externrefs) {
            self.gc();
        }
        if !fits(&self.externrefs) {
            bail!(
                "allocation size too large: {cells} more array elements would exceed \
                 the store's limit of {MAX_ARRAY_CELLS} (live arrays hold {})",
                self.externrefs.array_cells
            );
        }
        Ok(())
    }

    /// The concrete heap type of the GC value in a slot, or `None` when the
    /// handle's value was collected.
    pub(crate) fn gc_heap_type(&self, index: u32, generation: u32) -> Option<HeapType> {
        let value = self.externrefs.get(index, generation)?;
        Some(match value.downcast_ref::<GcArray>() {
            Some(a) => HeapType::ConcreteArray(crate::TypeIndex::from_canonical(a.type_id)),
            None => HeapType::Any,
        })
    }

    /// Whether `r` is a value of type `ty` (see [`crate::Ref::matches_ty`]).
    ///
    /// # Errors
    ///
    /// When `r` belongs to another store or its value was collected.
    pub(crate) fn ref_matches(&self, r: &crate::Ref, ty: &crate::RefType) -> Result<bool> {
        use crate::Ref;
        let want = ty.to_wasm();
        let family = |h: HeapType| h.to_wasm().family();
        let actual = match r {
            Ref::Func(None) | Ref::Extern(None) | Ref::Any(None) | Ref::Exn(None) => {
                return Ok(want.nullable && family(r.heap_type()) == want.family());
            }
            Ref::Func(Some(f)) => {
                if f.store != self.id {
                    bail!("cross-store value: the funcref belongs to another store");
                }
                // SAFETY: the funcref of a live function of this store.
                let id = unsafe { (*self.funcs[f.index].func_ref).type_id };
                WasmHeapType::ConcreteFunc(CanonicalTypeId::from_u32(id))
            }
            Ref::Extern(Some(e)) => {
                if e.store != self.id {
                    bail!("cross-store value: the externref belongs to another store");
                }
                if !self.externrefs.is_live(e.index, e.generation) {
                    return Err(crate::values::collected());
                }
                WasmHeapType::Extern
            }
            Ref::Exn(Some(e)) => {
                if e.store != self.id {
                    bail!("cross-store value: the exnref belongs to another store");
                }
                if !self.externrefs.is_live(e.index, e.generation) {
                    bail!("exnref was collected");
                }
                WasmHeapType::Exn
            }
            Ref::Any(Some(a)) => {
                if a.store != self.id {
                    bail!("cross-store value: the anyref belongs to another store");
                }
                match self.gc_heap_type(a.index, a.generation) {
                    Some(h) => h.to_wasm(),
                    None => bail!("anyref was collected"),
                }
            }
        };
        let actual = WasmRefType {
            nullable: false,
            heap: actual,
        };
        Ok(self.engine.ref_subtype(actual, want))
    }

    /// Collects the externref heap: see [`crate::Store::gc`].
    pub(crate) fn gc(&mut self) {
        let heap = &self.externrefs;
        let mut marks = Marks {
            reached: vec![false; heap.slots.len()],
            pending: Vec::new(),
        };
        let mut mark = |word: usize| marks.word(word);
        let full = self.wasm_activations == 0;
        // How many words the roots took to read: the next collection waits
        // for as many allocations, so that large tables or deep stacks
        // cost a bounded amount per allocation.
        let mut root_words = 0;
        for table in self.tables.values() {
            if let Some(words) = table.heap_words() {
                root_words += words.len();
                words.iter().copied().for_each(&mut mark);
            }
        }
        for global in self.globals.values() {
            if let Some(word) = global.heap_word() {
                mark(word);
            }
        }
        for instance in self.instances.values() {
            let segments = &instance.info().elements;
            for (seg, words) in instance.elements.iter() {
                if let (false, Some(words)) = (segments[seg].element.is_func(), words) {
                    root_words += words.len();
                    words.iter().copied().for_each(&mut mark);
                }
            }
        }
        // While wasm runs, its frames hold what they hold: every word on
        // the stack down from the outermost entry into wasm that names an
        // exposed slot (only those were ever handed to wasm) counts (see
        // `vm::stack_scan`). Where the stack cannot be scanned, every
        // exposed value is kept instead.
        let mut keep_exposed = false;
        if !full {
            let mut on_stack = |word: usize| {
                root_words += 1;
                let slot = word.checked_sub(1).and_then(|i| heap.slots.get(i));
                if slot.is_some_and(|s| s.exposed.get()) {
                    mark(word);
                }
            };
            // SAFETY: `wasm_stack_top` is a local of the frame of the
            // store's outermost call into wasm, live since wasm of the
            // store is on this thread's stack (a store is used by one
            // thread at a time, and wasm runs on the calling thread).
            keep_exposed = !unsafe { stack_scan::scan(self.wasm_stack_top, &mut on_stack) };
        }
        marks.trace(heap);
        // What wasm can reach now; recomputed only when no wasm runs.
        let reachable_from_wasm = full.then(|| marks.reached.clone());
        for (i, slot) in heap.slots.iter().enumerate() {
            if slot.value.is_some()
                && (slot.root_depth != NOT_ROOTED || (keep_exposed && slot.exposed.get()))
            {
                marks.word(i + 1);
            }
        }
        marks.trace(heap);
        let reached = marks.reached;
        self.externrefs.sweep(root_words, |i, s| {
            if let Some(exposed) = &reachable_from_wasm {
                s.exposed.set(exposed[i as usize]);
            }
            reached[i as usize]
        });
    }
}

/// The marking state of a collection: which slots are reached, and the
/// reached ones whose contents are still to be traced.
struct Marks {
    reached: Vec<bool>,
    pending: Vec<u32>,
}

impl Marks {
    /// Marks the value of heap word `word` (0 is null) reached.
    fn word(&mut self, word: usize) {
        if word != 0
            && let Some(r) = self.reached.get_mut(word - 1)
            && !*r
        {
            *r = true;
            self.pending.push((word - 1) as u32);
        }
    }

    /// Marks everything the pending arrays and exceptions hold,
    /// transitively.
    fn trace(&mut self, heap: &ExternHeap) {
        while let Some(i) = self.pending.pop() {
            let Some(value) = heap.slots[i as usize].value.as_ref() else {
                continue;
            };
            if let Some(array) = value.downcast_ref::<GcArray>().filter(|a| a.traced) {
                for &e in &array.elems {
                    self.word(e as usize);
                }
            } else if let Some(exn) = value.downcast_ref::<crate::exception::ExnObject>() {
                for word in exn.heap_words() {
                    self.word(word);
                }
            }
        }
    }
}

/// A scope for the externrefs the host obtains: every [`crate::ExternRef`]
/// made or read (from [`crate::ExternRef::new`], [`crate::Func::call`]
/// results, [`crate::Table::get`], [`crate::Global::get`], host function
/// arguments) while the scope is open roots its value until the scope is
/// dropped; afterwards a collection may free the value unless a table, a
/// global, an element segment, running wasm or another open scope still
/// holds it.
///
/// Scopes nest, last in first out. Without one, handles the host obtains
/// root their values until the store is dropped; every host function call
/// from wasm runs in a scope of its own, closed when it returns. A scope
/// that is leaked (with `std::mem::forget`) keeps what it rooted until an
/// enclosing scope ends or the store is dropped.
///
/// A handle outlives its scope: it stays usable as long as its value is
/// held otherwise (by a table, say), and gives errors once a collection
/// freed the value.
///
/// A `RootScope` can be used wherever a store can.
///
/// ```
/// use trestle::{Engine, ExternRef, RootScope, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let r = {
///     let mut scope = RootScope::new(&mut store);
///     let r = ExternRef::new(&mut scope, String::from("temporary"))?;
///     assert_eq!(r.data(&scope)?.unwrap().downcast_ref::<String>().unwrap(), "temporary");
///     r
/// };
/// // Nothing holds the value any more: a collection frees it.
/// assert_eq!(store.__externref_live(), 1);
/// store.gc();
/// assert_eq!(store.__externref_live(), 0);
/// assert!(r.data(&store).is_err());
/// # Ok::<(), trestle::Error>(())
/// ```
pub struct RootScope<C: AsContextMut> {
    store: C,
    mark: ScopeMark,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope on `store`.
    pub fn new(mut store: C) -> Self {
        let mark = store.as_context_mut().0.opaque.externrefs.enter_scope();
        Self { store, mark }
    }
}

impl<C: AsContextMut> RootScope<C> {
    /// Collects the store's heap, like [`crate::Store::gc`]: what this and
    /// the enclosing scopes root is kept.
    pub fn gc(&mut self) {
        self.store.as_context_mut().0.opaque.gc();
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        let mark = self.mark;
        self.store
            .as_context_mut()
            .0
            .opaque
            .externrefs
            .exit_scope(mark);
    }
}

impl<C: AsContextMut> std::fmt::Debug for RootScope<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootScope")
            .field("depth", &(self.mark.depth + 1))
            .finish_non_exhaustive()
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}

impl<'a, C: AsContextMut> From<&'a RootScope<C>> for StoreContext<'a, C::Data> {
    fn from(s: &'a RootScope<C>) -> Self {
        s.store.as_context()
    }
}

impl<'a, C: AsContextMut> From<&'a mut RootScope<C>> for StoreContext<'a, C::Data> {
    fn from(s: &'a mut RootScope<C>) -> Self {
        s.store.as_context()
    }
}

impl<'a, C: AsContextMut> From<&'a mut RootScope<C>> for StoreContextMut<'a, C::Data> {
    fn from(s: &'a mut RootScope<C>) -> Self {
        s.store.as_context_mut()
    }
}
