//! Exception handling as the host sees it: [`Tag`], [`ExnRef`] and the
//! [`ThrownException`] error, and the exception objects `throw` allocates.
//!
//! A tag is an entity of the store, like a global: each tag a module
//! defines is a new one at each instantiation, [`Tag::new`] makes one for
//! the host, and an import is the very tag given for it, so two instances
//! that import the same tag catch each other's exceptions. An exception is
//! a value of the store's reference heap (see [`crate::RootScope`] for the
//! lifetime rules it shares with externrefs): its tag and its payload, in
//! the raw form compiled code uses. An `exnref` is its slot plus one.
//!
//! An exception that no wasm frame catches before the host is the error of
//! the call into wasm: a [`ThrownException`], with its tag and payload. A
//! host function throws by returning that error ([`crate::Caller::throw`]):
//! the exception continues from the host function's call site, through
//! the calling wasm's handlers. A trap is never an exception, so no
//! `try_table` catches one.

use crate::store::{StoreId, StoreOpaque};
use crate::values::heap_handle;
use crate::vm::traphandlers;
use crate::vm::{StoreInstanceIndex, StoreTagIndex};
use crate::{AsContext, AsContextMut, TagType, Val, ValType};
use anyhow::{Result, bail};
use std::fmt;
use trestle_compiler::{CanonicalTypeId, RefFamily, TagIndex, WasmValType};
use trestle_vmctx::ValRaw;

pub(crate) use crate::vm::unwind::Resume;

/// A tag: the identity of a kind of exception, and the types of its
/// payload.
///
/// ```
/// use trestle::{Engine, FuncType, Instance, Module, Store, Tag, TagType, ValType};
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = TagType::new(FuncType::new(&engine, [ValType::I32], []));
/// let tag = Tag::new(&mut store, &ty)?;
/// let module = Module::new(&engine, r#"(module
///     (import "host" "oops" (tag $oops (param i32)))
///     (func (export "run") (param i32) (result i32)
///         (block $caught (result i32)
///             (try_table (catch $oops $caught) (throw $oops (local.get 0)))
///             (i32.const -1))))"#)?;
/// let instance = Instance::new(&mut store, &module, &[tag.into()])?;
/// let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
/// assert_eq!(run.call(&mut store, 7)?, 7);
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: StoreTagIndex,
}

impl Tag {
    /// A new tag of type `ty`, distinct from every other tag.
    ///
    /// # Errors
    ///
    /// When the type has results (a tag's function type has none).
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        if ty.ty().results().len() != 0 {
            bail!("a tag's type must have no results, found {}", ty.ty());
        }
        let store = &mut store.as_context_mut().0.opaque;
        let type_id = store.engine.intern_type(&ty.ty().inner);
        let index = store.tags.push(TagData {
            ty: ty.clone(),
            type_id,
        });
        Ok(Tag {
            store: store.id,
            index,
        })
    }

    /// The tag's type.
    ///
    /// # Panics
    ///
    /// When the tag belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        store.assert_owns(self.store);
        store.tags[self.index].ty.clone()
    }

    /// Whether `a` and `b` are the same tag (the same as `a == b`).
    pub fn eq(a: &Tag, b: &Tag, _store: impl AsContext) -> bool {
        a == b
    }
}

impl From<Tag> for crate::Extern {
    fn from(t: Tag) -> crate::Extern {
        crate::Extern::Tag(t)
    }
}

/// A tag of a store: its type, and the canonical id of its function type,
/// which an import must name exactly.
pub(crate) struct TagData {
    pub(crate) ty: TagType,
    pub(crate) type_id: CanonicalTypeId,
}

/// An exception object in the store's reference heap.
pub(crate) struct ExnObject {
    pub(crate) tag: StoreTagIndex,
    /// The payload, one raw value per parameter of the tag's type.
    pub(crate) values: Box<[ValRaw]>,
    /// The payload's types.
    pub(crate) types: Box<[WasmValType]>,
}

impl ExnObject {
    /// The payload's raw values, each with its type: a copy, so that the
    /// store can be borrowed mutably while they become [`Val`]s.
    fn typed_payload(&self) -> Vec<(ValRaw, WasmValType)> {
        self.values
            .iter()
            .copied()
            .zip(self.types.iter().copied())
            .collect()
    }

    /// The heap words the payload holds, which a collection follows.
    pub(crate) fn heap_words(&self) -> impl Iterator<Item = usize> + '_ {
        self.values
            .iter()
            .zip(self.types.iter())
            .filter(|(_, t)| matches!(t, WasmValType::Ref(r) if r.family() != RefFamily::Func))
            .map(|(v, _)| v.get_ptr())
    }
}

heap_handle!(
    /// A reference to an exception, owned by a store. Like
    /// [`crate::ExternRef`], a `Copy` handle (store id, heap slot, generation)
    /// whose value lives while it is rooted or held by a table, a global, an
    /// exception or running wasm.
    ExnRef,
    "exnref",
    || anyhow::anyhow!("exnref was collected")
);

