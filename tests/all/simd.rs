//! SIMD through the host API: `V128` values in typed and untyped calls,
//! host functions and globals; the features that turn SIMD and relaxed
//! SIMD off; the results Trestle chose for each relaxed instruction, in
//! both modes (`docs/simd.md`); and vector accesses at the end of memory.

use trestle::{
    Engine, Func, Global, GlobalType, Instance, Linker, Module, Mutability, Store, Trap, V128, Val,
    ValType,
};

use crate::harness::{self, new_instance as instantiate};

/// A `v128` from `i32` lanes, lane 0 first.
fn i32x4(lanes: [i32; 4]) -> V128 {
    let mut bytes = [0; 16];
    for (chunk, lane) in bytes.chunks_exact_mut(4).zip(lanes) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    V128::from_le_bytes(bytes)
}

/// The `i32` lanes of a `v128`.
fn lanes_i32(v: V128) -> [i32; 4] {
    let b = v.to_le_bytes();
    std::array::from_fn(|i| i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()))
}

/// The `i16` lanes of a `v128`.
fn lanes_i16(v: V128) -> [i16; 8] {
    let b = v.to_le_bytes();
    std::array::from_fn(|i| i16::from_le_bytes([b[i * 2], b[i * 2 + 1]]))
}

fn f32x4(lanes: [f32; 4]) -> V128 {
    i32x4(lanes.map(|f| f.to_bits() as i32))
}

fn i16x8(lanes: [i16; 8]) -> V128 {
    let mut bytes = [0; 16];
    for (chunk, lane) in bytes.chunks_exact_mut(2).zip(lanes) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    V128::from_le_bytes(bytes)
}

#[test]
fn typed_functions_take_and_return_v128() {
    let (mut store, instance) = harness::instance_of(
        r#"(module
             (func (export "add") (param v128 v128) (result v128)
               (i32x4.add (local.get 0) (local.get 1)))
             (func (export "split") (param v128) (result i32 v128 i64)
               (i32x4.extract_lane 3 (local.get 0))
               (local.get 0)
               (i64x2.extract_lane 0 (local.get 0))))"#,
    );
    let add = instance
        .get_typed_func::<(V128, V128), V128>(&mut store, "add")
        .unwrap();
    let sum = add
        .call(
            &mut store,
            (i32x4([1, 2, 3, 4]), i32x4([10, 20, 30, i32::MAX])),
        )
        .unwrap();
    assert_eq!(lanes_i32(sum), [11, 22, 33, i32::MIN + 3]);

    let split = instance
        .get_typed_func::<V128, (i32, V128, i64)>(&mut store, "split")
        .unwrap();
    let v = V128::from(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    let (top, same, low) = split.call(&mut store, v).unwrap();
    assert_eq!(top as u32, 0x0123_4567);
    assert_eq!(same, v);
    assert_eq!(low as u64, 0xfedc_ba98_7654_3210);

    // The wrong Rust type is refused when the function is looked up.
    assert!(
        instance
            .get_typed_func::<(i64, i64), V128>(&mut store, "add")
            .is_err()
    );
}

#[test]
fn untyped_calls_check_v128_arguments() {
    let (mut store, instance) = harness::instance_of(
        r#"(module
             (func (export "not") (param v128) (result v128)
               (v128.not (local.get 0))))"#,
    );
    let not = instance.get_func(&mut store, "not").unwrap();
    assert_eq!(
        not.ty(&store).params().collect::<Vec<_>>(),
        vec![ValType::V128]
    );
    let mut results = [Val::I32(0)];
    not.call(&mut store, &[Val::V128(V128::from(5))], &mut results)
        .unwrap();
    assert_eq!(results[0].unwrap_v128().as_u128(), !5u128);
    assert_eq!(results[0].ty(), ValType::V128);
    assert!(not.call(&mut store, &[Val::I64(5)], &mut results).is_err());
    assert_eq!(
        Val::default_for_ty(&ValType::V128),
        Val::V128(V128::from(0))
    );
}

