//! [`TableBuf`]: the zero-initialized, growable storage behind a table's
//! elements.
//!
//! A table's length lives in its `VMTableDefinition` (compiled code grows
//! tables in place up to the capacity), so this buffer only knows its
//! capacity. Every byte past what was written is zero, which for funcref
//! tables means "not yet initialized": a new table is a zeroed allocation,
//! and a large one comes straight from `mmap`, whose fresh pages cost
//! nothing until they are touched (the zeroing moves to the first touch of
//! each page, and most pages of a large lazily initialized table are never
//! touched). Everything else comes from the global allocator: small
//! buffers, whose recycled memory is cheaper to clear than a system call,
//! and buffers that are written in full right away (eagerly initialized and
//! grown tables), for which fresh pages would only add page faults.
//!
//! Mapping and unmapping a large table at every instantiation would cost
//! two system calls and the kernel's bookkeeping each time, so the engine
//! keeps a small [`TablePool`] of mappings whose tables were dropped, zeroed
//! on the way in. When every word written since the mapping was zeroed is
//! known (the runtime wrote them all, in a few ranges: lazy initialization,
//! the bulk operations, the host API; compiled code's inline stores are
//! not seen, so a table they may reach is marked with
//! [`TableBuf::note_code_writes`]), only those words are cleared and the
//! mapping stays resident: the next table takes no page fault, whatever
//! its size. Otherwise a small mapping, or one its table wrote densely, is
//! cleared in place and stays resident; any other has its pages discarded
//! in one `madvise`, whose cost is in proportion to the pages the table
//! touched, not to its size (see [`TableBuf::note_written`]). The zeroing
//! happens when a store drops its tables, not when an instance is created
//! or first touches its table.
//!
//! A mapping of at least [`HUGE_PAGE`] bytes is aligned to it, and once the
//! runtime has written it densely (a large table that calls reach all over)
//! its pages are collapsed into huge pages: a random slot of a table of a
//! million entries then costs a cache miss but no TLB miss (measured in
//! docs/benchmarks.md, "Large tables"). A sparsely written table keeps its
//! small pages, whose first touch costs a 4 KiB fault, not a 2 MiB one.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ops::Range;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};

/// Buffers of at least this many bytes are mapped directly.
const MMAP_THRESHOLD: usize = 64 * 1024;

/// A pooled mapping of which the runtime wrote at least one element in
/// this many is zeroed in place when dropped (see
/// [`TableBuf::note_written`]); at one in 64, writes spread over a mapping
/// touch most of its pages.
const DENSE_WRITES: usize = 64;

/// A pooled mapping of at most this many bytes is zeroed in place when
/// dropped, however little was written: clearing it costs less than the
/// page faults its next table would take after a discard (measured in
/// docs/benchmarks.md, "Large tables").
const CLEAR_IN_PLACE_BYTES: usize = 256 * 1024;

/// Alignment of every buffer, enough for any element type.
const ALIGN: usize = 16;

/// The size of a transparent huge page (x86-64 and the 4 KiB-page arm64
/// configuration): mappings at least this large are aligned to it, so that
/// [`collapse_to_huge_pages`] can back them with huge pages.
const HUGE_PAGE: usize = 2 << 20;

/// The most separate ranges of written elements a buffer keeps track of;
/// past them it is cleared as if anything could have been written.
const MAX_WRITTEN_RANGES: usize = 64;

/// The elements of a buffer that may be non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    /// Only these ranges of element indices (of each lane, see
    /// [`TableBuf::set_lanes`]), all written by the runtime.
    Ranges(Vec<Range<usize>>),
    /// Any element.
    Anywhere,
}

impl Written {
    /// Adds `words`, merged with one of the last two ranges when they
    /// touch (the two arrays of a funcref table are written in turn).
    fn add(&mut self, words: Range<usize>) {
        let Written::Ranges(ranges) = self else {
            return;
        };
        if words.is_empty() {
            return;
        }
        let recent = ranges.len().saturating_sub(2);
        if let Some(near) = ranges[recent..]
            .iter_mut()
            .rev()
            .find(|r| words.start <= r.end && r.start <= words.end)
        {
            near.start = near.start.min(words.start);
            near.end = near.end.max(words.end);
            return;
        }
        if ranges.len() == MAX_WRITTEN_RANGES {
            *self = Written::Anywhere;
        } else {
            ranges.push(words);
        }
    }
}

/// Element types whose all-zero bit pattern is a valid value.
///
/// # Safety
///
/// Implementors must be `Copy` types for which zeroed memory is a valid
/// value, with an alignment of at most [`ALIGN`].
pub(crate) unsafe trait Zeroable: Copy {}