impl ExnRef {
    /// A new exception of tag `tag` with payload `payload`, as `throw`
    /// makes one; rooted in the current scope. A host function throws it
    /// with [`crate::Caller::throw`].
    ///
    /// # Errors
    ///
    /// When `payload` does not have one value of each of the tag's
    /// parameter types, or a reference in it belongs to another store or
    /// was collected.
    ///
    /// # Panics
    ///
    /// When `tag` belongs to another store.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<ExnRef> {
        let store = &mut store.as_context_mut().0.opaque;
        store.assert_owns(tag.store);
        let params: Vec<ValType> = store.tags[tag.index].ty.ty().params().collect();
        if params.len() != payload.len() {
            bail!(
                "the tag's payload has {} value(s), {} given",
                params.len(),
                payload.len()
            );
        }
        let mut values = Vec::with_capacity(payload.len());
        for (i, (v, t)) in payload.iter().zip(&params).enumerate() {
            if !v.matches_in(store, t)? {
                bail!("payload value {i} is not of the tag's type {t}");
            }
            values.push(v.to_raw(store)?);
        }
        let obj = ExnObject {
            tag: tag.index,
            values: values.into(),
            types: params.iter().map(|t| t.to_wasm()).collect(),
        };
        let word = store.new_exception(obj);
        Ok(ExnRef::from_raw(store, word).expect("a new exception's word is not null"))
    }

    /// The handle of live exception word `exn`, not rooted.
    fn unrooted(store: &StoreOpaque, exn: usize) -> ExnRef {
        let index = (exn - 1) as u32;
        ExnRef {
            store: store.id,
            index,
            generation: store.externrefs.generation_of(index),
        }
    }

    fn object<'a>(&self, store: &'a StoreOpaque) -> Result<&'a ExnObject> {
        store.assert_owns(self.store);
        store
            .externrefs
            .get(self.index, self.generation)
            .and_then(|v| v.downcast_ref::<ExnObject>())
            .ok_or_else(|| anyhow::anyhow!("exnref was collected"))
    }

    /// The exception's tag.
    ///
    /// # Errors
    ///
    /// When the exception was collected.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn tag(&self, store: impl AsContext) -> Result<Tag> {
        let store = &store.as_context().0.opaque;
        Ok(Tag {
            store: store.id,
            index: self.object(store)?.tag,
        })
    }

    /// The exception's payload, the values `throw` was given.
    ///
    /// # Errors
    ///
    /// When the exception was collected.
    ///
    /// # Panics
    ///
    /// When the reference belongs to another store.
    pub fn payload(&self, mut store: impl AsContextMut) -> Result<Vec<Val>> {
        let store = &mut store.as_context_mut().0.opaque;
        let raw = self.object(store)?.typed_payload();
        Ok(payload_vals(store, &raw))
    }
}

/// The payload values of raw `values`, rooted in the current scope.
fn payload_vals(store: &mut StoreOpaque, values: &[(ValRaw, WasmValType)]) -> Vec<Val> {
    values
        .iter()
        .map(|(raw, ty)| {
            // SAFETY: the payload was written by compiled code of this
            // store for these types.
            unsafe { Val::from_raw(store, *raw, crate::ValType::from_wasm(*ty)) }
        })
        .collect()
}

/// The error of a call into wasm that threw an exception no wasm frame
/// caught: downcast the error to it (`err.downcast_ref::<ThrownException>()`)
/// to read the tag and the payload.
///
/// It is also how a host function throws: a host function called from
/// wasm that returns this error (made by [`crate::Caller::throw`], or
/// received from wasm it called) throws the exception at its call site,
/// where a `try_table` of the calling wasm may catch it, as if the host
/// function had executed `throw_ref`. That holds while the exception
/// object lives: it is collected like an externref once nothing holds it
/// (see [`crate::RootScope`]), and then the error is an error again, which
/// no wasm catches.
#[derive(Debug, Clone)]
pub struct ThrownException {
    tag: Tag,
    payload: Vec<Val>,
    exn: ExnRef,
}

impl ThrownException {
    /// The error that throws `exn`, with its tag and payload; when `exn`
    /// belongs to another store or was collected, an error that says so.
    pub(crate) fn error_of(store: &mut StoreOpaque, exn: ExnRef) -> anyhow::Error {
        if exn.store != store.id {
            return anyhow::anyhow!("cross-store value: the exnref belongs to another store");
        }
        let (tag, raw) = match exn.object(store) {
            Ok(obj) => (obj.tag, obj.typed_payload()),
            Err(e) => return e,
        };
        anyhow::Error::new(ThrownException {
            tag: Tag {
                store: store.id,
                index: tag,
            },
            payload: payload_vals(store, &raw),
            exn,
        })
    }

    /// The thrown exception object. Its methods fail once it has been
    /// collected.
    pub fn exn(&self) -> ExnRef {
        self.exn
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The exception's payload, the values `throw` was given.
    pub fn payload(&self) -> &[Val] {
        &self.payload
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "uncaught exception: a WebAssembly exception with {} payload value(s) was thrown \
             and not caught",
            self.payload.len()
        )
    }
}

