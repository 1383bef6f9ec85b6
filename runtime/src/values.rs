//! [`Val`], [`Ref`] and [`ExternRef`]: WebAssembly values as the host sees
//! them, and their conversion to and from the raw form compiled code uses.

use crate::store::{StoreId, StoreOpaque};
use crate::{AsContextMut, ExnRef, Func, HeapType, RefType, V128, ValType};
use anyhow::{Result, bail};
use std::any::Any;
use trestle_vmctx::{VMFuncRef, ValRaw};

/// A reference to a host value, owned by a store.
///
/// An `ExternRef` is a small `Copy` handle: the store's id, a slot of the
/// store's externref heap and the slot's generation. The value lives while
/// something can still use it: while the handle is rooted (it was obtained
/// in a [`RootScope`](crate::RootScope) that is still open, in a host
/// function call that has not returned, or outside any scope, which roots
/// it until the store is dropped), or while a table, a global, an element
/// segment or running wasm holds the reference. Otherwise a collection
/// ([`Store::gc`](crate::Store::gc), or the one [`ExternRef::new`] runs as
/// the heap grows) drops it, and its handles give errors from then on:
/// never another value, never a dangling one. Every value left is dropped
/// with the store, exactly once.
///
/// ```
/// use trestle::{Engine, ExternRef, RootScope, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let kept = ExternRef::new(&mut store, "hello")?;
/// let data = kept.data(&store)?.unwrap();
/// assert_eq!(data.downcast_ref::<&str>(), Some(&"hello"));
///
/// let temporary = ExternRef::new(&mut RootScope::new(&mut store), "bye")?;
/// store.gc();
/// assert!(temporary.data(&store).is_err());
/// assert!(kept.data(&store).is_ok());
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

const _: () = assert!(std::mem::size_of::<ExternRef>() == 16);

/// The error for a handle whose value was collected.
#[cold]
/// The word of the live heap value in slot `index` of `generation`, now
/// exposed to wasm; `None` when that value was collected.
fn heap_word(store: &StoreOpaque, index: u32, generation: u32) -> Option<usize> {
    if !store.externrefs.is_live(index, generation) {
        return None;
    }
    store.externrefs.expose(index);
    Some(index as usize + 1)
}

/// The slot and generation of heap word `raw` (`None` for null), rooted in
/// the current scope.
fn root_heap_word(store: &mut StoreOpaque, raw: usize) -> Option<(u32, u32)> {
    let index = raw.checked_sub(1)? as u32;
    Some((index, store.externrefs.root_raw(index)))
}

pub(crate) fn collected() -> anyhow::Error {
    anyhow::anyhow!(
        "externref was collected: it was not rooted (by an open `RootScope`, a running host \
         function or the store) nor held by a table, a global or running wasm when the store \
         collected garbage"
    )
}

impl ExternRef {
    /// Moves `value` into the store and returns a reference to it, rooted
    /// in the current scope (see [`RootScope`](crate::RootScope)). When the
    /// store's externref heap has doubled since the last collection, it is
    /// collected first.
    ///
    /// # Errors
    ///
    /// When the store holds `u32::MAX - 1` host values already.
    pub fn new<T>(mut store: impl AsContextMut, value: T) -> Result<ExternRef>
    where
        T: Any + Send + Sync,
    {
        let store = &mut store.as_context_mut().0.opaque;
        let (index, generation) = store.new_externref(Box::new(value))?;
        Ok(ExternRef {
            store: store.id,
            index,
            generation,
        })
    }

    /// The host value.
    ///
    /// # Errors
    ///
    /// When the value was collected (see [`ExternRef`]). The `Option` is
    /// never `None`; it matches Wasmtime's signature.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<crate::store::StoreContext<'a, T>>,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>> {
        let cx: crate::store::StoreContext<'a, T> = store.into();
        let opaque = &cx.0.opaque;
        opaque.assert_owns(self.store);
        let value = opaque.externrefs.get(self.index, self.generation);
        Ok(Some(value.ok_or_else(collected)?))
    }

    /// The host value, mutably.
    ///
    /// # Errors
    ///
    /// When the value was collected; see [`ExternRef::data`].
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::store::StoreContextMut<'a, T>>,
    ) -> Result<Option<&'a mut (dyn Any + Send + Sync)>> {
        let cx: crate::store::StoreContextMut<'a, T> = store.into();
        let opaque = &mut cx.0.opaque;
        opaque.assert_owns(self.store);
        let value = opaque.externrefs.get_mut(self.index, self.generation);
        Ok(Some(value.ok_or_else(collected)?))
    }

    /// The raw word for a table, a global or wasm; from now on wasm may
    /// hold the value.
    ///
    /// # Errors
    ///
    /// When the reference belongs to another store or its value was
    /// collected.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            bail!("cross-store value: the externref belongs to another store");
        }
        heap_word(store, self.index, self.generation).ok_or_else(collected)
    }

    /// The handle for a raw word of `store` (null for 0), rooted in the
    /// current scope.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: usize) -> Option<ExternRef> {
        let (index, generation) = root_heap_word(store, raw)?;
        Some(ExternRef {
            store: store.id,
            index,
            generation,
        })
    }
}

