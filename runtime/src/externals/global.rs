//! [`Global`]: the host's handle to a global, a thin wrapper over
//! [`crate::vm::Global`].

use super::Extern;
use crate::store::{StoreId, StoreOpaque};
use crate::vm::StoreGlobalIndex;
use crate::{AsContext, AsContextMut, GlobalType, Val};
use anyhow::{Result, bail};

/// A global of a store.
///
/// ```
/// use trestle::{Engine, Global, GlobalType, Mutability, Store, Val, ValType};
/// let mut store = Store::new(&Engine::default(), ());
/// let ty = GlobalType::new(ValType::I32, Mutability::Var);
/// let g = Global::new(&mut store, ty, Val::I32(1))?;
/// g.set(&mut store, Val::I32(2))?;
/// assert_eq!(g.get(&mut store).unwrap_i32(), 2);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: StoreGlobalIndex,
}

impl Global {
    /// A new global owned by the host.
    ///
    /// # Errors
    ///
    /// When `val` is not of the global's type or belongs to another store.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        let bytes = storage_of(store, &ty, val)?;
        // SAFETY: the global owns its storage.
        let index = unsafe { store.new_global(ty.to_wasm(), None, bytes) };
        Ok(Global {
            store: store.id,
            index,
        })
    }

    /// The global's type.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let cx = store.as_context();
        cx.0.opaque.assert_owns(self.store);
        GlobalType::from_wasm(cx.0.opaque.globals[self.index].ty())
    }

    /// The current value.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        store.assert_owns(self.store);
        let global = &store.globals[self.index];
        let ty = *GlobalType::from_wasm(global.ty()).content();
        let bytes = global.get();
        // SAFETY: the global holds a value of its type.
        unsafe { Val::from_storage(store, bytes, ty) }
    }

    /// Sets the value.
    ///
    /// # Errors
    ///
    /// When the global is immutable, or `val` is not of its type or belongs
    /// to another store.
    ///
    /// # Panics
    ///
    /// When the global belongs to another store.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        store.assert_owns(self.store);
        let ty = GlobalType::from_wasm(store.globals[self.index].ty());
        if !ty.is_mutable() {
            bail!("immutable global cannot be set");
        }
        let bytes = storage_of(store, &ty, val)?;
        store.globals[self.index].set(bytes);
        Ok(())
    }
}

/// The storage bits of `val` for a global of type `ty`.
///
/// # Errors
///
/// When `val` is not of the global's value type or belongs to another
/// store.
fn storage_of(store: &StoreOpaque, ty: &GlobalType, val: Val) -> Result<[u8; 16]> {
    if !val.matches_in(store, ty.content())? {
        bail!(
            "value of type {} for a global of type {}",
            val.ty(),
            ty.content()
        );
    }
    val.to_storage(store)
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
