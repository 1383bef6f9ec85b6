//! Differential execution of generated modules: Trestle against an
//! oracle, wasmi by default or Wasmtime with the `wasmtime-oracle` feature.
//!
//! [`check`] turns input bytes into a wasm-smith module (reference types,
//! bulk memory, multi-value, fixed-width SIMD in most modules, up to five
//! tables, up to three memories, 64-bit tables and memories in some
//! modules, and with an oracle that has them exception handling and tail
//! calls) that is sure to terminate
//! (wasm-smith's fuel global), with its tables exported in half the
//! modules and private in the others (then tables no instruction writes
//! have contents the compiler knows, and their `call_indirect`s are
//! devirtualized), and runs
//! it on Trestle and on the oracle with the same host imports:
//! functions (one with several results, one that fails on odd input,
//! reference identities, one that edits the host's funcref table while
//! wasm runs), a funcref and an externref table, a memory,
//! globals and, with exceptions, tags. Every exported function is called in
//! three rounds, with zeros, ones and minus ones (null and non-null
//! references); each call must agree on its results, on trapping and the
//! trap's kind, or on the uncaught exception it threw (its tag, named by
//! the host import or the export it is, and its payload). Then the final
//! contents of every exported and imported memory, table and global must
//! agree: memory bytes, table sizes with each element's null or non-null
//! (a funcref's type, an externref's host value, an exnref's tag and
//! payload) and global values.
//!
//! Float results are compared by bits, any NaN matching any NaN (the
//! modules canonicalize NaNs, so memory bytes compare exactly); a `v128`
//! result matches when its bits do, or when every lane does as `f32x4`,
//! or as `f64x2`, a NaN lane matching any NaN lane. Relaxed SIMD is not
//! generated: its results may differ between engines by design. A stack
//! overflow on either side ends the comparison without a verdict: the
//! engines' stack limits differ by design.
//!
//! Each engine is a `Side`: `differential/trestle_side.rs` and
//! `differential/wasmi_side.rs` here, the Wasmtime side in the fuzz crate's
//! `src/wasmtime_side.rs`. Shared by the `differential` fuzz target and the
//! seeded test in `tests/all/differential.rs`.

use arbitrary::Unstructured;
use std::fmt;
use std::sync::OnceLock;

#[path = "differential/embedding.rs"]
mod embedding;
#[path = "differential/segments.rs"]
mod segments;
#[path = "differential/trestle_side.rs"]
mod trestle_side;
#[path = "differential/wasmi_side.rs"]
mod wasmi_side;

pub(crate) use embedding::{table_edit_fn, wasmtime_style_side};
pub(crate) use trestle_side::TrestleSide;
pub(crate) use wasmi_side::WasmiSide;

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
        /// How many of them trapped, failed or threw.
        traps: usize,
        /// How many of them threw an exception no wasm frame caught.
        thrown: usize,
        /// Whether the module uses SIMD (`v128` values or instructions).
        simd: bool,
        /// Whether the module has a `try_table`, `throw` or `throw_ref`.
        exceptions: bool,
        /// How the module calls through its tables.
        tables: TableShape,
        /// Table edits through the host API between calls.
        edits: usize,
    },
    /// Both failed to instantiate, the same way.
    InstantiationFailed,
    /// No verdict: the input was too short for a module, or a stack
    /// overflowed.
    Skipped(&'static str),
}

/// How a module calls through tables, as far as guessing the callee from
/// the element segments goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableShape {
    /// No `call_indirect` or `return_call_indirect`.
    NoIndirectCalls,
    /// Indirect calls, but no active segment of functions, or tables
    /// that nothing but the segments writes.
    IndirectCalls,
    /// Indirect calls, active segments of functions, and tables the
    /// host or the module may change: exported or imported tables, or
    /// `table.set`, `fill`, `copy`, `init` or `grow`.
    MutableTables,
}

