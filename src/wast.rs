//! A runner for `.wast` scripts, the format of the WebAssembly spec tests.
//!
//! A script is a sequence of directives: define and instantiate modules,
//! register them under a name for later imports, invoke exports, and assert
//! what happens (`assert_return`, `assert_trap`, `assert_invalid`, ...).
//! [`run_wast`] executes every directive of one script against a fresh
//! [`Store`] and reports each one as a [`CaseOutcome`]: its line, its kind and
//! whether it passed. Nothing aborts a script early: a module that fails to
//! compile is one failed case, and the directives that use it fail (and are
//! counted) too. A panic inside a directive is caught and recorded as that
//! directive's failure.
//!
//! Scripts run against the `spectest` host module the spec tests import
//! from: the functions `print`, `print_i32`, `print_i64`, `print_f32`,
//! `print_f64`, `print_i32_f32` and `print_f64_f64` (which print nothing),
//! the globals `global_i32`/`global_i64` (666) and `global_f32`/`global_f64`
//! (666.6), a funcref `table` of 10 to 20 elements and a `memory` of 1 to 2
//! pages.
//!
//! Which features a script may use is part of the [`WastConfig`]: each
//! spec suite runs with its edition's set ([`Features::MVP`],
//! [`Features::WASM2`], [`Features::WASM3`]), the proposal suites with the
//! proposal on, and scripts run by default with the engine's defaults,
//! [`Features::DEFAULT`].

use anyhow::{Context as _, anyhow, bail};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use trestle::{
    Config, Engine, Extern, ExternRef, Global, GlobalType, Instance, Linker, Memory, MemoryType,
    Module, Mutability, Ref, RefType, Result, Store, Table, TableType, V128, Val, ValType,
};
use wast::core::{
    AbstractHeapType, HeapType as WastHeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore,
};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{F32, F64, Id, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

pub use crate::features::Features;

/// How [`run_wast`] configures the engine a script runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WastConfig {
    /// Initialize funcref tables lazily, on first use of each element
    /// ([`Config::table_lazy_init`]), instead of at instantiation.
    pub table_lazy_init: bool,
    /// The proposals the script may use.
    pub features: Features,
    /// Force Cranelift's IR verifier on for every function (slow). When
    /// false, the runtime's default applies.
    pub debug_verifier: bool,
}

impl Default for WastConfig {
    /// Lazy tables, [`Features::DEFAULT`], the runtime's verifier default.
    fn default() -> Self {
        WastConfig {
            table_lazy_init: true,
            features: Features::DEFAULT,
            debug_verifier: false,
        }
    }
}

impl WastConfig {
    /// The runtime configuration this stands for.
    pub fn to_config(&self) -> Config {
        let mut config = Config::new();
        self.features.configure(&mut config);
        config.table_lazy_init(self.table_lazy_init);
        if self.debug_verifier {
            config.cranelift_debug_verifier(true);
        }
        config
    }
}

/// The result of one directive of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The 1-based line the directive starts on (0 for problems that belong
    /// to no directive, such as a failure to set up the engine).
    pub line: u32,
    /// The directive's keyword: `module`, `assert_return`, `invoke`, ...
    pub directive: &'static str,
    /// `Ok` when the directive did what it should, else why not.
    pub result: Result<(), String>,
}

impl CaseOutcome {
    /// Whether the directive passed.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }

    /// One line describing a failed case: `line 12: assert_return: why`
    /// (the reason cut to its first line and 200 characters).
    pub fn failure_line(&self) -> String {
        let why = match &self.result {
            Ok(()) => "passed",
            Err(why) => why.as_str(),
        };
        let mut first = why.lines().next().unwrap_or("").to_string();
        if first.chars().count() > 200 {
            first = first.chars().take(200).collect::<String>() + "...";
        } else if why.lines().nth(1).is_some() {
            first.push_str(" ...");
        }
        format!("line {}: {}: {}", self.line, self.directive, first)
    }
}

/// The results of one script, one [`CaseOutcome`] per directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The script's name, as given to [`run_wast`].
    pub name: String,
    /// Every directive, in script order.
    pub cases: Vec<CaseOutcome>,
}