#[test]
fn host_functions_take_and_return_v128() {
    let engine = harness::engine();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // Swaps the two 64-bit halves.
    linker
        .func_wrap("host", "swap", |v: V128| {
            let bits = v.as_u128();
            V128::from(bits.rotate_left(64))
        })
        .unwrap();
    let reverse = Func::wrap(&mut store, |x: i32, v: V128| -> (V128, i32) {
        let mut bytes = v.to_le_bytes();
        bytes.reverse();
        (V128::from_le_bytes(bytes), x + 1)
    });
    linker.define(&store, "host", "reverse", reverse).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "swap" (func $swap (param v128) (result v128)))
             (import "host" "reverse" (func $reverse (param i32 v128) (result v128 i32)))
             (func (export "run") (result v128 i32)
               (call $reverse (i32.const 41)
                 (call $swap (v128.const i64x2 1 2)))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), (V128, i32)>(&mut store, "run")
        .unwrap();
    let (v, n) = run.call(&mut store, ()).unwrap();
    assert_eq!(n, 42);
    // [1, 2] swapped is [2, 1]; its bytes reversed are the big-endian
    // encodings of 1 then 2.
    let mut expected = [0u8; 16];
    expected[7] = 1;
    expected[15] = 2;
    assert_eq!(v.to_le_bytes(), expected);
}

#[test]
fn v128_globals_from_wasm_and_from_the_host() {
    let engine = harness::engine();
    let mut store = Store::new(&engine, ());
    let host = Global::new(
        &mut store,
        GlobalType::new(ValType::V128, Mutability::Var),
        Val::V128(i32x4([1, 2, 3, 4])),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "g", host).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "g" (global $g (mut v128)))
             (global $mine (export "mine") (mut v128) (v128.const i32x4 5 6 7 8))
             (func (export "step")
               (global.set $g (i32x4.mul (global.get $g) (global.get $mine)))
               (global.set $mine (i32x4.splat (i32.const -1)))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mine = instance.get_global(&mut store, "mine").unwrap();
    assert_eq!(lanes_i32(mine.get(&mut store).unwrap_v128()), [5, 6, 7, 8]);
    let step = instance
        .get_typed_func::<(), ()>(&mut store, "step")
        .unwrap();
    step.call(&mut store, ()).unwrap();
    assert_eq!(
        lanes_i32(host.get(&mut store).unwrap_v128()),
        [5, 12, 21, 32]
    );
    assert_eq!(mine.get(&mut store).unwrap_v128().as_u128(), u128::MAX);
    mine.set(&mut store, Val::V128(i32x4([2, 2, 2, 2])))
        .unwrap();
    step.call(&mut store, ()).unwrap();
    assert_eq!(
        lanes_i32(host.get(&mut store).unwrap_v128()),
        [10, 24, 42, 64]
    );
    assert!(mine.set(&mut store, Val::I32(0)).is_err());
}

