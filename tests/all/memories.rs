//! Several memories and 64-bit memories through the host API: every
//! `Memory` method on a 64-bit memory, the second memory of an instance
//! exported and imported, and the adversarial cases: an access at the top
//! of a 64-bit memory, growth asked for near 2^64, a data segment that
//! does not fit in the second memory.

use crate::harness::{RecordingLimiter, assert_trap, call_ok, engine, new_instance, trap};
use trestle::{
    Engine, Instance, Linker, MAX_MEMORY64_PAGES, Memory, MemoryType, Module, ResourceLimiter,
    Store, Trap, Val,
};

/// An instance with a 64-bit memory of one page (at most three) and
/// functions reading and writing it.
const MEMORY64: &str = r#"
(module
  (memory (export "mem") i64 1 3)
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load_far") (param i64) (result i32)
    (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))
  (func (export "store") (param i64 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2))))
"#;

#[test]
fn every_memory_method_on_a_64_bit_memory() {
    let mut store = Store::new(&engine(), 7u32);
    let memory = Memory::new(&mut store, MemoryType::new64(1, Some(3))).unwrap();
    let ty = memory.ty(&store);
    assert!(ty.is_64());
    assert_eq!((ty.minimum(), ty.maximum()), (1, Some(3)));
    assert_eq!(ty.to_string(), "(memory i64 1 3)");
    assert_eq!(memory.size(&store), 1);
    assert_eq!(memory.data_size(&store), 65536);

    memory.write(&mut store, 65532, &[1, 2, 3, 4]).unwrap();
    let mut buf = [0; 4];
    memory.read(&store, 65532, &mut buf).unwrap();
    assert_eq!(buf, [1, 2, 3, 4]);
    assert!(memory.read(&store, 65533, &mut buf).is_err());
    assert!(memory.write(&mut store, 65536, &[0]).is_err());
    assert!(memory.read(&store, usize::MAX, &mut buf).is_err());
    assert_eq!(memory.data(&store)[65535], 4);
    memory.data_mut(&mut store)[0] = 9;
    let (bytes, data) = memory.data_and_store_mut(&mut store);
    *data += u32::from(bytes[0]);
    assert_eq!(*store.data(), 16);

    assert_eq!(memory.grow(&mut store, 2).unwrap(), 1);
    assert_eq!(memory.size(&store), 3);
    assert_eq!(memory.ty(&store).minimum(), 3);
    assert!(memory.grow(&mut store, 1).is_err(), "past the maximum");
    assert!(memory.grow(&mut store, u64::MAX).is_err());
    assert_eq!(memory.size(&store), 3);
    memory.write(&mut store, 3 * 65536 - 1, &[5]).unwrap();

    // Wasm importing it sees what the host wrote, with 64-bit addresses.
    let module = Module::new(
        store.engine(),
        r#"(module (import "host" "mem" (memory i64 1))
             (func (export "at") (param i64) (result i32) (i32.load8_u (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(store.engine());
    linker.define(&store, "host", "mem", memory).unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let at = inst.get_typed_func::<i64, i32>(&mut store, "at").unwrap();
    assert_eq!(at.call(&mut store, 3 * 65536 - 1).unwrap(), 5);
    assert_eq!(at.call(&mut store, 0).unwrap(), 9);
    assert_trap(at.call(&mut store, 3 * 65536), Trap::MemoryOutOfBounds);
}

#[test]
fn a_32_bit_import_does_not_match_a_64_bit_memory() {
    let mut store = Store::new(&engine(), ());
    let memory = Memory::new(&mut store, MemoryType::new64(1, None)).unwrap();
    let module = Module::new(store.engine(), r#"(module (import "m" "m" (memory 1)))"#).unwrap();
    let mut linker = Linker::new(store.engine());
    linker.define(&store, "m", "m", memory).unwrap();
    assert!(linker.instantiate(&mut store, &module).is_err());
}

/// Adversarial: accesses at and past the top of a 64-bit memory, and
/// addresses whose sum with the offset overflows 64 bits, trap; the store
/// stays usable.
#[test]
fn out_of_bounds_at_the_top_of_a_64_bit_memory() {
    let (mut store, inst) = new_instance(&engine(), MEMORY64);
    let load = inst.get_typed_func::<i64, i32>(&mut store, "load").unwrap();
    let load8 = inst
        .get_typed_func::<i64, i32>(&mut store, "load8")
        .unwrap();
    let load_far = inst
        .get_typed_func::<i64, i32>(&mut store, "load_far")
        .unwrap();
    let store_fn = inst
        .get_typed_func::<(i64, i32), ()>(&mut store, "store")
        .unwrap();
    store_fn.call(&mut store, (65532, 0x0102_0304)).unwrap();
    assert_eq!(load.call(&mut store, 65532).unwrap(), 0x0102_0304);
    assert_eq!(load8.call(&mut store, 65535).unwrap(), 1);
    for at in [65533, 65536, 1 << 32, (1 << 33) + 65536, i64::MAX, -1] {
        assert_trap(load.call(&mut store, at), Trap::MemoryOutOfBounds);
        assert_trap(store_fn.call(&mut store, (at, 0)), Trap::MemoryOutOfBounds);
    }
    assert_trap(load8.call(&mut store, 65536), Trap::MemoryOutOfBounds);
    // offset + address overflows: a trap, not a wrapped access to byte 0.
    assert_trap(load_far.call(&mut store, 0x20), Trap::MemoryOutOfBounds);
    assert_trap(load_far.call(&mut store, 0), Trap::MemoryOutOfBounds);
    let fill = inst
        .get_typed_func::<(i64, i32, i64), ()>(&mut store, "fill")
        .unwrap();
    assert_trap(fill.call(&mut store, (-1, 0, 2)), Trap::MemoryOutOfBounds);
    assert_trap(fill.call(&mut store, (1, 0, -1)), Trap::MemoryOutOfBounds);
    fill.call(&mut store, (65534, 0xaa, 2)).unwrap();
    assert_eq!(load8.call(&mut store, 65535).unwrap(), 0xaa);
}

/// Adversarial: `memory.grow` of a 64-bit memory by page counts whose size
/// in bytes does not fit in 64 bits returns -1 without overflowing, and the
/// limiter is asked only about sizes that exist.
#[test]
fn growth_near_2_pow_64_is_refused() {
    let engine = engine();
    let mut store = Store::new(
        &engine,
        RecordingLimiter {
            max_memory_bytes: Some(4 << 16),
            ..RecordingLimiter::default()
        },
    );
    store.limiter(|r| r as &mut dyn ResourceLimiter);
    let module = Module::new(&engine, MEMORY64.replace("i64 1 3", "i64 1")).unwrap();
    let inst = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = inst.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
    let size = inst.get_typed_func::<(), i64>(&mut store, "size").unwrap();
    store.data_mut().memory_asks.clear();
    for delta in [
        -1i64,
        1 << 48,
        (1 << 48) - 1,
        (1 << 48) - 2,
        i64::MAX,
        1 << 62,
    ] {
        assert_eq!(grow.call(&mut store, delta).unwrap(), -1, "delta {delta}");
    }
    // Only 2^48 - 2 more pages make a size that fits in 64 bits (2^64 -
    // 64 KiB): the limiter was asked about that one alone, and refused.
    assert_eq!(store.data().memory_asks, [(65536, usize::MAX - 65535)]);
    assert_eq!(size.call(&mut store, ()).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 3);
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    assert!(memory.grow(&mut store, u64::MAX).is_err());
    assert!(memory.grow(&mut store, 1 << 48).is_err());
    assert_eq!(memory.size(&store), 3);
}

/// A 64-bit memory grows past 4 GiB, up to `MAX_MEMORY64_PAGES`: compiled
/// code and the host API reach bytes above 4 GiB, and the top stays
/// bounds-checked.
#[test]
fn a_64_bit_memory_grows_past_4_gib() {
    let (mut store, inst) = new_instance(&engine(), &MEMORY64.replace("i64 1 3", "i64 1"));
    let grow = inst.get_typed_func::<i64, i64>(&mut store, "grow").unwrap();
    let load = inst.get_typed_func::<i64, i32>(&mut store, "load").unwrap();
    let store_fn = inst
        .get_typed_func::<(i64, i32), ()>(&mut store, "store")
        .unwrap();
    let four_gib = 1i64 << 32;
    assert_trap(load.call(&mut store, four_gib), Trap::MemoryOutOfBounds);
    assert_eq!(grow.call(&mut store, 65536).unwrap(), 1);
    store_fn
        .call(&mut store, (four_gib + 8, 0x1234_5678))
        .unwrap();
    assert_eq!(load.call(&mut store, four_gib + 8).unwrap(), 0x1234_5678);
    let top = four_gib + 65536;
    store_fn.call(&mut store, (top - 4, 9)).unwrap();
    assert_trap(load.call(&mut store, top - 3), Trap::MemoryOutOfBounds);
    let memory = inst.get_memory(&mut store, "mem").unwrap();
    assert_eq!(memory.size(&store), 65537);
    assert_eq!(memory.data_size(&store), (4 << 30) + 65536);
    let mut bytes = [0u8; 4];
    memory.read(&store, (4 << 30) + 8, &mut bytes).unwrap();
    assert_eq!(u32::from_le_bytes(bytes), 0x1234_5678);
    memory
        .write(&mut store, (4 << 30) + 65532, &[1, 2, 3, 4])
        .unwrap();
    assert_eq!(load.call(&mut store, top - 4).unwrap(), 0x0403_0201);
    assert!(
        memory
            .write(&mut store, (4 << 30) + 65533, &[0; 4])
            .is_err()
    );
    let room = MAX_MEMORY64_PAGES - memory.size(&store);
    assert!(memory.grow(&mut store, room + 1).is_err());
    assert_eq!(
        grow.call(&mut store, i64::try_from(room + 1).unwrap())
            .unwrap(),
        -1
    );
}

/// `wat` instantiated in a new store with a one-page host memory as
/// `host.mem`: the store, the memory and the result of the instantiation.
fn with_host_memory(wat: &str) -> (Store<()>, Memory, trestle::Result<Instance>) {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "mem", memory).unwrap();
    let instance = linker.instantiate(&mut store, &module);
    (store, memory, instance)
}

/// Adversarial: an active data segment that does not fit in the second
/// memory fails instantiation with the spec's trap, after the segments
/// before it were written.
#[test]
fn data_segment_out_of_bounds_in_the_second_memory() {
    let (store, host, instance) = with_host_memory(
        r#"(module
             (import "host" "mem" (memory 1))
             (memory $second 1)
             (data (memory 0) (i32.const 0) "first")
             (data (memory $second) (i32.const 65534) "abc"))"#,
    );
    let err = instance.expect_err("the segment does not fit");
    assert_eq!(trap(err), Trap::MemoryOutOfBounds);
    assert_eq!(&host.data(&store)[..5], b"first");
}

/// Two defined memories and an imported one, each exported, each reached
/// through its own index by loads, stores, `memory.size`, `memory.grow`
/// and a `memory.copy` between two of them.
#[test]
fn every_memory_of_an_instance_is_its_own() {
    let (mut store, imported, instance) = with_host_memory(
        r#"(module
             (import "host" "mem" (memory $m0 1))
             (memory $m1 (export "m1") 2)
             (memory $m2 (export "m2") i64 1)
             (func (export "put") (param i32 i32 i32 i32)
               (i32.store $m0 (local.get 0) (local.get 3))
               (i32.store $m1 (local.get 1) (local.get 3))
               (i64.store32 $m2 (i64.extend_i32_u (local.get 2)) (i64.extend_i32_u (local.get 3))))
             (func (export "sizes") (result i32 i32 i64)
               (memory.size $m0) (memory.size $m1) (memory.size $m2))
             (func (export "grow1") (result i32) (memory.grow $m1 (i32.const 1)))
             (func (export "copy") (param i32 i32)
               (memory.copy $m2 $m1 (i64.extend_i32_u (local.get 0)) (local.get 0) (local.get 1))))"#,
    );
    let inst = instance.unwrap();
    let m1 = inst.get_memory(&mut store, "m1").unwrap();
    let m2 = inst.get_memory(&mut store, "m2").unwrap();
    assert!(m2.ty(&store).is_64() && !m1.ty(&store).is_64());
    let args = [0, 131068, 65532, 0x1122_3344].map(Val::I32);
    call_ok(&mut store, &inst, "put", &args);
    assert_eq!(imported.data(&store)[..4], 0x1122_3344u32.to_le_bytes());
    assert_eq!(m1.data(&store)[131068..], 0x1122_3344u32.to_le_bytes());
    assert_eq!(m2.data(&store)[65532..], 0x1122_3344u32.to_le_bytes());
    assert!(m1.data(&store)[..4].iter().all(|&b| b == 0));
    let sizes = call_ok(&mut store, &inst, "sizes", &[]);
    assert_eq!(
        (
            sizes[0].unwrap_i32(),
            sizes[1].unwrap_i32(),
            sizes[2].unwrap_i64()
        ),
        (1, 2, 1)
    );
    assert_eq!(call_ok(&mut store, &inst, "grow1", &[])[0].unwrap_i32(), 2);
    assert_eq!(m1.size(&store), 3);
    assert_eq!(imported.size(&store), 1);
    m1.write(&mut store, 100, b"copied").unwrap();
    call_ok(&mut store, &inst, "copy", &[Val::I32(100), Val::I32(6)]);
    assert_eq!(&m2.data(&store)[100..106], b"copied");
}

/// `Config::wasm_memory64(false)` rejects 64-bit memories; the default
/// accepts them.
#[test]
fn memory64_can_be_turned_off() {
    let mut config = crate::harness::config();
    config.wasm_memory64(false);
    let off = Engine::new(&config).unwrap();
    assert!(Module::new(&off, "(module (memory i64 1))").is_err());
    assert!(Module::new(&engine(), "(module (memory i64 1))").is_ok());
}