/// The [`TableShape`] of `wasm`.
fn table_shape(wasm: &[u8]) -> TableShape {
    use wasmparser::{ElementItems, ElementKind, ExternalKind, Operator, Payload, TypeRef};
    let (mut indirect, mut segments, mut mutable) = (false, false, false);
    for payload in wasmparser::Parser::new(0).parse_all(wasm).flatten() {
        match payload {
            Payload::ImportSection(imports) => {
                mutable |= imports
                    .into_imports()
                    .flatten()
                    .any(|i| matches!(i.ty, TypeRef::Table(_)));
            }
            Payload::ExportSection(exports) => {
                mutable |= exports
                    .into_iter()
                    .flatten()
                    .any(|e| e.kind == ExternalKind::Table);
            }
            Payload::ElementSection(elements) => {
                segments |= elements.into_iter().flatten().any(|e| {
                    let items = match &e.items {
                        ElementItems::Functions(r) => r.count(),
                        ElementItems::Expressions(_, r) => r.count(),
                    };
                    matches!(e.kind, ElementKind::Active { .. }) && items > 0
                });
            }
            Payload::CodeSectionEntry(body) => {
                let Ok(ops) = body.get_operators_reader() else {
                    continue;
                };
                for op in ops.into_iter().flatten() {
                    match op {
                        Operator::CallIndirect { .. } | Operator::ReturnCallIndirect { .. } => {
                            indirect = true;
                        }
                        Operator::TableSet { .. }
                        | Operator::TableFill { .. }
                        | Operator::TableCopy { .. }
                        | Operator::TableInit { .. }
                        | Operator::TableGrow { .. } => mutable = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    match (indirect, segments && mutable) {
        (false, _) => TableShape::NoIndirectCalls,
        (true, false) => TableShape::IndirectCalls,
        (true, true) => TableShape::MutableTables,
    }
}

/// A difference between Trestle and the oracle.
#[derive(Debug)]
pub struct Divergence {
    /// The module.
    pub wasm: Vec<u8>,
    /// The oracle's name.
    pub oracle: &'static str,
    /// What differed.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Trestle and {} diverge on a module of {} bytes: {}",
            self.oracle,
            self.wasm.len(),
            self.what
        )
    }
}

/// A value as both engines can report it.
#[derive(Debug, Clone)]
pub(crate) enum Value {
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
    /// An exnref: null, or its tag and payload.
    Exn(Option<Box<Exception>>),
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
            (Value::Exn(a), Value::Exn(b)) => a == b,
            (Value::Other(a), Value::Other(b)) => a == b,
            _ => false,
        }
    }
}

/// An exception: its tag, named as the host import or the export it is
/// (tags are equal when their names are), and its payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exception {
    pub(crate) tag: String,
    pub(crate) payload: Vec<Value>,
}

/// The name of a tag no host import or export is: one of the module's,
/// during instantiation, before its exports can be read.
pub(crate) const UNEXPORTED_TAG: &str = "(a tag of no export)";

/// A trap, in categories both engines distinguish. An out-of-bounds
/// `call_indirect` is "undefined element" in Trestle and a table access
/// out of bounds in wasmi and Wasmtime, so both are `Table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrapKind {
    Unreachable,
    Memory,
    Table,
    NullCall,
    Signature,
    Overflow,
    DivZero,
    Conversion,
    /// A null reference: `throw_ref` of a null exnref.
    NullReference,
    Stack,
    Other,
}

/// What a call or an instantiation did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapKind),
    /// An exception no wasm frame caught.
    Thrown(Exception),
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
pub(crate) enum Arg {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// A funcref: null, or the host function of that index in
    /// [`HOST_FUNCS`].
    Func(Option<usize>),
    /// An externref: null, or host value `n`.
    Extern(Option<u32>),
    /// A `v128`.
    V128(u128),
    /// A null exnref.
    NullExn,
}

/// The abstract type of a parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ParamTy {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
    ExnRef,
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
        ParamTy::FuncRef => Arg::Func((round == 2).then_some(0)),
        ParamTy::ExternRef => Arg::Extern((round > 0).then_some(round as u32)),
        // Zeros, a one in every 32-bit lane, all ones.
        ParamTy::V128 => {
            Arg::V128([0, 0x0000_0001_0000_0001_0000_0001_0000_0001, u128::MAX][round])
        }
        ParamTy::ExnRef => Arg::NullExn,
        ParamTy::Unsupported => return None,
    })
}

