//! Translation of one function body to Cranelift IR.
//!
//! The translator walks the body's operators once. Each operator is first
//! given to wasmparser's function validator, then lowered, so a body that does
//! not validate never reaches the code generator and an operator Trestle does
//! not support is an error, never a panic.
//!
//! The operand stack holds Cranelift values; locals are Cranelift variables;
//! each wasm block, loop and if becomes a [`Control`] frame whose exit block
//! takes the frame's results as block parameters.

use crate::types::{ModuleInfo, WasmFuncType, WasmValType};
use crate::{CompileError, Compiler};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64, Offset32};
use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, Block, BlockArg, Endianness, ExtFuncData, ExternalName,
    FuncRef, Function, GlobalValueData, InstBuilder, MemFlagsData, SigRef, Signature, TrapCode,
    Type, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use std::collections::HashMap;
use trestle_vmctx::{LibcallIndex, NULL_ENTRY_CODE, Trap, VMOffsets};
use wasmparser::{BlockType, FuncValidator, FunctionBody, Operator, ValidatorResources};

/// The pointer type of the host.
pub(crate) const POINTER: Type = types::I64;

/// The Cranelift trap code for a [`Trap`].
pub(crate) fn trap_code(trap: Trap) -> TrapCode {
    match trap {
        Trap::StackOverflow => TrapCode::STACK_OVERFLOW,
        Trap::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
        Trap::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => TrapCode::unwrap_user(other.as_u8()),
    }
}

/// The [`Trap`] for a Cranelift trap code.
pub(crate) fn trap_from_code(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::STACK_OVERFLOW => Trap::StackOverflow,
        TrapCode::HEAP_OUT_OF_BOUNDS => Trap::MemoryOutOfBounds,
        TrapCode::INTEGER_OVERFLOW => Trap::IntegerOverflow,
        TrapCode::INTEGER_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero,
        TrapCode::BAD_CONVERSION_TO_INTEGER => Trap::BadConversionToInteger,
        other => return Trap::from_u8(other.as_raw().get()),
    })
}

/// The Cranelift type of a wasm value type.
pub(crate) fn ir_type(ty: WasmValType) -> Type {
    match ty {
        WasmValType::I32 => types::I32,
        WasmValType::I64 => types::I64,
        WasmValType::F32 => types::F32,
        WasmValType::F64 => types::F64,
        WasmValType::V128 => types::I8X16,
        WasmValType::Ref(_) => POINTER,
    }
}

/// The signature of a compiled wasm function:
/// `(callee_vmctx, caller_vmctx, params...) -> results`.
///
/// Every wasm function, and every host-function trampoline wasm calls, uses
/// Cranelift's `tail` convention, the one that supports `return_call`: a
/// tail call may target any function of a matching type, so all of them
/// must share it. The host enters wasm through the array-call trampolines,
/// which use the platform's convention.
pub(crate) fn wasm_signature(ty: &WasmFuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(POINTER));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// Flags of a load or store to linear memory: little-endian, may trap.
pub(crate) fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_endianness(Endianness::Little)
        .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

/// Flags of an access to the vmctx or another runtime structure.
pub(crate) fn vm_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of a load of a value that never changes for the life of an
/// instance (a memory base, an import's pointer): it may be hoisted and
/// deduplicated.
pub(crate) fn readonly_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags of a load from a `VMFuncRef`: never written after the function's
/// instance is set up, but only valid once the pointer was checked for null,
/// so it may not move above that check.
pub(crate) fn func_ref_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly()
}

/// Where one table element lives (see [`trestle_vmctx::VMTableEntry`]).
#[derive(Clone, Copy)]
struct Elem {
    /// The address of its word in the table's first array: the code word
    /// of a funcref element, the word of an externref element.
    word: Value,
    /// The address and immediate offset of the funcref word of a funcref
    /// element.
    func_ref: (Value, i32),
    /// The element's index, an i64 known to be in bounds.
    index: Value,
}

pub(crate) fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// Machine code of one function, before it is placed in the module's code.
pub(crate) struct CompiledFunction {
    pub code: Vec<u8>,
    /// `(offset in code, callee function index, reloc kind, addend)` of
    /// direct calls.
    pub relocs: Vec<(u32, u32, cranelift_codegen::binemit::Reloc, i64)>,
    pub traps: Vec<(u32, Trap)>,
}

/// Whether `func` contains a `return_call` or `return_call_indirect`.
fn makes_tail_calls(func: &Function) -> bool {
    use cranelift_codegen::ir::Opcode;
    func.layout.blocks().any(|block| {
        func.layout.block_insts(block).any(|inst| {
            matches!(
                func.dfg.insts[inst].opcode(),
                Opcode::ReturnCall | Opcode::ReturnCallIndirect
            )
        })
    })
}

/// Compiles a built Cranelift function.
pub(crate) fn compile_function(
    compiler: &Compiler,
    ctx: &mut cranelift_codegen::Context,
) -> Result<CompiledFunction, CompileError> {
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    let isa = match &compiler.tail_call_isa {
        Some(isa) if makes_tail_calls(&ctx.func) => isa,
        _ => &compiler.isa,
    };
    let compiled = ctx
        .compile(&**isa, &mut ctrl)
        .map_err(|e| CompileError::codegen(format!("cranelift: {:?}", e.inner)))?;
    let buffer = compiled.buffer.clone();
    let code = buffer.data().to_vec();
    let mut relocs = Vec::new();
    for r in buffer.relocs() {
        match &r.target {
            cranelift_codegen::FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let callee = ctx.func.params.user_named_funcs()[*name].index;
                relocs.push((r.offset, callee, r.kind, r.addend));
            }
            other => {
                return Err(CompileError::codegen(format!(
                    "unsupported relocation target {other:?}"
                )));
            }
        }
    }
    let mut traps = Vec::new();
    for t in buffer.traps() {
        let trap = trap_from_code(t.code)
            .ok_or_else(|| CompileError::codegen(format!("unknown trap code {}", t.code)))?;
        traps.push((t.offset, trap));
    }
    Ok(CompiledFunction {
        code,
        relocs,
        traps,
    })
}

/// One frame of the control stack.
struct Control {
    kind: ControlKind,
    /// The block that follows the construct; its params are the results.
    next: Block,
    /// Operand stack height below the construct's parameters.
    height: usize,
    num_params: usize,
    num_results: usize,
    /// Whether some branch targets `next` (so code after `end` is
    /// reachable even when the end of the body is not).
    exit_reached: bool,
}

enum ControlKind {
    Block,
    Loop {
        header: Block,
    },
    If {
        /// The else block, `None` once `else` was seen.
        else_block: Option<Block>,
        /// Whether the `if` itself was reachable.
        head_reachable: bool,
        /// The block type's parameters, passed to the else branch.
        params: Vec<Value>,
    },
}

impl Control {
    /// The block a branch to this frame jumps to, and how many values it
    /// takes.
    fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            ControlKind::Loop { header } => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }
}

/// Translates a function body.
pub(crate) struct FuncTranslator<'a> {
    compiler: &'a Compiler,
    info: &'a ModuleInfo,
    offsets: &'a VMOffsets,
    func_index: u32,
}

struct State<'a, 'b> {
    t: &'a FuncTranslator<'a>,
    b: FunctionBuilder<'b>,
    vmctx: Value,
    locals: Vec<(Variable, Type)>,
    stack: Vec<Value>,
    control: Vec<Control>,
    reachable: bool,
    /// Depth of constructs opened while unreachable.
    unreachable_depth: u32,
    sigs: HashMap<u32, SigRef>,
    direct: HashMap<u32, FuncRef>,
    libcall_sigs: HashMap<LibcallIndex, SigRef>,
    /// The store context pointer, loaded once at entry when fuel or epochs
    /// are on.
    store_ctx: Option<Value>,
    /// Fuel used by the operators since the last flush to the store.
    fuel_pending: i64,
    /// Whether the call being translated is a tail call (`return_call`,
    /// `return_call_indirect`, `return_call_ref`).
    tail_call: bool,
}