// SAFETY: any bit pattern is a `usize`.
unsafe impl Zeroable for usize {}

/// Zeroed storage for up to `capacity` elements of `T`.
pub(crate) struct TableBuf<T: Zeroable> {
    ptr: NonNull<T>,
    capacity: usize,
    mapped: bool,
    /// Where a mapping goes when the buffer is dropped.
    pool: Option<Arc<TablePool>>,
    /// Elements the runtime wrote so far (compiled code writes more that
    /// nothing counts): how a mapping is zeroed when it goes back to the
    /// pool, see [`TableBuf::note_written`].
    writes: usize,
    /// Which elements may be non-zero, when that is known: ranges of one
    /// lane, each written in every lane.
    written: Written,
    /// How many arrays of equal length the buffer holds side by side (a
    /// funcref table's code words and funcref words): a range noted as
    /// written is that range of each ([`Self::set_lanes`]).
    lanes: usize,
    /// Whether the mapping was already offered to the kernel for huge
    /// pages ([`collapse_to_huge_pages`]), which happens at most once.
    collapsed: bool,
    /// Whether the mapping is one [`Self::filled`] wrote in full, which
    /// goes back to the pool as it is, for another filled buffer.
    refilled: bool,
    /// Whether the contents are still what they were when
    /// [`Self::seal`] was called.
    seal: Seal,
    _marker: PhantomData<T>,
}

/// Whether a buffer's contents changed since a point in time
/// ([`TableBuf::seal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seal {
    /// Not sealed yet: writes are expected.
    Open,
    /// Sealed, and nothing was written since.
    Sealed,
    /// Written after it was sealed, or reachable by compiled code's
    /// unseen stores: never sealed again.
    Broken,
}

// SAFETY: the buffer owns its allocation exclusively, like a `Vec<T>`, and
// its elements (table entries, externref words) are plain data.
unsafe impl<T: Zeroable> Send for TableBuf<T> {}

impl<T: Zeroable> TableBuf<T> {
    /// An empty buffer: no allocation.
    pub(crate) fn new() -> Self {
        Self {
            ptr: NonNull::dangling(),
            capacity: 0,
            mapped: false,
            pool: None,
            writes: 0,
            written: Written::Ranges(Vec::new()),
            lanes: 1,
            collapsed: false,
            refilled: false,
            seal: Seal::Open,
            _marker: PhantomData,
        }
    }

    /// Room for `capacity` elements, all zero; `None` when the memory
    /// cannot be had. A large buffer is a mapping, taken from `pool` when it
    /// has one of this size and given back to it on drop.
    pub(crate) fn zeroed(capacity: usize, pool: &Arc<TablePool>) -> Option<Self> {
        if capacity == 0 || size_of::<T>() == 0 {
            return Some(Self::new());
        }
        let bytes = capacity.checked_mul(size_of::<T>())?;
        let (ptr, mapped) = match pool.take(bytes) {
            Some(p) => (p, true),
            None => allocate_zeroed(bytes)?,
        };
        Some(Self {
            ptr: ptr.cast(),
            capacity,
            mapped,
            pool: mapped.then(|| pool.clone()),
            writes: 0,
            written: Written::Ranges(Vec::new()),
            lanes: 1,
            collapsed: false,
            refilled: false,
            seal: Seal::Open,
            _marker: PhantomData,
        })
    }

    /// Room for `capacity` elements, all zero, from the global allocator
    /// whatever the size: for storage that is written in full right away.
    pub(crate) fn heap_zeroed(capacity: usize) -> Option<Self> {
        if capacity == 0 || size_of::<T>() == 0 {
            return Some(Self::new());
        }
        let ptr = heap_zeroed(capacity.checked_mul(size_of::<T>())?)?;
        Some(Self {
            ptr: ptr.cast(),
            capacity,
            mapped: false,
            pool: None,
            writes: 0,
            written: Written::Ranges(Vec::new()),
            lanes: 1,
            collapsed: false,
            refilled: false,
            seal: Seal::Open,
            _marker: PhantomData,
        })
    }