/// One item of the final state.
#[derive(Debug, PartialEq)]
pub(crate) enum Item {
    Memory(Vec<u8>),
    Table(Vec<Value>),
    Global(Value),
    Func,
    /// A tag, by the name of its host import or export.
    Tag(String),
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
/// wasm-smith). Each engine's side makes them from [`HOST_FUNCS`], [`SHUFFLE`],
/// [`HOST_TABLES`], [`HOST_MEMORY`], [`HOST_GLOBALS`] and [`HOST_TAGS`],
/// which say the same.
const HOST_IMPORTS: &str = r#"
  (import "host" "add1" (func (param i32) (result i32)))
  (import "host" "mix" (func (param i64 f64) (result i64 f32)))
  (import "host" "check" (func (param i32)))
  (import "host" "id_extern" (func (param externref) (result externref)))
  (import "host" "id_func" (func (param funcref) (result funcref)))
  (import "host" "shuffle" (func (param i32)))
  (import "host" "funcs" (table 6 12 funcref))
  (import "host" "externs" (table 4 8 externref))
  (import "host" "mem" (memory 1 3))
  (import "host" "g_i32" (global (mut i32)))
  (import "host" "g_i64" (global i64))
  (import "host" "g_f64" (global (mut f64)))
  (import "host" "g_extern" (global (mut externref)))
  (import "host" "g_func" (global (mut funcref)))
"#;

/// The tags the host also offers to modules with exception handling.
const HOST_TAG_IMPORTS: &str = r#"
  (import "host" "oops" (tag))
  (import "host" "fail" (tag (param i32 f64)))
"#;

/// The host imports as a module, with the tags or without.
fn host_imports(tags: bool) -> Vec<u8> {
    static BYTES: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
    BYTES[usize::from(tags)]
        .get_or_init(|| {
            let tags = if tags { HOST_TAG_IMPORTS } else { "" };
            wat::parse_str(format!("(module {HOST_IMPORTS} {tags})"))
                .expect("the host import list parses")
        })
        .clone()
}

/// The host functions, in this order; [`Arg::Func`] names them by index.
/// Each engine's side defines them the same way: `add1` adds one, `mix`
/// is [`mix`], `check` fails with [`HostFailure`] on odd numbers and the
/// last two return their argument.
pub(crate) const HOST_FUNCS: [&str; 5] = ["add1", "mix", "check", "id_extern", "id_func"];

/// The host import that edits the host's funcref table (`funcs`) while
/// wasm runs, as [`shuffle_edit`] says: a table a call site may have just
/// called through, and is about to call through again.
pub(crate) const SHUFFLE: &str = "shuffle";

/// The edit `host.shuffle(x)` makes to the host's funcref table of `size`
/// elements: that of [`table_edit`] after call `x`, with null and the host
/// functions as values.
pub(crate) fn shuffle_edit(x: i32, size: u64) -> TableEdit {
    table_edit(x as u32 as usize, size, &[])
}

/// A host table: its element type (funcref or externref), limits and the
/// elements set before instantiation (the others are null).
pub(crate) struct HostTable {
    pub(crate) name: &'static str,
    pub(crate) ty: ParamTy,
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) elems: &'static [(u64, Arg)],
}

impl HostTable {
    /// The table's null reference.
    pub(crate) fn null(&self) -> Arg {
        match self.ty {
            ParamTy::FuncRef => Arg::Func(None),
            _ => Arg::Extern(None),
        }
    }
}

pub(crate) const HOST_TABLES: [HostTable; 2] = [
    HostTable {
        name: "funcs",
        ty: ParamTy::FuncRef,
        min: 6,
        max: 12,
        elems: &[
            (0, Arg::Func(Some(0))),
            (2, Arg::Func(Some(1))),
            (4, Arg::Func(Some(2))),
        ],
    },
    HostTable {
        name: "externs",
        ty: ParamTy::ExternRef,
        min: 4,
        max: 8,
        elems: &[(1, Arg::Extern(Some(1))), (2, Arg::Extern(Some(2)))],
    },
];

/// The host memory: its name, limits in pages and its first bytes.
pub(crate) const HOST_MEMORY: (&str, u32, u32, &[u8]) = ("mem", 1, 3, b"host memory 0123");

/// A host global: its type, whether it is mutable, its initial value.
pub(crate) struct HostGlobal {
    pub(crate) name: &'static str,
    pub(crate) ty: ParamTy,
    pub(crate) mutable: bool,
    pub(crate) init: Arg,
}

