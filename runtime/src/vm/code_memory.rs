//! [`CodeMemory`]: executable machine code, and the process-global registry
//! of code ranges that the signal handler consults.
//!
//! Code is copied into fresh read-write pages, which are then switched to
//! read-execute (W^X: never writable and executable at the same time). The
//! code range and its trap table are registered globally so that the signal
//! handler ([`super::traphandlers`]) can tell, from a faulting program
//! counter, whether the fault happened in WebAssembly code and which
//! [`Trap`] it stands for ([`lookup_trap`], [`is_wasm_pc`]).
//!
//! # The registry
//!
//! Lookups run inside signal handlers, so they must neither allocate nor
//! block. The registry is a copy-on-write snapshot (a sorted `Vec` of ranges)
//! behind an atomic pointer:
//!
//! * readers increment a global in-flight counter, load the pointer, search
//!   the snapshot, and decrement the counter: wait-free, no allocation;
//! * writers (serialized by a mutex) build a new snapshot, publish it, then
//!   wait until no reader is in flight before freeing the old one. A reader
//!   that incremented the counter after the publication can only have loaded
//!   the new snapshot, so once the counter has been seen at zero nobody holds
//!   the old one.
//!
//! A writer only waits for readers that are in the middle of a (short,
//! non-blocking) binary search, so it cannot deadlock even if a signal
//! handler runs a lookup on the writer's own thread.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use trestle_compiler::FrameTable;
use trestle_vmctx::Trap;

use super::mmap::Mmap;

unsafe extern "C" {
    /// Defined in `helpers.c`: makes code written to `[start, end)` visible
    /// to instruction fetch.
    fn trestle_clear_cache(start: *mut libc::c_void, end: *mut libc::c_void);
}

/// Executable machine code, registered with the global code registry for as
/// long as it lives.
#[derive(Debug)]
pub(crate) struct CodeMemory {
    mmap: Mmap,
    len: usize,
}

impl CodeMemory {
    /// Copies `code` into a fresh executable mapping and registers it.
    ///
    /// `traps` maps code offsets (of the faulting instruction) to the trap
    /// they raise; it need not be sorted. Empty code is allowed (nothing is
    /// registered then, since no program counter can be inside it).
    pub(crate) fn new(code: &[u8], traps: Vec<(u32, Trap)>) -> io::Result<Arc<CodeMemory>> {
        Self::with_frames(code, traps, None)
    }

    /// [`CodeMemory::new`] for a module's code, registered with the table
    /// of its functions, which backtraces look return addresses up in
    /// ([`frame_at`]).
    pub(crate) fn with_frames(
        code: &[u8],
        traps: Vec<(u32, Trap)>,
        frames: Option<Arc<FrameTable>>,
    ) -> io::Result<Arc<CodeMemory>> {
        let len = code.len();
        let mut mmap = Mmap::accessible(len)?;
        if len > 0 {
            // SAFETY: the mapping is read-write, at least `len` bytes long,
            // and freshly created, so it cannot overlap `code`.
            unsafe { ptr::copy_nonoverlapping(code.as_ptr(), mmap.as_mut_ptr(), len) };
            // SAFETY: `[ptr, ptr + len)` is the code just written.
            unsafe {
                trestle_clear_cache(mmap.as_mut_ptr().cast(), mmap.as_mut_ptr().add(len).cast());
            }
        }
        mmap.make_executable(0, len)?;

        let mut traps = traps;
        traps.sort_unstable_by_key(|&(offset, _)| offset);
        traps.dedup_by_key(|&mut (offset, _)| offset);
        let memory = CodeMemory { mmap, len };
        if !memory.is_empty() {
            let start = memory.base() as usize;
            let entry = Entry {
                start,
                end: start + len,
                traps: traps.into(),
                frames,
            };
            update_registry(|entries| {
                let at = entries.partition_point(|e| e.start < start);
                entries.insert(at, entry);
            });
        }
        Ok(Arc::new(memory))
    }

    /// The start of the code.
    pub(crate) fn base(&self) -> *const u8 {
        self.mmap.as_ptr()
    }

