//! Trestle's compiler: WebAssembly modules to native code with Cranelift.
//!
//! [`Compiler::compile_module`] validates a module and translates it in one
//! pass: the module sections become a [`ModuleInfo`] the runtime instantiates
//! from, and every function body is validated operator by operator while it
//! is lowered to Cranelift IR. The result, a [`CompiledModule`], is position
//! independent machine code with a trap table; the runtime copies it into
//! executable memory.
//!
//! Compiled code reaches all instance state through the vmctx, whose layout
//! comes from [`trestle_vmctx::VMOffsets`] only.

mod abi;
mod artifact;
mod devirt;
mod disas;
mod driver;
mod frame_info;
mod index;
mod inline;
mod module;
mod schedule;
mod trampoline;
mod translate;
mod types;

pub use artifact::{MAGIC, ModuleArtifact, TypeGroup};
pub use disas::{IndirectCallPath, OptimizedFunction};
pub use frame_info::{
    AddressRange, CallSite, CodeRange, ExceptionHandler, FrameTable, FuncFrameInfo, InlinedFrame,
};
pub use index::*;
pub use module::{CompiledModule, FuncLoc, InternGroup};
pub use trampoline::HostTrampoline;
pub use types::*;

use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use std::fmt;

/// An error from compiling a module: the module is malformed, invalid, uses a
/// feature Trestle does not support, or code generation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    kind: CompileErrorKind,
    message: String,
    offset: Option<usize>,
}

/// What kind of [`CompileError`] this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The bytes are not a well-formed module, or the module does not
    /// validate.
    Invalid,
    /// The module is valid but uses something Trestle does not support.
    Unsupported,
    /// Cranelift failed to compile a function, or a limit of the
    /// implementation was hit.
    Codegen,
}

impl CompileError {
    #[cold]
    pub(crate) fn new(kind: CompileErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            offset: None,
        }
    }

    #[cold]
    pub(crate) fn unsupported(what: impl fmt::Display) -> Self {
        Self::new(
            CompileErrorKind::Unsupported,
            format!("unsupported: {what}"),
        )
    }

    #[cold]
    pub(crate) fn codegen(what: impl fmt::Display) -> Self {
        Self::new(CompileErrorKind::Codegen, what.to_string())
    }

    /// What kind of error this is.
    pub fn kind(&self) -> CompileErrorKind {
        self.kind
    }

    /// The message, without the offset.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The byte offset in the module where the problem was found, if known.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(offset) = self.offset {
            write!(f, " (at offset {offset:#x})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileError {}

impl From<wasmparser::BinaryReaderError> for CompileError {
    #[cold]
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Self {
            kind: CompileErrorKind::Invalid,
            message: e.message().to_string(),
            offset: Some(e.offset() as usize),
        }
    }
}

/// Which WebAssembly proposals the compiler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Multi-value blocks and functions.
    pub multi_value: bool,
    /// Sign-extension operators.
    pub sign_extension: bool,
    /// Non-trapping float-to-int conversions.
    pub saturating_float_to_int: bool,
    /// Import and export of mutable globals.
    pub mutable_global: bool,
    /// Reference types (externref, multiple tables, table instructions).
    pub reference_types: bool,
    /// Bulk memory and table operations.
    pub bulk_memory: bool,
    /// 64-bit tables and memories (the memory64 proposal).
    pub memory64: bool,
    /// Typed function references (`(ref $t)`, `ref.as_non_null`,
    /// `br_on_null`, `call_ref`, ...).
    pub function_references: bool,
    /// Garbage-collected types (`any`, `eq`, arrays, structures, recursion
    /// groups and declared subtypes). Only part of the proposal's
    /// instructions compile; the rest are "unsupported" errors.
    pub gc: bool,
    /// Tail calls (`return_call`, `return_call_indirect`,
    /// `return_call_ref`).
    pub tail_call: bool,
    /// Fixed-width SIMD: the `v128` type and its instructions.
    pub simd: bool,
    /// Relaxed SIMD: instructions whose results may depend on the host
    /// (see [`CompilerOptions::relaxed_simd_deterministic`]). Needs
    /// [`Features::simd`].
    pub relaxed_simd: bool,
    /// Several memories in one module, and the memory index of every
    /// memory instruction.
    pub multi_memory: bool,
    /// Extended constant expressions: `i32`/`i64` `add`, `sub` and `mul`
    /// in constant expressions.
    pub extended_const: bool,
    /// Exception handling (the standard `exnref` form): tags, `throw`,
    /// `throw_ref`, `try_table` and the `exnref` type.
    pub exceptions: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            multi_value: true,
            sign_extension: true,
            saturating_float_to_int: true,
            mutable_global: true,
            reference_types: true,
            bulk_memory: true,
            memory64: true,
            function_references: true,
            gc: false,
            tail_call: true,
            simd: true,
            relaxed_simd: true,
            multi_memory: true,
            extended_const: true,
            exceptions: true,
        }
    }
}

