//! Translation of one function body to Cranelift IR.
//!
//! The translator walks the body's operators once. Each operator is first
//! given to wasmparser's function validator, then lowered, so a body that
//! does not validate never reaches the code generator and an operator
//! Trestle does not support is an error, never a panic.
//!
//! The operand stack holds Cranelift values; locals are Cranelift
//! variables; each wasm block, loop and if becomes a
//! [`stack::ControlFrame`] whose exit block takes the frame's results as
//! block parameters.
//!
//! # Where an operator is translated
//!
//! | File | Owns |
//! |---|---|
//! | this file | [`FuncTranslator`] (function entry, locals, the operator loop), the dispatch to the families below, unreachable code, fuel charging |
//! | [`stack`] | [`stack::ValueStack`] (operands), [`stack::ControlStack`] / [`stack::ControlFrame`] (labels) |
//! | [`ops::control`] | `block`, `loop`, `if`/`else`/`end`, `br`, `br_if`, `br_table`, `br_on_null`, `br_on_non_null`, `return`, `unreachable`, `nop` |
//! | [`ops::exception`] | `try_table`, `throw`, `throw_ref` |
//! | [`ops::call`] | `call`, `call_indirect`, `call_ref` and their `return_` (tail) forms |
//! | [`ops::variable`] | locals, globals, `drop`, `select` |
//! | [`ops::numeric`] | constants, integer and float arithmetic, comparisons, conversions |
//! | [`ops::memory`] | loads, stores, `memory.*`, `data.drop` |
//! | [`ops::table`] | `table.*`, `elem.drop` |
//! | [`ops::reference`] | `ref.null`, `ref.is_null`, `ref.eq`, `ref.as_non_null`, `ref.func` |
//! | [`ops::vector`] | every `v128` instruction of fixed-width and relaxed SIMD |
//! | [`env`] | the vmctx layout: globals, memory addresses, libcalls, fuel and epoch checks |
//! | [`env::table`](env) | table element addressing, `table.get`/`set`/`size`/`grow` sequences |
//! | [`env::call`](env) | direct, imported, `call_indirect` and `call_ref` call sequences |
//!
//! An operator family ([`ops`]) pops its operands, asks the environment
//! ([`env::FuncEnvironment`]) for anything that lives in the instance
//! (an address, a table element, a call) and pushes its results. Adding
//! operators means a new family (as SIMD was); adding an entity kind or a
//! new way to reach one (several memories, 64-bit memories) means changing
//! the environment.

mod env;
mod ops;
mod stack;

use crate::abi::{enter_function, ir_type, start_function, wasm_signature};
use crate::devirt::KnownTables;
use crate::index::{FuncIndex, TableIndex};
use crate::inline::InlineCandidates;
use crate::types::ModuleInfo;
use crate::{CompileError, Compiler};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{BlockArg, InstBuilder, SourceLoc, Type, UserFuncName, Value, types};
use cranelift_entity::EntityRef;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use env::FuncEnvironment;
use stack::{ControlFrame, ControlKind, ControlStack, ValueStack};
use trestle_vmctx::{LibcallIndex, VMOffsets};
use wasmparser::{FuncValidator, FunctionBody, Operator, ValidatorResources};

/// The result of an operator family's translation: `Ok(true)` when the
/// family translated the operator, `Ok(false)` when it is not one of its
/// operators.
type Handled = Result<bool, CompileError>;

/// Cranelift block arguments for `values`.
fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// Whether `op` calls a function (any form of `call`, tail calls
/// included) or throws: code outside this function runs next.
pub(crate) fn calls_or_throws(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
    )
}

/// What every function of a module is translated against: the compiler,
/// the module, its vmctx layout, the tables whose contents are known or
/// guessed at compile time, and the functions that may be inlined.
#[derive(Clone, Copy)]
pub(crate) struct ModuleEnv<'a> {
    pub(crate) compiler: &'a Compiler,
    pub(crate) info: &'a ModuleInfo,
    pub(crate) offsets: &'a VMOffsets,
    pub(crate) known_tables: &'a KnownTables,
    pub(crate) inline: &'a InlineCandidates<'a>,
}

