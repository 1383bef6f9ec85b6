//! Control instructions: blocks, loops, ifs, branches and `return`.
//!
//! A construct's exit is a Cranelift block whose parameters are its
//! results; a loop's header is a block whose parameters are its
//! parameters. Branches pass the top values of the operand stack as block
//! arguments.

use super::super::stack::{ControlFrame, ControlKind};
use super::super::{BodyTranslator, Handled, block_args};
use crate::CompileError;
use crate::abi::{ir_type, trap_code};
use crate::index::TypeIndex;
use cranelift_codegen::ir::{self, Block, InstBuilder, Type, Value};
use std::collections::HashMap;
use trestle_vmctx::Trap;
use wasmparser::{BlockType, Operator};

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a control instruction.
    pub(in crate::translate) fn translate_control(&mut self, op: &Operator<'_>) -> Handled {
        use Operator as O;
        match *op {
            O::Nop => {}
            O::Unreachable => {
                self.b.ins().trap(trap_code(Trap::UnreachableCodeReached));
                self.reachable = false;
            }
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let next = self.new_block_with(&results);
                self.open_frame(ControlKind::Block, next, params.len(), results.len());
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let header = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                self.jump_with(header, params.len());
                let height = self.stack.height() - params.len();
                self.enter(header, height);
                self.env.epoch_check(&mut self.b);
                let kind = ControlKind::Loop { header };
                self.open_frame(kind, next, params.len(), results.len());
            }
            O::If { blockty } => {
                let cond = self.stack.pop();
                let (params, results) = self.block_type(blockty)?;
                let then_block = self.b.create_block();
                let else_block = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                let args = block_args(self.stack.top_n(params.len()));
                self.b.ins().brif(cond, then_block, &[], else_block, &args);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                let kind = ControlKind::If {
                    else_block: Some(else_block),
                };
                self.open_frame(kind, next, params.len(), results.len());
            }
            O::Else => {
                self.env.flush_fuel(&mut self.b);
                self.jump_to_exit();
                self.translate_else();
            }
            O::End => {
                self.jump_to_exit();
                self.translate_end();
            }
            O::Br { relative_depth } => {
                self.branch(relative_depth);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.stack.pop();
                self.branch_if(cond, true, relative_depth);
            }
            O::BrTable { ref targets } => {
                let index = self.stack.pop();
                let depths: Vec<u32> = targets.targets().collect::<Result<_, _>>()?;
                self.br_table(index, &depths, targets.default());
                self.reachable = false;
            }
            O::Return => {
                self.branch(self.control.function_depth());
                self.reachable = false;
            }
            O::BrOnNull { relative_depth } => {
                // The reference is not passed to the label.
                let r = self.stack.pop();
                self.branch_if(r, false, relative_depth);
                self.stack.push(r);
            }
            O::BrOnNonNull { relative_depth } => {
                // The reference is the label's last value.
                let r = self.stack.top();
                self.branch_if(r, true, relative_depth);
                self.stack.pop();
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `(params, results)` of a block type.
    pub(in crate::translate) fn block_type(
        &self,
        bt: BlockType,
    ) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        let info = self.env.info();
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (
                vec![],
                vec![ir_type(crate::module::TypeScope::module(info).val_type(t)?)],
            ),
            BlockType::FuncType(idx) => {
                let ty = &info.types[TypeIndex::from_u32(idx)];
                (
                    ty.params.iter().map(|t| ir_type(*t)).collect(),
                    ty.results.iter().map(|t| ir_type(*t)).collect(),
                )
            }
        })
    }

    pub(in crate::translate) fn new_block_with(&mut self, params: &[Type]) -> Block {
        let block = self.b.create_block();
        for t in params {
            self.b.append_block_param(block, *t);
        }
        block
    }

    /// Opens a construct of `kind` whose `num_params` parameters are on top
    /// of the operand stack and whose `num_results` results flow to `next`.
    pub(in crate::translate) fn open_frame(
        &mut self,
        kind: ControlKind,
        next: Block,
        num_params: usize,
        num_results: usize,
    ) {
        self.control.push(ControlFrame {
            kind,
            next,
            height: self.stack.height() - num_params,
            num_params,
            num_results,
            exit_reached: false,
        });
    }

    /// Moves to `block` and replaces the top of the stack, from `height`,
    /// with its parameters.
    fn enter(&mut self, block: Block, height: usize) {
        self.b.switch_to_block(block);
        self.stack.reset_to(height, self.b.block_params(block));
    }

    /// Jumps to `block` with the top `n` values of the stack.
    fn jump_with(&mut self, block: Block, n: usize) {
        let args = block_args(self.stack.top_n(n));
        self.b.ins().jump(block, &args);
    }

    /// At the end of a construct's reachable body (or then-branch): jumps
    /// to its exit with its results.
    fn jump_to_exit(&mut self) {
        let frame = self.control.innermost_mut();
        let (next, n) = (frame.next, frame.num_results);
        frame.exit_reached = true;
        self.jump_with(next, n);
    }

    /// Switches from the then-branch of the innermost `if` to its else
    /// branch (the then-branch was already closed).
    pub(in crate::translate) fn translate_else(&mut self) {
        let frame = self.control.innermost_mut();
        let height = frame.height;
        let ControlKind::If { else_block } = &mut frame.kind else {
            unreachable!("validated: else without if")
        };
        let else_block = else_block.take().expect("validated: one else per if");
        // An `if` is only entered from reachable code.
        self.reachable = true;
        // Fuel of dead code after a branch is not charged.
        self.env.forget_fuel();
        self.enter(else_block, height);
    }

    /// Closes the innermost frame (its exit jump, if reachable, was already
    /// emitted) and continues at its `next` block.
    pub(in crate::translate) fn translate_end(&mut self) {
        self.env.forget_fuel();
        let frame = self.control.pop();
        let mut exit_reached = frame.exit_reached;
        match frame.kind {
            ControlKind::If {
                else_block: Some(else_block),
            } => {
                // An `if` without `else`: the else branch, reached from the
                // (reachable) `if`, passes its parameters through as
                // results.
                self.b.switch_to_block(else_block);
                let args = block_args(self.b.block_params(else_block));
                self.b.ins().jump(frame.next, &args);
                exit_reached = true;
            }
            ControlKind::Loop { header } => self.b.seal_block(header),
            ControlKind::TryTable => {
                // Every `try_call` that can reach a handler is translated.
                for catch in self.env.pop_catches() {
                    self.b.seal_block(catch.handler);
                }
            }
            _ => {}
        }
        self.b.seal_block(frame.next);
        self.enter(frame.next, frame.height);
        self.reachable = exit_reached;
        if !exit_reached {
            // Nothing reaches the continuation; keep it well-formed.
            self.b.ins().trap(trap_code(Trap::UnreachableCodeReached));
        }
    }

    /// Branches to the label at `depth` with its values from the stack when
    /// `cond` is non-zero (`on_nonzero`) or zero, and falls through
    /// otherwise.
    fn branch_if(&mut self, cond: Value, on_nonzero: bool, depth: u32) {
        let (target, n) = self.control.branch_target_mut(depth);
        let args = block_args(self.stack.top_n(n));
        let fallthrough = self.b.create_block();
        if on_nonzero {
            self.b.ins().brif(cond, target, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(cond, fallthrough, &[], target, &args);
        }
        self.b.seal_block(fallthrough);
        self.b.switch_to_block(fallthrough);
    }

    fn branch(&mut self, depth: u32) {
        let (target, n) = self.control.branch_target_mut(depth);
        self.jump_with(target, n);
    }

    fn br_table(&mut self, index: Value, depths: &[u32], default: u32) {
        let (_, n) = self.control.branch_target_mut(default);
        for d in depths {
            self.control.branch_target_mut(*d);
        }
        let args = block_args(self.stack.top_n(n));
        // Targets taking arguments are reached through a small block each,
        // one per distinct depth.
        let mut edge: HashMap<u32, Block> = HashMap::new();
        let mut call_for = |s: &mut Self, depth: u32| {
            let (target, _) = s.control.frame(depth).branch_target();
            if n == 0 {
                return s.b.func.dfg.block_call(target, &[]);
            }
            let block = *edge.entry(depth).or_insert_with(|| s.b.create_block());
            s.b.func.dfg.block_call(block, &[])
        };
        let default_call = call_for(self, default);
        let calls: Vec<_> = depths.iter().map(|d| call_for(self, *d)).collect();
        let jt = self
            .b
            .create_jump_table(ir::JumpTableData::new(default_call, &calls));
        self.b.ins().br_table(index, jt);
        let mut edges: Vec<_> = edge.into_iter().collect();
        edges.sort_by_key(|(d, _)| *d);
        for (depth, block) in edges {
            let (target, _) = self.control.frame(depth).branch_target();
            self.b.seal_block(block);
            self.b.switch_to_block(block);
            self.b.ins().jump(target, &args);
        }
    }
}