impl std::error::Error for ThrownException {}

// ---- Libcall bodies ---------------------------------------------------------

/// `exn_new`: a new exception of tag `tag` (of instance `inst`'s module)
/// whose payload is in the cells at `values`; its `exnref` word.
///
/// # Safety
///
/// `values` must point at one readable 16-byte cell per parameter of the
/// tag's type.
pub(crate) unsafe fn exn_new(
    store: &mut StoreOpaque,
    inst: StoreInstanceIndex,
    tag: u32,
    values: usize,
) -> usize {
    let tag = TagIndex::from_u32(tag);
    let data = &store.instances[inst];
    let types: Box<[WasmValType]> = data.info().tag_type(tag).params.clone();
    let payload = (0..types.len())
        .map(|i| {
            // SAFETY: per the contract; the cells are not necessarily
            // aligned for `ValRaw`.
            unsafe { (values as *const ValRaw).add(i).read_unaligned() }
        })
        .collect();
    let obj = ExnObject {
        tag: data.tags[tag],
        values: payload,
        types,
    };
    store.new_exception(obj)
}

/// `exn_payload`: writes the payload of exception word `exn` into the
/// cells at `values`.
///
/// # Safety
///
/// `exn` must be a live exception word of `store` and `values` point at
/// one writable 16-byte cell per payload value.
pub(crate) unsafe fn exn_payload(store: &StoreOpaque, exn: usize, values: usize) {
    let obj = store.exception(exn);
    for (i, v) in obj.values.iter().enumerate() {
        // SAFETY: per the contract.
        unsafe { (values as *mut ValRaw).add(i).write_unaligned(*v) };
    }
}

/// `throw_ref`: the handler of exception word `exn`, thrown by the wasm
/// frame `fp` from the call returning to `pc`: its resume record, in the
/// store; `Err` with the error for the host when nothing catches it.
///
/// # Safety
///
/// As for [`crate::vm::unwind::find_handler`], and `exn` must be a live
/// exception word of `store`.
pub(crate) unsafe fn throw_ref(
    store: &mut StoreOpaque,
    exn: usize,
    fp: usize,
    pc: usize,
) -> Result<*const Resume, anyhow::Error> {
    let tag = store.exception(exn).tag;
    let instances = &store.instances;
    let matches = |vmctx, handler_tag: Option<u32>| match handler_tag {
        None => true,
        Some(t) => {
            // SAFETY: a vmctx a live wasm frame of this store saved.
            let (_, inst) = unsafe { crate::vm::vmctx::store_and_instance(vmctx) };
            instances[inst].tags[TagIndex::from_u32(t)] == tag
        }
    };
    // SAFETY: per this function's contract.
    if let Some(handler) = unsafe { crate::vm::unwind::find_handler(fp, pc, matches) } {
        store.resume = Resume {
            payload: exn,
            ..handler
        };
        return Ok(&store.resume);
    }
    let exn = ExnRef::unrooted(store, exn);
    Err(ThrownException::error_of(store, exn))
}

/// Throws `err`, the error of a host function that wasm called, in the
/// wasm that called it when it is a [`ThrownException`] of a live
/// exception of this store: from the call site to the innermost wasm
/// handler that catches it, or, when none does, as the error of the outer
/// call. Any other error comes back, for the caller to raise.
///
/// # Safety
///
/// As for [`traphandlers::raise_error`]: the caller is the shim of a host
/// function, called by compiled code inside `catch_traps`, and the frames
/// this skips own nothing. `store.vm_store_context.last_wasm_exit_fp` is
/// zero (the host called the function) or the frame of the wasm-to-host
/// trampoline under this call, which holds the calling wasm function's
/// frame pointer and the return address into it.
pub(crate) unsafe fn throw_if_exception(
    store: &mut StoreOpaque,
    err: anyhow::Error,
) -> anyhow::Error {
    let exit_fp = store.vm_store_context.last_wasm_exit_fp;
    if exit_fp == 0 || !crate::libcalls::CAN_RESUME {
        return err;
    }
    let Some(exn) = err
        .downcast_ref::<ThrownException>()
        .and_then(|t| t.exn.to_raw(store).ok())
    else {
        return err;
    };
    // SAFETY: per the contract, `exit_fp` is a live frame record: the
    // caller's frame pointer, then the return address into it.
    let (fp, pc) = unsafe {
        let record = exit_fp as *const usize;
        (record.read(), record.add(1).read())
    };
    // SAFETY: `fp` and `pc` are those of the wasm frame that called the
    // host function; `exn` was checked live.
    match unsafe { throw_ref(store, exn, fp, pc) } {
        Ok(record) => {
            drop(err);
            // SAFETY: the record names a handler of a wasm frame older
            // than this one; the frames between own nothing.
            unsafe { crate::libcalls::resume_at(record) }
        }
        // SAFETY: per this function's contract.
        Err(uncaught) => unsafe { traphandlers::raise_error(uncaught) },
    }
}
