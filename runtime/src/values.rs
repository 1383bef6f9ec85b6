//! [`Val`], [`Ref`] and [`ExternRef`]: WebAssembly values as the host sees
//! them, and their conversion to and from the raw form compiled code uses.

use crate::store::StoreOpaque;
use crate::{AsContextMut, ExnRef, Func, HeapType, RefType, V128, ValType};
use anyhow::{Result, bail};
use std::any::Any;
use trestle_vmctx::{VMFuncRef, ValRaw};

/// Defines a handle to a value of a store's heap: a `Copy` struct of the
/// store's id, the value's slot and the slot's generation, with its
/// conversions to and from the raw word compiled code holds (the slot plus
/// one; 0 is null). `$kind` names the reference type in errors and
/// `$collected` makes the error of a handle whose value was collected.
macro_rules! heap_handle {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $collected:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            pub(crate) store: $crate::store::StoreId,
            pub(crate) index: u32,
            pub(crate) generation: u32,
        }

        impl $name {
            /// The raw word for a table, a global or wasm; from now on
            /// wasm may hold the value.
            ///
            /// # Errors
            ///
            /// When the reference belongs to another store or its value
            /// was collected.
            pub(crate) fn to_raw(self, store: &$crate::store::StoreOpaque) -> ::anyhow::Result<usize> {
                if self.store != store.id {
                    ::anyhow::bail!(concat!(
                        "cross-store value: the ",
                        $kind,
                        " belongs to another store"
                    ));
                }
                $crate::values::heap_word(store, self.index, self.generation).ok_or_else($collected)
            }

            /// The handle for a raw word of `store` (null for 0), rooted
            /// in the current scope.
            pub(crate) fn from_raw(store: &mut $crate::store::StoreOpaque, raw: usize) -> Option<$name> {
                let index = raw.checked_sub(1)? as u32;
                let generation = store.externrefs.root_raw(index);
                Some($name {
                    store: store.id,
                    index,
                    generation,
                })
            }
        }
    };
}
pub(crate) use heap_handle;

heap_handle!(
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
    ExternRef,
    "externref",
    collected
);

const _: () = assert!(std::mem::size_of::<ExternRef>() == 16);

/// The word of the live heap value in slot `index` of `generation`, now
/// exposed to wasm; `None` when that value was collected.
pub(crate) fn heap_word(store: &StoreOpaque, index: u32, generation: u32) -> Option<usize> {
    if !store.externrefs.is_live(index, generation) {
        return None;
    }
    store.externrefs.expose(index);
    Some(index as usize + 1)
}

/// The error for a handle whose value was collected.
#[cold]
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
}

heap_handle!(
    /// A reference to a GC value (an array, today) that wasm allocated in a
    /// store.
    ///
    /// Like [`ExternRef`], an `AnyRef` is a `Copy` handle (store id, heap slot,
    /// generation) with the same lifetime rules: the value lives while the
    /// handle is rooted or while a table, a global, another GC value or running
    /// wasm holds it, and a handle whose value was collected gives errors. The
    /// host cannot allocate GC values; it receives them from wasm and can pass
    /// them back.
    AnyRef,
    "anyref",
    || anyhow::anyhow!("anyref was collected: nothing held it when the store collected garbage")
);

impl AnyRef {
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

/// Defines, for each listed variant of `$enum`, the accessor `$get` that
/// returns what the variant holds (`$value`, of type `$ty`, from the
/// variant's field `$v`) or `None` for another variant, and `$unwrap` that
/// returns it or panics. `$what` names what is returned and `$kind` the
/// variant, in the docs and the panic message.
macro_rules! variant_accessors {
    ($enum:ident, $noun:literal; $(
        $get:ident, $unwrap:ident: $variant:ident($v:ident) => $value:expr, $ty:ty,
            $what:literal, $kind:literal;
    )*) => {$(
        #[doc = concat!("The ", $what, ", if this is ", $kind, ".")]
        pub fn $get(&self) -> Option<$ty> {
            match self {
                $enum::$variant($v) => Some($value),
                _ => None,
            }
        }

        #[doc = concat!("The ", $what, ".\n\n# Panics\n\nWhen the ", $noun, " is not ", $kind, ".")]
        pub fn $unwrap(&self) -> $ty {
            self.$get().expect(concat!("expected ", $kind))
        }
    )*};
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

    variant_accessors! {
        Val, "value";
        i32, unwrap_i32: I32(v) => *v, i32, "`i32`", "an i32";
        i64, unwrap_i64: I64(v) => *v, i64, "`i64`", "an i64";
        f32, unwrap_f32: F32(v) => f32::from_bits(*v), f32, "`f32`", "an f32";
        f64, unwrap_f64: F64(v) => f64::from_bits(*v), f64, "`f64`", "an f64";
        v128, unwrap_v128: V128(v) => *v, V128, "`v128`", "a v128";
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

/// The accessors of each kind of reference, on [`Ref`] and on [`Val`]
/// alike (see [`variant_accessors`]): one row per kind, naming its handle,
/// its variant and accessors in each enum, and what they return.
macro_rules! reference_accessors {
    ($(
        $handle:ident: Ref::$r:ident($as:ident, $ref_unwrap:ident, $ref_kind:literal),
            Val::$v:ident($get:ident, $val_unwrap:ident, $val_kind:literal), $what:literal;
    )*) => {
        impl Ref {
            variant_accessors! {
                Ref, "reference";
                $($as, $ref_unwrap: $r(r) => r.as_ref(), Option<&$handle>, $what, $ref_kind;)*
            }
        }

        impl Val {
            variant_accessors! {
                Val, "value";
                $($get, $val_unwrap: $v(r) => r.as_ref(), Option<&$handle>, $what, $val_kind;)*
            }
        }
    };
}

reference_accessors! {
    Func: Ref::Func(as_func, unwrap_func, "a function reference"),
        Val::FuncRef(funcref, unwrap_funcref, "a funcref"), "function, or `None` for a null one";
    ExternRef: Ref::Extern(as_extern, unwrap_extern, "an externref"),
        Val::ExternRef(externref, unwrap_externref, "an externref"),
        "host value, or `None` for a null one";
    AnyRef: Ref::Any(as_any, unwrap_any, "a reference in the GC hierarchy"),
        Val::AnyRef(anyref, unwrap_anyref, "an anyref"), "GC value, or `None` for a null one";
    ExnRef: Ref::Exn(as_exn, unwrap_exn, "an exnref"),
        Val::ExnRef(exnref, unwrap_exnref, "an exnref"), "exception, or `None` for a null one";
}

/// `From` conversions into [`Ref`] and [`Val`] for each kind of reference
/// handle, present or null: `$handle` becomes `Ref::$ref(Some(..))`, and
/// the value of that reference.
macro_rules! reference_conversions {
    ($($handle:ty => $ref:ident;)*) => {$(
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
                Val::from(Ref::from(r))
            }
        }

        impl From<Option<$handle>> for Val {
            fn from(r: Option<$handle>) -> Val {
                Val::from(Ref::from(r))
            }
        }
    )*};
}

reference_conversions! {
    Func => Func;
    ExternRef => Extern;
    AnyRef => Any;
    ExnRef => Exn;
}