impl<'a> FuncTranslator<'a> {
    pub(crate) fn new(
        compiler: &'a Compiler,
        info: &'a ModuleInfo,
        offsets: &'a VMOffsets,
        func_index: u32,
    ) -> Self {
        Self {
            compiler,
            info,
            offsets,
            func_index,
        }
    }

    /// Validates and translates `body` into `ctx.func`.
    pub(crate) fn translate(
        &self,
        ctx: &mut cranelift_codegen::Context,
        fctx: &mut FunctionBuilderContext,
        validator: &mut FuncValidator<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> Result<(), CompileError> {
        let ty = self.info.func_type(self.func_index).clone();
        ctx.func = Function::with_name_signature(
            UserFuncName::user(0, self.func_index),
            wasm_signature(&ty),
        );
        // The stack limit: vmctx -> store context -> stack_limit.
        let vmctx_gv = ctx.func.create_global_value(GlobalValueData::VMContext);
        let ro = ctx.func.dfg.mem_flags.insert_unchecked(readonly_flags());
        let store_ctx = ctx.func.create_global_value(GlobalValueData::Load {
            base: vmctx_gv,
            offset: Offset32::new(VMOffsets::VMCTX_STORE_CONTEXT as i32),
            global_type: POINTER,
            flags: ro,
        });
        let trusted = ctx.func.dfg.mem_flags.insert_unchecked(vm_flags());
        let limit = ctx.func.create_global_value(GlobalValueData::Load {
            base: store_ctx,
            offset: Offset32::new(VMOffsets::STORE_CONTEXT_STACK_LIMIT as i32),
            global_type: POINTER,
            flags: trusted,
        });
        ctx.func.stack_limit = Some(limit);

        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let vmctx = params[0];

        let mut locals = Vec::new();
        for (i, p) in ty.params.iter().enumerate() {
            let t = ir_type(*p);
            let var = b.declare_var(t);
            b.def_var(var, params[i + 2]);
            locals.push((var, t));
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, vt) = reader.read()?;
            validator.define_locals(offset, count, vt)?;
            let t = ir_type(crate::module::val_type(self.info, None, vt)?);
            for _ in 0..count {
                let var = b.declare_var(t);
                let zero = zero_value(&mut b, t);
                b.def_var(var, zero);
                locals.push((var, t));
            }
        }

        let exit = b.create_block();
        for r in ty.results.iter() {
            b.append_block_param(exit, ir_type(*r));
        }
        let mut state = State {
            t: self,
            b,
            vmctx,
            locals,
            stack: Vec::new(),
            control: vec![Control {
                kind: ControlKind::Block,
                next: exit,
                height: 0,
                num_params: 0,
                num_results: ty.results.len(),
                exit_reached: false,
            }],
            reachable: true,
            unreachable_depth: 0,
            sigs: HashMap::new(),
            direct: HashMap::new(),
            libcall_sigs: HashMap::new(),
            store_ctx: None,
            fuel_pending: 0,
            tail_call: false,
        };
        let opts = self.compiler.options();
        if opts.consume_fuel || opts.epoch_interruption {
            let ctx = state.b.ins().load(
                POINTER,
                readonly_flags(),
                vmctx,
                VMOffsets::VMCTX_STORE_CONTEXT as i32,
            );
            state.store_ctx = Some(ctx);
        }
        state.epoch_check();

        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let offset = ops.original_position();
            let op = ops.read()?;
            validator.op(offset, &op)?;
            state
                .translate(&op)
                .map_err(|e| e.at_offset_if_none(offset as usize))?;
        }
        ops.finish()?;
        // The final `end` switched to the exit block; return its params.
        if state.reachable {
            let rets = state.stack.split_off(state.stack.len() - ty.results.len());
            state.b.ins().return_(&rets);
        }
        state.b.finalize(self.compiler.isa.frontend_config());
        Ok(())
    }
}

impl CompileError {
    pub(crate) fn at_offset_if_none(mut self, offset: usize) -> Self {
        if self.offset.is_none() {
            self.offset = Some(offset);
        }
        self
    }
}

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

type Res = Result<(), CompileError>;

impl State<'_, '_> {
    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn binop(&mut self, f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let r = f(&mut self.b, a, b);
        self.push(r);
    }

    fn unop(&mut self, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.pop();
        let r = f(&mut self.b, a);
        self.push(r);
    }

    fn icmp(&mut self, cc: IntCC) {
        self.binop(|b, x, y| {
            let c = b.ins().icmp(cc, x, y);
            b.ins().uextend(types::I32, c)
        });
    }

    fn fcmp(&mut self, cc: FloatCC) {
        self.binop(|b, x, y| {
            let c = b.ins().fcmp(cc, x, y);
            b.ins().uextend(types::I32, c)
        });
    }

    fn eqz(&mut self) {
        self.unop(|b, x| {
            let c = b.ins().icmp_imm_s(IntCC::Equal, x, 0);
            b.ins().uextend(types::I32, c)
        });
    }

