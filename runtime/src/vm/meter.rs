//! [`Meter`]: fuel and epoch accounting for the work the runtime does on
//! behalf of WebAssembly.
//!
//! Compiled code charges one unit of fuel per operator and checks the epoch
//! deadline at function entries and loop headers. A bulk operator
//! (`memory.fill`, `table.copy`, `table.grow`, ...) is one operator whose
//! libcall does work proportional to its operands, so the libcall charges
//! that work as well, and checks the epoch deadline between chunks of it:
//!
//! - fuel: one unit per [`MEMORY_BYTES_PER_FUEL`] bytes a memory operation
//!   writes (rounded down) and one unit per table element written, charged
//!   after the bounds checks and before any work, so an operation that
//!   traps out of bounds costs nothing extra and one the fuel left cannot
//!   pay traps with [`Trap::OutOfFuel`] having done nothing;
//! - epochs: the work is done in chunks of [`MEMORY_CHUNK`] bytes or
//!   [`TABLE_CHUNK`] elements, and after each chunk but the last the
//!   deadline is checked, so a multi-gigabyte fill stops with
//!   [`Trap::Interrupt`] within one chunk of the deadline.
//!
//! The host API ([`crate::Table::fill`] and friends) is not metered: it
//! uses [`Meter::OFF`].

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use trestle_vmctx::{Trap, VMStoreContext};

/// Bytes of a memory operation that cost one unit of fuel.
pub(crate) const MEMORY_BYTES_PER_FUEL: u64 = 64;

/// Bytes of a memory operation done between two epoch checks: a fraction
/// of a millisecond of work, page faults included.
pub(crate) const MEMORY_CHUNK: usize = 1 << 20;

/// Table elements written between two epoch checks.
pub(crate) const TABLE_CHUNK: usize = 1 << 16;

/// Charges fuel and checks the epoch deadline of a store, as its compiled
/// code does, for work done by a libcall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meter {
    ctx: *mut VMStoreContext,
    fuel: bool,
    epoch: bool,
}

impl Meter {
    /// Charges nothing and never interrupts: for the host API and for
    /// instantiation.
    pub(crate) const OFF: Meter = Meter {
        ctx: std::ptr::null_mut(),
        fuel: false,
        epoch: false,
    };

    /// A meter of the store context `ctx`, charging fuel when `fuel` and
    /// checking the epoch deadline when `epoch` (the engine's settings:
    /// without them the context's counters mean nothing).
    ///
    /// # Safety
    ///
    /// When `fuel` or `epoch` is set, `ctx` must point at a live store
    /// context, with its epoch pointer set, for as long as the meter is
    /// used, and nothing else may access the context meanwhile (compiled
    /// code of the store is suspended in a libcall).
    pub(crate) unsafe fn new(ctx: *mut VMStoreContext, fuel: bool, epoch: bool) -> Meter {
        Meter { ctx, fuel, epoch }
    }

    /// Charges `units` of fuel.
    ///
    /// # Errors
    ///
    /// [`Trap::OutOfFuel`] when the fuel left does not cover them; the fuel
    /// is then all consumed, as when compiled code runs out.
    pub(crate) fn charge(&self, units: u64) -> Result<(), Trap> {
        if !self.fuel || units == 0 {
            return Ok(());
        }
        let units = i64::try_from(units).unwrap_or(i64::MAX);
        // SAFETY: with `fuel` set, `ctx` is live and ours per `new`.
        let consumed = unsafe { &mut (*self.ctx).fuel_consumed };
        *consumed = consumed.saturating_add(units);
        if *consumed > 0 {
            return Err(Trap::OutOfFuel);
        }
        Ok(())
    }

    /// Charges the fuel of a memory operation on `bytes` bytes.
    ///
    /// # Errors
    ///
    /// As [`Meter::charge`].
    pub(crate) fn charge_bytes(&self, bytes: u64) -> Result<(), Trap> {
        self.charge(bytes / MEMORY_BYTES_PER_FUEL)
    }