/// A reference to a GC value (an array, today) that wasm allocated in a
/// store.
///
/// Like [`ExternRef`], an `AnyRef` is a `Copy` handle (store id, heap slot,
/// generation) with the same lifetime rules: the value lives while the
/// handle is rooted or while a table, a global, another GC value or running
/// wasm holds it, and a handle whose value was collected gives errors. The
/// host cannot allocate GC values; it receives them from wasm and can pass
/// them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyRef {
    pub(crate) store: StoreId,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl AnyRef {
    /// The raw word for a table, a global or wasm.
    ///
    /// # Errors
    ///
    /// When the reference belongs to another store or its value was
    /// collected.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        if self.store != store.id {
            bail!("cross-store value: the anyref belongs to another store");
        }
        heap_word(store, self.index, self.generation).ok_or_else(|| {
            anyhow::anyhow!(
                "anyref was collected: nothing held it when the store collected garbage"
            )
        })
    }

    /// The handle for a raw word of `store` (null for 0), rooted in the
    /// current scope.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: usize) -> Option<AnyRef> {
        let (index, generation) = root_heap_word(store, raw)?;
        Some(AnyRef {
            store: store.id,
            index,
            generation,
        })
    }

    /// The number of elements, when the value is an array.
    ///
    /// # Errors
    ///
    /// When the value was collected.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn array_len(&self, store: impl crate::AsContext) -> Result<Option<u32>> {
        let store = &store.as_context().0.opaque;
        store.assert_owns(self.store);
        let value = store
            .externrefs
            .get(self.index, self.generation)
            .ok_or_else(|| anyhow::anyhow!("anyref was collected"))?;
        Ok(value
            .downcast_ref::<crate::gc::GcArray>()
            .map(|a| a.elems.len() as u32))
    }

    /// The concrete type of the value.
    ///
    /// # Errors
    ///
    /// When the value was collected.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn ty(&self, store: impl crate::AsContext) -> Result<HeapType> {
        let store = &store.as_context().0.opaque;
        store.assert_owns(self.store);
        store
            .gc_heap_type(self.index, self.generation)
            .ok_or_else(|| anyhow::anyhow!("anyref was collected"))
    }
}

/// A reference value: a function, a host value or a GC value, possibly
/// null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ref {
    /// A reference in the function hierarchy (`funcref`, typed function
    /// references).
    Func(Option<Func>),
    /// An `externref`.
    Extern(Option<ExternRef>),
    /// A reference in the GC hierarchy (`anyref`, `eqref`, `arrayref`, ...).
    Any(Option<AnyRef>),
    /// An `exnref`: a caught exception.
    Exn(Option<ExnRef>),
}

