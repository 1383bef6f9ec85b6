//! Tables whose contents the compiler knows, and the devirtualized
//! `call_indirect` through them: which tables qualify (defined, not
//! exported, funcref, written only by constant active segments; never one
//! that is imported, exported or written by any instruction), that the
//! clang-built programs' tables qualify, and that every index, constant or
//! not, gives the same result or trap as through the same table made
//! unknown by exporting it.

use crate::harness::{both_modes, call, trap};
use trestle::{Engine, Instance, Module, Store, Val};
use trestle_compiler::{Compiler, CompilerOptions, Features, TableIndex};

/// The tables of `wat` the compiler knows, by index.
fn known(wat: &str) -> Vec<u32> {
    let wasm = wat::parse_str(wat).expect("the .wat parses");
    let options = CompilerOptions {
        features: Features {
            memory64: true,
            tail_call: true,
            ..Features::default()
        },
        ..CompilerOptions::default()
    };
    let compiler = Compiler::new(options).expect("host supported");
    compiler
        .known_tables(&wasm)
        .expect("the module parses")
        .into_iter()
        .map(TableIndex::as_u32)
        .collect()
}

/// A module with table `$t` (declared as `table`), two functions of type
/// `$v` and one of another type, the active segment `elem` and `extra`
/// fields.
fn module(table: &str, elem: &str, extra: &str) -> String {
    format!(
        r#"(module
          (type $v (func (param i32) (result i32)))
          (type $w (func (param i64) (result i64)))
          (import "host" "g" (global $imported i32))
          {table}
          {elem}
          (func $inc (type $v) (i32.add (local.get 0) (i32.const 1)))
          (func $double (type $v) (i32.mul (local.get 0) (i32.const 2)))
          (func $wide (type $w) (local.get 0))
          {extra})"#
    )
}

const TABLE: &str = "(table $t 8 funcref)";
const ELEM: &str = "(elem (table $t) (i32.const 1) func $inc $double $wide $inc)";

#[test]
fn a_private_table_written_only_by_its_segments_is_known() {
    assert_eq!(known(&module(TABLE, ELEM, "")), [0]);
    // Reading it is no write: table.get, table.size, and table.copy out
    // of it into another table.
    let reads = r#"(table $other 8 funcref)
        (func (param i32) (result funcref) (table.get $t (local.get 0)))
        (func (result i32) (table.size $t))
        (func (table.copy $other $t (i32.const 0) (i32.const 0) (i32.const 1)))"#;
    assert_eq!(known(&module(TABLE, ELEM, reads)), [0]);
    // Offsets computed by extended constants, expressions naming
    // functions or null, a 64-bit table, a table that cannot grow.
    for (table, elem) in [
        (
            TABLE,
            "(elem (table $t) (offset (i32.add (i32.const 2) (i32.const 3))) func $inc)",
        ),
        (
            TABLE,
            "(elem (table $t) (i32.const 0) funcref (ref.func $inc) (ref.null func))",
        ),
        (
            "(table $t i64 8 funcref)",
            "(elem (table $t) (i64.const 7) func $inc)",
        ),
        ("(table $t 8 8 funcref)", ELEM),
    ] {
        assert_eq!(known(&module(table, elem, "")), [0], "{table} {elem}");
    }
}

#[test]
fn an_exported_imported_or_written_table_is_not_known() {
    let writes = [
        "(export \"t\" (table $t))",
        "(func (table.set $t (i32.const 0) (ref.null func)))",
        "(func (drop (table.grow $t (ref.null func) (i32.const 1))))",
        "(func (table.fill $t (i32.const 0) (ref.null func) (i32.const 1)))",
        "(func (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1)))",
        "(elem $p func $double) (func (table.init $t $p (i32.const 0) (i32.const 0) (i32.const 1)))",
        // A write in unreachable code still counts.
        "(func unreachable (table.set $t (i32.const 0) (ref.null func)))",
    ];
    for extra in writes {
        assert_eq!(
            known(&module(TABLE, ELEM, extra)),
            Vec::<u32>::new(),
            "{extra}"
        );
    }
    let imported = r#"(module
        (type $v (func (param i32) (result i32)))
        (import "host" "t" (table $t 8 funcref))
        (func $inc (type $v) (local.get 0))
        (elem (table $t) (i32.const 1) func $inc))"#;
    assert_eq!(known(imported), Vec::<u32>::new());
    for (table, elem) in [
        // No segment: every slot is null, left to the generic sequence.
        (TABLE, ""),
        // An offset that depends on an import.
        (TABLE, "(elem (table $t) (global.get $imported) func $inc)"),
        // A segment past the end: instantiation fails.
        (TABLE, "(elem (table $t) (i32.const 6) func $inc $inc $inc)"),
        // A table of externrefs, a table with a non-null initializer.
        ("(table $t 8 externref)", ""),
        ("(table $t 8 funcref (ref.func $inc))", ELEM),
    ] {
        assert_eq!(
            known(&module(table, elem, "")),
            Vec::<u32>::new(),
            "{table} {elem}"
        );
    }
}

