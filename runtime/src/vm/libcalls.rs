//! Libcalls: the runtime functions compiled code calls through the builtins
//! array of the vmctx, and the table and memory operations they share with
//! the host API.
//!
//! The array is built from [`trestle_vmctx::foreach_libcall!`], the same list
//! the compiler builds its signatures from; each entry is coerced to the
//! function-pointer type its declared kinds imply, so a body whose signature
//! drifts from the list does not compile.
//!
//! A libcall that traps calls [`traphandlers::raise_trap`] as its last action, with nothing
//! left to drop.

use crate::instance::{MAX_STORE_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS};
use crate::store::{StoreOpaque, TableElements};
use crate::vm::traphandlers;
use trestle_vmctx::{Trap, VMContext, VMFuncRef, VMOffsets, VMTableEntry};

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

macro_rules! builtins_array {
    ($( $(#[$attr:meta])* $name:ident( $($pname:ident: $pkind:ident),* ) $(-> $result:ident)?; )*) => {
        static BUILTINS: Builtins = Builtins([$({
            let f: unsafe extern "C" fn($(kind_type!($pkind)),*) $(-> kind_type!($result))? = $name;
            f as *const ()
        },)*]);
    };
}
trestle_vmctx::foreach_libcall!(builtins_array);

/// The address of the builtins array, for the vmctx header.
pub(crate) fn builtins() -> *const () {
    BUILTINS.0.as_ptr().cast()
}

/// The store and instance index of a vmctx.
///
/// # Safety
///
/// `vmctx` must be the vmctx of a live instance, and no other reference to
/// its store may be used while the returned one is.
unsafe fn context<'a>(vmctx: *mut VMContext) -> (&'a mut StoreOpaque, u32) {
    // SAFETY: header fields written at instantiation, per the contract.
    unsafe {
        let base = vmctx.cast::<u8>();
        let store = *base
            .add(VMOffsets::VMCTX_STORE as usize)
            .cast::<*mut StoreOpaque>();
        let inst = *base.add(VMOffsets::VMCTX_INSTANCE as usize).cast::<usize>();
        (&mut *store, inst as u32)
    }
}

fn trap_on<T>(r: Result<T, Trap>) -> T {
    match r {
        Ok(v) => v,
        Err(t) => traphandlers::raise_trap(t),
    }
}

// ---- Memory --------------------------------------------------------------

impl StoreOpaque {
    /// Grows memory `mem` (a store index) by `delta` pages; the old size in
    /// pages, or `None` when refused.
    pub(crate) fn memory_grow(&mut self, mem: u32, delta: u64) -> Option<u64> {
        let md = &self.memories[mem as usize];
        let current = md.memory.byte_size();
        let page = crate::vm::memory::WASM_PAGE_SIZE;
        let max = md
            .memory
            .maximum_pages()
            .map(|m| m.saturating_mul(page) as usize);
        if delta > 0 {
            let desired = delta
                .checked_mul(page)
                .and_then(|d| d.checked_add(current as u64))
                .unwrap_or(u64::MAX);
            if !self.memory_growing(current, desired.min(usize::MAX as u64) as usize, max) {
                return None;
            }
        }
        let md = &mut self.memories[mem as usize];
        let Some(old) = md.memory.grow(delta) else {
            self.memory_grow_failed(anyhow::anyhow!(
                "failed to grow memory of {current} bytes by {delta} pages"
            ));
            return None;
        };
        // SAFETY: the definition of a live memory of this store.
        unsafe { md.def.write(md.memory.vmmemory()) };
        Some(old)
    }

    fn memory_slice(&mut self, mem: u32) -> &mut [u8] {
        let m = &self.memories[mem as usize].memory;
        // SAFETY: the accessible part of a live memory.
        unsafe { std::slice::from_raw_parts_mut(m.base(), m.byte_size()) }
    }
}

fn range(start: u64, len: u64, size: u64) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size).then_some(start as usize..end as usize)
}

