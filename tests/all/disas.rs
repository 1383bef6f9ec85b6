//! Golden codegen tests: every `tests/disas/NAME.wat` is compiled and its
//! optimized Cranelift IR compared with `tests/disas/NAME.clif`.
//!
//! The IR is the one the machine code is generated from, printed after
//! Cranelift's mid-end and before instruction selection, so it does not
//! depend on the host CPU's features. Each golden file starts with a header
//! giving the instruction count of every `call_indirect` fast path, so a
//! change in the dispatch sequence shows up in the diff as a changed
//! number.
//!
//! A `.wat` file configures its own compilation with directives, lines at
//! its top of the form `;;! key = value`:
//!
//! | Directive | Meaning | Default |
//! |---|---|---|
//! | `table_lazy_init = true\|false` | funcref tables may hold entries not yet initialized (`Config::table_lazy_init`) | `true` |
//! | `consume_fuel = true\|false` | fuel metering | `false` |
//! | `epoch_interruption = true\|false` | epoch checks | `false` |
//! | `optimize = true\|false` | Cranelift's optimizer | `true` |
//! | `relaxed_simd_deterministic = true\|false` | deterministic relaxed SIMD results | `false` |
//! | `features = NAME ...` | proposals to turn on (`memory64`, `tail_call`, `gc`, ...), or off with a leading `-` | `Features::default()` |
//!
//! On a mismatch the test prints a unified diff of the golden file against
//! the compiler's output. After an intended change, regenerate the files
//! with
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

fn file_stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 file name")
}

/// The `;;! key = value` directives at the top of a `.wat` source, before
/// any other line.
fn directives(source: &str) -> Vec<(&str, &str)> {
    source
        .lines()
        .map_while(|line| line.strip_prefix(";;!"))
        .map(|d| {
            let (key, value) = d
                .split_once('=')
                .unwrap_or_else(|| panic!("directive `;;!{d}` is not `key = value`"));
            (key.trim(), value.trim())
        })
        .collect()
}

fn parse_bool(key: &str, value: &str) -> bool {
    match value {
        "true" => true,
        "false" => false,
        _ => panic!("directive `{key}` takes true or false, not `{value}`"),
    }
}

/// Turns the proposal `name` on or off.
fn set_feature(features: &mut Features, name: &str, on: bool) {
    let flag = match name {
        "multi_value" => &mut features.multi_value,
        "sign_extension" => &mut features.sign_extension,
        "saturating_float_to_int" => &mut features.saturating_float_to_int,
        "mutable_global" => &mut features.mutable_global,
        "reference_types" => &mut features.reference_types,
        "bulk_memory" => &mut features.bulk_memory,
        "memory64" => &mut features.memory64,
        "function_references" => &mut features.function_references,
        "gc" => &mut features.gc,
        "tail_call" => &mut features.tail_call,
        "simd" => &mut features.simd,
        "relaxed_simd" => &mut features.relaxed_simd,
        "multi_memory" => &mut features.multi_memory,
        _ => panic!("unknown feature `{name}` in a `features` directive"),
    };
    *flag = on;
}

/// The compiler options a `.wat` source asks for with its directives.
fn options(source: &str) -> CompilerOptions {
    let mut options = CompilerOptions {
        verify: true,
        // Source locations would show in the IR as `@offset` marks; the
        // golden files show the code without them.
        wasm_backtrace: false,
        ..CompilerOptions::default()
    };
    for (key, value) in directives(source) {
        match key {
            "table_lazy_init" => options.table_lazy_init = parse_bool(key, value),
            "consume_fuel" => options.consume_fuel = parse_bool(key, value),
            "epoch_interruption" => options.epoch_interruption = parse_bool(key, value),
            "optimize" => options.optimize = parse_bool(key, value),
            "relaxed_simd_deterministic" => {
                options.relaxed_simd_deterministic = parse_bool(key, value)
            }
            "features" => {
                for name in value.split([' ', ',']).filter(|n| !n.is_empty()) {
                    match name.strip_prefix('-') {
                        Some(name) => set_feature(&mut options.features, name, false),
                        None => set_feature(&mut options.features, name, true),
                    }
                }
            }
            _ => panic!("unknown directive `{key}`"),
        }
    }
    options
}