impl Features {
    /// WebAssembly 1.0 as published, without later additions.
    pub fn mvp() -> Self {
        Self {
            multi_value: false,
            sign_extension: false,
            saturating_float_to_int: false,
            mutable_global: true,
            reference_types: false,
            bulk_memory: false,
            memory64: false,
            function_references: false,
            gc: false,
            tail_call: false,
            simd: false,
            relaxed_simd: false,
            multi_memory: false,
            extended_const: false,
            exceptions: false,
        }
    }

    pub(crate) fn to_wasmparser(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as F;
        let mut f = F::empty() | F::FLOATS | F::GC_TYPES;
        f.set(F::MULTI_VALUE, self.multi_value);
        f.set(F::SIGN_EXTENSION, self.sign_extension);
        f.set(F::SATURATING_FLOAT_TO_INT, self.saturating_float_to_int);
        f.set(F::MUTABLE_GLOBAL, self.mutable_global);
        f.set(F::REFERENCE_TYPES, self.reference_types);
        f.set(F::BULK_MEMORY, self.bulk_memory);
        f.set(F::MEMORY64, self.memory64);
        f.set(F::FUNCTION_REFERENCES, self.function_references);
        f.set(F::GC, self.gc);
        f.set(F::TAIL_CALL, self.tail_call);
        f.set(F::SIMD, self.simd);
        f.set(F::MULTI_MEMORY, self.multi_memory);
        f.set(F::EXTENDED_CONST, self.extended_const);
        f.set(F::EXCEPTIONS, self.exceptions);
        f.set(F::RELAXED_SIMD, self.simd && self.relaxed_simd);
        f
    }
}

/// Settings of the code generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilerOptions {
    /// Run the Cranelift IR verifier on every function (slower; on in tests).
    pub verify: bool,
    /// Optimize the generated code (`speed`), or compile fastest (`none`).
    pub optimize: bool,
    /// Accepted proposals.
    pub features: Features,
    /// Count fuel: every operator costs one unit (control markers are
    /// free) and code traps when the store's fuel runs out.
    pub consume_fuel: bool,
    /// Check the engine's epoch against the store's deadline at every
    /// function entry and loop header.
    pub epoch_interruption: bool,
    /// Funcref tables may hold entries that lazy initialization has not
    /// written yet: `call_indirect` and `table.get` then call the runtime to
    /// write them. Without it, such entries never exist and the code has no
    /// path for them.
    pub table_lazy_init: bool,
    /// Give every relaxed SIMD instruction its deterministic result, the
    /// same on every host, instead of the one the host computes fastest
    /// (`docs/simd.md` lists both for each instruction).
    pub relaxed_simd_deterministic: bool,
    /// Compile the function bodies of a module on all cores (rayon's
    /// global thread pool) instead of one after the other. The code is the
    /// same either way.
    pub parallel_compilation: bool,
    /// Make the code walkable for backtraces: every function keeps its
    /// frame pointer, and the code of each instruction is mapped back to
    /// its offset in the module.
    pub wasm_backtrace: bool,
    /// Copy small leaf functions into the functions that call them
    /// directly (only when optimizing).
    pub inlining: bool,
}

impl Default for CompilerOptions {
    fn default() -> Self {
        Self {
            verify: cfg!(debug_assertions),
            optimize: true,
            features: Features::default(),
            consume_fuel: false,
            epoch_interruption: false,
            table_lazy_init: true,
            relaxed_simd_deterministic: false,
            parallel_compilation: true,
            wasm_backtrace: true,
            inlining: true,
        }
    }
}

/// A code generator for the host machine.
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// The same target with frame pointers kept, which Cranelift's
    /// `return_call` needs in the function making the call, and the
    /// wasm-to-host trampoline to record its frame; only built when `isa`
    /// does not keep them (backtraces off). With backtraces on, `isa`
    /// keeps them already, and no function has to be searched for tail
    /// calls to pick its target.
    tail_call_isa: Option<OwnedTargetIsa>,
    options: CompilerOptions,
}

impl fmt::Debug for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiler")
            .field("isa", &self.isa.name())
            .field("options", &self.options)
            .finish()
    }
}

impl Compiler {
    /// A compiler for the host CPU.
    ///
    /// # Errors
    ///
    /// When the host CPU is not supported by Cranelift, or lacks what the
    /// enabled features need (on x86-64, SIMD needs SSE4.1 and SSSE3, and
    /// deterministic relaxed SIMD needs FMA).
    pub fn new(options: CompilerOptions) -> Result<Self, CompileError> {
        Self::for_host(options, &[])
    }