pub(crate) fn memory_init_impl(
    store: &mut StoreOpaque,
    inst: u32,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> Result<(), Trap> {
    let module = store.instances[inst as usize].module.clone();
    let bytes: &[u8] = if store.instances[inst as usize].dropped_data[data as usize] {
        &[]
    } else {
        &module.info().data[data as usize].data
    };
    let src =
        range(u64::from(src), u64::from(len), bytes.len() as u64).ok_or(Trap::MemoryOutOfBounds)?;
    let memory = store.memory_slice(mem);
    let dst = range(dst, u64::from(len), memory.len() as u64).ok_or(Trap::MemoryOutOfBounds)?;
    memory[dst].copy_from_slice(&bytes[src]);
    Ok(())
}

unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let mem = store.instances[inst as usize].memories[memory as usize];
    store.memory_grow(mem, delta).unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, memory: u32, dst: u64, val: u32, len: u64) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let mem = store.instances[inst as usize].memories[memory as usize];
    let slice = store.memory_slice(mem);
    let r = range(dst, len, slice.len() as u64)
        .map(|r| slice[r].fill(val as u8))
        .ok_or(Trap::MemoryOutOfBounds);
    trap_on(r)
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    dst: u64,
    src_mem: u32,
    src: u64,
    len: u64,
) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let data = &store.instances[inst as usize];
    let (dm, sm) = (
        data.memories[dst_mem as usize],
        data.memories[src_mem as usize],
    );
    let r = (|| {
        let src_len = store.memories[sm as usize].memory.byte_size() as u64;
        let dst_len = store.memories[dm as usize].memory.byte_size() as u64;
        let s = range(src, len, src_len).ok_or(Trap::MemoryOutOfBounds)?;
        let d = range(dst, len, dst_len).ok_or(Trap::MemoryOutOfBounds)?;
        let sbase = store.memories[sm as usize].memory.base();
        let dbase = store.memories[dm as usize].memory.base();
        // SAFETY: both ranges were checked against their memories; `copy`
        // allows overlap.
        unsafe { std::ptr::copy(sbase.add(s.start), dbase.add(d.start), s.len()) };
        Ok(())
    })();
    trap_on(r)
}

unsafe extern "C" fn memory_init(
    vmctx: *mut VMContext,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let mem = store.instances[inst as usize].memories[memory as usize];
    trap_on(memory_init_impl(store, inst, mem, data, dst, src, len))
}

unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    store.instances[inst as usize].dropped_data[data as usize] = true;
}

// ---- Tables --------------------------------------------------------------

/// Converts a raw funcref word to a table entry.
fn func_entry(raw: usize) -> VMTableEntry {
    // SAFETY: raw funcref words are null or point at live funcrefs of the
    // store whose table receives them.
    unsafe { VMTableEntry::from_func_ref(raw as *const VMFuncRef) }
}

impl StoreOpaque {
    /// The raw word at `index` of table `t` (a store index).
    pub(crate) fn table_get(&mut self, t: u32, index: u64) -> Result<usize, Trap> {
        let table = &self.tables[t as usize];
        if let Some(words) = table.externs() {
            return usize::try_from(index)
                .ok()
                .and_then(|i| words.get(i).copied())
                .ok_or(Trap::TableOutOfBounds);
        }
        self.table_materialize(t, index)
            .ok_or(Trap::TableOutOfBounds)
    }

    /// The funcref word of element `index` of funcref table `t`, the
    /// element written first from the table's element segments if lazy
    /// initialization has not reached it yet; `None` when out of bounds.
    pub(crate) fn table_materialize(&mut self, t: u32, index: u64) -> Option<usize> {
        let table = &self.tables[t as usize];
        if index >= table.len() {
            return None;
        }
        let TableElements::Func(buf) = &table.elements else {
            return None;
        };
        let capacity = table.capacity() as usize;
        // SAFETY: `index` is below the length, so both words are inside the
        // `2 * capacity` words of the storage.
        let (code, func_ref) = unsafe {
            let code = buf.as_mut_ptr().add(index as usize);
            (code, code.add(capacity))
        };
        // SAFETY: as above; the words are plain data.
        let (c, r) = unsafe { (*code, *func_ref) };
        if c != 0 || r != 0 {
            return Some(r);
        }
        use crate::instance::LazyItem;
        let item = match &table.lazy {
            Some(lazy) => lazy.item(index),
            None => LazyItem::Raw(0),
        };
        let raw = match item {
            LazyItem::Raw(raw) => raw,
            LazyItem::Expression {
                instance,
                segment,
                k,
            } => crate::instance::segment_item(self, instance, segment, k),
        };
        let e = func_entry(raw);
        // SAFETY: as above; nothing else refers to the words while the store
        // is borrowed here, and evaluating the item did not touch the
        // table's storage.
        unsafe {
            code.write(e.wasm_call.expose_provenance());
            func_ref.write(raw);
        }
        Some(raw)
    }

