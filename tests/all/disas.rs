//! Golden codegen tests: every `tests/disas/NAME.wat` is compiled and its
//! optimized Cranelift IR compared with `tests/disas/NAME.clif`.
//!
//! The IR is printed after Cranelift's mid-end, before instruction
//! selection, so it does not depend on the host CPU's features. Each file
//! starts with a header giving the instruction count of every
//! `call_indirect` fast path, so a change in the dispatch sequence shows up
//! in the diff as a changed number.
//!
//! After an intended change, regenerate the files with
//!
//! ```sh
//! BLESS=1 cargo test --test all -- disas
//! ```
//!
//! and review the diff.

use std::path::{Path, PathBuf};
use trestle_compiler::{Compiler, CompilerOptions, Features, OptimizedFunction, WasmSubType};

fn disas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas")
}

/// The `.wat` sources under `tests/disas`, sorted by name.
fn sources() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(disas_dir())
        .expect("tests/disas exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    files
}

/// The golden text for one module: a header, then each function's IR.
fn render(name: &str, funcs: &[OptimizedFunction]) -> String {
    let mut out = format!(
        ";; Optimized Cranelift IR of tests/disas/{name}.wat (after the mid-end,\n\
         ;; before instruction selection). Regenerate with\n\
         ;;   BLESS=1 cargo test --test all -- disas\n\
         ;;\n"
    );
    for f in funcs {
        for (k, path) in f.indirect_calls.iter().enumerate() {
            out.push_str(&format!(
                ";; function {} call_indirect #{k}: {} instructions on the fast path\n",
                f.func_index,
                path.total_insts()
            ));
            out.push_str(&format!(
                ";;   {} instructions in {}, the block that performs the call\n",
                path.block_insts, path.block
            ));
            for (block, n) in &path.predecessors {
                out.push_str(&format!(
                    ";;   {n} instructions in {block}, on the way to it (checks)\n"
                ));
            }
        }
    }
    for f in funcs {
        out.push('\n');
        out.push_str(&f.clif);
    }
    out
}

fn compile(wat_path: &Path) -> Vec<OptimizedFunction> {
    let wasm = wat::parse_file(wat_path).expect("the .wat parses");
    let compiler = Compiler::new(CompilerOptions {
        verify: true,
        optimize: true,
        features: Features {
            memory64: true,
            ..Features::default()
        },
        consume_fuel: false,
        epoch_interruption: false,
        // Modules named `*_eager` are compiled for eagerly initialized
        // tables (`Config::table_lazy_init(false)`).
        lazy_tables: !wat_path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s.ends_with("_eager")),
    })
    .expect("host supported");
    // Type ids as an engine would assign them: structurally equal types
    // share one, counting from the first id the runtime hands out.
    let mut groups: Vec<(Vec<WasmSubType>, u32)> = Vec::new();
    let mut next = trestle_vmctx::TYPE_ID_FIRST;
    let mut intern = |group: &[WasmSubType]| -> u32 {
        if let Some((_, base)) = groups.iter().find(|(g, _)| g == group) {
            return *base;
        }
        let base = next;
        next += group.len() as u32;
        groups.push((group.to_vec(), base));
        base
    };
    compiler
        .optimized_clif(&wasm, &mut intern)
        .expect("the module compiles")
}

#[test]
fn golden_clif() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let sources = sources();
    assert!(
        sources.len() >= 3,
        "expected the call_indirect modules in tests/disas"
    );
    let mut failures = Vec::new();
    for wat_path in &sources {
        let name = wat_path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name");
        let actual = render(name, &compile(wat_path));
        let golden_path = wat_path.with_extension("clif");
        if bless {
            std::fs::write(&golden_path, &actual).expect("write the golden file");
            println!("blessed tests/disas/{name}.clif");
            continue;
        }
        let expected = std::fs::read_to_string(&golden_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "tests/disas/{name}.clif differs from the compiler's output:\n{}",
                first_difference(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nIf the change is intended, regenerate with: BLESS=1 cargo test --test all -- disas",
        failures.join("\n")
    );
}

/// A short description of where two texts first differ.
fn first_difference(expected: &str, actual: &str) -> String {
    if expected.is_empty() {
        return "  (the golden file is missing or empty)".to_string();
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let line = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    format!(
        "  line {}:\n  - {}\n  + {}",
        line + 1,
        e.get(line).copied().unwrap_or("(end of file)"),
        a.get(line).copied().unwrap_or("(end of file)")
    )
}

#[test]
fn fast_paths_are_found() {
    // Every module under tests/disas has exactly one call_indirect, and its
    // fast path has a call block with at least one hot predecessor.
    for wat_path in sources() {
        let funcs = compile(&wat_path);
        let paths: Vec<_> = funcs.iter().flat_map(|f| &f.indirect_calls).collect();
        assert_eq!(paths.len(), 1, "{}", wat_path.display());
        assert!(!paths[0].predecessors.is_empty(), "{}", wat_path.display());
    }
}