    /// Room for `capacity` elements, all set to `value`; `None` when the
    /// memory cannot be had. Every element is written here, so a large
    /// buffer is any mapping of its size `pool` keeps, zeroed or not (the
    /// mapping of an earlier filled buffer, whose pages are in memory: no
    /// page faults), and goes back to the pool without being zeroed when
    /// dropped. A fresh mapping of huge-page size asks for huge pages
    /// before it is filled. Small buffers come from the global allocator.
    pub(crate) fn filled(capacity: usize, value: T, pool: &Arc<TablePool>) -> Option<Self> {
        if capacity == 0 || size_of::<T>() == 0 {
            return Some(Self::new());
        }
        let bytes = capacity.checked_mul(size_of::<T>())?;
        let (ptr, mapped) = if bytes >= MMAP_THRESHOLD {
            let p = match pool.take_any(bytes) {
                Some(p) => p,
                None => {
                    let p = map_zeroed(bytes)?;
                    if bytes >= HUGE_PAGE {
                        advise_huge_pages(p, bytes);
                    }
                    p
                }
            };
            (p.cast::<T>(), true)
        } else {
            let layout = heap_layout(bytes)?;
            // SAFETY: the layout is non-empty.
            let p = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
            (p.cast::<T>(), false)
        };
        // SAFETY: the storage holds `capacity` elements of `T`.
        unsafe { fill_raw(ptr.as_ptr(), capacity, value) };
        Some(Self {
            ptr,
            capacity,
            mapped,
            pool: mapped.then(|| pool.clone()),
            writes: 0,
            written: Written::Anywhere,
            lanes: 1,
            collapsed: true,
            refilled: mapped,
            seal: Seal::Open,
            _marker: PhantomData,
        })
    }

    /// Records that the runtime is writing the elements `elements`; every
    /// writer of the runtime must say what it writes (compiled code's
    /// inline stores cannot: see [`Self::note_code_writes`]). While the
    /// written elements are a few ranges, a pooled mapping is returned to
    /// the pool by clearing just them. Otherwise the count is a hint: a
    /// pooled mapping the runtime wrote densely (or a small one) is zeroed
    /// in place when it is dropped, keeping its pages for the next table (a
    /// table that touched most of its pages is likely to be followed by one
    /// that does too, and a page fault costs more than clearing the page);
    /// any other mapping has its pages discarded, which costs in proportion
    /// to the pages touched. Either way every byte reads as zero afterwards.
    ///
    /// The first time a mapping of at least [`HUGE_PAGE`] bytes becomes
    /// dense, its pages are collapsed into huge pages (the contents do not
    /// change).
    ///
    /// In a buffer of several lanes ([`Self::set_lanes`]), `elements` are
    /// indices into one lane, written in each.
    #[inline]
    pub(crate) fn note_written(&mut self, elements: Range<usize>) {
        if self.seal == Seal::Sealed {
            self.seal = Seal::Broken;
        }
        self.note_initialized(elements);
    }

    /// As [`Self::note_written`], for lazy initialization writing what the
    /// table's segments say: the buffer stays sealed ([`Self::seal`]).
    #[inline]
    pub(crate) fn note_initialized(&mut self, elements: Range<usize>) {
        self.writes = self
            .writes
            .saturating_add(elements.len().saturating_mul(self.lanes));
        match &mut self.written {
            // The common case of lazy initialization: the next element.
            Written::Ranges(ranges)
                if ranges.last().is_some_and(|last| last.end == elements.start) =>
            {
                if let Some(last) = ranges.last_mut() {
                    last.end = last.end.max(elements.end);
                }
            }
            written => written.add(elements),
        }
        if !self.collapsed && self.mapped && self.writes >= self.capacity / DENSE_WRITES {
            self.collapse_if_huge();
        }
    }

    /// Collapses a mapping of at least [`HUGE_PAGE`] bytes into huge pages,
    /// once.
    #[cold]
    fn collapse_if_huge(&mut self) {
        self.collapsed = true;
        let bytes = self.capacity * size_of::<T>();
        if bytes >= HUGE_PAGE {
            collapse_to_huge_pages(self.ptr.cast(), bytes);
        }
    }

    /// Makes the buffer `lanes` arrays of equal length side by side, for
    /// [`Self::note_written`].
    ///
    /// # Panics
    ///
    /// When the capacity is not a multiple of `lanes`, or something was
    /// noted as written already.
    pub(crate) fn set_lanes(&mut self, lanes: usize) {
        assert!(lanes > 0 && self.capacity.is_multiple_of(lanes));
        assert_eq!(self.written, Written::Ranges(Vec::new()));
        self.lanes = lanes;
    }

    /// Records that compiled code may write any element, unseen: the
    /// buffer is then cleared as a whole when it goes back to the pool.
    pub(crate) fn note_code_writes(&mut self) {
        self.written = Written::Anywhere;
        self.seal = Seal::Broken;
    }

    /// Marks the contents as final: [`Self::is_sealed`] tells from now on
    /// whether anything but lazy initialization wrote since (by the
    /// runtime, see [`Self::note_written`]). A buffer compiled code may
    /// write ([`Self::note_code_writes`]) never counts as sealed.
    pub(crate) fn seal(&mut self) {
        if self.seal == Seal::Open {
            self.seal = Seal::Sealed;
        }
    }

