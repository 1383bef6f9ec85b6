//! The Cranelift driver: from a function body to machine code.
//!
//! [`FunctionCompiler`] owns the reusable Cranelift state of one compiling
//! thread (the codegen context, the function builder's context and the
//! validator's allocations) and takes each defined function through
//! validation and translation ([`crate::translate`]), Cranelift's mid-end
//! and code emission. Module compilation and the golden codegen tests
//! ([`Compiler::optimized_clif`]) both go through it: the IR the tests
//! print is the IR the machine code was generated from.
//!
//! [`compile_function`] emits one built Cranelift function and collects its
//! relocations and trap sites; the trampolines use it too.

use crate::abi::trap_from_code;
use crate::frame_info::{AddressRange, CallSite, ExceptionHandler};
use crate::index::{FuncIndex, TableIndex};
use crate::inline::{InlineCache, InlineSites};
use crate::translate::{FuncTranslator, ModuleEnv};
use crate::{CompileError, Compiler, trampoline};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::{ExternalName, Function, Opcode};
use cranelift_frontend::FunctionBuilderContext;
use trestle_vmctx::Trap;
use wasmparser::{FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources};

/// Machine code of one function, before it is placed in the module's code.
pub(crate) struct CompiledFunction {
    pub code: Vec<u8>,
    /// `(offset in code, callee function index, reloc kind, addend)` of
    /// direct calls.
    pub relocs: Vec<(u32, FuncIndex, Reloc, i64)>,
    pub traps: Vec<(u32, Trap)>,
    /// The code ranges `[header, end)` of the loops, from each loop header
    /// to the end of the block branching back to it.
    pub loops: Vec<(u32, u32)>,
    /// The instruction each range of the code came from (empty without
    /// source locations).
    pub address_map: Vec<AddressRange>,
    pub call_sites: Vec<CallSite>,
    /// The tables the function writes with inline stores, sorted (see
    /// [`crate::ModuleInfo::code_written_tables`]).
    pub written_tables: Vec<TableIndex>,
}

/// Compiles the defined functions of one module, one after the other,
/// reusing Cranelift's allocations between them.
pub(crate) struct FunctionCompiler<'a> {
    module: ModuleEnv<'a>,
    ctx: cranelift_codegen::Context,
    translation: TranslationState,
    /// This thread's translations of the functions it may inline.
    inline_cache: InlineCache,
    /// The calls inlined into the function being compiled.
    inline_sites: InlineSites,
    /// Keep a text listing of the machine instructions of each function
    /// ([`Self::machine_code_text`]).
    listing: bool,
}

impl<'a> FunctionCompiler<'a> {
    pub(crate) fn new(module: ModuleEnv<'a>) -> Self {
        Self {
            module,
            ctx: cranelift_codegen::Context::new(),
            translation: TranslationState::default(),
            inline_cache: InlineCache::default(),
            inline_sites: InlineSites::default(),
            listing: false,
        }
    }

    /// Keeps a listing of the machine instructions of every function
    /// compiled from now on.
    pub(crate) fn keep_listing(&mut self) {
        self.listing = true;
    }

