//! Differential execution of generated modules: Trestle against wasmi.
//!
//! [`check`] turns input bytes into a wasm-smith module (reference types,
//! bulk memory, multi-value, fixed-width SIMD in most modules, up to five
//! tables, 64-bit tables in some modules) that is sure to terminate
//! (wasm-smith's fuel global), with its tables exported in half the
//! modules and private in the others (then tables no instruction writes
//! have contents the compiler knows, and their `call_indirect`s are
//! devirtualized), and runs
//! it on Trestle and on wasmi, the oracle, with the same host imports:
//! functions (one with several results, one that fails on odd input,
//! reference identities), a funcref and an externref table, a memory and
//! globals. Every exported function is called in three rounds, with zeros,
//! ones and minus ones (null and non-null references); each call must agree
//! on its results or on trapping, and on the trap's kind. Then the final
//! contents of every exported and imported memory, table and global must
//! agree: memory bytes, table sizes with each element's null or non-null
//! (a funcref's type, an externref's host value) and global values.
//!
//! Float results are compared by bits, any NaN matching any NaN (the
//! modules canonicalize NaNs, so memory bytes compare exactly); a `v128`
//! result matches when its bits do, or when every lane does as `f32x4`,
//! or as `f64x2`, a NaN lane matching any NaN lane. Relaxed SIMD is not
//! generated: its results may differ between engines by design. A stack
//! overflow on either side ends the comparison without a verdict: the
//! engines' stack limits differ by design.
//!
//! Shared by the `differential` fuzz target and the seeded test in
//! `tests/all/differential.rs`.

use arbitrary::Unstructured;
use std::fmt;
use std::sync::OnceLock;
// wasmi 1.x: wasmi 2.0.0 picks the wrong operand of a `select` whose
// condition is a comparison, e.g. `(select (i32.const 7) (local.get 1)
// (i32.ne (local.get 0) (i32.const 0)))`.
use wasmi_oracle as wasmi;

/// Size limits of the generated modules.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most functions in a module, imports included.
    pub max_funcs: usize,
    /// Most instructions in a function body.
    pub max_instructions: usize,
    /// The initial value of the fuel global: each function entry and loop
    /// iteration costs one, and the instance traps once it is spent.
    pub fuel: u32,
}

impl Limits {
    /// For the fuzz target.
    pub const FUZZ: Limits = Limits {
        max_funcs: 20,
        max_instructions: 100,
        fuel: 5_000,
    };

    /// For the seeded test: small modules, quick runs.
    pub const SEEDED: Limits = Limits {
        max_funcs: 20,
        max_instructions: 60,
        fuel: 1_000,
    };
}

/// How the engines agreed on one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both instantiated the module; every call and the final state
    /// agreed.
    Ran {
        /// Calls made on each engine.
        calls: usize,
        /// How many of them trapped or failed.
        traps: usize,
        /// Whether the module uses SIMD (`v128` values or instructions).
        simd: bool,
    },
    /// Both failed to instantiate, the same way.
    InstantiationFailed,
    /// No verdict: the input was too short for a module, or a stack
    /// overflowed.
    Skipped(&'static str),
}

/// A difference between Trestle and wasmi.
#[derive(Debug)]
pub struct Divergence {
    /// The module.
    pub wasm: Vec<u8>,
    /// What differed.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Trestle and wasmi diverge on a module of {} bytes: {}",
            self.wasm.len(),
            self.what
        )
    }
}

/// A value as both engines can report it.
#[derive(Debug, Clone)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A funcref: null, or the type of the function.
    Func(Option<String>),
    /// An externref: null, or the host value (a number).
    Extern(Option<u32>),
    /// A `v128`, by its bits.
    V128(u128),
    /// Anything else.
    Other(String),
}

/// Whether two `v128`s are equal, or equal lane by lane as `f32x4` or as
/// `f64x2` with any NaN lane matching any NaN lane: the float instructions
/// wasm-smith does not canonicalize (`f32x4.demote_f64x2_zero`,
/// `f64x2.promote_low_f32x4`) may pass NaN payloads on differently.
fn v128_matches(a: u128, b: u128) -> bool {
    let f32_lanes = (0..4).all(|i| {
        let (x, y) = ((a >> (32 * i)) as u32, (b >> (32 * i)) as u32);
        x == y || (f32::from_bits(x).is_nan() && f32::from_bits(y).is_nan())
    });
    let f64_lanes = (0..2).all(|i| {
        let (x, y) = ((a >> (64 * i)) as u64, (b >> (64 * i)) as u64);
        x == y || (f64::from_bits(x).is_nan() && f64::from_bits(y).is_nan())
    });
    a == b || f32_lanes || f64_lanes
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (Value::Func(a), Value::Func(b)) => a == b,
            (Value::Extern(a), Value::Extern(b)) => a == b,
            (Value::V128(a), Value::V128(b)) => v128_matches(*a, *b),
            (Value::Other(a), Value::Other(b)) => a == b,
            _ => false,
        }
    }
}