/// Translates the body of one defined function.
pub(crate) struct FuncTranslator<'a> {
    module: ModuleEnv<'a>,
    func_index: FuncIndex,
}

/// The state of one body's translation.
struct BodyTranslator<'a, 'b> {
    b: FunctionBuilder<'b>,
    env: FuncEnvironment<'a>,
    /// The variable of each local, parameters first.
    locals: Vec<Variable>,
    stack: ValueStack,
    control: ControlStack,
    /// Whether the current position can be reached.
    reachable: bool,
    /// Depth of constructs opened while unreachable.
    unreachable_depth: u32,
    /// Results of `v128.load`s that only vector operators and integer
    /// arithmetic have met since ([`ops::vector`] may still choose their
    /// lane shape).
    fresh_vector_loads: Vec<Value>,
}

impl<'a> FuncTranslator<'a> {
    pub(crate) fn new(module: ModuleEnv<'a>, func_index: FuncIndex) -> Self {
        Self { module, func_index }
    }

    /// Validates and translates `body` into `ctx.func`. Returns the tables
    /// the body writes with inline stores (`table.set`, `table.grow`), see
    /// [`ModuleInfo::code_written_tables`].
    pub(crate) fn translate(
        &self,
        ctx: &mut cranelift_codegen::Context,
        fctx: &mut FunctionBuilderContext,
        validator: &mut FuncValidator<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> Result<Vec<TableIndex>, CompileError> {
        let ty = self.module.info.func_type(self.func_index);
        start_function(
            &mut ctx.func,
            UserFuncName::user(0, self.func_index.as_u32()),
            wasm_signature(ty),
        );
        env::declare_stack_limit(&mut ctx.func);

        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let params = enter_function(&mut b);
        let vmctx = params[0];

        let mut locals = Vec::new();
        for (i, p) in ty.params.iter().enumerate() {
            let var = b.declare_var(ir_type(*p));
            b.def_var(var, params[i + 2]);
            locals.push(var);
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, vt) = reader.read()?;
            validator.define_locals(offset, count, vt)?;
            let t = ir_type(crate::module::TypeScope::module(self.module.info).val_type(vt)?);
            for _ in 0..count {
                let var = b.declare_var(t);
                let zero = zero_value(&mut b, t);
                b.def_var(var, zero);
                locals.push(var);
            }
        }

        let exit = b.create_block();
        for r in ty.results.iter() {
            b.append_block_param(exit, ir_type(*r));
        }
        let mut t = BodyTranslator {
            b,
            env: FuncEnvironment::new(self.module, vmctx),
            locals,
            stack: ValueStack::default(),
            control: ControlStack::new(ControlFrame {
                kind: ControlKind::Block,
                next: exit,
                height: 0,
                num_params: 0,
                num_results: ty.results.len(),
                exit_reached: false,
            }),
            reachable: true,
            unreachable_depth: 0,
            fresh_vector_loads: Vec::new(),
        };
        t.env.function_entry(&mut t.b);

        let mut written_tables = Vec::new();
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let offset = ops.original_position();
            let op = ops.read()?;
            validator.op(offset, &op)?;
            if let Operator::TableSet { table } | Operator::TableGrow { table } = op {
                written_tables.push(TableIndex::from_u32(table));
            }
            if self.module.compiler.options.wasm_backtrace {
                // The address map of backtraces: the code of this operator
                // comes from `offset` in the module.
                t.b.set_srcloc(SourceLoc::new(offset as u32));
            }
            t.translate_operator(&op)
                .map_err(|e| e.at_offset_if_none(offset as usize))?;
        }
        ops.finish()?;
        // The final `end` switched to the exit block; return its params.
        if t.reachable {
            let rets = t.stack.top_n(ty.results.len()).to_vec();
            t.b.ins().return_(&rets);
        }
        t.b.finalize(self.module.compiler.isa.frontend_config());
        written_tables.sort_unstable();
        written_tables.dedup();
        Ok(written_tables)
    }
}

impl CompileError {
    /// Sets the error's offset to `offset` unless it has one.
    pub(crate) fn at_offset_if_none(mut self, offset: usize) -> Self {
        if self.offset.is_none() {
            self.offset = Some(offset);
        }
        self
    }
}