impl FileOutcome {
    /// Number of directives that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Number of directives that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// The directives that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseOutcome> {
        self.cases.iter().filter(|c| !c.passed())
    }

    /// Whether every directive passed.
    pub fn is_pass(&self) -> bool {
        self.cases.iter().all(CaseOutcome::passed)
    }

    /// The report of this file: `  PASS  name  (N assertions)`, or
    /// `  FAIL  name  (F of N assertions failed)` followed by the first
    /// `max_failures` failures, one per line. Ends with a newline.
    pub fn report(&self, max_failures: usize) -> String {
        let total = self.cases.len();
        let mut out = String::new();
        if self.is_pass() {
            let _ = writeln!(out, "  PASS  {}  ({total} assertions)", self.name);
            return out;
        }
        let failed = self.failed();
        let _ = writeln!(
            out,
            "  FAIL  {}  ({failed} of {total} assertions failed)",
            self.name
        );
        for case in self.failures().take(max_failures) {
            let _ = writeln!(out, "          {}", case.failure_line());
        }
        if failed > max_failures {
            let _ = writeln!(out, "          ... and {} more", failed - max_failures);
        }
        out
    }
}

/// Runs the script `source` and reports every directive.
///
/// `name` only labels the outcome. Never panics: a panic inside a directive
/// becomes that directive's failure; a script that does not parse is one
/// failed case at the line of the syntax error.
pub fn run_wast(name: &str, source: &str, config: &WastConfig) -> FileOutcome {
    let mut outcome = FileOutcome {
        name: name.to_string(),
        cases: Vec::new(),
    };
    let lines = LineIndex::new(source);

    let mut lexer = Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buf) => buf,
        Err(mut e) => {
            outcome.cases.push(parse_failure(&lines, source, &mut e));
            return outcome;
        }
    };
    let script = match parser::parse::<Wast<'_>>(&buf) {
        Ok(script) => script,
        Err(mut e) => {
            outcome.cases.push(parse_failure(&lines, source, &mut e));
            return outcome;
        }
    };

    let mut runner = match catch_unwind(|| Runner::new(config)) {
        Ok(Ok(runner)) => runner,
        Ok(Err(e)) => {
            outcome.cases.push(CaseOutcome {
                line: 0,
                directive: "setup",
                result: Err(format!("failed to set up the engine: {e:#}")),
            });
            return outcome;
        }
        Err(payload) => {
            outcome.cases.push(CaseOutcome {
                line: 0,
                directive: "setup",
                result: Err(format!("panic: {}", panic_message(&*payload))),
            });
            return outcome;
        }
    };
    if let Err(e) = std::mem::replace(&mut runner.spectest_error, Ok(())) {
        outcome.cases.push(CaseOutcome {
            line: 0,
            directive: "spectest",
            result: Err(format!("failed to define the spectest module: {e:#}")),
        });
    }

    for directive in script.directives {
        let line = lines.line(directive.span());
        let kind = directive_name(&directive);
        let result = catch_unwind(AssertUnwindSafe(|| runner.run(directive, line)));
        let result = match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(payload) => Err(format!("panic: {}", panic_message(&*payload))),
        };
        outcome.cases.push(CaseOutcome {
            line,
            directive: kind,
            result,
        });
    }
    outcome
}

fn parse_failure(lines: &LineIndex, source: &str, e: &mut wast::Error) -> CaseOutcome {
    let line = lines.line(e.span());
    e.set_text(source);
    CaseOutcome {
        line,
        directive: "parse",
        result: Err(format!("the script does not parse: {}", e.message())),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Byte offset to 1-based line number, by binary search over line starts.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, span: Span) -> u32 {
        let line = self.starts.partition_point(|&s| s <= span.offset());
        u32::try_from(line).unwrap_or(u32::MAX)
    }
}

fn directive_name(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}

/// The `$name`s of a script's instances or module definitions, and the
/// latest one made, which an unnamed reference means.
struct Names {
    /// What is named: `instance` or `module definition`, for errors.
    kind: &'static str,
    /// Indices by `$name`.
    named: HashMap<String, usize>,
    /// The latest one: its index, or `Err(line)` when the one at that line
    /// failed.
    latest: Option<Result<usize, u32>>,
}

impl Names {
    fn new(kind: &'static str) -> Self {
        Names {
            kind,
            named: HashMap::new(),
            latest: None,
        }
    }