/// A trap, in categories both engines distinguish. An out-of-bounds
/// `call_indirect` is "undefined element" in Trestle and a table access
/// out of bounds in wasmi, so both are `Table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrapKind {
    Unreachable,
    Memory,
    Table,
    NullCall,
    Signature,
    Overflow,
    DivZero,
    Conversion,
    Stack,
    Other,
}

/// What a call or an instantiation did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapKind),
    /// The `host.check` import failed.
    HostError,
    /// Any other error (its message; these never match each other).
    Error(String),
}

impl Outcome {
    fn agrees(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Error(_), _) | (_, Outcome::Error(_)) => false,
            _ => self == other,
        }
    }

    fn overflowed(&self) -> bool {
        matches!(self, Outcome::Trapped(TrapKind::Stack))
    }
}

/// An argument, made into each engine's value.
#[derive(Debug, Clone, Copy)]
enum Arg {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A funcref: null, or the `host.add1` function.
    Func(bool),
    /// An externref: null, or host value `n`.
    Extern(Option<u32>),
    /// A `v128`.
    V128(u128),
}

/// The abstract type of a parameter.
#[derive(Debug, Clone, Copy)]
enum ParamTy {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
    V128,
    Unsupported,
}

/// The argument of type `ty` in `round` (0, 1 or 2).
fn arg(ty: ParamTy, round: usize) -> Option<Arg> {
    let n: i64 = [0, 1, -1][round];
    Some(match ty {
        ParamTy::I32 => Arg::I32(n as i32),
        ParamTy::I64 => Arg::I64(n),
        ParamTy::F32 => Arg::F32((n as f32).to_bits()),
        ParamTy::F64 => Arg::F64((n as f64).to_bits()),
        ParamTy::FuncRef => Arg::Func(round == 2),
        ParamTy::ExternRef => Arg::Extern((round > 0).then_some(round as u32)),
        // Zeros, a one in every 32-bit lane, all ones.
        ParamTy::V128 => {
            Arg::V128([0, 0x0000_0001_0000_0001_0000_0001_0000_0001, u128::MAX][round])
        }
        ParamTy::Unsupported => return None,
    })
}

/// One item of the final state.
#[derive(Debug, PartialEq)]
enum Item {
    Memory(Vec<u8>),
    Table(Vec<Value>),
    Global(Value),
    Func,
    /// A tag (not generated while the oracle lacks exception handling).
    Tag,
    /// No export of that name.
    Missing,
}

/// Describes how two items differ.
fn describe_item_difference(a: &Item, b: &Item) -> String {
    match (a, b) {
        (Item::Memory(a), Item::Memory(b)) if a.len() != b.len() => {
            format!("memory sizes {} and {} bytes", a.len(), b.len())
        }
        (Item::Memory(a), Item::Memory(b)) => {
            let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            format!(
                "memory bytes at {at:#x}: {:02x?} and {:02x?}",
                &a[at..(at + 8).min(a.len())],
                &b[at..(at + 8).min(b.len())]
            )
        }
        (Item::Table(a), Item::Table(b)) if a.len() != b.len() => {
            format!("table sizes {} and {}", a.len(), b.len())
        }
        (Item::Table(a), Item::Table(b)) => {
            let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            format!("table element {at}: {:?} and {:?}", a[at], b[at])
        }
        _ => format!("{a:?} and {b:?}"),
    }
}

/// The host imports a generated module may use (a subset, chosen by
/// wasm-smith).
const HOST_IMPORTS: &str = r#"
(module
  (import "host" "add1" (func (param i32) (result i32)))
  (import "host" "mix" (func (param i64 f64) (result i64 f32)))
  (import "host" "check" (func (param i32)))
  (import "host" "id_extern" (func (param externref) (result externref)))
  (import "host" "id_func" (func (param funcref) (result funcref)))
  (import "host" "funcs" (table 6 12 funcref))
  (import "host" "externs" (table 4 8 externref))
  (import "host" "mem" (memory 1 3))
  (import "host" "g_i32" (global (mut i32)))
  (import "host" "g_i64" (global i64))
  (import "host" "g_f64" (global (mut f64)))
  (import "host" "g_extern" (global (mut externref)))
  (import "host" "g_func" (global (mut funcref))))
"#;

fn host_imports() -> Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| wat::parse_str(HOST_IMPORTS).expect("the host import list parses"))
        .clone()
}

/// The error of the `host.check` import.
#[derive(Debug)]
struct HostFailure;

impl fmt::Display for HostFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("host.check refused an odd number")
    }
}

impl std::error::Error for HostFailure {}

impl wasmi::errors::HostError for HostFailure {}

fn mix(a: i64, b: f64) -> (i64, f32) {
    (a ^ (b.to_bits() as i64).rotate_left(7), a as f32)
}