/// The zero of Cranelift type `t`, the initial value of a local.
fn zero_value(b: &mut FunctionBuilder<'_>, t: Type) -> Value {
    match t {
        types::F32 => b.ins().f32const(Ieee32::with_bits(0)),
        types::F64 => b.ins().f64const(Ieee64::with_bits(0)),
        types::I8X16 => {
            let c = b.func.dfg.constants.insert(vec![0u8; 16].into());
            b.ins().vconst(types::I8X16, c)
        }
        t => b.ins().iconst(t, 0),
    }
}

impl BodyTranslator<'_, '_> {
    /// Translates one validated operator.
    fn translate_operator(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if !self.reachable {
            self.translate_unreachable(op);
            return Ok(());
        }
        if self.env.consumes_fuel() {
            self.charge_fuel(op);
        }
        let handled = self.translate_vector(op)
            || self.translate_numeric(op)
            || self.translate_variable(op)
            || self.translate_control(op)?
            || self.translate_exception(op)?
            || self.translate_call(op)?
            || self.translate_memory(op)
            || self.translate_table(op)
            || self.translate_reference(op);
        if handled {
            Ok(())
        } else {
            Err(CompileError::unsupported(format!(
                "operator {}",
                operator_name(op)
            )))
        }
    }

    /// Operators met while the current position is unreachable: only the
    /// control structure is tracked.
    fn translate_unreachable(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::End => {
                if self.unreachable_depth > 0 {
                    self.unreachable_depth -= 1;
                } else {
                    self.translate_end();
                }
            }
            _ => {}
        }
    }

    /// Records the fuel of `op`: one unit for every operator but the free
    /// markers; branches and calls flush the fuel to the store before they
    /// leave.
    fn charge_fuel(&mut self, op: &Operator<'_>) {
        use Operator as O;
        match op {
            O::Nop | O::Drop | O::Block { .. } | O::Else => {}
            // Before the jump into the loop header, so the fuel of the code
            // before the loop is not charged again on every iteration.
            O::Loop { .. } | O::End => self.env.flush_fuel(&mut self.b),
            _ => {
                self.env.add_fuel(1);
                let leaves = matches!(
                    op,
                    O::Br { .. } | O::BrIf { .. } | O::BrTable { .. } | O::If { .. } | O::Return
                ) || calls_or_throws(op);
                if leaves {
                    self.env.flush_fuel(&mut self.b);
                }
            }
        }
    }

    /// Pops one operand, applies `f` and pushes the result.
    fn unop(&mut self, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.stack.pop();
        let r = f(&mut self.b, a);
        self.stack.push(r);
    }

    /// Pops two operands, applies `f` and pushes the result.
    fn binop(&mut self, f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value) {
        let (a, b) = self.stack.pop2();
        let r = f(&mut self.b, a, b);
        self.stack.push(r);
    }

    /// An i32 constant naming an entity (a memory, table, data or element
    /// segment) in a libcall's arguments.
    fn index_arg(&mut self, index: impl EntityRef) -> Value {
        FuncEnvironment::index_arg(&mut self.b, index)
    }

    /// Calls runtime function `which` with `args` after the vmctx.
    fn libcall(&mut self, which: LibcallIndex, args: &[Value]) -> cranelift_codegen::ir::Inst {
        self.env.libcall(&mut self.b, which, args)
    }

    /// Calls runtime function `which`, which returns a value, and returns
    /// it.
    fn libcall_value(&mut self, which: LibcallIndex, args: &[Value]) -> Value {
        self.env.libcall_value(&mut self.b, which, args)
    }

    /// Pushes the result of `f`.
    fn push_with(&mut self, f: impl FnOnce(&mut FunctionBuilder<'_>) -> Value) {
        let r = f(&mut self.b);
        self.stack.push(r);
    }
}

/// A short name for an operator, for error messages.
fn operator_name(op: &Operator<'_>) -> String {
    let s = format!("{op:?}");
    let end = s.find([' ', '{', '(']).unwrap_or(s.len());
    s[..end].to_string()
}