    /// Records the outcome of making the one at `line`, named `name`: it is
    /// the latest, and the name is its own (or, when it failed, nothing's).
    fn record(&mut self, name: Option<&str>, line: u32, made: Result<usize>) -> Result<()> {
        self.latest = Some(made.as_ref().copied().map_err(|_| line));
        match (name, &made) {
            (Some(name), Ok(index)) => {
                self.named.insert(name.to_string(), *index);
            }
            (Some(name), Err(_)) => {
                self.named.remove(name);
            }
            (None, _) => {}
        }
        made.map(|_| ())
    }

    /// The index `name` stands for, or without a name the latest one's.
    ///
    /// # Errors
    ///
    /// When no such name was given, or there is no latest one.
    fn index(&self, name: Option<Id<'_>>) -> Result<usize> {
        let kind = self.kind;
        match (name, self.latest) {
            (Some(id), _) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| anyhow!("no {kind} named `${}`", id.name())),
            (None, Some(Ok(index))) => Ok(index),
            (None, Some(Err(line))) => {
                Err(anyhow!("no current {kind}: the one at line {line} failed"))
            }
            (None, None) => Err(anyhow!("no current {kind}: none was made yet")),
        }
    }
}

/// The state of one script: its store, its linker (with `spectest` and every
/// registered instance) and the instances and module definitions it made.
struct Runner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    /// Every instance the script created, in order.
    instances: Vec<Instance>,
    /// Instances by `$name`, and the one unnamed `invoke`/`get`/`register`
    /// refer to: the last module instantiated.
    instance_names: Names,
    /// Every module definition (`module definition`), in order.
    definitions: Vec<Module>,
    /// Definitions by `$name`, and the last one.
    definition_names: Names,
    /// Why `spectest` could not be defined, reported once.
    spectest_error: Result<()>,
}

impl Runner {
    fn new(config: &WastConfig) -> Result<Runner> {
        let engine = Engine::new(&config.to_config())?;
        let store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        let mut runner = Runner {
            engine,
            store,
            linker,
            instances: Vec::new(),
            instance_names: Names::new("instance"),
            definitions: Vec::new(),
            definition_names: Names::new("module definition"),
            spectest_error: Ok(()),
        };
        runner.spectest_error = runner.define_spectest();
        Ok(runner)
    }

    fn define_spectest(&mut self) -> Result<()> {
        let linker = &mut self.linker;
        linker.func_wrap("spectest", "print", || {})?;
        linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
        linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
        linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
        linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
        linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
        linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;

        let store = &mut self.store;
        let globals = [
            ("global_i32", ValType::I32, Val::I32(666)),
            ("global_i64", ValType::I64, Val::I64(666)),
            ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
            ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
        ];
        for (name, ty, value) in globals {
            let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
            linker.define(&*store, "spectest", name, global)?;
        }

        let table = Table::new(
            &mut *store,
            TableType::new(RefType::FUNCREF, 10, Some(20)),
            Ref::Func(None),
        )?;
        linker.define(&*store, "spectest", "table", table)?;

        let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
        linker.define(&*store, "spectest", "memory", memory)?;
        Ok(())
    }