/// How many functions and tables `HOST_IMPORTS` has.
const HOST_FUNCS: usize = 5;
const HOST_TABLES: usize = 2;

/// The externref host values: a number, also in the externref table and
/// global at instantiation.
const EXTERN_VALUES: u32 = 3;

/// A generated module and the engine settings to run it with.
struct Case {
    wasm: Vec<u8>,
    memory64: bool,
    lazy: bool,
}

/// Makes a module from `u`.
fn generate(u: &mut Unstructured<'_>, limits: &Limits) -> arbitrary::Result<Case> {
    let memory64: bool = u.arbitrary()?;
    let lazy: bool = u.arbitrary()?;
    // Minimums, or wasm-smith makes about one function a module. The
    // maximums count imports: five functions and two tables may be
    // imported, and a minimum that does not fit fails the generation.
    let min_funcs = u.int_in_range(1..=limits.max_funcs - HOST_FUNCS)?;
    let min_tables = u.int_in_range(0..=4)?;
    // SIMD in three modules of four; the others keep denser scalar code.
    let simd = u.ratio(3, 4)?;
    let mut c = wasm_smith::Config {
        // Trestle's proposals: WebAssembly 2.0, several memories, extended
        // constant expressions, and with `memory64` 64-bit tables and
        // memories. No relaxed SIMD: the engines may both be right and
        // still differ.
        simd_enabled: simd,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        // The oracle, wasmi, does not implement exception handling; the
        // seeded tests of `tests/all/exceptions.rs` and the
        // `proposals/exceptions` spec suite cover it instead.
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        extended_const_enabled: true,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        memory64_enabled: memory64,
        // Up to three memories (with memory64, each 32- or 64-bit).
        max_memories: u.int_in_range(0..=3)?,
        // Small limits everywhere, and a maximum on every memory and table
        // so growth never depends on how much an engine is willing to
        // allocate.
        min_tables,
        max_tables: min_tables as usize + HOST_TABLES,
        max_table_elements: 100,
        table_max_size_required: true,
        max_memory32_bytes: 3 * 65536,
        max_memory64_bytes: 3 * 65536,
        memory_max_size_required: true,
        min_funcs,
        max_funcs: limits.max_funcs,
        min_element_segments: u.int_in_range(0..=2)?,
        min_data_segments: u.int_in_range(0..=1)?,
        min_globals: u.int_in_range(0..=2)?,
        max_instructions: u.int_in_range(1..=limits.max_instructions)?,
        max_types: 12,
        max_type_size: 1000,
        max_globals: 8,
        max_element_segments: 6,
        max_elements: 12,
        max_data_segments: 6,
        max_imports: 8,
        export_everything: true,
        available_imports: Some(host_imports()),
        canonicalize_nans: true,
        disallow_traps: u.ratio(1, 4)?,
        min_uleb_size: u.int_in_range(0..=5)?,
        ..wasm_smith::Config::default()
    };
    if u.ratio(1, 8)? {
        // Sometimes no floats: denser integer and table code.
        c.allow_floats = false;
    }
    let keep_table_exports: bool = u.arbitrary()?;
    let mut module = wasm_smith::Module::new(c, u)?;
    module
        .ensure_termination(limits.fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let mut wasm = module.to_bytes();
    if !keep_table_exports {
        wasm = without_table_exports(&wasm);
    }
    Ok(Case {
        wasm,
        memory64,
        lazy,
    })
}

/// The module made from `data`, as [`check`] makes it, if the input is
/// long enough.
pub fn module(data: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    generate(&mut Unstructured::new(data), limits)
        .ok()
        .map(|case| case.wasm)
}

/// Reads an unsigned LEB128 number at `*at`, moving past it.
fn read_leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Appends `value` as an unsigned LEB128 number.
fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `wasm` without the exports of its tables: wasm-smith exports every
/// entity, and a table that is neither exported nor imported, and that no
/// instruction writes, is one whose contents Trestle's compiler knows and
/// whose `call_indirect`s it devirtualizes. Such tables are then only seen
/// through calls. Returns `wasm` unchanged when it does not decode.
fn without_table_exports(wasm: &[u8]) -> Vec<u8> {
    const EXPORT_SECTION: u8 = 7;
    const TABLE_KIND: u8 = 1;
    let rewrite = || -> Option<Vec<u8>> {
        let mut out = wasm.get(..8)?.to_vec();
        let mut at = 8;
        while at < wasm.len() {
            let id = wasm[at];
            at += 1;
            let size = read_leb(wasm, &mut at)? as usize;
            let payload = wasm.get(at..at.checked_add(size)?)?;
            at += size;
            if id != EXPORT_SECTION {
                out.push(id);
                write_leb(&mut out, size as u64);
                out.extend_from_slice(payload);
                continue;
            }
            let mut kept = Vec::new();
            let mut count = 0u64;
            let mut p = 0;
            for _ in 0..read_leb(payload, &mut p)? {
                let start = p;
                let name_len = read_leb(payload, &mut p)? as usize;
                p = p.checked_add(name_len)?;
                let kind = *payload.get(p)?;
                p += 1;
                read_leb(payload, &mut p)?;
                if kind != TABLE_KIND {
                    kept.extend_from_slice(payload.get(start..p)?);
                    count += 1;
                }
            }
            let mut section = Vec::new();
            write_leb(&mut section, count);
            section.extend_from_slice(&kept);
            out.push(id);
            write_leb(&mut out, section.len() as u64);
            out.extend_from_slice(&section);
        }
        Some(out)
    };
    rewrite().unwrap_or_else(|| wasm.to_vec())
}

/// Runs the module made from `data` on both engines.
///
/// # Errors
///
/// When the engines disagree.
pub fn check(data: &[u8], limits: &Limits) -> Result<Agreement, Divergence> {
    let mut u = Unstructured::new(data);
    let Ok(case) = generate(&mut u, limits) else {
        return Ok(Agreement::Skipped("input too short for a module"));
    };
    compare(&case.wasm, case.memory64, case.lazy)
}

/// Runs `wasm` on both engines: Trestle with 64-bit memories and tables enabled or
/// not, and lazy or eager table initialization.
///
/// # Errors
///
/// When the engines disagree.
pub fn compare(wasm: &[u8], memory64: bool, lazy: bool) -> Result<Agreement, Divergence> {
    let diverge = |what: String| Divergence {
        wasm: wasm.to_vec(),
        what,
    };

    let mut t = TrestleSide::new(memory64, lazy);
    let mut w = WasmiSide::new();
    let t_inst = t.instantiate(wasm);
    let w_inst = w.instantiate(wasm);
    if t_inst.overflowed() || w_inst.overflowed() {
        return Ok(Agreement::Skipped("stack overflow"));
    }
    if !t_inst.agrees(&w_inst) {
        return Err(diverge(format!(
            "instantiation: Trestle {t_inst:?}, wasmi {w_inst:?}"
        )));
    }

    let mut calls = 0;
    let mut traps = 0;
    if matches!(t_inst, Outcome::Returned(_)) {
        let funcs = t.exported_funcs();
        for round in 0..3 {
            for (name, params) in &funcs {
                let Some(args) = params
                    .iter()
                    .map(|p| arg(*p, round))
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                let a = t.call(name, &args);
                let b = w.call(name, &args);
                if a.overflowed() || b.overflowed() {
                    return Ok(Agreement::Skipped("stack overflow"));
                }
                if !a.agrees(&b) {
                    return Err(diverge(format!(
                        "call {name:?} with {args:?}: Trestle {a:?}, wasmi {b:?}"
                    )));
                }
                calls += 1;
                traps += usize::from(!matches!(a, Outcome::Returned(_)));
            }
        }
    }

    // The final state: the host's objects, then the exports.
    let names = t.export_names();
    let a = t.snapshot(&names);
    let b = w.snapshot(&names);
    for ((name_a, item_a), (_, item_b)) in a.iter().zip(&b) {
        if item_a != item_b {
            return Err(diverge(format!(
                "final state of {name_a:?}: Trestle vs wasmi: {}",
                describe_item_difference(item_a, item_b)
            )));
        }
    }
    Ok(if matches!(t_inst, Outcome::Returned(_)) {
        Agreement::Ran {
            calls,
            traps,
            simd: uses_simd(wasm),
        }
    } else {
        Agreement::InstantiationFailed
    })
}

/// Whether `wasm` uses SIMD: it does not validate with SIMD off.
fn uses_simd(wasm: &[u8]) -> bool {
    static NO_SIMD: OnceLock<trestle::Engine> = OnceLock::new();
    let engine = NO_SIMD.get_or_init(|| {
        let mut config = trestle::Config::new();
        config.wasm_memory64(true).wasm_simd(false);
        trestle::Engine::new(&config).expect("the engine configuration")
    });
    trestle::Module::validate(engine, wasm).is_err()
}

// ---- Trestle ------------------------------------------------------------

/// A store with the host imports, and the instance once there is one.
struct TrestleSide {
    store: trestle::Store<()>,
    linker: trestle::Linker<()>,
    add1: trestle::Func,
    externs: Vec<trestle::ExternRef>,
    host: Vec<(String, trestle::Extern)>,
    instance: Option<trestle::Instance>,
}

impl TrestleSide {
    fn engine(memory64: bool, lazy: bool) -> trestle::Engine {
        static ENGINES: OnceLock<Vec<trestle::Engine>> = OnceLock::new();
        let engines = ENGINES.get_or_init(|| {
            let mut v = Vec::new();
            for memory64 in [false, true] {
                for lazy in [false, true] {
                    let mut config = trestle::Config::new();
                    config.wasm_memory64(memory64).table_lazy_init(lazy);
                    v.push(trestle::Engine::new(&config).expect("the engine configuration"));
                }
            }
            v
        });
        engines[usize::from(memory64) * 2 + usize::from(lazy)].clone()
    }

    fn new(memory64: bool, lazy: bool) -> TrestleSide {
        use trestle::{
            Extern, ExternRef, Func, Global, GlobalType, Memory, MemoryType, Mutability, Ref,
            RefType, Table, TableType, Val, ValType,
        };
        let engine = Self::engine(memory64, lazy);
        let mut store = trestle::Store::new(&engine, ());
        let add1 = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
        let mix = Func::wrap(&mut store, mix);
        let check = Func::wrap(&mut store, |x: i32| -> trestle::Result<()> {
            if x & 1 == 1 {
                return Err(trestle::Error::new(HostFailure));
            }
            Ok(())
        });
        let id_extern = Func::wrap(&mut store, |x: Option<ExternRef>| x);
        let id_func = Func::wrap(&mut store, |x: Option<Func>| x);
        let externs: Vec<ExternRef> = (0..EXTERN_VALUES)
            .map(|n| ExternRef::new(&mut store, n).expect("an externref"))
            .collect();
        let funcs = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 6, Some(12)),
            Ref::Func(None),
        )
        .expect("the host funcref table");
        for (i, f) in [add1, mix, check].into_iter().enumerate() {
            funcs
                .set(&mut store, i as u64 * 2, Ref::Func(Some(f)))
                .expect("a funcref table entry");
        }
        let externs_table = Table::new(
            &mut store,
            TableType::new(RefType::EXTERNREF, 4, Some(8)),
            Ref::Extern(None),
        )
        .expect("the host externref table");
        for (i, e) in externs.iter().enumerate().skip(1) {
            externs_table
                .set(&mut store, i as u64, Ref::Extern(Some(*e)))
                .expect("an externref table entry");
        }
        let mem = Memory::new(&mut store, MemoryType::new(1, Some(3))).expect("the host memory");
        mem.data_mut(&mut store)[..16].copy_from_slice(b"host memory 0123");
        let global = |store: &mut trestle::Store<()>, ty: ValType, m: Mutability, v: Val| {
            Global::new(store, GlobalType::new(ty, m), v).expect("a host global")
        };
        let g_i32 = global(&mut store, ValType::I32, Mutability::Var, Val::I32(7));
        let g_i64 = global(&mut store, ValType::I64, Mutability::Const, Val::I64(-9));
        let g_f64 = global(
            &mut store,
            ValType::F64,
            Mutability::Var,
            Val::F64(2.5f64.to_bits()),
        );
        let g_extern = global(
            &mut store,
            ValType::EXTERNREF,
            Mutability::Var,
            Val::ExternRef(Some(externs[2])),
        );
        let g_func = global(
            &mut store,
            ValType::FUNCREF,
            Mutability::Var,
            Val::FuncRef(Some(add1)),
        );
        let host: Vec<(String, Extern)> = vec![
            ("add1".into(), add1.into()),
            ("mix".into(), mix.into()),
            ("check".into(), check.into()),
            ("id_extern".into(), id_extern.into()),
            ("id_func".into(), id_func.into()),
            ("funcs".into(), funcs.into()),
            ("externs".into(), externs_table.into()),
            ("mem".into(), mem.into()),
            ("g_i32".into(), g_i32.into()),
            ("g_i64".into(), g_i64.into()),
            ("g_f64".into(), g_f64.into()),
            ("g_extern".into(), g_extern.into()),
            ("g_func".into(), g_func.into()),
        ];
        let mut linker = trestle::Linker::new(&engine);
        for (name, item) in &host {
            linker
                .define(&store, "host", name, *item)
                .expect("a host definition");
        }
        TrestleSide {
            store,
            linker,
            add1,
            externs,
            host,
            instance: None,
        }
    }

    fn instantiate(&mut self, wasm: &[u8]) -> Outcome {
        let module = match trestle::Module::new(self.store.engine(), wasm) {
            Ok(m) => m,
            Err(e) => return Outcome::Error(format!("compilation: {e:#}")),
        };
        match self.linker.instantiate(&mut self.store, &module) {
            Ok(i) => {
                self.instance = Some(i);
                Outcome::Returned(Vec::new())
            }
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn outcome_of_error(e: &trestle::Error) -> Outcome {
        use trestle::Trap;
        if let Some(trap) = e.downcast_ref::<Trap>() {
            return Outcome::Trapped(match trap {
                Trap::UnreachableCodeReached => TrapKind::Unreachable,
                Trap::MemoryOutOfBounds => TrapKind::Memory,
                Trap::TableOutOfBounds | Trap::UndefinedElement => TrapKind::Table,
                Trap::IndirectCallToNull => TrapKind::NullCall,
                Trap::BadSignature => TrapKind::Signature,
                Trap::IntegerOverflow => TrapKind::Overflow,
                Trap::IntegerDivisionByZero => TrapKind::DivZero,
                Trap::BadConversionToInteger => TrapKind::Conversion,
                Trap::StackOverflow => TrapKind::Stack,
                _ => TrapKind::Other,
            });
        }
        if e.downcast_ref::<HostFailure>().is_some() {
            return Outcome::HostError;
        }
        Outcome::Error(format!("{e:#}"))
    }

    fn param_ty(ty: &trestle::ValType) -> ParamTy {
        use trestle::{HeapType, ValType};
        match ty {
            ValType::I32 => ParamTy::I32,
            ValType::I64 => ParamTy::I64,
            ValType::F32 => ParamTy::F32,
            ValType::F64 => ParamTy::F64,
            ValType::Ref(r) => match r.heap_type() {
                HeapType::Func => ParamTy::FuncRef,
                HeapType::Extern => ParamTy::ExternRef,
                _ => ParamTy::Unsupported,
            },
            ValType::V128 => ParamTy::V128,
        }
    }

    /// The exported functions, in export order, with their parameters.
    fn exported_funcs(&mut self) -> Vec<(String, Vec<ParamTy>)> {
        let instance = self.instance.expect("an instance");
        let exports: Vec<(String, trestle::Extern)> = instance
            .exports(&mut self.store)
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        exports
            .into_iter()
            .filter_map(|(name, e)| {
                let f = e.into_func()?;
                let params = f
                    .ty(&self.store)
                    .params()
                    .map(|t| Self::param_ty(&t))
                    .collect();
                Some((name, params))
            })
            .collect()
    }

    fn call(&mut self, name: &str, args: &[Arg]) -> Outcome {
        use trestle::Val;
        let instance = self.instance.expect("an instance");
        let f = instance.get_func(&mut self.store, name).expect("an export");
        let params: Vec<Val> = args
            .iter()
            .map(|a| match *a {
                Arg::I32(v) => Val::I32(v),
                Arg::I64(v) => Val::I64(v),
                Arg::F32(v) => Val::F32(v),
                Arg::F64(v) => Val::F64(v),
                Arg::Func(f) => Val::FuncRef(f.then_some(self.add1)),
                Arg::Extern(e) => Val::ExternRef(e.map(|n| self.externs[n as usize])),
                Arg::V128(v) => Val::V128(trestle::V128::from(v)),
            })
            .collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for_ty(&t)).collect();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn value(&mut self, v: &trestle::Val) -> Value {
        use trestle::Val;
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(x) => Value::F32(*x),
            Val::F64(x) => Value::F64(*x),
            Val::FuncRef(f) => Value::Func(f.map(|f| {
                let ty = f.ty(&self.store);
                let list = |it: &mut dyn Iterator<Item = trestle::ValType>| {
                    it.map(|t| ty_name(&format!("{t}")))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                format!(
                    "({}) -> ({})",
                    list(&mut ty.params()),
                    list(&mut ty.results())
                )
            })),
            Val::ExternRef(e) => Value::Extern(e.map(|e| {
                let data = e
                    .data(&self.store)
                    .expect("externref data")
                    .expect("host data");
                *data.downcast_ref::<u32>().expect("a u32 host value")
            })),
            Val::V128(x) => Value::V128(x.as_u128()),
            Val::AnyRef(a) => Value::Other(format!("anyref {}", a.is_some())),
            Val::ExnRef(e) => Value::Other(format!("exnref {}", e.is_some())),
        }
    }

    fn item(&mut self, e: trestle::Extern) -> Item {
        use trestle::Extern;
        match e {
            Extern::Func(_) => Item::Func,
            Extern::Memory(m) => Item::Memory(m.data(&self.store).to_vec()),
            Extern::Global(g) => {
                let v = g.get(&mut self.store);
                Item::Global(self.value(&v))
            }
            Extern::Table(t) => {
                let size = t.size(&self.store);
                let mut elems = Vec::with_capacity(size as usize);
                for i in 0..size {
                    let r = t.get(&mut self.store, i).expect("an element in bounds");
                    elems.push(self.value(&r.into()));
                }
                Item::Table(elems)
            }
            Extern::Tag(_) => Item::Tag,
        }
    }

    /// The names of the instance's exports, in order.
    fn export_names(&mut self) -> Vec<String> {
        let Some(instance) = self.instance else {
            return Vec::new();
        };
        instance
            .exports(&mut self.store)
            .map(|e| e.name().to_string())
            .collect()
    }

    fn snapshot(&mut self, exports: &[String]) -> Vec<(String, Item)> {
        let mut items = Vec::new();
        for (name, e) in self.host.clone() {
            items.push((format!("host.{name}"), self.item(e)));
        }
        if let Some(instance) = self.instance {
            for name in exports {
                let item = match instance.get_export(&mut self.store, name) {
                    Some(e) => self.item(e),
                    None => Item::Missing,
                };
                items.push((name.clone(), item));
            }
        }
        items
    }
}

/// The one spelling of a value type in function types both engines print.
fn ty_name(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "funcref" | "(ref null func)" => "funcref".into(),
        "externref" | "(ref null extern)" => "externref".into(),
        other => other.into(),
    }
}

