//! The optimized Cranelift IR of a module's functions, as text.
//!
//! [`Compiler::optimized_clif`] compiles every defined function through the
//! same driver as [`Compiler::compile_module`] ([`crate::driver`]) and
//! prints the IR the machine code was generated from: the function after
//! Cranelift's mid-end (the e-graph optimizer), before instruction
//! selection. The mid-end does not consult the host CPU's features, so the
//! text depends only on the module and the compiler options: the golden
//! codegen tests under `tests/disas/` compare it with checked-in files.
//!
//! Each function also gets a summary of its `call_indirect` fast paths
//! ([`IndirectCallPath`]): the hot (not cold) block that performs the call
//! and the hot blocks that lead to it, with their instruction counts.

use crate::driver::FunctionCompiler;
use crate::index::{DefinedFuncIndex, FuncIndex};
use crate::inline::InlineCandidates;
use crate::module::{Parsed, parse};
use crate::translate::ModuleEnv;
use crate::{CompileError, Compiler};
use cranelift_codegen::flowgraph::ControlFlowGraph;
use cranelift_codegen::ir::{Block, Function, Opcode};
use cranelift_entity::EntityRef;

/// One defined function's optimized Cranelift IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptimizedFunction {
    /// The function's index in the module's function index space.
    pub func_index: FuncIndex,
    /// The optimized IR in Cranelift's text format.
    pub clif: String,
    /// The machine instructions selected for the host CPU, in Cranelift's
    /// notation, after register allocation. Unlike the IR, they depend on
    /// the CPU's features (AVX or not, say).
    pub machine_code: String,
    /// Every indirect call in a hot block, in layout order.
    pub indirect_calls: Vec<IndirectCallPath>,
}

/// The fast path of one indirect call: the hot block that performs it and
/// the chain of hot blocks that leads to it (the bounds, null and type
/// checks of a `call_indirect`), back to the first block with no single hot
/// predecessor (where the index is computed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndirectCallPath {
    /// The block with the `call_indirect` instruction, e.g. `block2`.
    pub block: String,
    /// The number of instructions in that block, its terminator included.
    pub block_insts: usize,
    /// The hot blocks on the way to the call block, nearest first, and
    /// their instruction counts.
    pub predecessors: Vec<(String, usize)>,
}

impl IndirectCallPath {
    /// Instructions in the call block and the blocks leading to it.
    pub fn total_insts(&self) -> usize {
        self.block_insts + self.predecessors.iter().map(|(_, n)| n).sum::<usize>()
    }
}

impl Compiler {
    /// Validates and compiles `wasm` and returns the optimized Cranelift IR
    /// (and the machine instructions) of each defined function, in index
    /// order. `intern` assigns type ids
    /// as for [`Compiler::compile_module`].
    ///
    /// The IR is the input of instruction selection, taken from the same
    /// compilation [`Compiler::compile_module`] performs (at this
    /// compiler's optimization level). Cranelift's mid-end does not depend
    /// on the host CPU's features, so neither does the IR.
    ///
    /// # Errors
    ///
    /// When the module is malformed, invalid or uses an unsupported
    /// feature, or Cranelift fails.
    pub fn optimized_clif(
        &self,
        wasm: &[u8],
        intern: &mut crate::module::InternGroup<'_>,
    ) -> Result<Vec<OptimizedFunction>, CompileError> {
        let parsed = parse(self.options.features, wasm, intern)?;
        let (offsets, known_tables) = parsed.analyze(self.options.parallel_compilation)?;
        let Parsed { info, bodies, .. } = parsed;
        let mut env = ModuleEnv {
            compiler: self,
            info: &info,
            offsets: &offsets,
            known_tables: &known_tables,
            inline: &InlineCandidates::default(),
        };
        let inline = InlineCandidates::for_module(self, &info, &bodies);
        env.inline = &inline;
        let mut compiler = FunctionCompiler::new(env);
        compiler.keep_listing();
        let mut out = Vec::with_capacity(bodies.len());
        for (i, (func, body)) in bodies.into_iter().enumerate() {
            let func_index = info.func_index(DefinedFuncIndex::new(i));
            compiler.compile_body(func_index, func, &body)?;
            let ir = compiler.optimized_ir();
            out.push(OptimizedFunction {
                func_index,
                clif: ir.display().to_string(),
                machine_code: compiler.machine_code_text(),
                indirect_calls: indirect_calls(ir),
            });
        }
        Ok(out)
    }
}

/// The hot blocks with a `call_indirect` and the hot blocks leading to
/// them.
fn indirect_calls(func: &Function) -> Vec<IndirectCallPath> {
    let cfg = ControlFlowGraph::with_function(func);
    let count = |block: Block| func.layout.block_insts(block).count();
    let hot_preds = |block: Block| -> Vec<Block> {
        let mut preds: Vec<Block> = cfg
            .pred_iter(block)
            .map(|p| p.block)
            .filter(|p| !func.layout.is_cold(*p) && *p != block)
            .collect();
        preds.sort();
        preds.dedup();
        preds
    };
    let mut paths = Vec::new();
    for block in func.layout.blocks() {
        if func.layout.is_cold(block) {
            continue;
        }
        let calls = func
            .layout
            .block_insts(block)
            .filter(|inst| func.dfg.insts[*inst].opcode() == Opcode::CallIndirect)
            .count();
        if calls == 0 {
            continue;
        }
        // Walk back while the way in is a single hot block.
        let mut chain = Vec::new();
        let mut at = block;
        while let [pred] = hot_preds(at)[..] {
            if pred == block || chain.iter().any(|(b, _)| *b == pred) {
                break;
            }
            chain.push((pred, count(pred)));
            at = pred;
        }
        let predecessors: Vec<(String, usize)> =
            chain.into_iter().map(|(b, n)| (b.to_string(), n)).collect();
        for _ in 0..calls {
            paths.push(IndirectCallPath {
                block: block.to_string(),
                block_insts: count(block),
                predecessors: predecessors.clone(),
            });
        }
    }
    paths
}