    /// Whether the buffer was sealed and nothing was written since.
    pub(crate) fn is_sealed(&self) -> bool {
        self.seal == Seal::Sealed
    }

    /// Forgets a seal, for a buffer that goes to a new table: that table's
    /// instantiation seals it again once it is done.
    pub(crate) fn unseal(&mut self) {
        if self.seal == Seal::Sealed {
            self.seal = Seal::Open;
        }
    }

    /// How many elements fit.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The start of the storage.
    pub(crate) fn as_mut_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// The first `len` elements.
    ///
    /// # Panics
    ///
    /// When `len` exceeds the capacity.
    pub(crate) fn slice(&self, len: usize) -> &[T] {
        assert!(len <= self.capacity, "table length beyond its capacity");
        // SAFETY: `len` elements of the allocation, all initialized (zero or
        // written), valid for `T` per `Zeroable`, borrowed with `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), len) }
    }

    /// The first `len` elements, mutably.
    ///
    /// # Panics
    ///
    /// When `len` exceeds the capacity.
    pub(crate) fn slice_mut(&mut self, len: usize) -> &mut [T] {
        assert!(len <= self.capacity, "table length beyond its capacity");
        // SAFETY: as in `slice`, borrowed exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), len) }
    }

    /// Grows the capacity to `capacity` elements, keeping the contents; the
    /// new elements are zero. The storage may move. Returns `false`, with
    /// nothing changed, when the memory cannot be had.
    pub(crate) fn grow(&mut self, capacity: usize) -> bool {
        if capacity <= self.capacity {
            return true;
        }
        if self.seal == Seal::Sealed {
            self.seal = Seal::Broken;
        }
        let Some(bytes) = capacity.checked_mul(size_of::<T>()) else {
            return false;
        };
        let old_bytes = self.capacity * size_of::<T>();
        // Grown elements are written right away (growth sets them to its
        // initial value), so fresh zero pages would only add page faults:
        // growth always moves to the global allocator, which recycles.
        let grown = if self.mapped {
            let Some(p) = heap_zeroed(bytes) else {
                return false;
            };
            // SAFETY: both allocations are live, distinct, and at least
            // `old_bytes` long.
            unsafe { ptr::copy_nonoverlapping(self.ptr.as_ptr().cast(), p.as_ptr(), old_bytes) };
            self.release_storage();
            p
        } else {
            match reallocate_zeroed(self.ptr.cast(), old_bytes, bytes) {
                Some(p) => p,
                None => return false,
            }
        };
        self.ptr = grown.cast();
        self.capacity = capacity;
        self.mapped = false;
        true
    }

    /// Frees the storage, or gives a mapping back to its pool.
    fn release_storage(&mut self) {
        if self.capacity == 0 {
            return;
        }
        let bytes = self.capacity * size_of::<T>();
        match self.pool.take() {
            Some(pool) if self.mapped => {
                let zeroing = match &self.written {
                    _ if self.refilled => Zeroing::Kept,
                    Written::Ranges(ranges) => {
                        let lane = self.capacity / self.lanes;
                        for r in ranges {
                            for at in (0..self.lanes).map(|k| k * lane + r.start) {
                                // SAFETY: the range is inside each lane of the
                                // buffer (it was written), which nothing else
                                // refers to.
                                unsafe { ptr::write_bytes(self.ptr.as_ptr().add(at), 0, r.len()) };
                            }
                        }
                        Zeroing::Done
                    }
                    Written::Anywhere
                        if bytes <= CLEAR_IN_PLACE_BYTES
                            || self.writes >= self.capacity / DENSE_WRITES =>
                    {
                        Zeroing::InPlace
                    }
                    Written::Anywhere => Zeroing::Discard,
                };
                pool.give(self.ptr.cast(), bytes, zeroing);
            }
            _ => release(self.ptr.cast(), bytes, self.mapped),
        }
    }
}

impl<T: Zeroable> Drop for TableBuf<T> {
    fn drop(&mut self) {
        self.release_storage();
    }
}

/// How a mapping going back to the pool is zeroed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zeroing {
    /// It already is: only the words known to be written were cleared.
    Done,
    /// Not at all: it is kept for [`TablePool::take_any`] alone.
    Kept,
    /// Its pages in memory are cleared ([`clear_resident`]).
    InPlace,
    /// Its pages are discarded ([`discard`]).
    Discard,
}

/// Mappings of dropped tables, zeroed and kept for the next table of the
/// same size (see the module documentation). Shared by an engine's stores;
/// bounded in count and bytes, the rest is unmapped.
#[derive(Default)]
pub(crate) struct TablePool {
    free: Mutex<Vec<Kept>>,
}