// ---- wasmi --------------------------------------------------------------

/// The same for wasmi.
struct WasmiSide {
    store: wasmi::Store<()>,
    linker: wasmi::Linker<()>,
    add1: wasmi::Func,
    externs: Vec<wasmi::ExternRef>,
    host: Vec<(String, wasmi::Extern)>,
    instance: Option<wasmi::Instance>,
}

impl WasmiSide {
    fn new() -> WasmiSide {
        use wasmi::ValType;
        use wasmi::{
            Extern, ExternRef, Func, Global, Memory, MemoryType, Mutability, Ref, Table, TableType,
            Val,
        };
        // Deeper recursion than Trestle's stack allows, so that when
        // recursion runs out of stack, Trestle's limit is the one reached
        // (and the comparison ends there without a verdict).
        let mut config = wasmi::Config::default();
        config
            .set_max_recursion_depth(10_000)
            .wasm_simd(true)
            .wasm_memory64(true)
            .wasm_multi_memory(true)
            .wasm_extended_const(true);
        let engine = wasmi::Engine::new(&config);
        let mut store = wasmi::Store::new(&engine, ());
        let add1 = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
        let mix = Func::wrap(&mut store, mix);
        let check = Func::wrap(&mut store, |x: i32| -> Result<(), wasmi::Error> {
            if x & 1 == 1 {
                return Err(wasmi::Error::host(HostFailure));
            }
            Ok(())
        });
        let id_extern = Func::wrap(&mut store, |x: Ref<ExternRef>| x);
        let id_func = Func::wrap(&mut store, |x: Ref<Func>| x);
        let externs: Vec<ExternRef> = (0..EXTERN_VALUES)
            .map(|n| ExternRef::new(&mut store, n))
            .collect();
        let funcs = Table::new(
            &mut store,
            TableType::new(ValType::FuncRef, 6, Some(12)),
            Val::FuncRef(Ref::Null),
        )
        .expect("the host funcref table");
        for (i, f) in [add1, mix, check].into_iter().enumerate() {
            funcs
                .set(&mut store, i as u64 * 2, Val::FuncRef(Ref::Val(f)))
                .expect("a funcref table entry");
        }
        let externs_table = Table::new(
            &mut store,
            TableType::new(ValType::ExternRef, 4, Some(8)),
            Val::ExternRef(Ref::Null),
        )
        .expect("the host externref table");
        for (i, e) in externs.iter().enumerate().skip(1) {
            externs_table
                .set(&mut store, i as u64, Val::ExternRef(Ref::Val(*e)))
                .expect("an externref table entry");
        }
        let mem = Memory::new(&mut store, MemoryType::new(1, Some(3))).expect("the host memory");
        mem.data_mut(&mut store)[..16].copy_from_slice(b"host memory 0123");
        let g_i32 = Global::new(&mut store, Val::I32(7), Mutability::Var);
        let g_i64 = Global::new(&mut store, Val::I64(-9), Mutability::Const);
        let g_f64 = Global::new(&mut store, Val::F64(2.5f64.into()), Mutability::Var);
        let g_extern = Global::new(
            &mut store,
            Val::ExternRef(Ref::Val(externs[2])),
            Mutability::Var,
        );
        let g_func = Global::new(&mut store, Val::FuncRef(Ref::Val(add1)), Mutability::Var);
        let host: Vec<(String, Extern)> = vec![
            ("add1".into(), add1.into()),
            ("mix".into(), mix.into()),
            ("check".into(), check.into()),
            ("id_extern".into(), id_extern.into()),
            ("id_func".into(), id_func.into()),
            ("funcs".into(), funcs.into()),
            ("externs".into(), externs_table.into()),
            ("mem".into(), mem.into()),
            ("g_i32".into(), g_i32.into()),
            ("g_i64".into(), g_i64.into()),
            ("g_f64".into(), g_f64.into()),
            ("g_extern".into(), g_extern.into()),
            ("g_func".into(), g_func.into()),
        ];
        let mut linker = wasmi::Linker::new(&engine);
        for (name, item) in &host {
            linker
                .define("host", name, *item)
                .expect("a host definition");
        }
        WasmiSide {
            store,
            linker,
            add1,
            externs,
            host,
            instance: None,
        }
    }