const RELAXED: &str = r#"(module
  (func (export "swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func (export "trunc_s") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
  (func (export "trunc_u") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_u (local.get 0)))
  (func (export "trunc_s_zero") (param v128) (result v128)
    (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0)))
  (func (export "trunc_u_zero") (param v128) (result v128)
    (i32x4.relaxed_trunc_f64x2_u_zero (local.get 0)))
  (func (export "madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "nmadd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "laneselect") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "min") (param v128 v128) (result v128)
    (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func (export "max") (param v128 v128) (result v128)
    (f32x4.relaxed_max (local.get 0) (local.get 1)))
  (func (export "q15mulr") (param v128 v128) (result v128)
    (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
  (func (export "dot") (param v128 v128) (result v128)
    (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func (export "dot_add") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))"#;

/// Calls `name` of the relaxed module with `args` and returns its result.
fn relaxed(store: &mut Store<()>, instance: &Instance, name: &str, args: &[V128]) -> V128 {
    let f = instance.get_func(&mut *store, name).unwrap();
    let args: Vec<Val> = args.iter().map(|v| Val::V128(*v)).collect();
    let mut results = [Val::I32(0)];
    f.call(&mut *store, &args, &mut results).unwrap();
    results[0].unwrap_v128()
}

/// Inputs on which the host's result may differ from the deterministic
/// one, with both results: `(function, arguments, deterministic,
/// x86-64's)`. Non-x86 hosts give the deterministic results in both
/// modes, but for `relaxed_madd`, which is fused wherever the hardware
/// has the instruction.
fn relaxed_cases() -> Vec<(&'static str, Vec<V128>, V128, V128)> {
    let bytes = V128::from_le_bytes(std::array::from_fn(|i| 0x10 + i as u8));
    let nan = f32::NAN;
    let tiny = f32::from_bits(0x3f80_0001); // 1 + 2^-23
    vec![
        // Indices 16 and 17 are out of range (0), but `pshufb` reads
        // them modulo 16; from 0x80 on, both give 0.
        (
            "swizzle",
            vec![
                bytes,
                V128::from_le_bytes([0, 15, 16, 17, 0x80, 0xff, 31, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            ],
            V128::from_le_bytes([
                0x10, 0x1f, 0, 0, 0, 0, 0, 0x11, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
            ]),
            V128::from_le_bytes([
                0x10, 0x1f, 0x10, 0x11, 0, 0, 0x1f, 0x11, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
                0x10,
            ]),
        ),
        // NaN and out of range: saturated (NaN to 0), or i32::MIN.
        (
            "trunc_s",
            vec![f32x4([nan, 3e9, -3e9, -1.5])],
            i32x4([0, i32::MAX, i32::MIN, -1]),
            i32x4([i32::MIN, i32::MIN, i32::MIN, -1]),
        ),
        (
            "trunc_u",
            vec![f32x4([nan, 5e9, -1.0, 1.5])],
            i32x4([0, -1, 0, 1]),
            i32x4([0, -1, 0, 1]),
        ),
        (
            "trunc_s_zero",
            vec![V128::from(
                u128::from(f64::NAN.to_bits()) | u128::from(3e9f64.to_bits()) << 64,
            )],
            i32x4([0, i32::MAX, 0, 0]),
            i32x4([i32::MIN, i32::MIN, 0, 0]),
        ),
        (
            "trunc_u_zero",
            vec![V128::from(
                u128::from(f64::NAN.to_bits()) | u128::from(5e9f64.to_bits()) << 64,
            )],
            i32x4([0, -1, 0, 0]),
            i32x4([0, -1, 0, 0]),
        ),
        // (1 + 2^-23)(1 - 2^-23) - 1 is -2^-46 exactly, 0 when the
        // product is rounded first. With FMA, x86-64 fuses too.
        (
            "madd",
            vec![f32x4([tiny; 4]), f32x4([2.0 - tiny; 4]), f32x4([-1.0; 4])],
            f32x4([-(2f32.powi(-46)); 4]),
            f32x4([-(2f32.powi(-46)); 4]),
        ),
        (
            "nmadd",
            vec![f32x4([tiny; 4]), f32x4([2.0 - tiny; 4]), f32x4([1.0; 4])],
            f32x4([2f32.powi(-46); 4]),
            f32x4([2f32.powi(-46); 4]),
        ),
        // A mask lane neither all ones nor all zeros: bit by bit, or by
        // its top bit.
        (
            "laneselect",
            vec![
                i32x4([-1; 4]),
                i32x4([0; 4]),
                i32x4([i32::MIN, 0x7fff_ffff, 1, -1]),
            ],
            i32x4([i32::MIN, 0x7fff_ffff, 1, -1]),
            i32x4([-1, 0, 0, -1]),
        ),
        // NaN and signed zeros: `min`'s answers, or the first operand
        // unless the second is below it.
        (
            "min",
            vec![f32x4([nan, 1.0, -0.0, 0.0]), f32x4([1.0, nan, 0.0, -0.0])],
            f32x4([nan, nan, -0.0, -0.0]),
            f32x4([nan, 1.0, -0.0, 0.0]),
        ),
        (
            "max",
            vec![f32x4([nan, 1.0, -0.0, 0.0]), f32x4([1.0, nan, 0.0, -0.0])],
            f32x4([nan, nan, 0.0, 0.0]),
            f32x4([nan, 1.0, -0.0, 0.0]),
        ),
        // -1 * -1 in Q15 overflows: saturated, or wrapped.
        (
            "q15mulr",
            vec![i16x8([i16::MIN; 8]), i16x8([i16::MIN, 1, 2, 3, 4, 5, 6, 7])],
            i16x8([i16::MAX, -1, -2, -3, -4, -5, -6, -7]),
            i16x8([i16::MIN, -1, -2, -3, -4, -5, -6, -7]),
        ),
        // A second operand outside 7 bits: signed, or unsigned (0xff is
        // 255), with the pair sums saturated.
        (
            "dot",
            vec![
                V128::from_le_bytes([1; 16]),
                V128::from_le_bytes([0xff; 16]),
            ],
            i16x8([-2; 8]),
            i16x8([510; 8]),
        ),
        (
            "dot_add",
            vec![
                V128::from_le_bytes([1; 16]),
                V128::from_le_bytes([0xff; 16]),
                i32x4([1, 2, 3, 4]),
            ],
            i32x4([-3, -2, -1, 0]),
            i32x4([1021, 1022, 1023, 1024]),
        ),
    ]
}

/// Compares results whose float lanes may be NaN: a NaN lane matches any
/// NaN (`min` and `max` give some NaN, not a particular one).
fn same_lanes(name: &str, actual: V128, expected: V128) -> bool {
    if !matches!(name, "min" | "max") {
        return actual == expected;
    }
    let (a, e) = (lanes_i32(actual), lanes_i32(expected));
    a.iter().zip(&e).all(|(a, e)| {
        let (a, e) = (f32::from_bits(*a as u32), f32::from_bits(*e as u32));
        (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits()
    })
}

#[test]
fn relaxed_simd_deterministic_results() {
    let mut config = harness::config();
    config.relaxed_simd_deterministic(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instantiate(&engine, RELAXED);
    for (name, args, deterministic, _) in relaxed_cases() {
        let actual = relaxed(&mut store, &instance, name, &args);
        assert!(
            same_lanes(name, actual, deterministic),
            "{name}: {:#034x}, expected {:#034x}",
            actual.as_u128(),
            deterministic.as_u128()
        );
    }
    // In range, `q15mulr` rounds as `q15mulr_sat_s` does.
    let r = relaxed(
        &mut store,
        &instance,
        "q15mulr",
        &[
            i16x8([16384; 8]),
            i16x8([3, -3, 1, -1, 16384, -16384, 0, 32767]),
        ],
    );
    assert_eq!(lanes_i16(r), [2, -1, 1, 0, 8192, -8192, 0, 16384]);
}

#[test]
fn relaxed_simd_host_results() {
    let (mut store, instance) = harness::instance_of(RELAXED);
    for (name, args, deterministic, x86) in relaxed_cases() {
        let actual = relaxed(&mut store, &instance, name, &args);
        let expected = if cfg!(target_arch = "x86_64") {
            x86
        } else {
            deterministic
        };
        assert!(
            same_lanes(name, actual, expected),
            "{name}: {:#034x}, expected {:#034x}",
            actual.as_u128(),
            expected.as_u128()
        );
    }
}

#[test]
fn simd_and_relaxed_simd_can_be_turned_off() {
    let plain = "(module (func (param v128) (result v128) (i8x16.abs (local.get 0))))";
    let relaxed = "(module (func (param v128 v128) (result v128) \
                   (f32x4.relaxed_min (local.get 0) (local.get 1))))";
    let mut config = harness::config();
    config.wasm_relaxed_simd(false);
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, plain).unwrap();
    assert!(Module::new(&engine, relaxed).is_err());
    config.wasm_simd(false).wasm_relaxed_simd(true);
    let engine = Engine::new(&config).unwrap();
    assert!(Module::new(&engine, plain).is_err());
    assert!(Module::new(&engine, relaxed).is_err());
    assert!(Module::new(&engine, "(module (global v128 (v128.const i64x2 0 0)))").is_err());
}

#[test]
fn vector_accesses_at_the_end_of_memory() {
    let (mut store, instance) = harness::instance_of(
        r#"(module
             (memory (export "mem") 1 1)
             (func (export "store") (param i32 v128) (v128.store (local.get 0) (local.get 1)))
             (func (export "load") (param i32) (result v128) (v128.load (local.get 0)))
             (func (export "store8_lane") (param i32 v128)
               (v128.store8_lane 15 (local.get 0) (local.get 1)))
             (func (export "store16_lane") (param i32 v128)
               (v128.store16_lane 7 (local.get 0) (local.get 1)))
             (func (export "load64_splat") (param i32) (result v128)
               (v128.load64_splat offset=65528 (local.get 0))))"#,
    );
    let store_v = instance
        .get_typed_func::<(i32, V128), ()>(&mut store, "store")
        .unwrap();
    let load = instance
        .get_typed_func::<i32, V128>(&mut store, "load")
        .unwrap();
    let ones = V128::from(u128::MAX);
    // The last 16 bytes are in bounds.
    store_v.call(&mut store, (65520, ones)).unwrap();
    assert_eq!(load.call(&mut store, 65520).unwrap(), ones);
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    mem.data_mut(&mut store)[65520..].fill(0);
    // One byte past the end: a trap, and nothing written.
    for at in [65521, 65535, -16, -1] {
        let e = store_v.call(&mut store, (at, ones)).unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
        let e = load.call(&mut store, at).unwrap_err();
        assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    }
    assert!(mem.data(&store)[65500..].iter().all(|b| *b == 0));
    // Lane stores check their own width.
    let store8 = instance
        .get_typed_func::<(i32, V128), ()>(&mut store, "store8_lane")
        .unwrap();
    let store16 = instance
        .get_typed_func::<(i32, V128), ()>(&mut store, "store16_lane")
        .unwrap();
    store8.call(&mut store, (65535, ones)).unwrap();
    assert_eq!(mem.data(&store)[65535], 0xff);
    let e = store16.call(&mut store, (65535, ones)).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
    // An offset beyond the index: the sum is checked, not either alone.
    let splat = instance
        .get_typed_func::<i32, V128>(&mut store, "load64_splat")
        .unwrap();
    assert_eq!(
        splat.call(&mut store, 0).unwrap().as_u128(),
        u128::from(u64::from_le_bytes([0, 0, 0, 0, 0, 0, 0, 0xff])) * ((1 << 64) + 1)
    );
    let e = splat.call(&mut store, 1).unwrap_err();
    assert_eq!(e.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
}

#[test]
fn vector_accesses_name_their_memory() {
    let (mut store, instance) = harness::instance_of(
        r#"(module
             (memory $a (export "a") 1)
             (memory $b (export "b") 1)
             (func (export "copy") (param i32)
               (v128.store $b (local.get 0) (v128.load $a (local.get 0)))
               (v128.store32_lane $a offset=16 0 (local.get 0)
                 (v128.load32_zero $b offset=4 (local.get 0)))
               (v128.store32_lane $a offset=20 1 (local.get 0)
                 (v128.load32_zero $b offset=4 (local.get 0)))))"#,
    );
    let a = instance.get_memory(&mut store, "a").unwrap();
    let b = instance.get_memory(&mut store, "b").unwrap();
    let pattern: Vec<u8> = (1..=16).collect();
    a.data_mut(&mut store)[32..48].copy_from_slice(&pattern);
    a.data_mut(&mut store)[52..56].fill(0xaa);
    let copy = instance
        .get_typed_func::<i32, ()>(&mut store, "copy")
        .unwrap();
    copy.call(&mut store, 32).unwrap();
    assert_eq!(&b.data(&store)[32..48], &pattern[..]);
    // load32_zero: the value in lane 0, zeros in lane 1.
    assert_eq!(&a.data(&store)[48..56], &[5, 6, 7, 8, 0, 0, 0, 0]);
}
