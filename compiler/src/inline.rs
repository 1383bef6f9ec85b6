//! Inlining of small leaf functions into the functions that call them
//! directly.
//!
//! A call costs more than a small callee's own work: the arguments and
//! the vmctx move into the call's registers, the callee sets up and tears
//! down a frame, and the results move back. A devirtualized
//! `call_indirect` ([`crate::devirt`]) or a guarded speculation that holds
//! ends in a direct call too, so inlining is what makes a known or
//! correctly guessed indirect call cost nothing but its guard.
//!
//! Which callees: defined functions whose bodies have at most
//! [`MAX_OPERATORS`] operators and make no call of any kind and neither
//! throw nor catch ([`is_small_leaf`]), found before the compilation starts
//! ([`InlineCandidates::for_module`]). Each compiling thread translates one
//! to Cranelift IR the first time it meets a call of it ([`InlineCache`]),
//! and Cranelift's inliner copies that IR into each direct `call` of them
//! (never a `return_call`, and never a call inside a `try_table`, which is
//! a `try_call`), within a budget of [`MAX_INLINED_INSTS`] instructions per
//! caller. Inlining never changes what the code computes: a callee's fuel
//! and epoch checks come with it, and a leaf has no frame anything else
//! needs.
//!
//! Backtraces still show the inlined function: every instruction copied
//! into a caller gets a source location naming its call site and its own
//! offset in the callee ([`InlineSites`]), which the address map turns
//! into a frame of the callee above the caller's frame at the call.

use crate::Compiler;
use crate::driver::TranslationState;
use crate::frame_info::{AddressRange, InlinedFrame};
use crate::index::{DefinedFuncIndex, FuncIndex};
use crate::module::BodyToCompile;
use crate::translate::{ModuleEnv, calls_or_throws};
use crate::types::ModuleInfo;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName, Function, Opcode, SourceLoc};
use cranelift_codegen::traversals::Dfs;
use cranelift_entity::EntityRef;
use std::borrow::Cow;
use std::collections::HashMap;
use wasmparser::{FuncToValidate, FunctionBody, Operator, ValidatorResources};

/// The most operators (the final `end` included) a callee may have.
pub(crate) const MAX_OPERATORS: usize = 40;

/// The most Cranelift instructions inlined into one caller, all call sites
/// together.
pub(crate) const MAX_INLINED_INSTS: usize = 2_000;

/// The bit of a [`SourceLoc`] that marks an instruction copied from an
/// inlined callee; the other bits index the caller's [`InlineSites`].
const INLINED: u32 = 1 << 31;

/// Whether `body` is small enough to inline and a leaf: no `call`,
/// `call_indirect`, `call_ref` (or their tail forms), no exception
/// handling. A body that does not decode is not.
pub(crate) fn is_small_leaf(body: &FunctionBody<'_>) -> bool {
    let Ok(mut ops) = body.get_operators_reader() else {
        return false;
    };
    let mut count = 0;
    while !ops.eof() {
        count += 1;
        match ops.read() {
            Ok(op) if count <= MAX_OPERATORS && !is_exception_or_call(&op) => {}
            _ => return false,
        }
    }
    true
}

/// Whether `op` calls, throws or catches.
fn is_exception_or_call(op: &Operator<'_>) -> bool {
    calls_or_throws(op)
        || matches!(
            op,
            Operator::TryTable { .. }
                | Operator::Try { .. }
                | Operator::Catch { .. }
                | Operator::CatchAll
                | Operator::Delegate { .. }
                | Operator::Rethrow { .. }
        )
}

/// A function that may be inlined: its body and what validating it needs.
struct Candidate<'a> {
    validation: FuncToValidate<ValidatorResources>,
    body: FunctionBody<'a>,
}

/// The functions of a module that may be inlined ([`is_small_leaf`]).
///
/// Their IR is made on demand, by each compiling thread for the calls it
/// meets ([`InlineCache`]), so a module of many small functions costs no
/// more memory than the translations one thread keeps.
#[derive(Default)]
pub(crate) struct InlineCandidates<'a> {
    funcs: HashMap<FuncIndex, Candidate<'a>>,
}