    fn run(&mut self, directive: WastDirective<'_>, line: u32) -> Result<()> {
        let is_invalid = matches!(directive, WastDirective::AssertInvalid { .. });
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|id| id.name());
                let made = encode(&mut module)
                    .and_then(|bytes| self.compile(&bytes))
                    .and_then(|module| self.instantiate(&module));
                self.instance_names.record(name, line, made)
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|id| id.name());
                let made = encode(&mut module)
                    .and_then(|bytes| self.compile(&bytes))
                    .map(|module| {
                        self.definitions.push(module);
                        self.definitions.len() - 1
                    });
                self.definition_names.record(name, line, made)
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let made = self.definition_index(module).and_then(|def| {
                    let module = self.definitions[def].clone();
                    self.instantiate(&module)
                });
                self.instance_names
                    .record(instance.map(|id| id.name()), line, made)
            }
            WastDirective::Register { name, module, .. } => {
                let index = self.instance_index(module)?;
                let exports: Vec<(String, Extern)> = self.instances[index]
                    .exports(&mut self.store)
                    .map(|export| (export.name().to_string(), export.into_extern()))
                    .collect();
                for (field, item) in exports {
                    self.linker
                        .define(&self.store, name, &field, item)
                        .with_context(|| format!("failed to register `{name}`.`{field}`"))?;
                }
                Ok(())
            }
            WastDirective::Invoke(invoke) => self.invoke(&invoke).map(drop),
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?;
                self.check_results(&actual, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(values) => bail!(
                    "expected trap `{message}`, but it returned {}",
                    describe_vals(&values)
                ),
                Err(e) => check_error(&e, message),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(values) => bail!(
                    "expected `{message}`, but it returned {}",
                    describe_vals(&values)
                ),
                Err(e) => check_error(&e, message),
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            }
            | WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => {
                let what = if is_invalid {
                    "an invalid"
                } else {
                    "a malformed"
                };
                match encode(&mut module).and_then(|bytes| self.compile(&bytes)) {
                    Ok(_) => bail!("expected {what} module (`{message}`), but it compiled"),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let module = encode_wat(&mut module)
                    .and_then(|bytes| self.compile(&bytes))
                    .context("expected a link error, but the module failed to compile")?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => bail!("expected a link error (`{message}`), but it instantiated"),
                    Err(_) => Ok(()),
                }
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(values) => bail!(
                    "expected an uncaught exception, but it returned {}",
                    describe_vals(&values)
                ),
                Err(e) if e.downcast_ref::<trestle::ThrownException>().is_some() => Ok(()),
                Err(e) => bail!("expected an uncaught exception, found error: {e:#}"),
            },
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. }
            | WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => bail!("unsupported directive"),
        }
    }

    fn compile(&self, bytes: &[u8]) -> Result<Module> {
        Module::from_binary(&self.engine, bytes)
    }

    /// Instantiates `module` against the linker; returns the instance's index.
    fn instantiate(&mut self, module: &Module) -> Result<usize> {
        let instance = self.linker.instantiate(&mut self.store, module)?;
        self.instances.push(instance);
        Ok(self.instances.len() - 1)
    }

    fn instance_index(&self, name: Option<Id<'_>>) -> Result<usize> {
        self.instance_names.index(name)
    }

    fn definition_index(&self, name: Option<Id<'_>>) -> Result<usize> {
        self.definition_names.index(name)
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let module = encode_wat(&mut wat).and_then(|bytes| self.compile(&bytes))?;
                self.linker.instantiate(&mut self.store, &module)?;
                Ok(Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let index = self.instance_index(module)?;
                let g = self.instances[index]
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no global export named `{global}`"))?;
                Ok(vec![g.get(&mut self.store)])
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>> {
        let index = self.instance_index(invoke.module)?;
        let name = invoke.name;
        let func = self.instances[index]
            .get_func(&mut self.store, name)
            .ok_or_else(|| anyhow!("no function export named `{name}`"))?;
        let mut params = Vec::with_capacity(invoke.args.len());
        for arg in &invoke.args {
            params.push(self.arg(arg)?);
        }
        let count = func.ty(&self.store).results().count();
        let mut results: Vec<Val> = (0..count).map(|_| Val::I32(0)).collect();
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results)
    }

    fn arg(&mut self, arg: &WastArg<'_>) -> Result<Val> {
        let WastArg::Core(arg) = arg else {
            bail!("component-model arguments are not supported")
        };
        Ok(match arg {
            WastArgCore::I32(v) => Val::I32(*v),
            WastArgCore::I64(v) => Val::I64(*v),
            WastArgCore::F32(f) => Val::F32(f.bits),
            WastArgCore::F64(f) => Val::F64(f.bits),
            WastArgCore::RefNull(heap) => match heap_kind(heap) {
                Some(RefKind::Func) => Val::FuncRef(None),
                Some(RefKind::Extern) => Val::ExternRef(None),
                Some(RefKind::Any) => Val::AnyRef(None),
                Some(RefKind::Exn) => Val::ExnRef(None),
                None => bail!("unsupported argument `ref.null {heap:?}`"),
            },
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, *n)?)),
            WastArgCore::V128(v) => Val::V128(V128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefHost(_) => bail!("`ref.host` arguments are not supported"),
        })
    }

    fn check_results(&self, actual: &[Val], expected: &[WastRet<'_>]) -> Result<()> {
        if actual.len() != expected.len() {
            bail!(
                "expected {} results, got {}: {}",
                expected.len(),
                actual.len(),
                describe_vals(actual)
            );
        }
        for (i, (actual, expected)) in actual.iter().zip(expected).enumerate() {
            let WastRet::Core(expected) = expected else {
                bail!("component-model results are not supported")
            };
            if !self.matches(actual, expected)? {
                bail!(
                    "result {i}: expected {}, got {}",
                    describe_expected(expected),
                    describe_val(actual)
                );
            }
        }
        Ok(())
    }

    fn matches(&self, actual: &Val, expected: &WastRetCore<'_>) -> Result<bool> {
        Ok(match expected {
            WastRetCore::I32(e) => matches!(actual, Val::I32(a) if a == e),
            WastRetCore::I64(e) => matches!(actual, Val::I64(a) if a == e),
            WastRetCore::F32(pattern) => matches!(actual, Val::F32(a) if f32_matches(*a, pattern)),
            WastRetCore::F64(pattern) => matches!(actual, Val::F64(a) if f64_matches(*a, pattern)),
            WastRetCore::V128(pattern) => {
                matches!(actual, Val::V128(a) if v128_matches(a.to_le_bytes(), pattern))
            }
            WastRetCore::RefNull(None) => {
                matches!(
                    actual,
                    Val::FuncRef(None)
                        | Val::ExternRef(None)
                        | Val::AnyRef(None)
                        | Val::ExnRef(None)
                )
            }
            WastRetCore::RefNull(Some(heap)) => match heap_kind(heap) {
                Some(RefKind::Func) => matches!(actual, Val::FuncRef(None)),
                Some(RefKind::Extern) => matches!(actual, Val::ExternRef(None)),
                Some(RefKind::Any) => matches!(actual, Val::AnyRef(None)),
                Some(RefKind::Exn) => matches!(actual, Val::ExnRef(None)),
                None => bail!("unsupported result pattern `ref.null {heap:?}`"),
            },
            WastRetCore::RefArray => match actual {
                Val::AnyRef(Some(a)) => a.array_len(&self.store)?.is_some(),
                _ => false,
            },
            WastRetCore::RefEq | WastRetCore::RefAny => matches!(actual, Val::AnyRef(Some(_))),
            WastRetCore::RefFunc(_) => matches!(actual, Val::FuncRef(Some(_))),
            WastRetCore::RefExtern(payload) => match actual {
                Val::ExternRef(Some(r)) => match payload {
                    None => true,
                    Some(n) => {
                        let data = r.data(&self.store)?;
                        data.and_then(|d| d.downcast_ref::<u32>()) == Some(n)
                    }
                },
                _ => false,
            },
            WastRetCore::Either(alternatives) => {
                for alternative in alternatives {
                    if self.matches(actual, alternative)? {
                        return Ok(true);
                    }
                }
                false
            }
            other => bail!("unsupported result pattern {other:?}"),
        })
    }
}