/// A mapping a pool keeps.
struct Kept {
    at: NonNull<u8>,
    bytes: usize,
    /// Whether every byte is zero; otherwise only [`TablePool::take_any`]
    /// hands it out.
    zeroed: bool,
}

// SAFETY: the pool owns the mappings it holds; the pointers are only
// addresses, handed out to one taker at a time under the mutex.
unsafe impl Send for TablePool {}
// SAFETY: as above, every access goes through the mutex.
unsafe impl Sync for TablePool {}

/// The most mappings a pool keeps.
const POOL_MAX_MAPPINGS: usize = 16;
/// The most bytes a pool keeps, all mappings together.
const POOL_MAX_BYTES: usize = 64 << 20;

impl TablePool {
    /// A zeroed mapping of exactly `bytes` bytes, if one is kept.
    fn take(&self, bytes: usize) -> Option<NonNull<u8>> {
        if bytes < MMAP_THRESHOLD {
            return None;
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let i = free.iter().position(|k| k.bytes == bytes && k.zeroed)?;
        Some(free.swap_remove(i).at)
    }

    /// A mapping of exactly `bytes` bytes, zeroed or not (one that is not
    /// first), if one is kept: for storage written in full right away.
    fn take_any(&self, bytes: usize) -> Option<NonNull<u8>> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let i = free
            .iter()
            .position(|k| k.bytes == bytes && !k.zeroed)
            .or_else(|| free.iter().position(|k| k.bytes == bytes))?;
        Some(free.swap_remove(i).at)
    }

    /// Whether a mapping of `bytes` more bytes may be kept.
    fn has_room(free: &[Kept], bytes: usize) -> bool {
        let kept: usize = free.iter().map(|k| k.bytes).sum();
        free.len() < POOL_MAX_MAPPINGS && kept + bytes <= POOL_MAX_BYTES
    }

    /// Takes back the mapping of `bytes` bytes at `p`, to keep or to unmap,
    /// zeroed as `zeroing` says. Zeroing happens outside the lock.
    fn give(&self, p: NonNull<u8>, bytes: usize, zeroing: Zeroing) {
        let room = Self::has_room(&self.free.lock().unwrap_or_else(|e| e.into_inner()), bytes);
        let ready = match zeroing {
            Zeroing::Done | Zeroing::Kept => true,
            Zeroing::InPlace if room => clear_resident(p, bytes),
            Zeroing::Discard if room => discard(p, bytes),
            Zeroing::InPlace | Zeroing::Discard => false,
        };
        if room && ready {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if Self::has_room(&free, bytes) {
                free.push(Kept {
                    at: p,
                    bytes,
                    zeroed: zeroing != Zeroing::Kept,
                });
                return;
            }
        }
        release(p, bytes, true);
    }
}

impl Drop for TablePool {
    fn drop(&mut self) {
        let free = self.free.get_mut().unwrap_or_else(|e| e.into_inner());
        for k in free.drain(..) {
            release(k.at, k.bytes, true);
        }
    }
}

/// Returns the mapping of `bytes` bytes at `p` to all zeros, in one
/// system call: every page is discarded, and the next touch of one maps a
/// zero page. The kernel's work is in proportion to the pages in memory,
/// which after [`discard`] are the pages touched since: a table that
/// touched a few entries costs a few pages, whatever its size. `false`
/// when the kernel refuses.
fn discard(p: NonNull<u8>, bytes: usize) -> bool {
    // SAFETY: `p` is a page-aligned private anonymous mapping of `bytes`
    // bytes owned by the caller, which nothing else refers to; discarding
    // its pages makes them read as zero.
    let rc = unsafe { libc::madvise(p.as_ptr().cast(), bytes, libc::MADV_DONTNEED) };
    rc == 0
}

/// Returns the mapping of `bytes` bytes at `p` to all zeros, keeping its
/// pages: the pages in memory are cleared in place (no fault on their next
/// touch), the others discarded. Clears every page in memory, written or
/// not (nothing says which were written since they were last cleared), so
/// it is for mappings whose table wrote most of them. `false` when the
/// kernel does not say which pages are in memory.
fn clear_resident(p: NonNull<u8>, bytes: usize) -> bool {
    let page = super::mmap::page_size();
    let pages = bytes.div_ceil(page);
    let mut resident = vec![0u8; pages];
    // SAFETY: `p` is a page-aligned mapping of `bytes` bytes owned by the
    // caller; `resident` has one byte per page.
    let rc = unsafe { libc::mincore(p.as_ptr().cast(), bytes, resident.as_mut_ptr().cast()) };
    if rc != 0 {
        return false;
    }
    let mut at = 0;
    while at < pages {
        let in_memory = resident[at] & 1 != 0;
        let run = resident[at..]
            .iter()
            .take_while(|r| (*r & 1 != 0) == in_memory)
            .count();
        let start = at * page;
        let len = (run * page).min(bytes - start);
        if in_memory {
            // SAFETY: inside the mapping, which nothing else refers to.
            unsafe { ptr::write_bytes(p.as_ptr().add(start), 0, len) };
        } else {
            // SAFETY: as above, and `start` is page-aligned.
            let zeroed = discard(unsafe { p.add(start) }, len);
            if !zeroed {
                return false;
            }
        }
        at += run;
    }
    true
}