    /// The code itself (mapped readable as well as executable).
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.is_empty() {
            return &[];
        }
        // SAFETY: the mapping holds `len` bytes of code, readable, and never
        // written again once executable.
        unsafe { std::slice::from_raw_parts(self.base(), self.len) }
    }

    /// The length of the code in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the code is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if !self.is_empty() {
            let start = self.base() as usize;
            update_registry(|entries| entries.retain(|e| e.start != start));
        }
        // `self.mmap` is unmapped after this, once no lookup can see it.
    }
}

/// Returns the trap recorded exactly at `pc`, if `pc` lies in registered
/// code and its trap table has an entry for that offset.
///
/// Async-signal-safe: it neither allocates nor blocks.
pub(crate) fn lookup_trap(pc: usize) -> Option<Trap> {
    with_registry(|entries| {
        let entry = find(entries, pc)?;
        let offset = u32::try_from(pc - entry.start).ok()?;
        let i = entry
            .traps
            .binary_search_by_key(&offset, |&(o, _)| o)
            .ok()?;
        Some(entry.traps[i].1)
    })
}

/// Whether `pc` lies inside registered WebAssembly code.
///
/// Async-signal-safe: it neither allocates nor blocks.
pub(crate) fn is_wasm_pc(pc: usize) -> bool {
    with_registry(|entries| find(entries, pc).is_some())
}

/// Whether `pc` lies inside the body of a compiled WebAssembly function
/// (not in a trampoline).
///
/// Async-signal-safe: it neither allocates nor blocks.
pub(crate) fn is_wasm_body_pc(pc: usize) -> bool {
    with_registry(|entries| {
        find(entries, pc).is_some_and(|entry| {
            entry.frames.as_ref().is_some_and(|frames| {
                u32::try_from(pc - entry.start).is_ok_and(|offset| frames.lookup(offset).is_some())
            })
        })
    })
}

/// The function table of the code containing `pc`, and `pc`'s offset in
/// that code.
pub(crate) fn frame_at(pc: usize) -> Option<(Arc<FrameTable>, u32)> {
    with_registry(|entries| {
        let entry = find(entries, pc)?;
        let offset = u32::try_from(pc - entry.start).ok()?;
        Some((entry.frames.clone()?, offset))
    })
}

/// One registered code range.
#[derive(Clone)]
struct Entry {
    start: usize,
    end: usize,
    /// `(offset, trap)` sorted by offset, offsets unique.
    traps: Arc<[(u32, Trap)]>,
    /// The functions of a module's code.
    frames: Option<Arc<FrameTable>>,
}

/// The entry whose range contains `pc`.
fn find(entries: &[Entry], pc: usize) -> Option<&Entry> {
    // Ranges are disjoint and sorted by start: the candidate is the last one
    // starting at or before `pc`.
    let i = entries.partition_point(|e| e.start <= pc);
    let entry = entries.get(i.checked_sub(1)?)?;
    (pc < entry.end).then_some(entry)
}

/// The current snapshot (null when nothing was ever registered).
static REGISTRY: AtomicPtr<Vec<Entry>> = AtomicPtr::new(ptr::null_mut());
/// Number of lookups in flight.
static READERS: AtomicUsize = AtomicUsize::new(0);
/// Serializes writers.
static WRITER: Mutex<()> = Mutex::new(());