/// The binary encoding of a module of the script.
fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>> {
    if matches!(
        module,
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
    ) {
        bail!("components are not supported");
    }
    module
        .encode()
        .map_err(|e| anyhow!("text format error: {}", e.message()))
}

fn encode_wat(wat: &mut Wat<'_>) -> Result<Vec<u8>> {
    if let Wat::Component(_) = wat {
        bail!("components are not supported");
    }
    wat.encode()
        .map_err(|e| anyhow!("text format error: {}", e.message()))
}

enum RefKind {
    Func,
    Extern,
    Any,
    Exn,
}

fn heap_kind(heap: &WastHeapType<'_>) -> Option<RefKind> {
    match heap {
        WastHeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        } => Some(RefKind::Func),
        WastHeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        } => Some(RefKind::Extern),
        WastHeapType::Abstract {
            shared: false,
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::Array
                | AbstractHeapType::Struct
                | AbstractHeapType::None,
        } => Some(RefKind::Any),
        WastHeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
        } => Some(RefKind::Exn),
        _ => None,
    }
}

/// Whether the bits of an `f32` result match the pattern. A value pattern
/// compares bits exactly (so `-0` differs from `0` and NaN payloads count).
fn f32_matches(bits: u32, pattern: &NanPattern<F32>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

/// [`f32_matches`] for `f64`.
fn f64_matches(bits: u64, pattern: &NanPattern<F64>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

/// Whether the bytes of a `v128` result match the pattern, lane by lane:
/// integer lanes exactly, float lanes as [`f32_matches`] and
/// [`f64_matches`] do (so each lane may be a NaN pattern of its own).
fn v128_matches(bytes: [u8; 16], pattern: &V128Pattern) -> bool {
    fn lanes<const N: usize>(bytes: &[u8; 16]) -> impl Iterator<Item = [u8; N]> + '_ {
        bytes
            .chunks_exact(N)
            .map(|c| c.try_into().expect("a lane of N bytes"))
    }
    match pattern {
        V128Pattern::I8x16(e) => bytes.iter().zip(e).all(|(a, e)| *a == *e as u8),
        V128Pattern::I16x8(e) => lanes(&bytes).zip(e).all(|(a, e)| a == e.to_le_bytes()),
        V128Pattern::I32x4(e) => lanes(&bytes).zip(e).all(|(a, e)| a == e.to_le_bytes()),
        V128Pattern::I64x2(e) => lanes(&bytes).zip(e).all(|(a, e)| a == e.to_le_bytes()),
        V128Pattern::F32x4(e) => lanes(&bytes)
            .zip(e)
            .all(|(a, e)| f32_matches(u32::from_le_bytes(a), e)),
        V128Pattern::F64x2(e) => lanes(&bytes)
            .zip(e)
            .all(|(a, e)| f64_matches(u64::from_le_bytes(a), e)),
    }
}

/// Whether the error text of `err` contains the message a script expects.
fn check_error(err: &anyhow::Error, expected: &str) -> Result<()> {
    let actual = format!("{err:#}");
    if error_matches(&actual, expected) {
        Ok(())
    } else {
        bail!("expected error `{expected}`, got: {actual}")
    }
}

/// Substring match; the reference interpreter appends an index to a few
/// messages (`uninitialized element 7`), which a runtime need not repeat.
fn error_matches(actual: &str, expected: &str) -> bool {
    if actual.contains(expected) {
        return true;
    }
    let trimmed = expected
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end();
    trimmed.len() < expected.len() && !trimmed.is_empty() && actual.contains(trimmed)
}

fn describe_vals(values: &[Val]) -> String {
    if values.is_empty() {
        return "no results".to_string();
    }
    let parts: Vec<String> = values.iter().map(describe_val).collect();
    format!("[{}]", parts.join(", "))
}

fn describe_val(value: &Val) -> String {
    match value {
        Val::I32(v) => format!("i32 {v} ({:#x})", *v as u32),
        Val::I64(v) => format!("i64 {v} ({:#x})", *v as u64),
        Val::F32(bits) => format!("f32 {} ({bits:#010x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64 {} ({bits:#018x})", f64::from_bits(*bits)),
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(_)) => "ref.extern".to_string(),
        Val::V128(v) => format!("v128 {}", describe_bytes(&v.to_le_bytes())),
        other => format!("{other:?}"),
    }
}