impl<'a> InlineCandidates<'a> {
    /// The functions among `bodies` (every defined function's, in order)
    /// that [`is_small_leaf`] accepts, found on all threads of rayon's
    /// current pool with parallel compilation; none when `compiler` does
    /// not optimize or inline.
    pub(crate) fn for_module(
        compiler: &Compiler,
        info: &ModuleInfo,
        bodies: &[BodyToCompile<'a>],
    ) -> Self {
        let options = &compiler.options;
        if !options.optimize || !options.inlining {
            return Self::default();
        }
        let candidate = |(i, (validation, body)): (usize, &BodyToCompile<'a>)| {
            is_small_leaf(body).then(|| {
                let validation = copy_of(validation);
                let body = body.clone();
                let func = info.func_index(DefinedFuncIndex::new(i));
                (func, Candidate { validation, body })
            })
        };
        let funcs = if options.parallel_compilation {
            use rayon::prelude::*;
            bodies
                .par_iter()
                .enumerate()
                .filter_map(candidate)
                .collect()
        } else {
            bodies.iter().enumerate().filter_map(candidate).collect()
        };
        Self { funcs }
    }
}

/// Another handle on what validating one body needs (wasmparser's type
/// is not `Clone`; its resources are shared).
fn copy_of(v: &FuncToValidate<ValidatorResources>) -> FuncToValidate<ValidatorResources> {
    FuncToValidate {
        resources: v.resources.clone(),
        index: v.index,
        ty: v.ty,
        features: v.features,
    }
}

/// The most translations of candidates one compiling thread keeps; past
/// it, they are dropped before the next caller is inlined into.
const MAX_CACHED: usize = 256;

/// One compiling thread's IR of the [`InlineCandidates`] it has met, and
/// the reusable state that makes it.
pub(crate) struct InlineCache {
    /// By function: its IR, or `None` when it failed to validate or
    /// translate (its own compilation reports the error).
    funcs: HashMap<FuncIndex, Option<Function>>,
    ctx: cranelift_codegen::Context,
    translation: TranslationState,
}

impl Default for InlineCache {
    fn default() -> Self {
        Self {
            funcs: HashMap::new(),
            ctx: cranelift_codegen::Context::new(),
            translation: TranslationState::default(),
        }
    }
}

impl InlineCache {
    /// The IR of `func`, translated now if this thread has not yet, when
    /// `module` may inline it.
    fn get(&mut self, module: ModuleEnv<'_>, func: FuncIndex) -> Option<&Function> {
        if !self.funcs.contains_key(&func) {
            let candidate = module.inline.funcs.get(&func)?;
            let translated = self.translate(module, func, candidate);
            self.funcs.insert(func, translated);
        }
        self.funcs.get(&func)?.as_ref()
    }

    /// Validates and translates `candidate`, function `func`.
    fn translate(
        &mut self,
        module: ModuleEnv<'_>,
        func: FuncIndex,
        candidate: &Candidate<'_>,
    ) -> Option<Function> {
        self.ctx.clear();
        self.translation
            .translate(
                module,
                func,
                copy_of(&candidate.validation),
                &candidate.body,
                &mut self.ctx,
            )
            .ok()?;
        Some(std::mem::replace(&mut self.ctx.func, Function::new()))
    }