    /// [`Compiler::new`], with Cranelift's detection of the host CPU's
    /// features overridden by `isa_settings` (`("has_sse41", "false")`):
    /// how the tests play an older CPU.
    fn for_host(
        options: CompilerOptions,
        isa_settings: &[(&str, &str)],
    ) -> Result<Self, CompileError> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, name: &str, value: &str| {
            flags
                .set(name, value)
                .map_err(|e| CompileError::codegen(format!("cranelift setting {name}: {e}")))
        };
        set(
            &mut flags,
            "opt_level",
            if options.optimize { "speed" } else { "none" },
        )?;
        set(
            &mut flags,
            "enable_verifier",
            if options.verify { "true" } else { "false" },
        )?;
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "enable_heap_access_spectre_mitigation", "true")?;
        set(&mut flags, "enable_table_access_spectre_mitigation", "true")?;
        // Block offsets and edges, for placing loops (`module::loop_padding`).
        set(&mut flags, "machine_code_cfg_info", "true")?;
        let unsupported =
            |e: &dyn fmt::Display| CompileError::codegen(format!("host CPU not supported: {e}"));
        let build = |flags: &settings::Builder| {
            let mut isa = cranelift_native::builder().map_err(|e| unsupported(&e))?;
            for (name, value) in isa_settings {
                isa.set(name, value).map_err(|e| unsupported(&e))?;
            }
            isa.finish(settings::Flags::new(flags.clone()))
                .map_err(|e| unsupported(&e))
        };
        // Backtraces walk the chain of frame pointers, so with them on every
        // function, leaf functions included, keeps its frame pointer.
        // Without them nothing walks wasm stacks (traps long-jump, host
        // panics are carried across) and leaf functions may skip the frame
        // setup; only a function that makes a tail call then keeps its
        // frame pointer: the callee's frame replaces the caller's through
        // it. The frames of its callers and callees do not depend on it.
        set(
            &mut flags,
            "preserve_frame_pointers",
            if options.wasm_backtrace {
                "true"
            } else {
                "false"
            },
        )?;
        let isa = build(&flags)?;
        check_host_features(&*isa, &options)?;
        let tail_call_isa = if !options.wasm_backtrace {
            set(&mut flags, "preserve_frame_pointers", "true")?;
            Some(build(&flags)?)
        } else {
            None
        };
        Ok(Self {
            isa,
            tail_call_isa,
            options,
        })
    }

    /// The options this compiler was built with.
    pub fn options(&self) -> &CompilerOptions {
        &self.options
    }

    /// The target triple code is generated for.
    pub fn triple(&self) -> String {
        self.isa.triple().to_string()
    }

    pub(crate) fn call_conv(&self) -> CallConv {
        self.isa.default_call_conv()
    }
}

/// Refuses features the host CPU cannot run as Cranelift compiles them
/// without calling back into the runtime.
///
/// Without SSE4.1 (rounding, blends, several conversions) or SSSE3
/// (`pshufb`, shuffles and swizzles), Cranelift's x86-64 backend lowers
/// SIMD operations to calls of library functions Trestle does not
/// provide, and without FMA a fused multiply-add is such a call too (the
/// deterministic form of `relaxed_madd`). Failing here names the missing
/// feature up front, instead of failing the first module that happens to
/// use one of those operations.
fn check_host_features(isa: &dyn TargetIsa, options: &CompilerOptions) -> Result<(), CompileError> {
    if isa.triple().architecture != target_lexicon::Architecture::X86_64 {
        return Ok(());
    }
    let flags = isa.isa_flags();
    let has = |name: &str| {
        flags
            .iter()
            .any(|f| f.name == name && f.as_bool() == Some(true))
    };
    let features = &options.features;
    if features.simd {
        let missing: Vec<&str> = [
            ("has_sse3", "SSE3"),
            ("has_ssse3", "SSSE3"),
            ("has_sse41", "SSE4.1"),
        ]
        .into_iter()
        .filter(|(flag, _)| !has(flag))
        .map(|(_, name)| name)
        .collect();
        if !missing.is_empty() {
            return Err(CompileError::unsupported(format!(
                "SIMD on x86-64 needs {}, which this CPU lacks; turn the SIMD \
                 feature off to run modules without it",
                missing.join(", ")
            )));
        }
        if features.relaxed_simd && options.relaxed_simd_deterministic && !isa.has_native_fma() {
            return Err(CompileError::unsupported(
                "deterministic relaxed SIMD on x86-64 needs FMA and AVX, which this CPU \
                 lacks; turn relaxed SIMD or its deterministic mode off",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