    fn instantiate(&mut self, wasm: &[u8]) -> Outcome {
        let module = match wasmi::Module::new(self.store.engine(), wasm) {
            Ok(m) => m,
            Err(e) => return Outcome::Error(format!("compilation: {e}")),
        };
        match self.linker.instantiate_and_start(&mut self.store, &module) {
            Ok(i) => {
                self.instance = Some(i);
                Outcome::Returned(Vec::new())
            }
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn outcome_of_error(e: &wasmi::Error) -> Outcome {
        use wasmi::TrapCode;
        if let Some(code) = e.as_trap_code() {
            return Outcome::Trapped(match code {
                TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
                TrapCode::MemoryOutOfBounds => TrapKind::Memory,
                TrapCode::TableOutOfBounds => TrapKind::Table,
                TrapCode::IndirectCallToNull => TrapKind::NullCall,
                TrapCode::BadSignature => TrapKind::Signature,
                TrapCode::IntegerOverflow => TrapKind::Overflow,
                TrapCode::IntegerDivisionByZero => TrapKind::DivZero,
                TrapCode::BadConversionToInteger => TrapKind::Conversion,
                TrapCode::StackOverflow => TrapKind::Stack,
                _ => TrapKind::Other,
            });
        }
        if e.downcast_ref::<HostFailure>().is_some() {
            return Outcome::HostError;
        }
        // wasmi reports some traps as errors of their own: an active
        // element segment that does not fit, and `table.copy` out of
        // bounds. The spec's trap is "out of bounds table access".
        use wasmi::errors::{ErrorKind, InstantiationError, TableError};
        match e.kind() {
            ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })
            | ErrorKind::Table(TableError::CopyOutOfBounds) => Outcome::Trapped(TrapKind::Table),
            _ => Outcome::Error(format!("{e}")),
        }
    }