/// Runs `f` on the current snapshot without allocating or blocking.
fn with_registry<R>(f: impl FnOnce(&[Entry]) -> R) -> R {
    struct InFlight;
    impl Drop for InFlight {
        fn drop(&mut self) {
            READERS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    READERS.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight;
    let snapshot = REGISTRY.load(Ordering::SeqCst);
    if snapshot.is_null() {
        f(&[])
    } else {
        // SAFETY: published snapshots are only freed by `update_registry`
        // after it has replaced them and then observed `READERS == 0`. We
        // incremented `READERS` before loading the pointer, so either this
        // snapshot is still current, or the writer that replaced it waits for
        // us to decrement (in `_in_flight`'s drop) before freeing it.
        f(unsafe { &*snapshot })
    }
}

/// Replaces the snapshot by a copy edited with `edit`.
fn update_registry(edit: impl FnOnce(&mut Vec<Entry>)) {
    let _writer = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    let old = REGISTRY.load(Ordering::SeqCst);
    let mut entries = if old.is_null() {
        Vec::new()
    } else {
        // SAFETY: only writers free snapshots and we hold the writer lock, so
        // the current snapshot is alive.
        unsafe { (*old).clone() }
    };
    edit(&mut entries);
    REGISTRY.store(Box::into_raw(Box::new(entries)), Ordering::SeqCst);
    // Wait until every lookup that may have loaded `old` has finished.
    let mut spins = 0u32;
    while READERS.load(Ordering::SeqCst) != 0 {
        spins += 1;
        if spins < 100 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw`, is no longer published,
        // and no reader can still be using it (see above).
        drop(unsafe { Box::from_raw(old) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn code_memory_is_send_sync() {
        is_send_sync::<CodeMemory>();
    }

    #[test]
    fn registration_and_lookup() {
        let code = [0x90u8; 100];
        let traps = vec![
            (40, Trap::IntegerDivisionByZero),
            (3, Trap::UnreachableCodeReached),
            (99, Trap::MemoryOutOfBounds),
        ];
        let cm = CodeMemory::new(&code, traps).unwrap();
        assert_eq!(cm.len(), 100);
        assert!(!cm.is_empty());
        let base = cm.base() as usize;
        // SAFETY: the code is readable and 100 bytes long.
        let copied = unsafe { std::slice::from_raw_parts(cm.base(), cm.len()) };
        assert_eq!(copied, &code[..]);

        assert!(is_wasm_pc(base));
        assert!(is_wasm_pc(base + 99));
        assert!(!is_wasm_pc(base + 100));
        assert!(!is_wasm_pc(base.wrapping_sub(1)));
        assert_eq!(lookup_trap(base + 3), Some(Trap::UnreachableCodeReached));
        assert_eq!(lookup_trap(base + 40), Some(Trap::IntegerDivisionByZero));
        assert_eq!(lookup_trap(base + 99), Some(Trap::MemoryOutOfBounds));
        assert_eq!(lookup_trap(base + 4), None);
        assert_eq!(lookup_trap(base), None);
        assert_eq!(lookup_trap(base + 100), None);

        let other = CodeMemory::new(&[0xc3], vec![(0, Trap::StackOverflow)]).unwrap();
        let other_base = other.base() as usize;
        assert_eq!(lookup_trap(other_base), Some(Trap::StackOverflow));
        assert_eq!(lookup_trap(base + 3), Some(Trap::UnreachableCodeReached));

        drop(cm);
        assert!(!is_wasm_pc(base));
        assert_eq!(lookup_trap(base + 3), None);
        assert_eq!(lookup_trap(other_base), Some(Trap::StackOverflow));
    }

    #[test]
    fn empty_code() {
        let cm = CodeMemory::new(&[], vec![]).unwrap();
        assert_eq!(cm.len(), 0);
        assert!(cm.is_empty());
        assert!(!is_wasm_pc(cm.base() as usize));
        let cm2 = CodeMemory::new(&[], vec![(0, Trap::StackOverflow)]).unwrap();
        assert_eq!(lookup_trap(cm2.base() as usize), None);
    }

    #[test]
    fn concurrent_registration_and_lookup() {
        let keep = CodeMemory::new(&[0xc3; 16], vec![(5, Trap::BadSignature)]).unwrap();
        let keep_pc = keep.base() as usize + 5;
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..200u32 {
                        let cm =
                            CodeMemory::new(&[0xc3; 8], vec![(i % 8, Trap::Interrupt)]).unwrap();
                        let pc = cm.base() as usize + (i % 8) as usize;
                        assert_eq!(lookup_trap(pc), Some(Trap::Interrupt));
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..5000 {
                    assert_eq!(lookup_trap(keep_pc), Some(Trap::BadSignature));
                }
            });
        });
    }
}