impl Ref {
    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Ref::Func(None) | Ref::Extern(None) | Ref::Any(None) | Ref::Exn(None)
        )
    }

    /// The function, when this is a function reference.
    pub fn as_func(&self) -> Option<Option<&Func>> {
        match self {
            Ref::Func(f) => Some(f.as_ref()),
            _ => None,
        }
    }

    /// The host value, when this is an externref.
    pub fn as_extern(&self) -> Option<Option<&ExternRef>> {
        match self {
            Ref::Extern(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The GC value, when this is a reference in the GC hierarchy.
    pub fn as_any(&self) -> Option<Option<&AnyRef>> {
        match self {
            Ref::Any(a) => Some(a.as_ref()),
            _ => None,
        }
    }

    /// The exception, when this is an exnref.
    pub fn as_exn(&self) -> Option<Option<&ExnRef>> {
        match self {
            Ref::Exn(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The top heap type of the reference's hierarchy: `func`, `extern` or
    /// `any`.
    pub fn heap_type(&self) -> HeapType {
        match self {
            Ref::Func(_) => HeapType::Func,
            Ref::Extern(_) => HeapType::Extern,
            Ref::Any(_) => HeapType::Any,
            Ref::Exn(_) => HeapType::Exn,
        }
    }

    /// Whether the reference is a value of `ty`: null only for a nullable
    /// type, and a non-null reference only when its value's type (a
    /// function's signature, an array's type) is a subtype of the heap
    /// type.
    ///
    /// # Errors
    ///
    /// When the reference's value was collected.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store than `store`.
    pub fn matches_ty(&self, store: impl crate::AsContext, ty: &RefType) -> Result<bool> {
        let store = &store.as_context().0.opaque;
        match self {
            Ref::Func(Some(f)) => store.assert_owns(f.store),
            Ref::Extern(Some(e)) => store.assert_owns(e.store),
            Ref::Any(Some(a)) => store.assert_owns(a.store),
            Ref::Exn(Some(e)) => store.assert_owns(e.store),
            _ => {}
        }
        store.ref_matches(self, ty)
    }

    /// The null reference of heap type `heap`'s hierarchy (Wasmtime's
    /// name; [`Ref::null_of`] is the same).
    ///
    /// ```
    /// use trestle::{HeapType, Ref};
    /// assert_eq!(Ref::null(&HeapType::Extern), Ref::Extern(None));
    /// assert_eq!(Ref::null(&HeapType::NoFunc), Ref::Func(None));
    /// ```
    pub fn null(heap: &HeapType) -> Ref {
        Ref::null_of(heap)
    }

    /// Whether this is not a null reference.
    pub fn is_non_null(&self) -> bool {
        !self.is_null()
    }

    /// Whether this is in the function hierarchy.
    pub fn is_func(&self) -> bool {
        matches!(self, Ref::Func(_))
    }

    /// Whether this is an externref.
    pub fn is_extern(&self) -> bool {
        matches!(self, Ref::Extern(_))
    }

    /// Whether this is in the GC hierarchy.
    pub fn is_any(&self) -> bool {
        matches!(self, Ref::Any(_))
    }

    /// Whether this is an exnref.
    pub fn is_exn(&self) -> bool {
        matches!(self, Ref::Exn(_))
    }

    /// The function, or `None` for a null function reference.
    ///
    /// # Panics
    ///
    /// When this is not a function reference.
    pub fn unwrap_func(&self) -> Option<&Func> {
        self.as_func().expect("expected a function reference")
    }

    /// The host value, or `None` for a null externref.
    ///
    /// # Panics
    ///
    /// When this is not an externref.
    pub fn unwrap_extern(&self) -> Option<&ExternRef> {
        self.as_extern().expect("expected an externref")
    }

    /// The GC value, or `None` for a null reference.
    ///
    /// # Panics
    ///
    /// When this is not a reference in the GC hierarchy.
    pub fn unwrap_any(&self) -> Option<&AnyRef> {
        self.as_any()
            .expect("expected a reference in the GC hierarchy")
    }

    /// The exception, or `None` for a null exnref.
    ///
    /// # Panics
    ///
    /// When this is not an exnref.
    pub fn unwrap_exn(&self) -> Option<&ExnRef> {
        self.as_exn().expect("expected an exnref")
    }

    /// The null reference of heap type `heap`'s hierarchy.
    pub fn null_of(heap: &HeapType) -> Ref {
        if heap.is_extern() {
            Ref::Extern(None)
        } else if heap.is_any() {
            Ref::Any(None)
        } else if heap.is_exn() {
            Ref::Exn(None)
        } else {
            Ref::Func(None)
        }
    }

    /// The raw word for a table or a wasm value of this store.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<usize> {
        Ok(match self {
            Ref::Func(None) | Ref::Extern(None) | Ref::Any(None) | Ref::Exn(None) => 0,
            Ref::Func(Some(f)) => {
                if f.store != store.id {
                    bail!("cross-store value: the funcref belongs to another store");
                }
                store.funcs[f.index].func_ref as usize
            }
            Ref::Extern(Some(e)) => e.to_raw(store)?,
            Ref::Any(Some(a)) => a.to_raw(store)?,
            Ref::Exn(Some(e)) => e.to_raw(store)?,
        })
    }

    /// The reference for a raw word of heap type `heap`.
    ///
    /// # Safety
    ///
    /// A non-null funcref word must point at a live funcref of `store`.
    pub(crate) unsafe fn from_raw(store: &mut StoreOpaque, heap: HeapType, raw: usize) -> Ref {
        if heap.is_extern() {
            Ref::Extern(ExternRef::from_raw(store, raw))
        } else if heap.is_any() {
            Ref::Any(AnyRef::from_raw(store, raw))
        } else if heap.is_exn() {
            Ref::Exn(ExnRef::from_raw(store, raw))
        } else if raw == 0 {
            Ref::Func(None)
        } else {
            // SAFETY: per this function's contract.
            Ref::Func(Some(unsafe {
                store.func_from_ref(raw as *const VMFuncRef)
            }))
        }
    }
}

/// A WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, by its bits (so NaN payloads survive).
    F32(u32),
    /// An `f64`, by its bits.
    F64(u64),
    /// A `v128`.
    V128(V128),
    /// A `funcref`.
    FuncRef(Option<Func>),
    /// An `externref`.
    ExternRef(Option<ExternRef>),
    /// A reference in the GC hierarchy (`anyref`, `eqref`, `arrayref`, ...).
    AnyRef(Option<AnyRef>),
    /// An `exnref`.
    ExnRef(Option<ExnRef>),
}

impl Val {
    /// A null `funcref`.
    ///
    /// ```
    /// use trestle::{Val, ValType};
    /// assert_eq!(Val::null_func_ref(), Val::default_for_ty(&ValType::FUNCREF));
    /// assert!(Val::null_func_ref().ref_().unwrap().is_null());
    /// ```
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }

    /// A null `externref`.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }

    /// A null `anyref`.
    pub fn null_any_ref() -> Val {
        Val::AnyRef(None)
    }

    /// The null reference of heap type `heap`'s hierarchy.
    pub fn null_ref(heap: &HeapType) -> Val {
        Val::from(Ref::null(heap))
    }

    /// The zero (or null) value of `ty`.
    pub fn default_for_ty(ty: &ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(V128::default()),
            ValType::Ref(r) => Val::from(Ref::null_of(r.heap_type())),
        }
    }

    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::AnyRef(_) => ValType::Ref(RefType::ANYREF),
            Val::ExnRef(_) => ValType::Ref(RefType::new(true, HeapType::Exn)),
        }
    }

    /// Whether the value has type `ty`; see [`Ref::matches_ty`] for
    /// references.
    ///
    /// # Errors
    ///
    /// When a reference's value was collected.
    ///
    /// # Panics
    ///
    /// When a reference belongs to another store than `store`.
    pub fn matches_ty(&self, store: impl crate::AsContext, ty: &ValType) -> Result<bool> {
        match (self.ref_(), ty) {
            (Some(r), ValType::Ref(t)) => r.matches_ty(store, t),
            _ => Ok(self.ty() == *ty),
        }
    }

    /// [`Val::matches_ty`] inside the runtime.
    pub(crate) fn matches_in(&self, store: &StoreOpaque, ty: &ValType) -> Result<bool> {
        match (self.ref_(), ty) {
            (Some(r), ValType::Ref(t)) => store.ref_matches(&r, t),
            _ => Ok(self.ty() == *ty),
        }
    }

    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The `f32`, if this is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }

    /// The `f64`, if this is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// The `v128`, if this is one.
    pub fn v128(&self) -> Option<V128> {
        match self {
            Val::V128(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i32`.
    ///
    /// # Panics
    ///
    /// When the value is not an `i32`.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected an i32")
    }

    /// The `i64`.
    ///
    /// # Panics
    ///
    /// When the value is not an `i64`.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected an i64")
    }

    /// The `f32`.
    ///
    /// # Panics
    ///
    /// When the value is not an `f32`.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected an f32")
    }

    /// The `f64`.
    ///
    /// # Panics
    ///
    /// When the value is not an `f64`.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected an f64")
    }

    /// The `v128`.
    ///
    /// # Panics
    ///
    /// When the value is not a `v128`.
    pub fn unwrap_v128(&self) -> V128 {
        self.v128().expect("expected a v128")
    }

    /// The reference, if this is one.
    pub fn ref_(&self) -> Option<Ref> {
        match self {
            Val::FuncRef(f) => Some(Ref::Func(*f)),
            Val::ExternRef(e) => Some(Ref::Extern(*e)),
            Val::AnyRef(a) => Some(Ref::Any(*a)),
            Val::ExnRef(e) => Some(Ref::Exn(*e)),
            _ => None,
        }
    }

    /// The function reference, if this is a funcref.
    pub fn funcref(&self) -> Option<Option<&Func>> {
        match self {
            Val::FuncRef(f) => Some(f.as_ref()),
            _ => None,
        }
    }

    /// The host reference, if this is an externref.
    pub fn externref(&self) -> Option<Option<&ExternRef>> {
        match self {
            Val::ExternRef(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The GC reference, if this is an anyref.
    pub fn anyref(&self) -> Option<Option<&AnyRef>> {
        match self {
            Val::AnyRef(a) => Some(a.as_ref()),
            _ => None,
        }
    }

    /// The exception, if this is an exnref.
    pub fn exnref(&self) -> Option<Option<&ExnRef>> {
        match self {
            Val::ExnRef(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The function, or `None` for a null funcref.
    ///
    /// # Panics
    ///
    /// When the value is not a funcref.
    pub fn unwrap_funcref(&self) -> Option<&Func> {
        self.funcref().expect("expected a funcref")
    }

    /// The host reference, or `None` for a null externref.
    ///
    /// # Panics
    ///
    /// When the value is not an externref.
    pub fn unwrap_externref(&self) -> Option<&ExternRef> {
        self.externref().expect("expected an externref")
    }

    /// The GC reference, or `None` for a null anyref.
    ///
    /// # Panics
    ///
    /// When the value is not an anyref.
    pub fn unwrap_anyref(&self) -> Option<&AnyRef> {
        self.anyref().expect("expected an anyref")
    }

    /// The exception, or `None` for a null exnref.
    ///
    /// # Panics
    ///
    /// When the value is not an exnref.
    pub fn unwrap_exnref(&self) -> Option<&ExnRef> {
        self.exnref().expect("expected an exnref")
    }

    /// The raw form of this value for `store`.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::f32(v),
            Val::F64(v) => ValRaw::f64(v),
            Val::V128(v) => v.to_raw(),
            Val::FuncRef(f) => ValRaw::ptr(Ref::Func(f).to_raw(store)? as *const u8),
            Val::ExternRef(e) => ValRaw::ptr(Ref::Extern(e).to_raw(store)? as *const u8),
            Val::AnyRef(a) => ValRaw::ptr(Ref::Any(a).to_raw(store)? as *const u8),
            Val::ExnRef(e) => ValRaw::ptr(Ref::Exn(e).to_raw(store)? as *const u8),
        })
    }

    /// The value of type `ty` in raw form.
    ///
    /// # Safety
    ///
    /// `raw` must hold a value of type `ty` produced for `store`.
    pub(crate) unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(V128::from_raw(raw)),
            ValType::Ref(r) => {
                // SAFETY: per this function's contract, `raw` holds a
                // reference of this heap type produced for `store`.
                Val::from(unsafe { Ref::from_raw(store, *r.heap_type(), raw.get_ptr()) })
            }
        }
    }

    /// The value's bits in global storage (little-endian, zero-extended).
    pub(crate) fn to_storage(self, store: &StoreOpaque) -> Result<[u8; 16]> {
        let raw = self.to_raw(store)?;
        // SAFETY: ValRaw is 16 plain bytes.
        Ok(unsafe { std::mem::transmute::<ValRaw, [u8; 16]>(raw) })
    }

    /// The value of type `ty` stored in a global.
    ///
    /// # Safety
    ///
    /// `bytes` must hold a value of type `ty` of `store`.
    pub(crate) unsafe fn from_storage(
        store: &mut StoreOpaque,
        bytes: [u8; 16],
        ty: ValType,
    ) -> Val {
        // SAFETY: ValRaw is 16 plain bytes; the contract covers the rest.
        unsafe { Val::from_raw(store, std::mem::transmute::<[u8; 16], ValRaw>(bytes), ty) }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl From<Ref> for Val {
    fn from(r: Ref) -> Val {
        match r {
            Ref::Func(f) => Val::FuncRef(f),
            Ref::Extern(e) => Val::ExternRef(e),
            Ref::Any(a) => Val::AnyRef(a),
            Ref::Exn(e) => Val::ExnRef(e),
        }
    }
}

/// `From` conversions into [`Ref`] and [`Val`] for each kind of reference
/// handle, present or null: `$handle` becomes `Ref::$ref(Some(..))` and
/// `Val::$val(Some(..))`.
macro_rules! reference_conversions {
    ($($handle:ty => $ref:ident, $val:ident;)*) => {$(
        impl From<$handle> for Ref {
            fn from(r: $handle) -> Ref {
                Ref::$ref(Some(r))
            }
        }

        impl From<Option<$handle>> for Ref {
            fn from(r: Option<$handle>) -> Ref {
                Ref::$ref(r)
            }
        }

        impl From<$handle> for Val {
            fn from(r: $handle) -> Val {
                Val::$val(Some(r))
            }
        }

        impl From<Option<$handle>> for Val {
            fn from(r: Option<$handle>) -> Val {
                Val::$val(r)
            }
        }
    )*};
}

reference_conversions! {
    Func => Func, FuncRef;
    ExternRef => Extern, ExternRef;
    AnyRef => Any, AnyRef;
    ExnRef => Exn, ExnRef;
}