/// The golden text for one module: a header (the source's directives and
/// the fast-path counts), then each function's IR.
fn render(name: &str, source: &str, funcs: &[OptimizedFunction]) -> String {
    let mut out = format!(
        ";; Optimized Cranelift IR of tests/disas/{name}.wat (after the mid-end,\n\
         ;; before instruction selection). Regenerate with\n\
         ;;   BLESS=1 cargo test --test all -- disas\n\
         ;;\n"
    );
    let directives = directives(source);
    for (key, value) in &directives {
        out.push_str(&format!(";;! {key} = {value}\n"));
    }
    if !directives.is_empty() {
        out.push_str(";;\n");
    }
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

fn compile(source: &str) -> Vec<OptimizedFunction> {
    let wasm = wat::parse_str(source).expect("the .wat parses");
    let compiler = Compiler::new(options(source)).expect("host supported");
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

fn read_source(wat_path: &Path) -> String {
    std::fs::read_to_string(wat_path).expect("the .wat is readable")
}

#[test]
fn golden_clif() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let sources = sources();
    assert!(
        sources.len() >= 10,
        "expected the call_indirect and table modules in tests/disas"
    );
    let mut failures = Vec::new();
    for wat_path in &sources {
        let name = file_stem(wat_path);
        let source = read_source(wat_path);
        let actual = render(name, &source, &compile(&source));
        let golden_path = wat_path.with_extension("clif");
        if bless {
            std::fs::write(&golden_path, &actual).expect("write the golden file");
            println!("blessed tests/disas/{name}.clif");
            continue;
        }
        let expected = std::fs::read_to_string(&golden_path).unwrap_or_default();
        if expected != actual {
            failures.push(unified_diff(
                &format!("tests/disas/{name}.clif"),
                &expected,
                &actual,
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nIf the change is intended, regenerate with: BLESS=1 cargo test --test all -- disas",
        failures.join("\n")
    );
}

/// A unified diff from the golden text `expected` to the compiler's
/// output `actual`.
fn unified_diff(golden: &str, expected: &str, actual: &str) -> String {
    if expected.is_empty() {
        return format!("{golden} is missing or empty\n");
    }
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(golden, "compiler output")
        .to_string()
}

#[test]
fn diff_shows_changed_lines() {
    let diff = unified_diff("golden.clif", "a\nb\nc\n", "a\nB\nc\n");
    assert!(diff.contains("--- golden.clif"), "{diff}");
    assert!(diff.contains("+++ compiler output"), "{diff}");
    assert!(diff.contains("\n-b\n+B\n"), "{diff}");
    assert!(unified_diff("g", "", "x").contains("missing"));
}

#[test]
fn directives_configure_the_compiler() {
    let o = options(
        ";;! table_lazy_init = false\n;;! features = memory64, -bulk_memory tail_call\n(module)",
    );
    assert!(!o.table_lazy_init);
    assert!(o.features.memory64 && o.features.tail_call && !o.features.bulk_memory);
    // Directives stop at the first other line.
    let o = options(";; a comment\n;;! table_lazy_init = false\n(module)");
    assert!(o.table_lazy_init);
    assert_eq!(
        options("(module)"),
        options(";;! optimize = true\n(module)")
    );
}

#[test]
fn fast_paths_are_found() {
    // Every `call_indirect_*` module has exactly one call_indirect, and its
    // fast path has a call block with at least one hot predecessor, except
    // the `call_indirect_known_*` modules, whose table the compiler knows,
    // and the `call_indirect_guarded_*` ones, whose table it guesses: their
    // calls are direct (or traps, or inlined), with the generic sequence
    // only on cold paths. The other modules call only libcalls, and only on
    // cold paths.
    for wat_path in sources() {
        let funcs = compile(&read_source(&wat_path));
        let paths: Vec<_> = funcs.iter().flat_map(|f| &f.indirect_calls).collect();
        let stem = file_stem(&wat_path);
        if stem.starts_with("call_indirect_known") || stem.starts_with("call_indirect_guarded") {
            assert!(paths.is_empty(), "{}", wat_path.display());
            let direct_or_inlined = |f: &OptimizedFunction| {
                f.clif.contains("= call fn")
                    || f.clif.contains("return_call fn")
                    || (f.clif.contains("fn0 = colocated") && !f.clif.contains("call fn0"))
            };
            assert!(
                funcs.iter().any(direct_or_inlined),
                "{}",
                wat_path.display()
            );
        } else if stem.starts_with("call_indirect") {
            assert_eq!(paths.len(), 1, "{}", wat_path.display());
            assert!(!paths[0].predecessors.is_empty(), "{}", wat_path.display());
        } else {
            assert!(paths.is_empty(), "{}", wat_path.display());
        }
    }
}

/// The vector operations of the SIMD golden modules compile to the
/// vector instructions their `.wat` files name: the checks below are on
/// the instructions Cranelift selected for this host (the SSE or the AVX
/// form, hence substrings).
#[test]
#[cfg(target_arch = "x86_64")]
fn simd_selects_vector_instructions() {
    let expected: &[(&str, &[&[&str]])] = &[
        ("simd_shuffle", &[&["punpcklbw"], &["pshufb"]]),
        ("simd_dot", &[&["pmaddwd"], &["pmaddwd"]]),
        (
            "simd_min_max",
            &[&["minps"], &["maxps"], &["minps"], &["maxps"]],
        ),
        ("simd_load_splat", &[&["broadcastd", "pshufd"]]),
    ];
    for (name, per_func) in expected {
        let funcs = compile(&read_source(&disas_dir().join(format!("{name}.wat"))));
        assert_eq!(funcs.len(), per_func.len(), "{name}");
        for (f, any_of) in funcs.iter().zip(*per_func) {
            assert!(
                any_of.iter().any(|m| f.machine_code.contains(m)),
                "{name}, function {}: none of {any_of:?} in\n{}",
                f.func_index,
                f.machine_code
            );
        }
    }
    // The second load of c[i] = a[i] * b[i] is the multiplication's
    // memory operand.
    let funcs = compile(&read_source(&disas_dir().join("simd_load_fold.wat")));
    let code = &funcs[0].machine_code;
    assert!(
        code.lines()
            .any(|l| l.contains("pmulld") && l.contains("(%")),
        "no pmulld with a memory operand in\n{code}"
    );
    // pmin and pmax are that one instruction and nothing else.
    let funcs = compile(&read_source(&disas_dir().join("simd_min_max.wat")));
    for f in &funcs[2..] {
        let vector_insts = f
            .machine_code
            .lines()
            .filter(|l| l.contains("%xmm"))
            .count();
        assert_eq!(vector_insts, 1, "{}", f.machine_code);
    }
}