pub(crate) const HOST_GLOBALS: [HostGlobal; 5] = [
    HostGlobal {
        name: "g_i32",
        ty: ParamTy::I32,
        mutable: true,
        init: Arg::I32(7),
    },
    HostGlobal {
        name: "g_i64",
        ty: ParamTy::I64,
        mutable: false,
        init: Arg::I64(-9),
    },
    HostGlobal {
        name: "g_f64",
        ty: ParamTy::F64,
        mutable: true,
        init: Arg::F64(0x4004_0000_0000_0000), // 2.5
    },
    HostGlobal {
        name: "g_extern",
        ty: ParamTy::ExternRef,
        mutable: true,
        init: Arg::Extern(Some(2)),
    },
    HostGlobal {
        name: "g_func",
        ty: ParamTy::FuncRef,
        mutable: true,
        init: Arg::Func(Some(0)),
    },
];

/// The host tags: name and payload types.
pub(crate) const HOST_TAGS: [(&str, &[ParamTy]); 2] =
    [("oops", &[]), ("fail", &[ParamTy::I32, ParamTy::F64])];

/// The error of the `host.check` import.
#[derive(Debug)]
pub(crate) struct HostFailure;

impl fmt::Display for HostFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("host.check refused an odd number")
    }
}

impl std::error::Error for HostFailure {}

/// The `host.mix` import.
pub(crate) fn mix(a: i64, b: f64) -> (i64, f32) {
    (a ^ (b.to_bits() as i64).rotate_left(7), a as f32)
}

/// The externref host values: a number, also in the externref table and
/// global at instantiation.
pub(crate) const EXTERN_VALUES: u32 = 3;

/// A generated module and the engine settings to run it with.
struct Case {
    wasm: Vec<u8>,
    memory64: bool,
    lazy: bool,
}

/// Makes a module from `u`, with exception handling and tail calls when
/// `exceptions`.
fn generate(
    u: &mut Unstructured<'_>,
    limits: &Limits,
    exceptions: bool,
) -> arbitrary::Result<Case> {
    let memory64: bool = u.arbitrary()?;
    let lazy: bool = u.arbitrary()?;
    // Minimums, or wasm-smith makes about one function a module. The
    // maximums count imports: five functions and two tables may be
    // imported, and a minimum that does not fit fails the generation.
    let min_funcs = u.int_in_range(1..=limits.max_funcs - HOST_FUNCS.len())?;
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
        // Exception handling and tail calls when the oracle has them
        // (Wasmtime); wasmi has neither, and then the seeded tests of
        // `tests/all/exceptions.rs` and the `proposals/exceptions` spec
        // suite cover them instead.
        exceptions_enabled: exceptions,
        max_tags: if exceptions { 4 } else { 0 },
        gc_enabled: false,
        tail_call_enabled: exceptions,
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
        max_tables: min_tables as usize + HOST_TABLES.len(),
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
        available_imports: Some(host_imports(exceptions)),
        canonicalize_nans: true,
        disallow_traps: u.ratio(1, 4)?,
        min_uleb_size: u.int_in_range(0..=5)?,
        ..wasm_smith::Config::default()
    };
    if u.ratio(1, 8)? {
        // Sometimes no floats: denser integer and table code.
        c.allow_floats = false;
    }
    if u.ratio(1, 3)? {
        // A third of the modules focus on calls and tables: without vector
        // and memory instructions, which are most of the instruction set,
        // `call_indirect` and the table instructions come up more often.
        use wasm_smith::{InstructionKind, InstructionKinds};
        c.allowed_instructions = InstructionKinds::new(&[
            InstructionKind::Numeric,
            InstructionKind::Reference,
            InstructionKind::Parametric,
            InstructionKind::Variable,
            InstructionKind::Table,
            InstructionKind::Control,
        ]);
        // Traps allowed (`call_indirect` may trap), and long bodies.
        c.disallow_traps = false;
        c.max_instructions = limits.max_instructions;
    }
    let keep_table_exports: bool = u.arbitrary()?;
    let mut module = wasm_smith::Module::new(c, u)?;
    module
        .ensure_termination(limits.fuel)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let mut wasm = segments::with_function_segments(&module.to_bytes(), u);
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
    generate(&mut Unstructured::new(data), limits, false)
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
    let rewritten = rewrite_sections(wasm, |id, payload, out| {
        if id != EXPORT_SECTION {
            push_section(out, id, payload);
            return Some(());
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
        push_section(out, id, &section);
        Some(())
    });
    rewritten.unwrap_or_else(|| wasm.to_vec())
}