    fn call(&mut self, name: &str, args: &[Arg]) -> Outcome {
        use wasmi::{Ref, Val};
        let instance = self.instance.expect("an instance");
        let f = instance.get_func(&self.store, name).expect("an export");
        let params: Vec<Val> = args
            .iter()
            .map(|a| match *a {
                Arg::I32(v) => Val::I32(v),
                Arg::I64(v) => Val::I64(v),
                Arg::F32(v) => Val::F32(wasmi::F32::from_bits(v)),
                Arg::F64(v) => Val::F64(wasmi::F64::from_bits(v)),
                Arg::Func(f) => Val::FuncRef(if f { Ref::Val(self.add1) } else { Ref::Null }),
                Arg::Extern(e) => Val::ExternRef(match e {
                    Some(n) => Ref::Val(self.externs[n as usize]),
                    None => Ref::Null,
                }),
                Arg::V128(v) => Val::V128(wasmi::V128::from(v)),
            })
            .collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| self.value(v)).collect()),
            Err(e) => Self::outcome_of_error(&e),
        }
    }

    fn value(&self, v: &wasmi::Val) -> Value {
        use wasmi::Val;
        match v {
            Val::I32(x) => Value::I32(*x),
            Val::I64(x) => Value::I64(*x),
            Val::F32(x) => Value::F32(x.to_bits()),
            Val::F64(x) => Value::F64(x.to_bits()),
            Val::FuncRef(f) => Value::Func(f.val().map(|f| {
                let ty = f.ty(&self.store);
                let list = |ts: &[wasmi::ValType]| {
                    ts.iter()
                        .map(|t| ty_name(&format!("{t:?}")))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                format!("({}) -> ({})", list(ty.params()), list(ty.results()))
            })),
            Val::ExternRef(e) => Value::Extern(e.val().map(|e| {
                *e.data(&self.store)
                    .downcast_ref::<u32>()
                    .expect("a u32 host value")
            })),
            Val::V128(x) => Value::V128(x.as_u128()),
        }
    }

    fn item(&mut self, e: wasmi::Extern) -> Item {
        use wasmi::Extern;
        match e {
            Extern::Func(_) => Item::Func,
            Extern::Memory(m) => Item::Memory(m.data(&self.store).to_vec()),
            Extern::Global(g) => Item::Global(self.value(&g.get(&self.store))),
            Extern::Table(t) => {
                let size = t.size(&self.store);
                let mut elems = Vec::with_capacity(size as usize);
                for i in 0..size {
                    let v = t.get(&self.store, i).expect("an element in bounds");
                    elems.push(self.value(&v));
                }
                Item::Table(elems)
            }
        }
    }

    fn snapshot(&mut self, exports: &[String]) -> Vec<(String, Item)> {
        let mut items = Vec::new();
        for (name, e) in self.host.clone() {
            items.push((format!("host.{name}"), self.item(e)));
        }
        if let Some(instance) = self.instance {
            for name in exports {
                let item = match instance.get_export(&self.store, name) {
                    Some(e) => self.item(e),
                    None => Item::Missing,
                };
                items.push((name.clone(), item));
            }
        }
        items
    }
}
