//! Trestle: a WebAssembly runtime that compiles wasm to native code with
//! Cranelift.
//!
//! The embedding API follows Wasmtime's names and shapes, so an embedder can
//! port by renaming: an [`Engine`] compiles [`Module`]s, a [`Store`] owns
//! instances and host objects, a [`Linker`] resolves imports, and [`Func`],
//! [`Memory`], [`Global`] and [`Table`] are `Copy` handles into a store.
//!
//! ```
//! use trestle::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (func $fib (export "fib") (param i32) (result i32)
//!         (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
//!           (then (local.get 0))
//!           (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
//!                          (call $fib (i32.sub (local.get 0) (i32.const 2))))))))
//! "#)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
//! let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
//! assert_eq!(fib.call(&mut store, 20)?, 6765);
//! # Ok::<(), trestle::Error>(())
//! ```
//!
//! Errors are [`anyhow::Error`]s; a trap can be recovered with
//! `error.downcast_ref::<Trap>()`. A panic in host code called from
//! WebAssembly propagates to the caller of [`Func::call`] (see [`Store`]).
//! The limits Trestle enforces on untrusted modules are public constants
//! ([`MAX_TABLE_ELEMENTS`], [`MAX_STORE_TABLE_ELEMENTS`],
//! [`MAX_MEMORY_PAGES`], [`MAX_MEMORY64_PAGES`], [`MAX_GC_ARRAY_ELEMENTS`]).

mod backtrace;
mod engine;
mod exception;
mod externals;
mod func;
mod gc;
mod instance;
mod libcalls;
mod limits;
mod linker;
mod module;
mod precompiled;
mod profiling;
mod store;
mod types;
mod v128;
mod values;
mod vm;

pub use anyhow::{Error, Result};
pub use backtrace::{FrameInfo, WasmBacktrace};
pub use engine::{Config, Engine};
pub use exception::{ExnRef, Tag, ThrownException};
pub use externals::{CTable, Extern, Global, Memory, Table};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use gc::RootScope;
pub use instance::{Export, Instance};
pub use limits::{
    MAX_GC_ARRAY_ELEMENTS, MAX_MEMORY_PAGES, MAX_MEMORY64_PAGES, MAX_STORE_TABLE_ELEMENTS,
    MAX_TABLE_ELEMENTS, ResourceLimiter,
};
pub use linker::Linker;
pub use module::Module;
pub use profiling::ProfilingStrategy;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use trestle_vmctx::Trap;
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, HeapType, ImportType, MemoryType, Mutability,
    RefType, TableType, TagType, TypeIndex, ValType,
};
pub use v128::V128;
pub use values::{AnyRef, ExternRef, Ref, Val};