    /// Writes every lazily initialized entry of table `t` in the chunks
    /// that overlap `range`.
    fn table_materialize_range(&mut self, t: u32, range: std::ops::Range<usize>) {
        use crate::instance::LAZY_CHUNK;
        let Some(lazy) = &self.tables[t as usize].lazy else {
            return;
        };
        if range.is_empty() {
            return;
        }
        let len = self.tables[t as usize].len() as usize;
        let chunks: Vec<usize> = (range.start / LAZY_CHUNK..=(range.end - 1) / LAZY_CHUNK)
            .filter(|c| lazy.chunk_pending(*c))
            .collect();
        for c in chunks {
            let end = ((c + 1) * LAZY_CHUNK).min(len);
            for i in c * LAZY_CHUNK..end {
                self.table_materialize(t, i as u64);
            }
            if let Some(lazy) = &mut self.tables[t as usize].lazy {
                lazy.chunk_done(c);
            }
        }
    }

    /// Writes the raw word `raw` at `index` of table `t`.
    pub(crate) fn table_set(&mut self, t: u32, index: u64, raw: usize) -> Result<(), Trap> {
        let table = &mut self.tables[t as usize];
        if index >= table.len() {
            return Err(Trap::TableOutOfBounds);
        }
        let i = index as usize;
        match table.funcs() {
            Some(mut v) => v.set(i, func_entry(raw)),
            None => table.externs_mut().expect("an externref table")[i] = raw,
        }
        Ok(())
    }

    /// Grows table `t` by `delta` elements set to `raw`; the old size, or
    /// `None` when refused (past the maximum or the limit, by the limiter,
    /// or on allocation failure).
    ///
    /// The storage grows by doubling (within the table's maximum and the
    /// store's budget, which counts capacity), so compiled code can do most
    /// growth in place without calling here.
    pub(crate) fn table_grow(&mut self, t: u32, delta: u64, raw: usize) -> Option<u64> {
        let table = &self.tables[t as usize];
        let old = table.len();
        if delta == 0 {
            return Some(old);
        }
        let new = old.saturating_add(delta);
        let declared = table.ty.maximum.map(|m| m.min(usize::MAX as u64) as usize);
        let max = table.ty.maximum.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS);
        if !self.table_growing(old as usize, new.min(usize::MAX as u64) as usize, declared) {
            return None;
        }
        let cap = self.tables[t as usize].capacity();
        let budget = MAX_STORE_TABLE_ELEMENTS.saturating_sub(self.table_elements);
        if new > max || new.saturating_sub(cap) > budget {
            self.table_grow_failed(anyhow::anyhow!(
                "table of {old} elements cannot grow by {delta}: the maximum is {max}"
            ));
            return None;
        }
        if new > cap {
            let roomy = new.max(cap.saturating_mul(2)).min(max).min(cap + budget);
            let table = &mut self.tables[t as usize];
            let grown = table.grow_capacity(roomy) || table.grow_capacity(new);
            if !grown {
                self.table_grow_failed(anyhow::anyhow!("out of memory growing a table by {delta}"));
                return None;
            }
            self.table_elements += self.tables[t as usize].capacity() - cap;
        }
        let limited = self.limited;
        let table = &mut self.tables[t as usize];
        table.set_len(new);
        let fresh = old as usize..new as usize;
        match table.funcs() {
            Some(mut v) => v.fill(fresh, func_entry(raw)),
            None => {
                let words = &mut table.externs_mut().expect("an externref table")[fresh];
                // SAFETY: the slice is valid for writes of its length.
                unsafe { crate::vm::table_buf::fill_raw(words.as_mut_ptr(), words.len(), raw) }
            }
        }
        table.sync_def(limited);
        Some(old)
    }

    /// Sets `len` elements of table `t` from `dst` to `raw`.
    pub(crate) fn table_fill(
        &mut self,
        t: u32,
        dst: u64,
        raw: usize,
        len: u64,
    ) -> Result<(), Trap> {
        let table = &mut self.tables[t as usize];
        let r = range(dst, len, table.len()).ok_or(Trap::TableOutOfBounds)?;
        match table.funcs() {
            Some(mut v) => v.fill(r, func_entry(raw)),
            None => {
                let words = &mut table.externs_mut().expect("an externref table")[r];
                // SAFETY: the slice is valid for writes of its length.
                unsafe { crate::vm::table_buf::fill_raw(words.as_mut_ptr(), words.len(), raw) }
            }
        }
        Ok(())
    }

    /// Copies `len` elements from table `src_t` at `src` to table `dst_t` at
    /// `dst`; the ranges may overlap.
    pub(crate) fn table_copy(
        &mut self,
        dst_t: u32,
        dst: u64,
        src_t: u32,
        src: u64,
        len: u64,
    ) -> Result<(), Trap> {
        let s = range(src, len, self.tables[src_t as usize].len()).ok_or(Trap::TableOutOfBounds)?;
        let d = range(dst, len, self.tables[dst_t as usize].len()).ok_or(Trap::TableOutOfBounds)?;
        // Entries not yet initialized cannot be copied as they are: their
        // contents depend on the table they are in.
        self.table_materialize_range(src_t, s.clone());
        if src_t == dst_t {
            let table = &mut self.tables[dst_t as usize];
            match table.funcs() {
                Some(mut v) => v.copy_within(s, d.start),
                None => table
                    .externs_mut()
                    .expect("an externref table")
                    .copy_within(s, d.start),
            }
            return Ok(());
        }
        let (a, b) = if src_t < dst_t {
            let (lo, hi) = self.tables.split_at_mut(dst_t as usize);
            (&mut lo[src_t as usize], &mut hi[0])
        } else {
            let (lo, hi) = self.tables.split_at_mut(src_t as usize);
            (&mut hi[0], &mut lo[dst_t as usize])
        };
        if let (Some(sv), Some(dv)) = (a.funcs(), b.funcs()) {
            dv.codes[d.clone()].copy_from_slice(&sv.codes[s.clone()]);
            dv.refs[d].copy_from_slice(&sv.refs[s]);
        } else if let (Some(sv), Some(dv)) = (a.externs(), b.externs_mut()) {
            dv[d].copy_from_slice(&sv[s]);
        } else {
            unreachable!("validated: table.copy between tables of one element type");
        }
        Ok(())
    }
}