    /// Checks the epoch deadline.
    ///
    /// # Errors
    ///
    /// [`Trap::Interrupt`] once the engine's epoch has reached the store's
    /// deadline.
    pub(crate) fn check_epoch(&self) -> Result<(), Trap> {
        if !self.epoch {
            return Ok(());
        }
        // SAFETY: with `epoch` set, `ctx` is live per `new`, and its epoch
        // pointer points at the engine's counter, an aligned `u64` that
        // other threads only touch atomically.
        let (epoch, deadline) = unsafe {
            let ctx = &*self.ctx;
            let counter = AtomicU64::from_ptr(ctx.epoch_ptr.cast_mut());
            (counter.load(Ordering::Relaxed), ctx.epoch_deadline)
        };
        if epoch >= deadline {
            return Err(Trap::Interrupt);
        }
        Ok(())
    }

    /// Runs `work` over `0..len` in consecutive ranges of at most `chunk`,
    /// checking the epoch deadline between two of them.
    ///
    /// # Errors
    ///
    /// [`Trap::Interrupt`] when the deadline is reached: the ranges done so
    /// far stay done.
    pub(crate) fn in_chunks(
        &self,
        len: usize,
        chunk: usize,
        mut work: impl FnMut(Range<usize>),
    ) -> Result<(), Trap> {
        let mut at = 0;
        while at < len {
            if at > 0 {
                self.check_epoch()?;
            }
            let end = at.saturating_add(chunk).min(len);
            work(at..end);
            at = end;
        }
        Ok(())
    }

    /// [`Meter::in_chunks`] for a copy of `len` items from `src` onwards to
    /// `dst` onwards within one buffer: the chunks go backwards when the
    /// destination is above the source, so a chunk never overwrites what a
    /// later one still has to read. `copy` gets each source range and the
    /// start of its destination.
    ///
    /// # Errors
    ///
    /// As [`Meter::in_chunks`].
    pub(crate) fn copy_in_chunks(
        &self,
        len: usize,
        src: usize,
        dst: usize,
        chunk: usize,
        mut copy: impl FnMut(Range<usize>, usize),
    ) -> Result<(), Trap> {
        let backwards = dst > src;
        self.in_chunks(len, chunk, |r| {
            let r = if backwards {
                len - r.end..len - r.start
            } else {
                r
            };
            copy(src + r.start..src + r.end, dst + r.start);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(fuel: u64, epoch: &AtomicU64, deadline: u64) -> VMStoreContext {
        VMStoreContext {
            fuel_consumed: -(fuel as i64),
            epoch_deadline: deadline,
            epoch_ptr: epoch.as_ptr(),
            ..VMStoreContext::default()
        }
    }

    #[test]
    fn charges_until_the_fuel_runs_out() {
        let epoch = AtomicU64::new(0);
        let mut ctx = context(100, &epoch, u64::MAX);
        // SAFETY: `ctx` is live and only used through the meter here.
        let meter = unsafe { Meter::new(&mut ctx, true, false) };
        assert_eq!(meter.charge(60), Ok(()));
        assert_eq!(meter.charge_bytes(64 * 40), Ok(()));
        assert_eq!(meter.charge(1), Err(Trap::OutOfFuel));
        assert!(ctx.fuel_consumed > 0, "all fuel consumed");
        assert_eq!(Meter::OFF.charge(u64::MAX), Ok(()));
    }

    #[test]
    fn chunks_stop_at_the_deadline_between_chunks() {
        let epoch = AtomicU64::new(5);
        let mut ctx = context(0, &epoch, 5);
        // SAFETY: as above.
        let meter = unsafe { Meter::new(&mut ctx, false, true) };
        let chunks = |meter: &Meter, len| {
            let mut done = Vec::new();
            let r = meter.in_chunks(len, 4, |r| done.push((r.start, r.end)));
            (r, done)
        };
        assert_eq!(
            chunks(&meter, 10),
            (Err(Trap::Interrupt), vec![(0, 4)]),
            "the first chunk runs, the check comes after it"
        );
        assert_eq!(chunks(&meter, 4), (Ok(()), vec![(0, 4)]));
        assert_eq!(
            chunks(&Meter::OFF, 10),
            (Ok(()), vec![(0, 4), (4, 8), (8, 10)])
        );
    }

    #[test]
    fn overlapping_copies_in_chunks_keep_their_source() {
        for (src, dst) in [(0, 3), (3, 0), (2, 2)] {
            let mut v: Vec<u32> = (0..20).collect();
            let mut expected = v.clone();
            expected.copy_within(src..src + 15, dst);
            Meter::OFF
                .copy_in_chunks(15, src, dst, 4, |s, d| v.copy_within(s, d))
                .unwrap();
            assert_eq!(v, expected, "{src} -> {dst}");
        }
    }
}