    /// Validates, translates and compiles the body of defined function
    /// `func_index`. Until the next call, [`Self::optimized_ir`] is the IR
    /// the code was generated from.
    pub(crate) fn compile_body(
        &mut self,
        func_index: FuncIndex,
        func: FuncToValidate<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> Result<CompiledFunction, CompileError> {
        self.ctx.clear();
        self.ctx.set_disasm(self.listing);
        let written_tables =
            self.translation
                .translate(self.module, func_index, func, body, &mut self.ctx)?;
        self.inline_cache
            .inline_into(self.module, &mut self.ctx, &mut self.inline_sites)?;
        let mut compiled =
            compile_function(self.module.compiler, &mut self.ctx, &self.inline_sites)?;
        compiled.written_tables = written_tables;
        Ok(compiled)
    }

    /// The function [`Self::compile_body`] compiled last, after Cranelift's
    /// mid-end: the input of instruction selection.
    pub(crate) fn optimized_ir(&self) -> &Function {
        &self.ctx.func
    }

    /// The machine instructions of the function [`Self::compile_body`]
    /// compiled last, in Cranelift's notation, with the registers
    /// allocated; empty unless [`Self::keep_listing`] was called.
    pub(crate) fn machine_code_text(&self) -> String {
        self.ctx
            .compiled_code()
            .and_then(|c| c.vcode.clone())
            .unwrap_or_default()
    }

    /// Builds and compiles the array-to-wasm trampoline of defined function
    /// `func_index`.
    pub(crate) fn compile_array_to_wasm(
        &mut self,
        func_index: FuncIndex,
    ) -> Result<CompiledFunction, CompileError> {
        self.ctx.clear();
        trampoline::build_array_to_wasm(
            self.module.compiler,
            self.module.info,
            func_index,
            &mut self.ctx,
            &mut self.translation.builder_ctx,
        );
        compile_function(self.module.compiler, &mut self.ctx, &InlineSites::default())
    }
}

/// The reusable state of validating and translating function bodies: the
/// function builder's context and the validator's allocations.
#[derive(Default)]
pub(crate) struct TranslationState {
    pub(crate) builder_ctx: FunctionBuilderContext,
    validator_allocs: FuncValidatorAllocations,
}

impl TranslationState {
    /// Validates `body`, of defined function `func_index`, against
    /// `validation` and translates it into `ctx.func`; the tables its code
    /// writes inline.
    ///
    /// # Errors
    ///
    /// When the body is invalid or uses an unsupported feature.
    pub(crate) fn translate(
        &mut self,
        module: ModuleEnv<'_>,
        func_index: FuncIndex,
        validation: FuncToValidate<ValidatorResources>,
        body: &FunctionBody<'_>,
        ctx: &mut cranelift_codegen::Context,
    ) -> Result<Vec<TableIndex>, CompileError> {
        let mut validator = validation.into_validator(std::mem::take(&mut self.validator_allocs));
        let translated = FuncTranslator::new(module, func_index).translate(
            ctx,
            &mut self.builder_ctx,
            &mut validator,
            body,
        );
        self.validator_allocs = validator.into_allocations();
        if translated.is_err() {
            // A translation that failed half-way leaves the builder's
            // state behind; the next body (in a parallel compilation, the
            // thread goes on after an error) starts afresh.
            self.builder_ctx = FunctionBuilderContext::new();
        }
        translated
    }
}

/// Whether `func` needs its frame pointer whatever the compiler's
/// settings: it contains a `return_call` or `return_call_indirect`, or
/// reads its frame pointer (the wasm-to-host trampoline, which records it).
fn needs_frame_pointer(func: &Function) -> bool {
    func.layout.blocks().any(|block| {
        func.layout.block_insts(block).any(|inst| {
            matches!(
                func.dfg.insts[inst].opcode(),
                Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::GetFramePointer
            )
        })
    })
}

/// Compiles a built Cranelift function: optimizes `ctx.func` in place (it
/// is the optimized IR afterwards), emits machine code and collects the
/// direct calls to relocate and the trap sites. `inlined` names the calls
/// whose callees were inlined into it, for the address map.
pub(crate) fn compile_function(
    compiler: &Compiler,
    ctx: &mut cranelift_codegen::Context,
    inlined: &InlineSites,
) -> Result<CompiledFunction, CompileError> {
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    let isa = match &compiler.tail_call_isa {
        Some(isa) if needs_frame_pointer(&ctx.func) => isa,
        _ => &compiler.isa,
    };
    ctx.compile(&**isa, &mut ctrl)
        .map_err(|e| CompileError::codegen(format!("cranelift: {:?}", e.inner)))?;
    let buffer = &ctx
        .compiled_code()
        .ok_or_else(|| CompileError::codegen("cranelift produced no code"))?
        .buffer;
    let code = buffer.data().to_vec();
    let mut relocs = Vec::new();
    for r in buffer.relocs() {
        match &r.target {
            cranelift_codegen::FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let callee = FuncIndex::from_u32(ctx.func.params.user_named_funcs()[*name].index);
                relocs.push((r.offset, callee, r.kind, r.addend));
            }
            other => {
                return Err(CompileError::codegen(format!(
                    "unsupported relocation target {other:?}"
                )));
            }
        }
    }
    let compiled = ctx.compiled_code().expect("compiled above");
    let loops = loop_ranges(&compiled.bb_starts, &compiled.bb_edges, code.len() as u32);
    let mut traps = Vec::new();
    for t in buffer.traps() {
        let trap = trap_from_code(t.code)
            .ok_or_else(|| CompileError::codegen(format!("unknown trap code {}", t.code)))?;
        traps.push((t.offset, trap));
    }
    let address_map = buffer
        .get_srclocs_sorted()
        .iter()
        .filter(|s| !s.loc.is_default())
        .map(|s| inlined.address_range(s.start, s.end, s.loc))
        .collect();
    let call_sites = call_sites(buffer)?;
    Ok(CompiledFunction {
        code,
        relocs,
        traps,
        loops,
        address_map,
        call_sites,
        written_tables: Vec::new(),
    })
}

/// The calls of a compiled function that have exception handlers, each
/// handler with the vmctx saved by the context entry before it (the
/// translator puts one first in every exception table).
fn call_sites(
    buffer: &cranelift_codegen::MachBufferFinalized<cranelift_codegen::Final>,
) -> Result<Vec<CallSite>, CompileError> {
    use cranelift_codegen::{ExceptionContextLoc, FinalizedMachExceptionHandler as H};
    let mut sites = Vec::new();
    for site in buffer.call_sites() {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let frame_offset = site
            .frame_offset
            .ok_or_else(|| CompileError::codegen("a try_call site without a frame offset"))?;
        let mut vmctx = None;
        let mut handlers = Vec::new();
        for h in site.exception_handlers {
            let (tag, target) = match *h {
                H::Context(ExceptionContextLoc::SPOffset(off)) => {
                    vmctx = Some(off);
                    continue;
                }
                H::Context(other) => {
                    return Err(CompileError::codegen(format!(
                        "exception context in {other:?}, not in the frame"
                    )));
                }
                H::Tag(tag, target) => (Some(tag.as_u32()), target),
                H::Default(target) => (None, target),
            };
            let vmctx_sp_offset = vmctx
                .ok_or_else(|| CompileError::codegen("an exception handler before its context"))?;
            handlers.push(ExceptionHandler {
                tag,
                vmctx_sp_offset,
                target,
            });
        }
        sites.push(CallSite {
            ret_addr: site.ret_addr,
            frame_offset,
            handlers: handlers.into(),
        });
    }
    Ok(sites)
}

/// The loops of a function's machine code, from its blocks' start offsets
/// and control-flow edges between them: a branch from a block to one at or
/// before it closes a loop that spans from that header to the end of the
/// branching block.
pub(crate) fn loop_ranges(starts: &[u32], edges: &[(u32, u32)], len: u32) -> Vec<(u32, u32)> {
    let mut loops: Vec<(u32, u32)> = edges
        .iter()
        .filter(|(from, to)| to <= from)
        .map(|&(from, to)| {
            let end = starts
                .iter()
                .copied()
                .filter(|s| *s > from)
                .min()
                .unwrap_or(len);
            (to, end)
        })
        .collect();
    loops.sort_unstable();
    loops.dedup();
    loops
}