/// A `v128` as `i8x16` lanes, lane 0 first, in hexadecimal.
fn describe_bytes(bytes: &[u8; 16]) -> String {
    let lanes: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("i8x16 {}", lanes.join(" "))
}

/// A float pattern: the NaN pattern's name, or `value` of the value.
fn describe_nan<T>(p: &NanPattern<T>, value: impl Fn(&T) -> String) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(v) => value(v),
    }
}

fn describe_expected(expected: &WastRetCore<'_>) -> String {
    let nan_f32 = |p| {
        describe_nan(p, |v: &F32| {
            format!("{} ({:#010x})", f32::from_bits(v.bits), v.bits)
        })
    };
    let nan_f64 = |p| {
        describe_nan(p, |v: &F64| {
            format!("{} ({:#018x})", f64::from_bits(v.bits), v.bits)
        })
    };
    match expected {
        WastRetCore::I32(v) => format!("i32 {v} ({:#x})", *v as u32),
        WastRetCore::I64(v) => format!("i64 {v} ({:#x})", *v as u64),
        WastRetCore::F32(p) => format!("f32 {}", nan_f32(p)),
        WastRetCore::F64(p) => format!("f64 {}", nan_f64(p)),
        WastRetCore::V128(p) => format!("v128 {}", describe_v128_pattern(p)),
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::Either(alternatives) => {
            let parts: Vec<String> = alternatives.iter().map(describe_expected).collect();
            format!("either({})", parts.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

/// A `v128` result pattern as the script writes it, NaN patterns by name.
fn describe_v128_pattern(p: &V128Pattern) -> String {
    fn join<T>(shape: &str, lanes: &[T], f: impl Fn(&T) -> String) -> String {
        let parts: Vec<String> = lanes.iter().map(f).collect();
        format!("{shape} {}", parts.join(" "))
    }
    match p {
        V128Pattern::I8x16(l) => join("i8x16", l, |x| x.to_string()),
        V128Pattern::I16x8(l) => join("i16x8", l, |x| x.to_string()),
        V128Pattern::I32x4(l) => join("i32x4", l, |x| x.to_string()),
        V128Pattern::I64x2(l) => join("i64x2", l, |x| x.to_string()),
        V128Pattern::F32x4(l) => join("f32x4", l, |p| {
            describe_nan(p, |v| f32::from_bits(v.bits).to_string())
        }),
        V128Pattern::F64x2(l) => join("f64x2", l, |p| {
            describe_nan(p, |v| f64::from_bits(v.bits).to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canonical = 0x7fc0_0000u32;
        let arithmetic = 0x7fc0_0001u32;
        let signalling = 0x7fa0_0000u32;
        assert!(f32_matches(canonical, &NanPattern::CanonicalNan));
        assert!(f32_matches(
            canonical | 0x8000_0000,
            &NanPattern::CanonicalNan
        ));
        assert!(!f32_matches(arithmetic, &NanPattern::CanonicalNan));
        assert!(f32_matches(arithmetic, &NanPattern::ArithmeticNan));
        assert!(!f32_matches(signalling, &NanPattern::ArithmeticNan));
        assert!(!f32_matches(1.0f32.to_bits(), &NanPattern::ArithmeticNan));
        assert!(f64_matches(
            0x7ff8_0000_0000_0000,
            &NanPattern::CanonicalNan
        ));
        assert!(f64_matches(
            0xfff8_0000_0000_0001,
            &NanPattern::ArithmeticNan
        ));
        assert!(!f64_matches(
            0x7ff0_0000_0000_0001,
            &NanPattern::ArithmeticNan
        ));
        let zero = NanPattern::Value(F32 { bits: 0 });
        assert!(f32_matches(0, &zero));
        assert!(!f32_matches(0x8000_0000, &zero));
    }

    #[test]
    fn v128_patterns_match_lane_by_lane() {
        let f32_lanes = |lanes: [u32; 4]| {
            let mut bytes = [0u8; 16];
            for (chunk, lane) in bytes.chunks_exact_mut(4).zip(lanes) {
                chunk.copy_from_slice(&lane.to_le_bytes());
            }
            bytes
        };
        let pattern = V128Pattern::F32x4([
            NanPattern::CanonicalNan,
            NanPattern::ArithmeticNan,
            NanPattern::Value(F32 { bits: 0x3f80_0000 }),
            NanPattern::Value(F32 { bits: 0x8000_0000 }),
        ]);
        let good = [0x7fc0_0000, 0xffc0_0001, 0x3f80_0000, 0x8000_0000];
        assert!(v128_matches(f32_lanes(good), &pattern));
        // Each lane is checked against its own pattern.
        for (lane, bad) in [(0, 0x7fc0_0001), (1, 0x7f80_0001), (2, 0x3f80_0001), (3, 0)] {
            let mut lanes = good;
            lanes[lane] = bad;
            assert!(!v128_matches(f32_lanes(lanes), &pattern), "lane {lane}");
        }
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        let i16s = V128Pattern::I16x8(std::array::from_fn(|i| {
            i16::from_le_bytes([2 * i as u8, 2 * i as u8 + 1])
        }));
        assert!(v128_matches(bytes, &i16s));
        assert!(!v128_matches([0; 16], &i16s));
        assert!(
            describe_v128_pattern(&pattern).starts_with("f32x4 nan:canonical nan:arithmetic 1 -0")
        );
    }

    #[test]
    fn error_messages() {
        assert!(error_matches("wasm trap: unreachable", "unreachable"));
        assert!(error_matches(
            "wasm trap: uninitialized element",
            "uninitialized element 7"
        ));
        assert!(!error_matches(
            "wasm trap: unreachable",
            "undefined element"
        ));
        assert!(!error_matches("x", "7"));
    }

    #[test]
    fn line_numbers() {
        let index = LineIndex::new("a\nbc\n\nd");
        assert_eq!(index.line(Span::from_offset(0)), 1);
        assert_eq!(index.line(Span::from_offset(1)), 1);
        assert_eq!(index.line(Span::from_offset(2)), 2);
        assert_eq!(index.line(Span::from_offset(5)), 3);
        assert_eq!(index.line(Span::from_offset(6)), 4);
    }
}
