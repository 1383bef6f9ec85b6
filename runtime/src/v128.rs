//! [`V128`]: a WebAssembly `v128` value as the host sees it.

use crate::store::StoreOpaque;
use crate::{Val, ValType, WasmTy};
use anyhow::Result;
use trestle_vmctx::ValRaw;

/// A 128-bit SIMD value, `v128`: sixteen bytes that wasm reads as lanes of
/// any shape.
///
/// It converts to and from `u128`, whose least significant byte is lane 0
/// of an `i8x16` (the byte at the lowest address when the value is in
/// memory). It is the type of [`Val::V128`], and a [`WasmTy`], so it can
/// be a parameter or result of a [`TypedFunc`](crate::TypedFunc) or a host
/// function.
///
/// ```
/// use trestle::{Engine, Instance, Module, Store, V128};
///
/// let engine = Engine::default();
/// let module = Module::new(
///     &engine,
///     r#"(module
///          (func (export "add") (param v128 v128) (result v128)
///            (i32x4.add (local.get 0) (local.get 1))))"#,
/// )?;
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[])?;
/// let add = instance.get_typed_func::<(V128, V128), V128>(&mut store, "add")?;
/// let lanes = |l: [u32; 4]| V128::from(l.iter().rev().fold(0u128, |v, x| v << 32 | u128::from(*x)));
/// let sum = add.call(&mut store, (lanes([1, 2, 3, 4]), lanes([10, 20, 30, u32::MAX])))?;
/// assert_eq!(sum, lanes([11, 22, 33, 3]));
/// # Ok::<(), trestle::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V128(u128);

impl V128 {
    /// The value's bits.
    pub fn as_u128(&self) -> u128 {
        self.0
    }

    /// The value's sixteen bytes, lane 0 of an `i8x16` first.
    pub fn to_le_bytes(&self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    /// The value whose bytes are `bytes`, lane 0 of an `i8x16` first.
    pub fn from_le_bytes(bytes: [u8; 16]) -> V128 {
        V128(u128::from_le_bytes(bytes))
    }

    /// The raw form compiled code passes: the value in the slot's sixteen
    /// bytes.
    pub(crate) fn to_raw(self) -> ValRaw {
        let mut raw = ValRaw::default();
        // SAFETY: `ValRaw` is sixteen plain bytes, any of which are valid.
        unsafe { std::ptr::write((&raw mut raw).cast::<u128>(), self.0) };
        raw
    }

    /// The value in a raw slot.
    pub(crate) fn from_raw(raw: ValRaw) -> V128 {
        // SAFETY: `ValRaw` is sixteen plain bytes, as is a `u128`.
        V128(unsafe { std::ptr::read((&raw const raw).cast::<u128>()) })
    }
}

impl From<u128> for V128 {
    fn from(bits: u128) -> V128 {
        V128(bits)
    }
}

impl From<V128> for u128 {
    fn from(v: V128) -> u128 {
        v.0
    }
}

impl From<V128> for Val {
    fn from(v: V128) -> Val {
        Val::V128(v)
    }
}

impl WasmTy for V128 {
    fn valtype() -> ValType {
        ValType::V128
    }

    fn into_raw(self, _: &StoreOpaque) -> Result<ValRaw> {
        Ok(self.to_raw())
    }

    unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        V128::from_raw(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_slots_keep_every_bit() {
        for bits in [0, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let v = V128::from(bits);
            assert_eq!(V128::from_raw(v.to_raw()), v);
            assert_eq!(u128::from(v), bits);
            assert_eq!(V128::from_le_bytes(v.to_le_bytes()), v);
        }
        // Lane 0 is the least significant byte.
        assert_eq!(V128::from(0x0201).to_le_bytes()[..3], [1, 2, 0]);
    }
}