/// `wasm` rebuilt section by section: `edit(id, payload, out)` appends to
/// `out` what takes the place of each section. `None` when `wasm` does not
/// decode or `edit` gives up.
fn rewrite_sections(
    wasm: &[u8],
    mut edit: impl FnMut(u8, &[u8], &mut Vec<u8>) -> Option<()>,
) -> Option<Vec<u8>> {
    let mut out = wasm.get(..8)?.to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = read_leb(wasm, &mut at)? as usize;
        let payload = wasm.get(at..at.checked_add(size)?)?;
        at += size;
        edit(id, payload, &mut out)?;
    }
    Some(out)
}

/// Appends section `id` with `contents`.
fn push_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    write_leb(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

/// One engine a module runs on, with the host imports defined.
pub(crate) trait Side {
    /// The engine's name, in reports.
    const NAME: &'static str;

    /// Compiles and instantiates `wasm` with the host imports.
    fn instantiate(&mut self, wasm: &[u8]) -> Outcome;

    /// Calls the instance's export `name` with `args`.
    fn call(&mut self, name: &str, args: &[Arg]) -> Outcome;

    /// The host's table, memory or global `name` (`host`), or the
    /// instance's export `name` ([`Item::Missing`] without one).
    fn item(&mut self, name: &str, host: bool) -> Item;

    /// The size of the host's table `name` (`host`) or of the instance's
    /// exported table `name`, when it is a table of nullable funcrefs.
    fn funcref_table_size(&mut self, name: &str, host: bool) -> Option<u64>;

    /// Applies `edit` to that table through the host API: `Some` with the
    /// old size for a growth (0 for the others) when it succeeded, `None`
    /// when it failed.
    fn edit_table(&mut self, name: &str, host: bool, edit: &TableEdit) -> Option<u64>;
}

/// A change to a funcref table through the host API between two calls:
/// what a compiler that guessed a slot's function from the element
/// segments must notice.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TableEdit {
    /// `Table::set`.
    Set { index: u64, func: FuncSource },
    /// `Table::fill`.
    Fill {
        dst: u64,
        func: FuncSource,
        len: u64,
    },
    /// `Table::grow`.
    Grow { delta: u64, func: FuncSource },
    /// `Table::copy` within the table.
    Copy { dst: u64, src: u64, len: u64 },
}

/// A value for a funcref table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FuncSource {
    Null,
    /// The host function of that index in [`HOST_FUNCS`].
    Host(usize),
    /// The instance's exported function of that name.
    Export(String),
}

/// The edit made after call number `call` to a funcref table of `size`
/// elements, with the instance's exported functions `funcs`: moves a slot
/// to another, sets one to null, to a host function or to one of the
/// module's (of the call's type or of another), grows the table or fills
/// part of it; now and then out of bounds, which must fail on both
/// engines.
fn table_edit(call: usize, size: u64, funcs: &[String]) -> TableEdit {
    let c = call as u64;
    let s = size.max(1);
    let func = |k: u64| match k % 4 {
        0 => FuncSource::Null,
        1 => FuncSource::Host(k as usize % HOST_FUNCS.len()),
        _ if funcs.is_empty() => FuncSource::Null,
        _ => FuncSource::Export(funcs[(k / 4) as usize % funcs.len()].clone()),
    };
    let out_of_bounds = c % 11 == 10;
    let at = |k: u64| if out_of_bounds { size } else { k % s };
    match c % 6 {
        0 => TableEdit::Copy {
            dst: at(c),
            src: (c * 7 + 3) % s,
            len: 1,
        },
        1 => TableEdit::Set {
            index: at(c),
            func: func(c / 6),
        },
        2 => TableEdit::Set {
            index: at(c * 5 + 1),
            func: func(2 + 4 * (c / 6)),
        },
        3 => TableEdit::Grow {
            delta: 1,
            func: func(c / 6 + 1),
        },
        4 => TableEdit::Fill {
            dst: at(c),
            func: func(c / 6 + 2),
            len: 2,
        },
        _ => TableEdit::Copy {
            dst: (c * 3) % s,
            src: at(c),
            len: 3,
        },
    }
}

/// An engine Trestle is compared with.
pub(crate) trait Oracle: Side {
    /// Whether the oracle runs exception handling and tail calls: modules
    /// use them only then.
    const EXCEPTIONS: bool;

    /// A new store with the host imports.
    fn new() -> Self;
}