/// Each clang-built program of the `programs` benchmark group keeps its
/// function pointers in `__indirect_function_table`, which wasm-ld defines
/// and does not export: the compiler knows its contents.
#[test]
fn the_clang_programs_tables_are_known() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs/wasm");
    let compiler = Compiler::new(CompilerOptions::default()).expect("host supported");
    let mut programs = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus exists") {
        let path = entry.expect("readable entry").path();
        let wasm = std::fs::read(&path).expect("readable program");
        let known = compiler.known_tables(&wasm).expect("the program parses");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The control kernel makes direct calls only: no segment, nothing
        // to know.
        if name == "direct.wasm" {
            assert!(known.is_empty(), "{name}: {known:?}");
        } else {
            assert_eq!(known, [TableIndex::from_u32(0)], "{name}");
        }
        programs += 1;
    }
    assert!(programs >= 7, "only {programs} programs");
}

/// What a call gave: its results, or the trap.
fn outcome(store: &mut Store<()>, inst: &Instance, name: &str, args: &[Val]) -> String {
    match call(&mut *store, inst, name, args) {
        Ok(results) => format!(
            "{:?}",
            results.iter().map(Val::unwrap_i32).collect::<Vec<_>>()
        ),
        Err(e) => format!("trap {:?}", trap(e)),
    }
}

/// An instance of `wat`, with the global it imports.
fn instance(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let module = Module::new(engine, wat).expect("the module compiles");
    let global = trestle::Global::new(
        &mut store,
        trestle::GlobalType::new(trestle::ValType::I32, trestle::Mutability::Const),
        Val::I32(0),
    )
    .expect("a global");
    let inst = Instance::new(&mut store, &module, &[global.into()]).expect("instantiates");
    (store, inst)
}

/// Every index, constant or computed, by `call_indirect` and
/// `return_call_indirect`, with one candidate function, two, and none,
/// gives what the same table gives once exported (which the compiler then
/// does not know), in both table modes: the result, or the same trap.
#[test]
fn devirtualized_calls_match_the_generic_sequence() {
    let table = "(table $t 8 funcref) (table $one 4 4 funcref)";
    // The third segment overwrites two slots of the first: with null, and
    // with another function.
    let elem = "(elem (table $t) (i32.const 1) func $inc $inc $inc $wide $double)
                (elem (table $one) (i32.const 2) func $double)
                (elem (table $t) (i32.const 2) funcref (ref.null func) (ref.func $double))";
    let mut calls = String::from(
        r#"(func (export "call") (param i32 i32) (result i32)
             (call_indirect $t (type $v) (local.get 1) (local.get 0)))
           (func (export "tail") (param i32 i32) (result i32)
             (return_call_indirect $t (type $v) (local.get 1) (local.get 0)))
           (func (export "one") (param i32 i32) (result i32)
             (call_indirect $one (type $v) (local.get 1) (local.get 0)))
           (func (export "wide") (param i32 i64) (result i64)
             (call_indirect $t (type $w) (local.get 1) (local.get 0)))"#,
    );
    let slots = 0..10;
    for slot in slots.clone() {
        calls.push_str(&format!(
            r#"(func (export "const{slot}") (param i32) (result i32)
                 (call_indirect $t (type $v) (local.get 0) (i32.const {slot})))"#
        ));
    }
    let private = module(table, elem, &calls);
    let exported = module(
        table,
        elem,
        &format!("{calls} (export \"t\" (table $t)) (export \"t_one\" (table $one))"),
    );
    assert_eq!(known(&private), [0, 1]);
    assert!(known(&exported).is_empty());
    both_modes(|engine| {
        let (mut a, private) = instance(engine, &private);
        let (mut b, exported) = instance(engine, &exported);
        let mut traps = 0;
        let mut calls = 0;
        for index in [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, i32::MAX, i32::MIN] {
            for name in ["call", "tail", "one"] {
                let args = [Val::I32(index), Val::I32(20)];
                let expected = outcome(&mut b, &exported, name, &args);
                assert_eq!(
                    outcome(&mut a, &private, name, &args),
                    expected,
                    "{name}({index})"
                );
                traps += usize::from(expected.starts_with("trap"));
                calls += 1;
            }
            let args = [Val::I32(index), Val::I64(-5)];
            let expected = format!("{:?}", call(&mut b, &exported, "wide", &args).map_err(trap));
            let actual = format!("{:?}", call(&mut a, &private, "wide", &args).map_err(trap));
            assert_eq!(actual, expected, "wide({index})");
        }
        for slot in slots.clone() {
            let name = format!("const{slot}");
            let expected = outcome(&mut b, &exported, &name, &[Val::I32(20)]);
            assert_eq!(
                outcome(&mut a, &private, &name, &[Val::I32(20)]),
                expected,
                "{name}"
            );
        }
        // Both calls and traps of every kind were compared.
        assert!(
            traps > 10 && traps < calls,
            "{traps} traps in {calls} calls"
        );
        assert_eq!(outcome(&mut a, &private, "const1", &[Val::I32(20)]), "[21]");
        assert_eq!(
            outcome(&mut a, &private, "const2", &[Val::I32(20)]),
            "trap IndirectCallToNull"
        );
        assert_eq!(outcome(&mut a, &private, "const3", &[Val::I32(20)]), "[40]");
        assert_eq!(outcome(&mut a, &private, "const5", &[Val::I32(20)]), "[40]");
        assert_eq!(
            outcome(&mut a, &private, "const4", &[Val::I32(20)]),
            "trap BadSignature"
        );
        assert_eq!(
            outcome(&mut a, &private, "const6", &[Val::I32(20)]),
            "trap IndirectCallToNull"
        );
        assert_eq!(
            outcome(&mut a, &private, "const9", &[Val::I32(20)]),
            "trap UndefinedElement"
        );
    });
}