    /// Inlines the direct calls of the function in `ctx` to the candidates
    /// of `module`. The copied instructions get source locations naming
    /// their call sites (recorded in `sites`) when the call had one.
    ///
    /// # Errors
    ///
    /// When Cranelift's inliner fails.
    pub(crate) fn inline_into(
        &mut self,
        module: ModuleEnv<'_>,
        ctx: &mut cranelift_codegen::Context,
        sites: &mut InlineSites,
    ) -> Result<(), crate::CompileError> {
        sites.sites.clear();
        if module.inline.funcs.is_empty() {
            return Ok(());
        }
        if self.funcs.len() > MAX_CACHED {
            self.funcs.clear();
        }
        let mut ranges = Vec::new();
        let inliner = Inliner {
            module,
            cache: self,
            budget: MAX_INLINED_INSTS,
            ranges: &mut ranges,
        };
        ctx.inline(inliner)
            .map_err(|e| crate::CompileError::codegen(format!("cranelift inliner: {e:?}")))?;
        let end = ctx.func.dfg.num_insts();
        let mut keys: HashMap<(FuncIndex, Option<u32>, u32), u32> = HashMap::new();
        for (i, range) in ranges.iter().enumerate() {
            let next = ranges.get(i + 1).map_or(end, |r| r.first_inst);
            // Without a location at the call (backtraces off) there is no
            // address map to extend; a module offset using the marker bit
            // (a module over 2 GiB) cannot be told apart from one.
            let call_offset = range.call_loc.bits();
            if range.call_loc.is_default() || call_offset & INLINED != 0 {
                continue;
            }
            let Some(Some(callee)) = self.funcs.get(&range.callee) else {
                continue;
            };
            let inlined: Vec<ir::Inst> = (range.first_inst..next)
                .map(|i| ir::Inst::from_u32(i as u32))
                .collect();
            let origins = callee_origins(callee, &ctx.func, &inlined);
            for (inst, origin) in inlined.into_iter().zip(origins) {
                let site = InlineSite {
                    callee: range.callee,
                    callee_offset: origin,
                    call_offset,
                };
                let key = *keys
                    .entry((site.callee, site.callee_offset, site.call_offset))
                    .or_insert_with(|| {
                        sites.sites.push(site);
                        sites.sites.len() as u32 - 1
                    });
                ctx.func.set_srcloc(inst, SourceLoc::new(INLINED | key));
            }
        }
        Ok(())
    }
}

/// The module offsets in `callee` that the instructions `inlined` (all
/// the inliner made for one call, in the order it made them) came from.
///
/// Cranelift's inliner copies the callee's reachable blocks in depth-first
/// pre-order, each instruction once and in order, a `return` becoming a
/// `jump`; the same walk over the callee pairs each copy with its
/// original. Should the counts or the opcodes not match, the offsets are
/// not known (`None`): the frame of the callee is still shown.
fn callee_origins(callee: &Function, caller: &Function, inlined: &[ir::Inst]) -> Vec<Option<u32>> {
    let originals: Vec<ir::Inst> = Dfs::new()
        .pre_order_iter(callee)
        .flat_map(|block| callee.layout.block_insts(block))
        .collect();
    let same_op = |original: ir::Inst, copy: ir::Inst| {
        let (a, b) = (
            callee.dfg.insts[original].opcode(),
            caller.dfg.insts[copy].opcode(),
        );
        a == b || (a.is_return() && b == Opcode::Jump)
    };
    let paired = originals.len() == inlined.len()
        && originals.iter().zip(inlined).all(|(o, c)| same_op(*o, *c));
    if !paired {
        return vec![None; inlined.len()];
    }
    originals
        .iter()
        .map(|o| {
            let loc = callee.srcloc(*o);
            (!loc.is_default() && loc.bits() & INLINED == 0).then_some(loc.bits())
        })
        .collect()
}

/// Where the code of one inlined call came from.
#[derive(Clone, Copy, Debug)]
struct InlineSite {
    callee: FuncIndex,
    /// The module offset in the callee, when known.
    callee_offset: Option<u32>,
    /// The module offset of the `call`.
    call_offset: u32,
}

/// The inlined calls of the function being compiled, which the source
/// locations of their instructions name.
#[derive(Default)]
pub(crate) struct InlineSites {
    sites: Vec<InlineSite>,
}

impl InlineSites {
    /// The address map entry of the code range `start..end`, generated
    /// from source location `loc`: the instruction at a module offset, or
    /// code copied from a callee into the call at an offset.
    pub(crate) fn address_range(&self, start: u32, end: u32, loc: SourceLoc) -> AddressRange {
        let bits = loc.bits();
        match self.sites.get((bits & !INLINED) as usize) {
            Some(site) if bits & INLINED != 0 => AddressRange {
                start,
                end,
                module_offset: site.call_offset,
                inlined: Some(InlinedFrame {
                    func: site.callee,
                    module_offset: site.callee_offset,
                }),
            },
            _ => AddressRange {
                start,
                end,
                module_offset: bits,
                inlined: None,
            },
        }
    }
}

/// The first instruction created for one inlined call: everything the
/// inliner creates until the next inlined call belongs to it.
struct InlinedRange {
    first_inst: usize,
    callee: FuncIndex,
    call_loc: SourceLoc,
}

/// Directs Cranelift's inliner: direct `call`s of the module's
/// [`InlineCandidates`] while the budget lasts.
struct Inliner<'a, 'm> {
    module: ModuleEnv<'m>,
    cache: &'a mut InlineCache,
    budget: usize,
    ranges: &'a mut Vec<InlinedRange>,
}

impl Inline for Inliner<'_, '_> {
    fn inline(
        &mut self,
        caller: &Function,
        call_inst: ir::Inst,
        call_opcode: Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if call_opcode != Opcode::Call {
            return InlineCommand::KeepCall;
        }
        let ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let func = FuncIndex::from_u32(caller.params.user_named_funcs()[name].index);
        let Some(body) = self.cache.get(self.module, func) else {
            return InlineCommand::KeepCall;
        };
        let cost = body.dfg.num_insts();
        if cost > self.budget {
            return InlineCommand::KeepCall;
        }
        self.budget -= cost;
        self.ranges.push(InlinedRange {
            first_inst: caller.dfg.num_insts(),
            callee: func,
            call_loc: caller.srcloc(call_inst),
        });
        InlineCommand::Inline {
            callee: Cow::Borrowed(body),
            visit_callee: false,
        }
    }
}