/// The final state of `side`: the host's tables, memory and globals, then
/// the exports `exports`.
fn snapshot(side: &mut impl Side, exports: &[String]) -> Vec<(String, Item)> {
    let host = HOST_TABLES
        .iter()
        .map(|t| t.name)
        .chain([HOST_MEMORY.0])
        .chain(HOST_GLOBALS.iter().map(|g| g.name));
    let mut items: Vec<(String, Item)> = host
        .map(|name| (format!("host.{name}"), side.item(name, true)))
        .collect();
    for name in exports {
        items.push((name.clone(), side.item(name, false)));
    }
    items
}

/// Runs the module made from `data` on Trestle and on wasmi.
///
/// # Errors
///
/// When the engines disagree.
pub fn check(data: &[u8], limits: &Limits) -> Result<Agreement, Divergence> {
    check_with::<WasmiSide>(data, limits)
}

/// Runs `wasm` on Trestle and on wasmi: see `compare_with`.
///
/// # Errors
///
/// When the engines disagree.
pub fn compare(wasm: &[u8], memory64: bool, lazy: bool) -> Result<Agreement, Divergence> {
    compare_with::<WasmiSide>(wasm, memory64, lazy)
}

/// Runs the module made from `data` for oracle `O` on Trestle and on `O`.
///
/// # Errors
///
/// When the engines disagree.
pub(crate) fn check_with<O: Oracle>(data: &[u8], limits: &Limits) -> Result<Agreement, Divergence> {
    let mut u = Unstructured::new(data);
    let Ok(case) = generate(&mut u, limits, O::EXCEPTIONS) else {
        return Ok(Agreement::Skipped("input too short for a module"));
    };
    compare_with::<O>(&case.wasm, case.memory64, case.lazy)
}

/// Runs `wasm` on Trestle, with 64-bit memories and tables enabled or
/// not and lazy or eager table initialization, and on oracle `O`.
///
/// # Errors
///
/// When the engines disagree.
pub(crate) fn compare_with<O: Oracle>(
    wasm: &[u8],
    memory64: bool,
    lazy: bool,
) -> Result<Agreement, Divergence> {
    let oracle = O::NAME;
    let diverge = |what: String| Divergence {
        wasm: wasm.to_vec(),
        oracle,
        what,
    };

    let mut t = TrestleSide::new(memory64, lazy);
    let mut o = O::new();
    let t_inst = match t.compile(wasm) {
        Ok(module) => {
            if let Some(edits) = warm_up_of(wasm) {
                warm_up(&module, memory64, lazy, edits);
            }
            t.instantiate_module(&module)
        }
        Err(failure) => failure,
    };
    let o_inst = o.instantiate(wasm);
    if t_inst.overflowed() || o_inst.overflowed() {
        return Ok(Agreement::Skipped("stack overflow"));
    }
    if !t_inst.agrees(&o_inst) {
        return Err(diverge(format!(
            "instantiation: Trestle {t_inst:?}, {oracle} {o_inst:?}"
        )));
    }

    let mut calls = 0;
    let mut traps = 0;
    let mut thrown = 0;
    let mut edits = 0;
    if matches!(t_inst, Outcome::Returned(_)) {
        let funcs = t.exported_funcs();
        let func_names: Vec<String> = funcs.iter().map(|(name, _)| name.clone()).collect();
        // The funcref tables the host can reach: its own, and the
        // exported ones.
        let mut tables = vec![(HOST_TABLES[0].name.to_string(), true)];
        for name in t.export_names() {
            if t.funcref_table_size(&name, false).is_some() {
                tables.push((name, false));
            }
        }
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
                let b = o.call(name, &args);
                if a.overflowed() || b.overflowed() {
                    return Ok(Agreement::Skipped("stack overflow"));
                }
                if !a.agrees(&b) {
                    return Err(diverge(format!(
                        "call {name:?} with {args:?}: Trestle {a:?}, {oracle} {b:?}"
                    )));
                }
                calls += 1;
                traps += usize::from(!matches!(a, Outcome::Returned(_)));
                thrown += usize::from(matches!(a, Outcome::Thrown(_)));
                // After the first round, a table changes after every call.
                if round > 0 {
                    let (name, host) = &tables[calls % tables.len()];
                    let size = t.funcref_table_size(name, *host);
                    let oracle_size = o.funcref_table_size(name, *host);
                    if size != oracle_size {
                        return Err(diverge(format!(
                            "size of table {name:?}: Trestle {size:?}, {oracle} {oracle_size:?}"
                        )));
                    }
                    let edit = table_edit(calls, size.unwrap_or(0), &func_names);
                    let a = t.edit_table(name, *host, &edit);
                    let b = o.edit_table(name, *host, &edit);
                    if a != b {
                        return Err(diverge(format!(
                            "{edit:?} on table {name:?}: Trestle {a:?}, {oracle} {b:?}"
                        )));
                    }
                    edits += 1;
                }
            }
        }
    }

    // The final state: the host's objects, then the exports.
    let names = t.export_names();
    let a = snapshot(&mut t, &names);
    let b = snapshot(&mut o, &names);
    for ((name_a, item_a), (_, item_b)) in a.iter().zip(&b) {
        if item_a != item_b {
            return Err(diverge(format!(
                "final state of {name_a:?}: Trestle vs {oracle}: {}",
                describe_item_difference(item_a, item_b)
            )));
        }
    }
    Ok(if matches!(t_inst, Outcome::Returned(_)) {
        Agreement::Ran {
            calls,
            traps,
            thrown,
            simd: uses_simd(wasm),
            exceptions: uses_exceptions(wasm),
            tables: table_shape(wasm),
            edits,
        }
    } else {
        Agreement::InstantiationFailed
    })
}