pub(crate) fn table_init_impl(
    store: &mut StoreOpaque,
    inst: u32,
    t: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> Result<(), Trap> {
    let data = &store.instances[inst as usize];
    let words: &[usize] = data.elements[elem as usize].as_deref().unwrap_or(&[]);
    let s =
        range(u64::from(src), u64::from(len), words.len() as u64).ok_or(Trap::TableOutOfBounds)?;
    let words: Vec<usize> = words[s].to_vec();
    let table = &mut store.tables[t as usize];
    let d = range(dst, u64::from(len), table.len()).ok_or(Trap::TableOutOfBounds)?;
    match table.funcs() {
        Some(mut v) => {
            for (i, w) in d.zip(words) {
                v.set(i, func_entry(w));
            }
        }
        None => table.externs_mut().expect("an externref table")[d].copy_from_slice(&words),
    }
    Ok(())
}

unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u64, init: usize) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst as usize].tables[table as usize];
    store.table_grow(t, delta, init).unwrap_or(u64::MAX)
}

unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u64, val: usize, len: u64) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst as usize].tables[table as usize];
    trap_on(store.table_fill(t, dst, val, len))
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_table: u32,
    dst: u64,
    src_table: u32,
    src: u64,
    len: u64,
) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let data = &store.instances[inst as usize];
    let (dt, st) = (
        data.tables[dst_table as usize],
        data.tables[src_table as usize],
    );
    trap_on(store.table_copy(dt, dst, st, src, len))
}

unsafe extern "C" fn table_init(
    vmctx: *mut VMContext,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst as usize].tables[table as usize];
    trap_on(table_init_impl(store, inst, t, elem, dst, src, len))
}

unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    store.instances[inst as usize].elements[elem as usize] = None;
}

unsafe extern "C" fn table_lazy_init(vmctx: *mut VMContext, table: u32, index: u64) -> usize {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, inst) = unsafe { context(vmctx) };
    let t = store.instances[inst as usize].tables[table as usize];
    if store.table_materialize(t, index).is_none() {
        traphandlers::raise_trap(Trap::UndefinedElement);
    }
    match &store.tables[t as usize].elements {
        // SAFETY: `index` is in bounds (materialized above), so the code
        // word is inside the storage.
        TableElements::Func(buf) => unsafe { buf.as_mut_ptr().add(index as usize) as usize },
        TableElements::Extern(_) => {
            unreachable!("validated: lazy initialization of a funcref table")
        }
    }
}

/// Whether the type with canonical id `actual` is `expected` or declares it
/// as a (transitive) supertype: the slow path of `call_indirect` against a
/// type that is not final.
unsafe extern "C" fn is_subtype(vmctx: *mut VMContext, actual: u32, expected: u32) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let (store, _) = unsafe { context(vmctx) };
    u32::from(store.engine.is_subtype_id(actual, expected))
}
