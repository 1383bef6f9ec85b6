//! Trestle's integration tests, one binary, grouped by subject:
//!
//! - `tables`: the `Table` API, 64-bit tables, `call_indirect`,
//!   `table.grow` and the bulk table operators, tables shared by
//!   instances, lazy and eager initialization;
//! - `externref_gc`: externref lifetime, roots and collection, typed
//!   references and GC arrays;
//! - `limits`: the resource limiter, huge declared sizes, recursion depth,
//!   fuel and epoch interruption, the metering of bulk operators;
//! - `traps`: every trap kind, host errors and host panics;
//! - `backtrace`: wasm backtraces of traps and host errors;
//! - `profiling`: the perf map of `Config::profiler` and `--profile`;
//! - `linking`: import matching across modules and with host values, and
//!   its errors;
//! - `malformed`: malformed and invalid modules;
//! - `precompiled`: serialized modules, their checks, and parallel
//!   compilation giving the same code as serial;
//! - `memories`: several memories and 64-bit memories through the host
//!   API, and their out-of-bounds and growth limits;
//! - `api`: `Config` getters, table and memory types, `Val` and `Ref`
//!   conveniences;
//! - `cli`: the `trestle run` and `trestle wast` commands;
//! - `wasi`: the WASI sandbox and bad guest input, C and C++ programs,
//!   and the WASI preview 1 test suite;
//! - `spec`: the WebAssembly spec test suites and Trestle's own scripts
//!   (`tests/misc`), run by the `.wast` runner, and tests of the runner;
//! - `simd`: `v128` values through the host API, the CPU feature check
//!   and the vector instructions' edge cases;
//! - `disas`: golden Cranelift IR of `call_indirect`, the table
//!   instructions and SIMD kernels;
//! - `differential`: seeded modules run on Trestle and on wasmi;
//! - `exceptions`: exception handling through the host API (tags,
//!   uncaught exceptions, `throw_ref`, traps inside `try_table`, host
//!   function frames, precompiled handlers).
//! - `table_ops`: seeded random table operations against a model.
//!
//! The cases a hostile module or a careless embedder may bring, each of
//! which must end in its specific trap or a clean error with the store
//! still usable, are with their subject, marked as adversarial cases in
//! their documentation.
//!
//! What the tests share, and only that, is in `harness`: every test
//! builds its engines there, which applies `TRESTLE_TABLE_LAZY_INIT`.

mod api;
mod backtrace;
mod cli;
mod differential;
mod disas;
mod exceptions;
mod externref_gc;
mod harness;
mod limits;
mod linking;
mod malformed;
mod memories;
mod precompiled;
mod profiling;
mod simd;
mod spec;
mod table_ops;
mod tables;
mod traps;
mod wasi;