/// Whether Trestle's instance of `wasm` comes after a first one (in half
/// the modules), and whether that one edits its tables (in half of those):
/// see [`warm_up`].
fn warm_up_of(wasm: &[u8]) -> Option<bool> {
    let h = wasm.iter().fold(0u8, |h, b| h.rotate_left(1) ^ b);
    (h & 1 == 1).then_some(h & 2 == 2)
}

/// Instantiates `module` in a store of its own, calls each export once
/// with zeros (and with `edits`, changes an exported funcref table through
/// the host API after each call), and drops the store. The module may then
/// keep that instance's tables for its next instance
/// (`Config::instance_reuse`: when nothing but lazy initialization wrote
/// them), which the instance compared with the oracle gets: it must behave
/// as a fresh one.
fn warm_up(module: &trestle::Module, memory64: bool, lazy: bool, edits: bool) {
    let mut w = TrestleSide::new(memory64, lazy);
    if !matches!(w.instantiate_module(module), Outcome::Returned(_)) {
        return;
    }
    let funcs = w.exported_funcs();
    let func_names: Vec<String> = funcs.iter().map(|(name, _)| name.clone()).collect();
    let tables: Vec<String> = w
        .export_names()
        .into_iter()
        .filter(|name| w.funcref_table_size(name, false).is_some())
        .collect();
    for (k, (name, params)) in funcs.iter().enumerate() {
        if let Some(args) = params
            .iter()
            .map(|p| arg(*p, 0))
            .collect::<Option<Vec<_>>>()
        {
            let _ = w.call(name, &args);
        }
        if edits && !tables.is_empty() {
            let table = &tables[k % tables.len()];
            let size = w.funcref_table_size(table, false).unwrap_or(0);
            w.edit_table(table, false, &table_edit(k + 1, size, &func_names));
        }
    }
}

/// Whether `wasm` has a `try_table`, `throw` or `throw_ref` instruction.
fn uses_exceptions(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Payload};
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload {
            Ok(Payload::CodeSectionEntry(body)) => body.get_operators_reader().ok(),
            _ => None,
        })
        .any(|ops| {
            ops.into_iter().any(|op| {
                matches!(
                    op,
                    Ok(Operator::TryTable { .. } | Operator::Throw { .. } | Operator::ThrowRef)
                )
            })
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

/// The one spelling of a value type in function types the engines print.
pub(crate) fn ty_name(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "funcref" | "(ref null func)" => "funcref".into(),
        "externref" | "(ref null extern)" => "externref".into(),
        "exnref" | "(ref null exn)" => "exnref".into(),
        other => other.into(),
    }
}

/// A function's type as `(params) -> (results)`, from the engine's
/// spellings of its parameter and result types.
pub(crate) fn func_ty_name(
    params: impl IntoIterator<Item = String>,
    results: impl IntoIterator<Item = String>,
) -> String {
    let list = |ts: &mut dyn Iterator<Item = String>| {
        ts.map(|t| ty_name(&t)).collect::<Vec<_>>().join(" ")
    };
    format!(
        "({}) -> ({})",
        list(&mut params.into_iter()),
        list(&mut results.into_iter())
    )
}