    /// `(params, results)` of a block type.
    fn block_type(&self, bt: BlockType) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (
                vec![],
                vec![ir_type(crate::module::val_type(self.t.info, None, t)?)],
            ),
            BlockType::FuncType(idx) => {
                let ty = &self.t.info.types[idx as usize];
                (
                    ty.params.iter().map(|t| ir_type(*t)).collect(),
                    ty.results.iter().map(|t| ir_type(*t)).collect(),
                )
            }
        })
    }

    fn new_block_with(&mut self, params: &[Type]) -> Block {
        let block = self.b.create_block();
        for t in params {
            self.b.append_block_param(block, *t);
        }
        block
    }

    /// Moves to `block` and replaces the top of the stack, from `height`,
    /// with its parameters.
    fn enter(&mut self, block: Block, height: usize) {
        self.b.switch_to_block(block);
        self.stack.truncate(height);
        let params = self.b.block_params(block).to_vec();
        self.stack.extend(params);
    }

    fn jump_with(&mut self, block: Block, n: usize) {
        let args = block_args(self.peekn(n));
        self.b.ins().jump(block, &args);
    }

    /// With epoch interruption on, traps when the engine's epoch has
    /// reached the store's deadline.
    fn epoch_check(&mut self) {
        if !self.t.compiler.options().epoch_interruption {
            return;
        }
        let ctx = self.store_ctx.expect("loaded at entry");
        let epoch_ptr = self.b.ins().load(
            POINTER,
            readonly_flags(),
            ctx,
            VMOffsets::STORE_CONTEXT_EPOCH_PTR as i32,
        );
        // Another thread bumps the epoch: an atomic load, so the value is
        // never reused from an earlier check.
        let epoch = self
            .b
            .ins()
            .atomic_load(types::I64, MemFlagsData::trusted(), epoch_ptr);
        let deadline = self.b.ins().load(
            types::I64,
            vm_flags(),
            ctx,
            VMOffsets::STORE_CONTEXT_EPOCH_DEADLINE as i32,
        );
        let due = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        self.b.ins().trapnz(due, trap_code(Trap::Interrupt));
    }

    /// With fuel metering on, adds the fuel of the operators translated
    /// since the last flush to the store's counter and traps when it runs
    /// out. Called before every branch and call, so every loop iteration
    /// and every call pays before it goes on.
    fn flush_fuel(&mut self) {
        if self.fuel_pending == 0 {
            return;
        }
        let ctx = self.store_ctx.expect("loaded at entry");
        let off = VMOffsets::STORE_CONTEXT_FUEL_CONSUMED as i32;
        let fuel = self.b.ins().load(types::I64, vm_flags(), ctx, off);
        let fuel = self.b.ins().iadd_imm_s(fuel, self.fuel_pending);
        self.b.ins().store(vm_flags(), fuel, ctx, off);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, fuel, 0);
        self.b.ins().trapnz(out, trap_code(Trap::OutOfFuel));
        self.fuel_pending = 0;
    }

    fn charge_fuel(&mut self, op: &Operator<'_>) {
        use Operator as O;
        match op {
            O::Nop | O::Drop | O::Block { .. } | O::Else => {}
            // Before the jump into the loop header, so the fuel of the code
            // before the loop is not charged again on every iteration.
            O::Loop { .. } | O::End => self.flush_fuel(),
            O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::If { .. }
            | O::Return
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. } => {
                self.fuel_pending += 1;
                self.flush_fuel();
            }
            _ => self.fuel_pending += 1,
        }
    }

    fn translate(&mut self, op: &Operator<'_>) -> Res {
        if !self.reachable {
            return self.translate_unreachable(op);
        }
        if self.t.compiler.options().consume_fuel {
            self.charge_fuel(op);
        }
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
                self.control.push(Control {
                    kind: ControlKind::Block,
                    next,
                    height: self.stack.len() - params.len(),
                    num_params: params.len(),
                    num_results: results.len(),
                    exit_reached: false,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty)?;
                let header = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                self.jump_with(header, params.len());
                let height = self.stack.len() - params.len();
                self.enter(header, height);
                self.epoch_check();
                self.control.push(Control {
                    kind: ControlKind::Loop { header },
                    next,
                    height,
                    num_params: params.len(),
                    num_results: results.len(),
                    exit_reached: false,
                });
            }
            O::If { blockty } => {
                let cond = self.pop();
                let (params, results) = self.block_type(blockty)?;
                let then_block = self.b.create_block();
                let else_block = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                let param_vals = self.peekn(params.len()).to_vec();
                let args = block_args(&param_vals);
                self.b.ins().brif(cond, then_block, &[], else_block, &args);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                self.control.push(Control {
                    kind: ControlKind::If {
                        else_block: Some(else_block),
                        head_reachable: true,
                        params: param_vals,
                    },
                    next,
                    height: self.stack.len() - params.len(),
                    num_params: params.len(),
                    num_results: results.len(),
                    exit_reached: false,
                });
            }
            O::Else => {
                self.flush_fuel();
                let frame = self.control.last_mut().expect("validated");
                let (next, n) = (frame.next, frame.num_results);
                frame.exit_reached = true;
                self.jump_with(next, n);
                self.translate_else();
            }
            O::End => {
                let frame = self.control.last_mut().expect("validated");
                let (next, n) = (frame.next, frame.num_results);
                frame.exit_reached = true;
                self.jump_with(next, n);
                self.translate_end();
            }
            O::Br { relative_depth } => {
                self.branch(relative_depth);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                self.branch_if(cond, true, relative_depth);
            }
            O::BrTable { ref targets } => {
                let index = self.pop();
                let depths: Vec<u32> = targets.targets().collect::<Result<_, _>>()?;
                let default = targets.default();
                self.br_table(index, &depths, default);
                self.reachable = false;
            }
            O::Return => {
                self.branch(self.control.len() as u32 - 1);
                self.reachable = false;
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index)?,
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } | O::TypedSelectMulti { .. } => {
                let (x, y, c) = self.pop3();
                let r = self.b.ins().select(c, x, y);
                self.push(r);
            }
            O::LocalGet { local_index } => {
                let (var, _) = self.locals[local_index as usize];
                let v = self.b.use_var(var);
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                let (var, _) = self.locals[local_index as usize];
                self.b.def_var(var, v);
            }
            O::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                let (var, _) = self.locals[local_index as usize];
                self.b.def_var(var, v);
            }
            O::GlobalGet { global_index } => {
                let (addr, ty) = self.global_addr(global_index);
                let v = self.b.ins().load(ty, vm_flags(), addr, 0);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let v = self.pop();
                let (addr, _) = self.global_addr(global_index);
                self.b.ins().store(vm_flags(), v, addr, 0);
            }

            // Memory.
            O::I32Load { memarg } => self.load(types::I32, types::I32, false, &memarg)?,
            O::I64Load { memarg } => self.load(types::I64, types::I64, false, &memarg)?,
            O::F32Load { memarg } => self.load(types::F32, types::F32, false, &memarg)?,
            O::F64Load { memarg } => self.load(types::F64, types::F64, false, &memarg)?,
            O::I32Load8S { memarg } => self.load(types::I32, types::I8, true, &memarg)?,
            O::I32Load8U { memarg } => self.load(types::I32, types::I8, false, &memarg)?,
            O::I32Load16S { memarg } => self.load(types::I32, types::I16, true, &memarg)?,
            O::I32Load16U { memarg } => self.load(types::I32, types::I16, false, &memarg)?,
            O::I64Load8S { memarg } => self.load(types::I64, types::I8, true, &memarg)?,
            O::I64Load8U { memarg } => self.load(types::I64, types::I8, false, &memarg)?,
            O::I64Load16S { memarg } => self.load(types::I64, types::I16, true, &memarg)?,
            O::I64Load16U { memarg } => self.load(types::I64, types::I16, false, &memarg)?,
            O::I64Load32S { memarg } => self.load(types::I64, types::I32, true, &memarg)?,
            O::I64Load32U { memarg } => self.load(types::I64, types::I32, false, &memarg)?,
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.store(None, &memarg)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(Some(types::I8), &memarg)?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(Some(types::I16), &memarg)?
            }
            O::I64Store32 { memarg } => self.store(Some(types::I32), &memarg)?,
            O::MemorySize { mem } => {
                let def = self.memory_definition(mem);
                let len = self.b.ins().load(
                    types::I64,
                    vm_flags(),
                    def,
                    VMOffsets::MEMORY_DEFINITION_CURRENT_LENGTH as i32,
                );
                let pages = self.b.ins().ushr_imm_s(len, 16);
                let r = self.b.ins().ireduce(types::I32, pages);
                self.push(r);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.b.ins().uextend(types::I64, delta);
                let m = self.b.ins().iconst(types::I32, i64::from(mem));
                let r = self.libcall(LibcallIndex::memory_grow, &[m, delta]);
                let r = self.b.ins().ireduce(types::I32, r[0]);
                self.push(r);
            }
            O::MemoryFill { mem } => {
                let (dst, val, len) = self.pop3();
                let m = self.b.ins().iconst(types::I32, i64::from(mem));
                let dst = self.b.ins().uextend(types::I64, dst);
                let len = self.b.ins().uextend(types::I64, len);
                self.libcall(LibcallIndex::memory_fill, &[m, dst, val, len]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let dm = self.b.ins().iconst(types::I32, i64::from(dst_mem));
                let sm = self.b.ins().iconst(types::I32, i64::from(src_mem));
                let dst = self.b.ins().uextend(types::I64, dst);
                let src = self.b.ins().uextend(types::I64, src);
                let len = self.b.ins().uextend(types::I64, len);
                self.libcall(LibcallIndex::memory_copy, &[dm, dst, sm, src, len]);
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let m = self.b.ins().iconst(types::I32, i64::from(mem));
                let d = self.b.ins().iconst(types::I32, i64::from(data_index));
                let dst = self.b.ins().uextend(types::I64, dst);
                self.libcall(LibcallIndex::memory_init, &[m, d, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let d = self.b.ins().iconst(types::I32, i64::from(data_index));
                self.libcall(LibcallIndex::data_drop, &[d]);
            }

            // References and tables.
            O::RefNull { .. } => {
                let v = self.b.ins().iconst(POINTER, 0);
                self.push(v);
            }
            O::RefIsNull => self.eqz(),
            O::RefEq => {
                let (a, b) = self.pop2();
                let c = self.b.ins().icmp(IntCC::Equal, a, b);
                let v = self.b.ins().uextend(types::I32, c);
                self.push(v);
            }
            O::RefAsNonNull => {
                let v = *self.stack.last().expect("validated");
                self.b.ins().trapz(v, trap_code(Trap::NullReference));
            }
            O::BrOnNull { relative_depth } => {
                // The reference is not passed to the label.
                let r = self.pop();
                self.branch_if(r, false, relative_depth);
                self.push(r);
            }
            O::BrOnNonNull { relative_depth } => {
                // The reference is the label's last value.
                let r = *self.stack.last().expect("validated");
                self.branch_if(r, true, relative_depth);
                self.pop();
            }
            O::CallRef { type_index } => self.call_ref(type_index),
            O::ReturnCall { function_index } => self.tail(|s| s.call(function_index))?,
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.tail(|s| s.call_indirect(type_index, table_index))?,
            O::ReturnCallRef { type_index } => self.tail(|s| {
                s.call_ref(type_index);
                Ok(())
            })?,
            O::RefFunc { function_index } => {
                let off = self.t.offsets.func_ref(function_index);
                let v = self.b.ins().iadd_imm_s(self.vmctx, i64::from(off));
                self.push(v);
            }
            O::TableGet { table } => {
                let index = self.pop();
                let index = self.table_index_to_i64(table, index);
                let v = self.table_get(table, index);
                self.push(v);
            }
            O::TableSet { table } => {
                let (index, val) = self.pop2();
                let index = self.table_index_to_i64(table, index);
                self.table_set(table, index, val);
            }
            O::TableSize { table } if self.fixed_table_size(table).is_some() => {
                let size = self.fixed_table_size(table).unwrap_or_default() as i64;
                let ty = if self.table64(table) {
                    types::I64
                } else {
                    types::I32
                };
                let v = self.b.ins().iconst(ty, size);
                self.push(v);
            }
            O::TableSize { table } => {
                let def = self.table_definition(table);
                let len = self.b.ins().load(
                    types::I64,
                    vm_flags(),
                    def,
                    VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS as i32,
                );
                let r = if self.table64(table) {
                    len
                } else {
                    self.b.ins().ireduce(types::I32, len)
                };
                self.push(r);
            }
            O::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let delta = self.table_index_to_i64(table, delta);
                let r = self.table_grow(table, delta, init);
                let r = if self.table64(table) {
                    r
                } else {
                    self.b.ins().ireduce(types::I32, r)
                };
                self.push(r);
            }
            O::TableFill { table } => {
                let (dst, val, len) = self.pop3();
                let dst = self.table_index_to_i64(table, dst);
                let len = self.table_index_to_i64(table, len);
                let t = self.b.ins().iconst(types::I32, i64::from(table));
                self.libcall(LibcallIndex::table_fill, &[t, dst, val, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_to_i64(dst_table, dst);
                let src = self.table_index_to_i64(src_table, src);
                // The length has the smaller of the two index types.
                let len = if self.table64(dst_table) && self.table64(src_table) {
                    len
                } else {
                    self.b.ins().uextend(types::I64, len)
                };
                let dt = self.b.ins().iconst(types::I32, i64::from(dst_table));
                let st = self.b.ins().iconst(types::I32, i64::from(src_table));
                self.libcall(LibcallIndex::table_copy, &[dt, dst, st, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.table_index_to_i64(table, dst);
                let t = self.b.ins().iconst(types::I32, i64::from(table));
                let e = self.b.ins().iconst(types::I32, i64::from(elem_index));
                self.libcall(LibcallIndex::table_init, &[t, e, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let e = self.b.ins().iconst(types::I32, i64::from(elem_index));
                self.libcall(LibcallIndex::elem_drop, &[e]);
            }

            // Constants.
            O::I32Const { value } => {
                let v = self.b.ins().iconst(types::I32, i64::from(value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(types::I64, value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            // Integer comparisons.
            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            // Float comparisons.
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // Integer arithmetic.
            O::I32Clz | O::I64Clz => self.unop(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unop(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unop(|b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binop(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binop(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binop(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binop(|b, x, y| {
                guard_zero(b, y);
                guard_signed_overflow(b, x, y);
                b.ins().sdiv(x, y)
            }),
            O::I32DivU | O::I64DivU => self.binop(|b, x, y| {
                guard_zero(b, y);
                b.ins().udiv(x, y)
            }),
            O::I32RemS | O::I64RemS => self.binop(|b, x, y| {
                guard_zero(b, y);
                signed_rem(b, x, y)
            }),
            O::I32RemU | O::I64RemU => self.binop(|b, x, y| {
                guard_zero(b, y);
                b.ins().urem(x, y)
            }),
            O::I32And | O::I64And => self.binop(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binop(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binop(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binop(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binop(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binop(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binop(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binop(|b, x, y| b.ins().rotr(x, y)),

            // Float arithmetic.
            O::F32Abs | O::F64Abs => self.unop(|b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unop(|b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unop(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unop(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unop(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unop(|b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unop(|b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.binop(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binop(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binop(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binop(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binop(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binop(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binop(|b, x, y| b.ins().fcopysign(x, y)),

            // Conversions.
            O::I32WrapI64 => self.unop(|b, x| b.ins().ireduce(types::I32, x)),
            O::I64ExtendI32S => self.unop(|b, x| b.ins().sextend(types::I64, x)),
            O::I64ExtendI32U => self.unop(|b, x| b.ins().uextend(types::I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint(types::I32, x))
            }
            O::I32TruncF32U | O::I32TruncF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint(types::I32, x))
            }
            O::I64TruncF32S | O::I64TruncF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint(types::I64, x))
            }
            O::I64TruncF32U | O::I64TruncF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint(types::I64, x))
            }
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint_sat(types::I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint_sat(types::I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint_sat(types::I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint_sat(types::I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unop(|b, x| b.ins().fcvt_from_sint(types::F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unop(|b, x| b.ins().fcvt_from_uint(types::F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unop(|b, x| b.ins().fcvt_from_sint(types::F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unop(|b, x| b.ins().fcvt_from_uint(types::F64, x))
            }
            O::F32DemoteF64 => self.unop(|b, x| b.ins().fdemote(types::F32, x)),
            O::F64PromoteF32 => self.unop(|b, x| b.ins().fpromote(types::F64, x)),
            O::I32ReinterpretF32 => {
                self.unop(|b, x| b.ins().bitcast(types::I32, MemFlagsData::new(), x))
            }
            O::I64ReinterpretF64 => {
                self.unop(|b, x| b.ins().bitcast(types::I64, MemFlagsData::new(), x))
            }
            O::F32ReinterpretI32 => {
                self.unop(|b, x| b.ins().bitcast(types::F32, MemFlagsData::new(), x))
            }
            O::F64ReinterpretI64 => {
                self.unop(|b, x| b.ins().bitcast(types::F64, MemFlagsData::new(), x))
            }
            O::I32Extend8S => self.unop(|b, x| {
                let n = b.ins().ireduce(types::I8, x);
                b.ins().sextend(types::I32, n)
            }),
            O::I32Extend16S => self.unop(|b, x| {
                let n = b.ins().ireduce(types::I16, x);
                b.ins().sextend(types::I32, n)
            }),
            O::I64Extend8S => self.unop(|b, x| {
                let n = b.ins().ireduce(types::I8, x);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend16S => self.unop(|b, x| {
                let n = b.ins().ireduce(types::I16, x);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend32S => self.unop(|b, x| {
                let n = b.ins().ireduce(types::I32, x);
                b.ins().sextend(types::I64, n)
            }),

            ref other => {
                return Err(CompileError::unsupported(format!(
                    "operator {}",
                    operator_name(other)
                )));
            }
        }
        Ok(())
    }

    /// Operators met while the current position is unreachable: only the
    /// control structure is tracked.
    fn translate_unreachable(&mut self, op: &Operator<'_>) -> Res {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
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
        Ok(())
    }

    /// Switches from the then-branch of the innermost `if` to its else
    /// branch (the then-branch was already closed).
    fn translate_else(&mut self) {
        let frame = self.control.last_mut().expect("validated");
        let height = frame.height;
        let ControlKind::If {
            else_block,
            head_reachable,
            ..
        } = &mut frame.kind
        else {
            unreachable!("validated: else without if")
        };
        let else_block = else_block.take().expect("validated: one else per if");
        self.reachable = *head_reachable;
        // Fuel of dead code after a branch is not charged.
        self.fuel_pending = 0;
        self.enter(else_block, height);
    }

    /// Closes the innermost frame (its exit jump, if reachable, was already
    /// emitted) and continues at its `next` block.
    fn translate_end(&mut self) {
        self.fuel_pending = 0;
        let frame = self.control.pop().expect("validated");
        let mut exit_reached = frame.exit_reached;
        if let ControlKind::If {
            else_block: Some(else_block),
            head_reachable,
            params,
        } = &frame.kind
        {
            // An `if` without `else`: the else branch passes its parameters
            // through as results.
            self.b.switch_to_block(*else_block);
            let _ = params;
            let p = self.b.block_params(*else_block).to_vec();
            let args = block_args(&p);
            self.b.ins().jump(frame.next, &args);
            exit_reached |= *head_reachable;
        }
        if let ControlKind::Loop { header } = frame.kind {
            self.b.seal_block(header);
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
        let (target, n) = self.branch_target_mut(depth);
        let args = block_args(self.peekn(n));
        let fallthrough = self.b.create_block();
        if on_nonzero {
            self.b.ins().brif(cond, target, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(cond, fallthrough, &[], target, &args);
        }
        self.b.seal_block(fallthrough);
        self.b.switch_to_block(fallthrough);
    }

    fn branch_target_mut(&mut self, depth: u32) -> (Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        if !matches!(frame.kind, ControlKind::Loop { .. }) {
            frame.exit_reached = true;
        }
        frame.branch_target()
    }

    fn branch(&mut self, depth: u32) {
        let (target, n) = self.branch_target_mut(depth);
        self.jump_with(target, n);
    }

    fn br_table(&mut self, index: Value, depths: &[u32], default: u32) {
        let (_, n) = self.branch_target_mut(default);
        for d in depths {
            self.branch_target_mut(*d);
        }
        let args = block_args(self.peekn(n));
        // Targets taking arguments are reached through a small block each,
        // one per distinct depth.
        let mut edge: HashMap<u32, Block> = HashMap::new();
        let mut call_for = |s: &mut Self, depth: u32| {
            let (target, _) = s.control[s.control.len() - 1 - depth as usize].branch_target();
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
            let (target, _) = self.control[self.control.len() - 1 - depth as usize].branch_target();
            self.b.seal_block(block);
            self.b.switch_to_block(block);
            self.b.ins().jump(target, &args);
        }
    }

    // ---- Calls ----------------------------------------------------------

    fn sig_for_type(&mut self, type_index: u32) -> SigRef {
        if let Some(s) = self.sigs.get(&type_index) {
            return *s;
        }
        let sig = wasm_signature(&self.t.info.types[type_index as usize]);
        let s = self.b.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn finish_call(&mut self, inst: ir::Inst, num_params: usize) {
        let len = self.stack.len();
        self.stack.truncate(len - num_params);
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
    }

    /// Calls `code` with signature `sig`, or jumps to it for a tail call,
    /// which ends the block; `args` are the vmctx pair and the top
    /// `num_params` values of the stack.
    fn emit_call_indirect(&mut self, sig: SigRef, code: Value, args: &[Value], num_params: usize) {
        if self.tail_call {
            self.b.ins().return_call_indirect(sig, code, args);
            self.end_with_tail_call(num_params);
        } else {
            let inst = self.b.ins().call_indirect(sig, code, args);
            self.finish_call(inst, num_params);
        }
    }

    /// Translates the call `call` makes as a tail call.
    fn tail(&mut self, call: impl FnOnce(&mut Self) -> Res) -> Res {
        self.tail_call = true;
        let r = call(self);
        self.tail_call = false;
        r
    }

    /// After a tail call: the arguments are consumed and the rest of the
    /// block is unreachable.
    fn end_with_tail_call(&mut self, num_params: usize) {
        let len = self.stack.len();
        self.stack.truncate(len - num_params);
        self.reachable = false;
    }

    fn call(&mut self, func: u32) -> Res {
        let type_index = self.t.info.functions[func as usize];
        let num_params = self.t.info.types[type_index as usize].params.len();
        let mut args = Vec::with_capacity(num_params + 2);
        if self.t.info.is_imported_func(func) {
            let off = self.t.offsets.imported_function(func) as i32;
            let code = self.b.ins().load(
                POINTER,
                readonly_flags(),
                self.vmctx,
                off + VMOffsets::FUNCTION_IMPORT_WASM_CALL as i32,
            );
            let callee_vmctx = self.b.ins().load(
                POINTER,
                readonly_flags(),
                self.vmctx,
                off + VMOffsets::FUNCTION_IMPORT_VMCTX as i32,
            );
            args.push(callee_vmctx);
            args.push(self.vmctx);
            args.extend_from_slice(self.peekn(num_params));
            let sig = self.sig_for_type(type_index);
            self.emit_call_indirect(sig, code, &args, num_params);
        } else {
            let fref = match self.direct.get(&func) {
                Some(f) => *f,
                None => {
                    let sig = self.sig_for_type(type_index);
                    let name = self
                        .b
                        .func
                        .declare_imported_user_function(UserExternalName::new(0, func));
                    let f = self.b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature: sig,
                        colocated: true,
                        patchable: false,
                    });
                    self.direct.insert(func, f);
                    f
                }
            };
            args.push(self.vmctx);
            args.push(self.vmctx);
            args.extend_from_slice(self.peekn(num_params));
            if self.tail_call {
                self.b.ins().return_call(fref, &args);
                self.end_with_tail_call(num_params);
            } else {
                let inst = self.b.ins().call(fref, &args);
                self.finish_call(inst, num_params);
            }
        }
        Ok(())
    }

    fn call_indirect(&mut self, type_index: u32, table: u32) -> Res {
        if !self.t.info.tables[table as usize].element.is_func() {
            return Err(CompileError::unsupported(
                "call_indirect on a non-funcref table",
            ));
        }
        let expected = self.t.info.type_ids[type_index as usize];
        let index = self.pop();
        let index = self.table_index_to_i64(table, index);
        let elem = self.table_element(table, index, Trap::UndefinedElement);

        // Fast path: the entry's funcref is non-null and has the expected
        // type. Both words of the entry are loaded at once: the code pointer,
        // the branch target, is one load from the index, while the type
        // check and the callee's vmctx go through the funcref.
        let (code, func_ref) = self.load_entry(elem);
        if !self.t.compiler.options().lazy_tables {
            // Without lazy initialization a null funcref is a null entry:
            // the type load itself faults on it (the null page is never
            // mapped) and the fault is the trap, so there is no branch.
            let type_id = self.b.ins().load(
                types::I32,
                func_ref_flags().with_trap_code(Some(trap_code(Trap::IndirectCallToNull))),
                func_ref,
                VMOffsets::FUNC_REF_TYPE_ID as i32,
            );
            return self.finish_call_indirect(type_index, expected, code, func_ref, type_id);
        }
        let check = self.b.create_block();
        self.b.append_block_param(check, POINTER);
        self.b.append_block_param(check, POINTER);
        let empty = self.b.create_block();
        self.b.set_cold_block(empty);
        self.b.ins().brif(
            func_ref,
            check,
            &[BlockArg::Value(code), BlockArg::Value(func_ref)],
            empty,
            &[],
        );

        // Cold: a null entry (its code word is a non-zero marker), or one
        // lazy initialization has yet to write (all zero).
        self.b.seal_block(empty);
        self.b.switch_to_block(empty);
        let null = self.b.create_block();
        self.b.set_cold_block(null);
        let lazy = self.b.create_block();
        self.b.set_cold_block(lazy);
        self.b.ins().brif(code, null, &[], lazy, &[]);
        self.b.seal_block(lazy);
        self.b.switch_to_block(lazy);
        let word2 = self.lazy_init(table, elem.index);
        let code2 = self.b.ins().load(POINTER, vm_flags(), word2, 0);
        let (at, offset) = self.func_ref_at(table, word2);
        let func_ref2 = self.b.ins().load(POINTER, vm_flags(), at, offset);
        self.b.ins().brif(
            func_ref2,
            check,
            &[BlockArg::Value(code2), BlockArg::Value(func_ref2)],
            null,
            &[],
        );
        self.b.seal_block(null);
        self.b.switch_to_block(null);
        self.b.ins().trap(trap_code(Trap::IndirectCallToNull));

        self.b.seal_block(check);
        self.b.switch_to_block(check);
        let (code, func_ref) = (self.b.block_params(check)[0], self.b.block_params(check)[1]);
        let type_id = self.b.ins().load(
            types::I32,
            func_ref_flags(),
            func_ref,
            VMOffsets::FUNC_REF_TYPE_ID as i32,
        );
        self.finish_call_indirect(type_index, expected, code, func_ref, type_id)
    }

    /// `call_ref`: a call through a function reference, whose type
    /// validation already proved; only null is checked.
    fn call_ref(&mut self, type_index: u32) {
        let func_ref = self.pop();
        self.b
            .ins()
            .trapz(func_ref, trap_code(Trap::NullFunctionReference));
        let code = self.b.ins().load(
            POINTER,
            func_ref_flags(),
            func_ref,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        self.call_func_ref(type_index, code, func_ref);
    }

    /// Calls the function of non-null funcref `func_ref`, of type
    /// `type_index`, at `code`, with the arguments on the stack.
    fn call_func_ref(&mut self, type_index: u32, code: Value, func_ref: Value) {
        let callee_vmctx = self.b.ins().load(
            POINTER,
            func_ref_flags(),
            func_ref,
            VMOffsets::FUNC_REF_VMCTX as i32,
        );
        let num_params = self.t.info.types[type_index as usize].params.len();
        let mut args = Vec::with_capacity(num_params + 2);
        args.push(callee_vmctx);
        args.push(self.vmctx);
        args.extend_from_slice(self.peekn(num_params));
        let sig = self.sig_for_type(type_index);
        self.emit_call_indirect(sig, code, &args, num_params);
    }

    /// Both words of funcref table element `elem`: its code pointer and
    /// its funcref.
    fn load_entry(&mut self, elem: Elem) -> (Value, Value) {
        let code = self.b.ins().load(POINTER, vm_flags(), elem.word, 0);
        let (at, offset) = elem.func_ref;
        let func_ref = self.b.ins().load(POINTER, vm_flags(), at, offset);
        (code, func_ref)
    }

    /// The rest of a `call_indirect` once the callee's funcref is known to
    /// be non-null: the type check (one compare of the canonical id with an
    /// immediate) and the call through the entry's code pointer.
    fn finish_call_indirect(
        &mut self,
        type_index: u32,
        expected: u32,
        code: Value,
        func_ref: Value,
        type_id: Value,
    ) -> Res {
        let ok = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, type_id, i64::from(expected));
        let call_block = self.b.create_block();
        let mismatch = self.b.create_block();
        self.b.set_cold_block(mismatch);
        self.b.ins().brif(ok, call_block, &[], mismatch, &[]);
        self.b.seal_block(mismatch);
        self.b.switch_to_block(mismatch);
        if self.t.info.sub_types[type_index as usize].is_final {
            // A final type has no subtypes: only its own id matches.
            self.b.ins().trap(trap_code(Trap::BadSignature));
        } else {
            // The callee's type may declare the expected one as supertype.
            let expected = self.b.ins().iconst(types::I32, i64::from(expected));
            let sub = self.libcall(LibcallIndex::is_subtype, &[type_id, expected])[0];
            self.b.ins().trapz(sub, trap_code(Trap::BadSignature));
            self.b.ins().jump(call_block, &[]);
        }

        self.b.seal_block(call_block);
        self.b.switch_to_block(call_block);
        self.call_func_ref(type_index, code, func_ref);
        Ok(())
    }

    fn libcall(&mut self, which: LibcallIndex, args: &[Value]) -> Vec<Value> {
        let sig = match self.libcall_sigs.get(&which) {
            Some(s) => *s,
            None => {
                let s = self
                    .b
                    .import_signature(libcall_signature(self.t.compiler.call_conv(), which));
                self.libcall_sigs.insert(which, s);
                s
            }
        };
        // Read-only but not movable: libcalls mostly sit on cold paths, and
        // a pointer hoisted out of a loop would hold a callee-saved register
        // across the hot path's calls.
        let flags = MemFlagsData::trusted().with_readonly();
        let builtins =
            self.b
                .ins()
                .load(POINTER, flags, self.vmctx, VMOffsets::VMCTX_BUILTINS as i32);
        let f = self
            .b
            .ins()
            .load(POINTER, flags, builtins, VMOffsets::builtin(which) as i32);
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.vmctx);
        all.extend_from_slice(args);
        let inst = self.b.ins().call_indirect(sig, f, &all);
        self.b.inst_results(inst).to_vec()
    }

    // ---- Tables ---------------------------------------------------------

    fn table64(&self, table: u32) -> bool {
        self.t.info.tables[table as usize].table64
    }

    fn table_index_to_i64(&mut self, table: u32, index: Value) -> Value {
        if self.table64(table) {
            index
        } else {
            self.b.ins().uextend(types::I64, index)
        }
    }

    /// Address of the table's [`trestle_vmctx::VMTableDefinition`].
    fn table_definition(&mut self, table: u32) -> Value {
        match self.t.info.defined_table_index(table) {
            Some(def) => {
                let off = self.t.offsets.defined_table(def);
                self.b.ins().iadd_imm_s(self.vmctx, i64::from(off))
            }
            None => {
                let off = self.t.offsets.imported_table(table) + VMOffsets::TABLE_IMPORT_FROM;
                self.b
                    .ins()
                    .load(POINTER, readonly_flags(), self.vmctx, off as i32)
            }
        }
    }

    /// Bounds-checks `index` (an i64) and returns where its table element
    /// lives. The offset into the arrays is clamped to 0 when out of bounds,
    /// so a mispredicted branch cannot read past the table. An index that
    /// is in bounds by construction (a table that cannot grow, an index
    /// computed with a mask, a shift or a remainder that keeps it below the
    /// size) needs neither the check nor the clamp.
    fn table_element(&mut self, table: u32, index: Value, oob: Trap) -> Elem {
        let def = self.table_definition(table);
        let fixed = self.fixed_table_size(table);
        // A table whose maximum equals its minimum never grows: its bound is
        // a constant, its base never moves (an imported one too, since its
        // size must match the declared limits) and its capacity is its size,
        // so its funcref words are at a constant distance from its code
        // words.
        let flags = if fixed.is_some() {
            readonly_flags()
        } else {
            vm_flags()
        };
        let base = self
            .b
            .ins()
            .load(POINTER, flags, def, VMOffsets::TABLE_DEFINITION_BASE as i32);
        let scaled = self
            .b
            .ins()
            .ishl_imm_s(index, i64::from(VMOffsets::TABLE_ELEMENT_SHIFT));
        let in_range = fixed.is_some_and(|size| max_value(&self.b.func.dfg, index, 4) < size);
        let offset = if in_range {
            scaled
        } else {
            let bound = match fixed {
                Some(size) => self.b.ins().iconst(types::I64, size as i64),
                None => self.b.ins().load(
                    types::I64,
                    vm_flags(),
                    def,
                    VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS as i32,
                ),
            };
            let out = self
                .b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, index, bound);
            self.b.ins().trapnz(out, trap_code(oob));
            let zero = self.b.ins().iconst(types::I64, 0);
            self.b.ins().select_spectre_guard(out, zero, scaled)
        };
        let word = self.b.ins().iadd(base, offset);
        let func_ref = if !self.t.info.tables[table as usize].element.is_func() {
            (word, 0)
        } else if let Some(size) = fixed {
            (word, (size << VMOffsets::TABLE_ELEMENT_SHIFT) as i32)
        } else {
            let refs = self.b.ins().load(
                POINTER,
                vm_flags(),
                def,
                VMOffsets::TABLE_DEFINITION_FUNC_REFS as i32,
            );
            (self.b.ins().iadd(refs, offset), 0)
        };
        Elem {
            word,
            func_ref,
            index,
        }
    }

    /// Where the funcref word of the element of funcref table `table` whose
    /// code word is at `word` is: an address and an immediate offset.
    fn func_ref_at(&mut self, table: u32, word: Value) -> (Value, i32) {
        if let Some(size) = self.fixed_table_size(table) {
            return (word, (size << VMOffsets::TABLE_ELEMENT_SHIFT) as i32);
        }
        let def = self.table_definition(table);
        let base = self.b.ins().load(
            POINTER,
            vm_flags(),
            def,
            VMOffsets::TABLE_DEFINITION_BASE as i32,
        );
        let refs = self.b.ins().load(
            POINTER,
            vm_flags(),
            def,
            VMOffsets::TABLE_DEFINITION_FUNC_REFS as i32,
        );
        let offset = self.b.ins().isub(word, base);
        (self.b.ins().iadd(refs, offset), 0)
    }

    /// Calls the lazy-initialization libcall for element `index` (an i64,
    /// known to be in bounds) of funcref table `table`, which writes it, and
    /// returns the address of its code word, from which the element's words
    /// are reloaded: nothing of the fast path stays alive across the call
    /// (the register allocator would give such a value a callee-saved
    /// register that a value living across the indirect call needs).
    fn lazy_init(&mut self, table: u32, index: Value) -> Value {
        let t = self.b.ins().iconst(types::I32, i64::from(table));
        self.libcall(LibcallIndex::table_lazy_init, &[t, index])[0]
    }

    /// The size of a table that cannot grow, if it is one (and small
    /// enough for its arrays' distance to be an immediate offset, which
    /// every table the runtime accepts is).
    fn fixed_table_size(&self, table: u32) -> Option<u64> {
        let ty = &self.t.info.tables[table as usize];
        (ty.maximum == Some(ty.minimum) && ty.minimum < (1 << 28)).then_some(ty.minimum)
    }

    /// `table.get`: inline, with lazy initialization of funcref entries on a
    /// cold path.
    fn table_get(&mut self, table: u32, index: Value) -> Value {
        let elem = self.table_element(table, index, Trap::TableOutOfBounds);
        if !self.t.info.tables[table as usize].element.is_func() {
            return self.b.ins().load(POINTER, vm_flags(), elem.word, 0);
        }
        let (at, offset) = elem.func_ref;
        let func_ref = self.b.ins().load(POINTER, vm_flags(), at, offset);
        if !self.t.compiler.options().lazy_tables {
            return func_ref;
        }
        // A null funcref is a null entry or one not yet initialized; the
        // code word tells which.
        let done = self.b.create_block();
        self.b.append_block_param(done, POINTER);
        let empty = self.b.create_block();
        self.b.set_cold_block(empty);
        self.b
            .ins()
            .brif(func_ref, done, &[BlockArg::Value(func_ref)], empty, &[]);
        self.b.seal_block(empty);
        self.b.switch_to_block(empty);
        let code = self.b.ins().load(POINTER, vm_flags(), elem.word, 0);
        let lazy = self.b.create_block();
        self.b.set_cold_block(lazy);
        self.b
            .ins()
            .brif(code, done, &[BlockArg::Value(func_ref)], lazy, &[]);
        self.b.seal_block(lazy);
        self.b.switch_to_block(lazy);
        let word2 = self.lazy_init(table, elem.index);
        let (at, offset) = self.func_ref_at(table, word2);
        let func_ref2 = self.b.ins().load(POINTER, vm_flags(), at, offset);
        self.b.ins().jump(done, &[BlockArg::Value(func_ref2)]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        self.b.block_params(done)[0]
    }

    /// `table.set`: inline.
    fn table_set(&mut self, table: u32, index: Value, val: Value) {
        let elem = self.table_element(table, index, Trap::TableOutOfBounds);
        self.write_element(table, elem.word, elem.func_ref, val);
    }

    /// Writes the raw reference `val` to a table element: an externref word
    /// as it is at `word`, a funcref as the callee's code pointer, copied
    /// out of its `VMFuncRef` (or the null entry's marker), at `word` and
    /// the funcref itself at `func_ref`.
    fn write_element(&mut self, table: u32, word: Value, func_ref: (Value, i32), val: Value) {
        let code =
            (self.t.info.tables[table as usize].element.is_func()).then(|| self.entry_code(val));
        self.store_element(word, func_ref, code, val);
    }

    /// Stores an element's words: `val` alone at `word` (an externref), or
    /// `code` at `word` and `val` at `func_ref` (a funcref and its code
    /// word, from [`Self::entry_code`]).
    fn store_element(
        &mut self,
        word: Value,
        func_ref: (Value, i32),
        code: Option<Value>,
        val: Value,
    ) {
        match code {
            None => {
                self.b.ins().store(vm_flags(), val, word, 0);
            }
            Some(code) => {
                self.b.ins().store(vm_flags(), code, word, 0);
                self.b.ins().store(vm_flags(), val, func_ref.0, func_ref.1);
            }
        }
    }

    /// The code word of the table entry for funcref `val`: its `wasm_call`,
    /// or the null entry's marker.
    fn entry_code(&mut self, val: Value) -> Value {
        let nonnull = self.b.create_block();
        let merge = self.b.create_block();
        self.b.append_block_param(merge, POINTER);
        let marker = self.b.ins().iconst(POINTER, NULL_ENTRY_CODE as i64);
        self.b
            .ins()
            .brif(val, nonnull, &[], merge, &[BlockArg::Value(marker)]);
        self.b.seal_block(nonnull);
        self.b.switch_to_block(nonnull);
        let code = self.b.ins().load(
            POINTER,
            func_ref_flags(),
            val,
            VMOffsets::FUNC_REF_WASM_CALL as i32,
        );
        self.b.ins().jump(merge, &[BlockArg::Value(code)]);
        self.b.seal_block(merge);
        self.b.switch_to_block(merge);
        self.b.block_params(merge)[0]
    }

    /// `table.grow`: in place when the table's inline capacity has room
    /// (writing the new elements and the length here), else through the
    /// libcall, which reallocates and asks the limiter. Returns the old size
    /// as an i64, or -1.
    fn table_grow(&mut self, table: u32, delta: Value, init: Value) -> Value {
        let def = self.table_definition(table);
        let len = self.b.ins().load(
            types::I64,
            vm_flags(),
            def,
            VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS as i32,
        );
        let capacity = self.b.ins().load(
            types::I64,
            vm_flags(),
            def,
            VMOffsets::TABLE_DEFINITION_INLINE_CAPACITY as i32,
        );
        let room = self.b.ins().isub(capacity, len);
        let fits = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, delta, room);
        let inline = self.b.create_block();
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::I64);
        self.b.set_cold_block(slow);
        self.b.ins().brif(fits, inline, &[], slow, &[]);

        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let t = self.b.ins().iconst(types::I32, i64::from(table));
        let r = self.libcall(LibcallIndex::table_grow, &[t, delta, init])[0];
        self.b.ins().jump(done, &[BlockArg::Value(r)]);

        // In place: write `init` to elements `len..len + delta`, then the
        // new length. The storage cannot move: there is no call in between.
        self.b.seal_block(inline);
        self.b.switch_to_block(inline);
        let funcs = self.t.info.tables[table as usize].element.is_func();
        let code = funcs.then(|| self.entry_code(init));
        let new_len = self.b.ins().iadd(len, delta);
        let base = self.b.ins().load(
            POINTER,
            vm_flags(),
            def,
            VMOffsets::TABLE_DEFINITION_BASE as i32,
        );
        let refs = funcs.then(|| {
            self.b.ins().load(
                POINTER,
                vm_flags(),
                def,
                VMOffsets::TABLE_DEFINITION_FUNC_REFS as i32,
            )
        });
        let head = self.b.create_block();
        self.b.append_block_param(head, types::I64);
        let body = self.b.create_block();
        let exit = self.b.create_block();
        self.b.ins().jump(head, &[BlockArg::Value(len)]);
        self.b.switch_to_block(head);
        let i = self.b.block_params(head)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, new_len);
        self.b.ins().brif(more, body, &[], exit, &[]);
        self.b.seal_block(body);
        self.b.switch_to_block(body);
        let offset = self
            .b
            .ins()
            .ishl_imm_s(i, i64::from(VMOffsets::TABLE_ELEMENT_SHIFT));
        let word = self.b.ins().iadd(base, offset);
        let func_ref = match refs {
            Some(refs) => (self.b.ins().iadd(refs, offset), 0),
            None => (word, 0),
        };
        self.store_element(word, func_ref, code, init);
        let next = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(head, &[BlockArg::Value(next)]);
        self.b.seal_block(head);
        self.b.seal_block(exit);
        self.b.switch_to_block(exit);
        self.b.ins().store(
            vm_flags(),
            new_len,
            def,
            VMOffsets::TABLE_DEFINITION_CURRENT_ELEMENTS as i32,
        );
        self.b.ins().jump(done, &[BlockArg::Value(len)]);

        self.b.seal_block(done);
        self.b.switch_to_block(done);
        self.b.block_params(done)[0]
    }

    // ---- Memories and globals -------------------------------------------

    /// Address of the memory's [`trestle_vmctx::VMMemoryDefinition`].
    fn memory_definition(&mut self, mem: u32) -> Value {
        match self.t.info.defined_memory_index(mem) {
            Some(def) => {
                let off = self.t.offsets.defined_memory(def);
                self.b.ins().iadd_imm_s(self.vmctx, i64::from(off))
            }
            None => {
                let off = self.t.offsets.imported_memory(mem) + VMOffsets::MEMORY_IMPORT_FROM;
                self.b
                    .ins()
                    .load(POINTER, readonly_flags(), self.vmctx, off as i32)
            }
        }
    }

    /// The effective address of an access and the immediate offset to use.
    ///
    /// Memories reserve 8 GiB plus a guard region, and a 32-bit index plus a
    /// 32-bit offset stays below that, so no explicit bounds check is needed:
    /// an access past the accessible length faults and becomes a trap.
    fn heap_addr(&mut self, memarg: &wasmparser::MemArg, index: Value) -> (Value, i32) {
        let wasmparser::MemArgTarget::Memory(mem) = memarg.target else {
            unreachable!("validated: GC arrays are not enabled")
        };
        let def = self.memory_definition(mem);
        let base = self.b.ins().load(
            POINTER,
            readonly_flags(),
            def,
            VMOffsets::MEMORY_DEFINITION_BASE as i32,
        );
        let index = self.b.ins().uextend(types::I64, index);
        let addr = self.b.ins().iadd(base, index);
        match i32::try_from(memarg.offset) {
            Ok(off) => (addr, off),
            Err(_) => {
                let off = memarg.offset as i64;
                (self.b.ins().iadd_imm_s(addr, off), 0)
            }
        }
    }

    fn load(&mut self, ty: Type, mem_ty: Type, signed: bool, memarg: &wasmparser::MemArg) -> Res {
        let index = self.pop();
        let (addr, off) = self.heap_addr(memarg, index);
        let flags = heap_flags();
        let v = if mem_ty == ty {
            self.b.ins().load(ty, flags, addr, off)
        } else {
            match (mem_ty, signed) {
                (types::I8, true) => self.b.ins().sload8(ty, flags, addr, off),
                (types::I8, false) => self.b.ins().uload8(ty, flags, addr, off),
                (types::I16, true) => self.b.ins().sload16(ty, flags, addr, off),
                (types::I16, false) => self.b.ins().uload16(ty, flags, addr, off),
                (types::I32, true) => self.b.ins().sload32(flags, addr, off),
                (types::I32, false) => self.b.ins().uload32(flags, addr, off),
                _ => unreachable!("no such load"),
            }
        };
        self.push(v);
        Ok(())
    }

    fn store(&mut self, narrow: Option<Type>, memarg: &wasmparser::MemArg) -> Res {
        let (index, value) = self.pop2();
        let (addr, off) = self.heap_addr(memarg, index);
        let flags = heap_flags();
        match narrow {
            None => self.b.ins().store(flags, value, addr, off),
            Some(types::I8) => self.b.ins().istore8(flags, value, addr, off),
            Some(types::I16) => self.b.ins().istore16(flags, value, addr, off),
            Some(_) => self.b.ins().istore32(flags, value, addr, off),
        };
        Ok(())
    }

    /// Address and type of a global's storage.
    fn global_addr(&mut self, global: u32) -> (Value, Type) {
        let ty = ir_type(self.t.info.globals[global as usize].ty);
        let addr = match self.t.info.defined_global_index(global) {
            Some(def) => {
                let off = self.t.offsets.defined_global(def);
                self.b.ins().iadd_imm_s(self.vmctx, i64::from(off))
            }
            None => {
                let off = self.t.offsets.imported_global(global) + VMOffsets::GLOBAL_IMPORT_FROM;
                self.b
                    .ins()
                    .load(POINTER, readonly_flags(), self.vmctx, off as i32)
            }
        };
        (addr, ty)
    }
}

/// Traps with "integer divide by zero" when `y` is zero.
/// An upper bound of the unsigned value of integer `v`, from the
/// instructions that compute it (looking `depth` definitions deep): the
/// constant itself, the smaller bound of a `band`, a right shift by a
/// constant, a remainder by a constant. The type's maximum when nothing
/// better is known.
fn max_value(dfg: &ir::DataFlowGraph, v: Value, depth: u32) -> u64 {
    let ty_max = match dfg.value_type(v).bits() {
        64 => u64::MAX,
        bits => (1u64 << bits) - 1,
    };
    let constant = |x: Value| -> Option<u64> {
        let ir::ValueDef::Result(inst, _) = dfg.value_def(x) else {
            return None;
        };
        match dfg.insts[inst] {
            ir::InstructionData::UnaryImm {
                opcode: ir::Opcode::Iconst,
                imm,
            } => Some(imm.bits() as u64 & ty_max),
            _ => None,
        }
    };
    if depth == 0 {
        return ty_max;
    }
    let ir::ValueDef::Result(inst, _) = dfg.value_def(v) else {
        return ty_max;
    };
    let args = dfg.inst_args(inst);
    let bound = match dfg.insts[inst].opcode() {
        ir::Opcode::Iconst => constant(v),
        ir::Opcode::Uextend => Some(max_value(dfg, args[0], depth - 1)),
        ir::Opcode::Band => {
            Some(max_value(dfg, args[0], depth - 1).min(max_value(dfg, args[1], depth - 1)))
        }
        ir::Opcode::Ushr => {
            let bits = u64::from(dfg.value_type(v).bits());
            constant(args[1]).map(|k| max_value(dfg, args[0], depth - 1) >> (k % bits))
        }
        ir::Opcode::Urem => constant(args[1])
            .filter(|c| *c > 0)
            .map(|c| (c - 1).min(max_value(dfg, args[0], depth - 1))),
        _ => None,
    };
    bound.unwrap_or(ty_max).min(ty_max)
}

fn guard_zero(b: &mut FunctionBuilder<'_>, y: Value) {
    b.ins().trapz(y, trap_code(Trap::IntegerDivisionByZero));
}

/// Traps with "integer overflow" for `MIN / -1`.
fn guard_signed_overflow(b: &mut FunctionBuilder<'_>, x: Value, y: Value) {
    let ty = b.func.dfg.value_type(x);
    let min = if ty == types::I32 {
        i64::from(i32::MIN)
    } else {
        i64::MIN
    };
    let is_min = b.ins().icmp_imm_s(IntCC::Equal, x, min);
    let is_neg1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
    let both = b.ins().band(is_min, is_neg1);
    b.ins().trapnz(both, trap_code(Trap::IntegerOverflow));
}

/// `x rem_s y` with `MIN rem_s -1 == 0` (a divisor of -1 always gives 0,
/// and must not reach the hardware instruction, which faults on MIN).
fn signed_rem(b: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let is_neg1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
    let one = b.ins().iconst(ty, 1);
    let safe_y = b.ins().select(is_neg1, one, y);
    b.ins().srem(x, safe_y)
}

/// The Cranelift signature of a libcall, from the one list in
/// `trestle-vmctx`.
pub(crate) fn libcall_signature(call_conv: CallConv, which: LibcallIndex) -> Signature {
    macro_rules! kind_type {
        (vmctx) => {
            POINTER
        };
        (ptr) => {
            POINTER
        };
        (i32) => {
            types::I32
        };
        (i64) => {
            types::I64
        };
    }
    macro_rules! signatures {
        ($( $(#[$attr:meta])* $name:ident( $($pname:ident: $pkind:ident),* ) $(-> $result:ident)?; )*) => {
            match which {
                $(LibcallIndex::$name => {
                    let mut sig = Signature::new(call_conv);
                    $( sig.params.push(AbiParam::new(kind_type!($pkind))); )*
                    $( sig.returns.push(AbiParam::new(kind_type!($result))); )?
                    sig
                })*
            }
        };
    }
    trestle_vmctx::foreach_libcall!(signatures)
}

/// A short name for an operator, for error messages.
fn operator_name(op: &Operator<'_>) -> String {
    let s = format!("{op:?}");
    let end = s.find([' ', '{', '(']).unwrap_or(s.len());
    s[..end].to_string()
}
