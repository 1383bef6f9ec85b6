//! Host values that count their drops, to see when the store lets go of
//! an `externref`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use trestle::{AsContextMut, ExternRef, RootScope, Store};

/// A payload that counts its drops.
pub struct Counted(pub Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Creation and drop counters for [`Counted`] payloads.
#[derive(Default)]
pub struct Counts {
    pub created: Arc<AtomicUsize>,
    pub dropped: Arc<AtomicUsize>,
}

impl Counts {
    /// A new value, rooted by the current scope of `store`.
    pub fn make(&self, store: impl AsContextMut) -> ExternRef {
        self.created.fetch_add(1, SeqCst);
        ExternRef::new(store, Counted(self.dropped.clone())).unwrap()
    }

    /// A new value whose scope has ended already: only what it is handed
    /// to next keeps it past the next collection.
    pub fn unrooted(&self, store: &mut Store<()>) -> ExternRef {
        self.make(&mut RootScope::new(store))
    }

    pub fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    /// How many values were dropped once `store` collected its garbage.
    pub fn dropped_after_gc(&self, store: &mut Store<()>) -> usize {
        store.gc();
        self.dropped()
    }
}
