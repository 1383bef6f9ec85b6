//! Describing compiled code to profilers: [`ProfilingStrategy`] and the
//! perf map.
//!
//! `perf` attributes samples in code that no file on disk describes (JIT
//! code) by reading `/tmp/perf-<pid>.map`, one line per symbol:
//! `START SIZE NAME`, start and size in hexadecimal. With
//! [`ProfilingStrategy::PerfMap`], every module's functions and entry
//! trampolines, and every wasm-to-host trampoline, are appended to that
//! file as their code is mapped. Lines are never removed: perf maps have
//! no way to say that code went away.

use crate::backtrace::demangle;
use crate::vm::code_memory::CodeMemory;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use trestle_compiler::{CodeRange, FrameTable, WasmFuncType};

/// Which profiler compiled code is described to
/// ([`crate::Config::profiler`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProfilingStrategy {
    /// None (the default).
    #[default]
    None,
    /// `perf`, through `/tmp/perf-<pid>.map` (Linux `perf record` /
    /// `perf report`).
    PerfMap,
}

/// The process's perf map, opened on first use.
static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// The path of this process's perf map.
pub(crate) fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

/// Appends `lines` to the perf map. Profiling is best effort: a map that
/// cannot be written leaves the code unnamed in the profile, so the error
/// is reported once on standard error and otherwise ignored.
fn append(lines: &str) {
    let mut map = PERF_MAP.lock().unwrap_or_else(PoisonError::into_inner);
    if map.is_none() {
        match File::options()
            .create(true)
            .append(true)
            .open(perf_map_path())
        {
            Ok(file) => *map = Some(file),
            Err(e) => {
                eprintln!("trestle: cannot open {}: {e}", perf_map_path());
                return;
            }
        }
    }
    if let Some(file) = map.as_mut()
        && let Err(e) = file.write_all(lines.as_bytes())
    {
        eprintln!("trestle: cannot write {}: {e}", perf_map_path());
        *map = None;
    }
}

/// One perf map line for `range` of `code`.
fn line(out: &mut String, code: &CodeMemory, range: CodeRange, name: &str) {
    let start = code.base() as usize + range.start as usize;
    // Names may not contain line breaks; perf reads the rest of the line.
    let name = name.replace(['\n', '\r'], " ");
    let _ = writeln!(out, "{start:x} {:x} {name}", range.len);
}

/// Describes a module's code, mapped at `code`, to the profiler.
pub(crate) fn register_module(strategy: ProfilingStrategy, code: &CodeMemory, frames: &FrameTable) {
    if strategy != ProfilingStrategy::PerfMap || code.is_empty() {
        return;
    }
    let module = frames.module_name.as_deref().unwrap_or("<unknown>");
    let mut lines = String::new();
    for func in &frames.funcs {
        let name = match &func.name {
            Some(name) => demangle(name),
            None => format!("<wasm function {}>", func.func_index.as_u32()),
        };
        line(&mut lines, code, func.body, &format!("{module}!{name}"));
        if let Some(array_call) = func.array_call {
            line(
                &mut lines,
                code,
                array_call,
                &format!("{module}!{name} (array-to-wasm trampoline)"),
            );
        }
    }
    append(&lines);
}

/// Describes a wasm-to-host trampoline for functions of type `ty` to the
/// profiler.
pub(crate) fn register_host_trampoline(
    strategy: ProfilingStrategy,
    code: &CodeMemory,
    ty: &WasmFuncType,
) {
    if strategy != ProfilingStrategy::PerfMap || code.is_empty() {
        return;
    }
    let ty = crate::FuncType::from_wasm(std::sync::Arc::new(ty.clone()));
    let range = CodeRange {
        start: 0,
        len: code.len() as u32,
    };
    let mut lines = String::new();
    line(
        &mut lines,
        code,
        range,
        &format!("wasm-to-host trampoline {ty}"),
    );
    append(&lines);
}