/// Writes `value` to the `n` elements at `dst`. Long ranges are filled by
/// doubling copies, which the C library does with the widest stores the
/// CPU has.
///
/// # Safety
///
/// `dst` must be valid for writes of `n` elements; they need not be
/// initialized.
pub(crate) unsafe fn fill_raw<T: Copy>(dst: *mut T, n: usize, value: T) {
    const SEED: usize = 16;
    // SAFETY: every write and copy below stays inside `dst[..n]`; a copy
    // reads only elements written before it and its ranges do not overlap.
    unsafe {
        for i in 0..n.min(SEED) {
            dst.add(i).write(value);
        }
        let mut done = n.min(SEED);
        while done < n {
            let len = done.min(n - done);
            ptr::copy_nonoverlapping(dst, dst.add(done), len);
            done += len;
        }
    }
}

fn heap_layout(bytes: usize) -> Option<Layout> {
    Layout::from_size_align(bytes, ALIGN).ok()
}

/// `bytes` (non-zero) of zeroed memory, and whether it was mapped.
fn allocate_zeroed(bytes: usize) -> Option<(NonNull<u8>, bool)> {
    if bytes >= MMAP_THRESHOLD {
        return map_zeroed(bytes).map(|p| (p, true));
    }
    heap_zeroed(bytes).map(|p| (p, false))
}

/// A fresh private anonymous mapping of `bytes` bytes, aligned to
/// [`HUGE_PAGE`] when it is at least that large (the excess of a larger
/// mapping made to find the alignment is unmapped again).
fn map_zeroed(bytes: usize) -> Option<NonNull<u8>> {
    let slack = if bytes >= HUGE_PAGE { HUGE_PAGE } else { 0 };
    let total = bytes.checked_add(slack)?;
    // SAFETY: a fresh anonymous private mapping aliases nothing.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    let start = p as usize;
    let aligned = if slack == 0 {
        start
    } else {
        start.next_multiple_of(HUGE_PAGE)
    };
    let end = start + total;
    // SAFETY: both ranges are page-aligned parts of the mapping just made,
    // outside `aligned..aligned + bytes`, and nothing refers to them.
    unsafe {
        if aligned > start {
            libc::munmap(p, aligned - start);
        }
        if end > aligned + bytes {
            libc::munmap(
                (aligned + bytes) as *mut libc::c_void,
                end - aligned - bytes,
            );
        }
    }
    NonNull::new(p.cast::<u8>().wrapping_add(aligned - start))
}

/// Asks the kernel to back the mapping of `bytes` bytes at `p` (aligned to
/// [`HUGE_PAGE`]) with huge pages as its pages are first touched. Only a
/// hint, as [`collapse_to_huge_pages`].
fn advise_huge_pages(p: NonNull<u8>, bytes: usize) {
    // SAFETY: `p..p + bytes` is a private anonymous mapping owned by the
    // caller; the advice does not change what it holds.
    unsafe { libc::madvise(p.as_ptr().cast(), bytes, libc::MADV_HUGEPAGE) };
}

/// Asks the kernel to back the whole huge pages of the mapping of `bytes`
/// bytes at `p` (aligned to [`HUGE_PAGE`]) with huge pages now, keeping its
/// contents; pages never touched are filled with zeros. Only a hint: when
/// the kernel cannot (no transparent huge pages, no free huge page), the
/// mapping stays as it was.
fn collapse_to_huge_pages(p: NonNull<u8>, bytes: usize) {
    let len = bytes - bytes % HUGE_PAGE;
    // SAFETY: `p..p + len` lies inside a private anonymous mapping owned by
    // the caller; collapsing it does not change what it holds.
    unsafe { libc::madvise(p.as_ptr().cast(), len, libc::MADV_COLLAPSE) };
}

/// `bytes` (non-zero) of zeroed memory from the global allocator.
fn heap_zeroed(bytes: usize) -> Option<NonNull<u8>> {
    let layout = heap_layout(bytes)?;
    // SAFETY: the layout is non-empty (`bytes > 0`).
    NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
}

/// Grows a heap allocation of `old` bytes to `new` bytes, zeroing the new
/// part.
fn reallocate_zeroed(p: NonNull<u8>, old: usize, new: usize) -> Option<NonNull<u8>> {
    if old == 0 {
        return heap_zeroed(new);
    }
    let layout = heap_layout(old)?;
    heap_layout(new)?;
    // SAFETY: `p` was allocated by the global allocator with `layout`, and
    // the new size is non-zero and valid for the alignment.
    let grown = NonNull::new(unsafe { std::alloc::realloc(p.as_ptr(), layout, new) })?;
    // SAFETY: the bytes past `old` are part of the new allocation.
    unsafe { ptr::write_bytes(grown.as_ptr().add(old), 0, new - old) };
    Some(grown)
}

/// Frees an allocation of `bytes` (non-zero) bytes.
fn release(p: NonNull<u8>, bytes: usize, mapped: bool) {
    if mapped {
        // SAFETY: the mapping was made by `allocate_zeroed` or `remap` with
        // this length and is owned by the caller.
        let rc = unsafe { libc::munmap(p.as_ptr().cast(), bytes) };
        debug_assert_eq!(rc, 0, "munmap of a table failed");
    } else {
        let layout = heap_layout(bytes).expect("the layout it was allocated with");
        // SAFETY: allocated by the global allocator with this layout.
        unsafe { std::alloc::dealloc(p.as_ptr(), layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_growth(from: usize, to: usize) {
        let pool = Arc::new(TablePool::default());
        let mut b = TableBuf::<usize>::zeroed(from, &pool).unwrap();
        for (i, w) in b.slice_mut(from).iter_mut().enumerate() {
            *w = i + 1;
        }
        assert!(b.grow(to));
        assert_eq!(b.capacity(), to);
        let s = b.slice(to);
        assert!(s[..from].iter().enumerate().all(|(i, w)| *w == i + 1));
        assert!(s[from..].iter().all(|w| *w == 0));
    }

    #[test]
    fn growth_keeps_contents_and_zeroes_the_rest() {
        check_growth(0, 10);
        check_growth(3, 100); // heap to heap
        check_growth(100, 20_000); // heap to heap, past the mapping threshold
        check_growth(20_000, 100_000); // mapped to heap
    }

    #[test]
    fn large_buffers_are_zeroed() {
        let pool = Arc::new(TablePool::default());
        let b = TableBuf::<usize>::zeroed(200_000, &pool).unwrap();
        assert!(b.slice(200_000).iter().all(|w| *w == 0));
        assert!(TableBuf::<usize>::zeroed(usize::MAX, &pool).is_none());
    }

    #[test]
    fn pooled_mappings_come_back_zeroed() {
        let pool = Arc::new(TablePool::default());
        let n = 50_000;
        let mut b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        let first = b.as_mut_ptr();
        // Dirty a few scattered pages, as compiled code's stores into a
        // lazily initialized table do.
        b.note_code_writes();
        for i in (0..n).step_by(3000) {
            b.slice_mut(n)[i] = i + 1;
        }
        drop(b);
        let b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        assert_eq!(b.as_mut_ptr(), first, "the mapping was reused");
        assert!(b.slice(n).iter().all(|w| *w == 0));
        // Another size is a fresh mapping.
        let c = TableBuf::<usize>::zeroed(n + 1, &pool).unwrap();
        assert_ne!(c.as_mut_ptr(), first);
        drop(c);
        // Every page written, by the runtime (dense) or by compiled code
        // (unseen), then reused: zero each time.
        let mut b = b;
        for round in 1..=4 {
            b.slice_mut(n).fill(round);
            if round % 2 == 0 {
                b.note_written(0..n);
            } else {
                b.note_code_writes();
            }
            b = dropped_and_reused(b, n, &pool, first, round);
        }
    }

    /// Drops `b`, a table of `n` words from `pool` at `first`, and makes a
    /// new one of the same size: it must get the same mapping back, all
    /// zero (in `round` of a test).
    fn dropped_and_reused(
        b: TableBuf<usize>,
        n: usize,
        pool: &Arc<TablePool>,
        first: *mut usize,
        round: usize,
    ) -> TableBuf<usize> {
        drop(b);
        let b = TableBuf::<usize>::zeroed(n, pool).unwrap();
        assert_eq!(
            b.as_mut_ptr(),
            first,
            "round {round}: the mapping was reused"
        );
        assert!(b.slice(n).iter().all(|w| *w == 0), "round {round}");
        b
    }

    #[test]
    fn small_pooled_mappings_are_cleared_in_place() {
        let pool = Arc::new(TablePool::default());
        let n = 2 * MMAP_THRESHOLD / size_of::<usize>();
        assert!(n * size_of::<usize>() <= CLEAR_IN_PLACE_BYTES);
        let mut b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        let first = b.as_mut_ptr();
        for round in 1..=3 {
            // One scattered write per page, by compiled code: a sparse
            // table whose writes are not known.
            b.note_code_writes();
            for i in (0..n).step_by(512) {
                b.slice_mut(n)[i] = round;
            }
            b = dropped_and_reused(b, n, &pool, first, round);
        }
    }

    #[test]
    fn known_writes_are_cleared_and_the_mapping_kept() {
        let pool = Arc::new(TablePool::default());
        // Large enough for huge pages, and a mapping past the in-place size.
        let n = (HUGE_PAGE + CLEAR_IN_PLACE_BYTES) / size_of::<usize>();
        let mut b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        let first = b.as_mut_ptr();
        assert_eq!(first as usize % HUGE_PAGE, 0, "aligned to huge pages");
        // Rounds: a few ranges; more ranges than are kept track of; so many
        // elements that the mapping is collapsed into huge pages.
        for (round, (count, len)) in [(5, 3), (MAX_WRITTEN_RANGES + 7, 2), (n / 64 + 1, 1)]
            .into_iter()
            .enumerate()
        {
            let stride = n / count;
            for k in 0..count {
                let at = k * stride;
                b.slice_mut(n)[at..at + len].fill(round + 1);
                b.note_written(at..at + len);
            }
            // Adjacent ranges merge: the last element too.
            b.slice_mut(n)[n - 1] = 9;
            b.note_written(n - 1..n);
            b = dropped_and_reused(b, n, &pool, first, round);
        }
    }

    #[test]
    fn known_writes_are_cleared_in_every_lane() {
        let pool = Arc::new(TablePool::default());
        let n = 2 * MMAP_THRESHOLD / size_of::<usize>();
        let lane = n / 2;
        let mut b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        b.set_lanes(2);
        let first = b.as_mut_ptr();
        for at in [0, 17, lane - 1] {
            b.slice_mut(n)[at] = 1;
            b.slice_mut(n)[lane + at] = 2;
            b.note_written(at..at + 1);
        }
        drop(b);
        let b = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        assert_eq!(b.as_mut_ptr(), first, "the mapping was reused");
        assert!(b.slice(n).iter().all(|w| *w == 0));
    }

    #[test]
    fn written_ranges_merge_and_overflow() {
        let mut w = Written::Ranges(Vec::new());
        w.add(4..6);
        w.add(6..8);
        w.add(2..4);
        w.add(10..10);
        let merged: Range<usize> = 2..8;
        assert_eq!(w, Written::Ranges(Vec::from([merged])));
        // Two arrays written in turn, element after element.
        let mut w = Written::Ranges(Vec::new());
        for i in 0..100 {
            w.add(i..i + 1);
            w.add(1000 + i..1000 + i + 1);
        }
        assert_eq!(w, Written::Ranges(Vec::from([0..100, 1000..1100])));
        for k in 0..MAX_WRITTEN_RANGES {
            w.add(100 * (k + 1)..100 * (k + 1) + 1);
        }
        assert_eq!(w, Written::Anywhere);
        w.add(0..1);
        assert_eq!(w, Written::Anywhere);
    }

    #[test]
    fn filled_buffers_hold_the_value() {
        let pool = Arc::new(TablePool::default());
        for n in [0, 1, 15, 16, 17, 1000, 100_000] {
            let b = TableBuf::<usize>::filled(n, 7, &pool).unwrap();
            assert_eq!(b.capacity(), n);
            assert!(b.slice(n).iter().all(|w| *w == 7), "{n}");
        }
    }

    #[test]
    fn filled_mappings_are_reused_unzeroed_only_for_filled_buffers() {
        let pool = Arc::new(TablePool::default());
        let n = 3 * HUGE_PAGE / size_of::<usize>();
        let b = TableBuf::<usize>::filled(n, 7, &pool).unwrap();
        let first = b.as_mut_ptr();
        drop(b);
        // A zeroed buffer never gets the filled mapping back.
        let z = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        assert_ne!(z.as_mut_ptr(), first);
        assert!(z.slice(n).iter().all(|w| *w == 0));
        // A filled one does, and holds its own value.
        let b = TableBuf::<usize>::filled(n, 9, &pool).unwrap();
        assert_eq!(b.as_mut_ptr(), first);
        assert!(b.slice(n).iter().all(|w| *w == 9));
        drop(b);
        drop(z);
        // With a zeroed mapping kept too, a zeroed buffer takes it.
        let z = TableBuf::<usize>::zeroed(n, &pool).unwrap();
        assert_ne!(z.as_mut_ptr(), first);
        assert!(z.slice(n).iter().all(|w| *w == 0));
    }
}
