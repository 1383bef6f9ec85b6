//! Trampolines between the array calling convention (the host's) and the
//! wasm calling convention (compiled code's).
//!
//! - array-to-wasm, one per defined function the host may call (exported,
//!   in a table or a segment, a `ref.func` target, the start function;
//!   [`crate::ModuleInfo::escaping_funcs`]): the host enters compiled code
//!   through it with `(callee_vmctx, caller_vmctx, values, len)`; it loads the
//!   arguments from `values`, calls the function directly and stores the
//!   results back.
//! - wasm-to-array, one per host function type: compiled code calls a host
//!   function through it with the wasm convention; it spills the arguments to
//!   a stack array and calls the host's `array_call` read from the callee's
//!   [`trestle_vmctx::VMHostFuncContext`].

use crate::abi::{
    POINTER, enter_function, import_defined_function, ir_type, start_function, wasm_signature,
};
use crate::driver::compile_function;
use crate::index::FuncIndex;
use crate::types::{ModuleInfo, WasmFuncType};
use crate::{CompileError, Compiler};
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use trestle_vmctx::{VAL_RAW_SIZE, VMOffsets};

/// The signature of the array calling convention.
fn array_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    for _ in 0..4 {
        sig.params.push(AbiParam::new(POINTER));
    }
    sig
}

fn values_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_endianness(cranelift_codegen::ir::Endianness::Little)
}

/// Builds the array-to-wasm trampoline of defined function `func_index`.
pub(crate) fn build_array_to_wasm(
    compiler: &Compiler,
    info: &ModuleInfo,
    func_index: FuncIndex,
    ctx: &mut cranelift_codegen::Context,
    fctx: &mut FunctionBuilderContext,
) {
    let ty = info.func_type(func_index);
    start_function(
        &mut ctx.func,
        UserFuncName::user(1, func_index.as_u32()),
        array_signature(compiler.call_conv()),
    );
    let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
    let p = enter_function(&mut b);
    let (callee_vmctx, caller_vmctx, values) = (p[0], p[1], p[2]);

    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        let off = (i as u32 * VAL_RAW_SIZE) as i32;
        args.push(b.ins().load(ir_type(*t), values_flags(), values, off));
    }
    let sig = b.import_signature(wasm_signature(ty));
    let callee = import_defined_function(&mut b, func_index, sig);
    let call = b.ins().call(callee, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.iter().enumerate() {
        let off = (i as u32 * VAL_RAW_SIZE) as i32;
        b.ins().store(values_flags(), *r, values, off);
    }
    b.ins().return_(&[]);
    b.finalize(compiler.isa.frontend_config());
}

/// Machine code of a wasm-to-array trampoline.
#[derive(Debug, Clone)]
pub struct HostTrampoline {
    /// The code; the entry point is at offset 0.
    pub code: Vec<u8>,
}

impl Compiler {
    /// Compiles the trampoline through which compiled code calls a host
    /// function of type `ty`.
    ///
    /// # Errors
    ///
    /// When code generation fails.
    pub fn compile_host_trampoline(
        &self,
        ty: &WasmFuncType,
    ) -> Result<HostTrampoline, CompileError> {
        let mut ctx = cranelift_codegen::Context::new();
        let mut fctx = FunctionBuilderContext::new();
        ctx.func = Function::with_name_signature(UserFuncName::user(2, 0), wasm_signature(ty));
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let p = enter_function(&mut b);
        let (callee_vmctx, caller_vmctx) = (p[0], p[1]);
        // Where backtraces taken in the host start: this frame's record
        // holds the calling wasm function's frame pointer and return
        // address. The caller is always a wasm instance. Recorded even
        // with backtraces off (a load and a store, next to the host call),
        // so that a host function can still force a capture.
        let store_ctx = b.ins().load(
            POINTER,
            MemFlagsData::trusted().with_readonly(),
            caller_vmctx,
            VMOffsets::VMCTX_STORE_CONTEXT as i32,
        );
        let fp = b.ins().get_frame_pointer(POINTER);
        b.ins().store(
            MemFlagsData::trusted(),
            fp,
            store_ctx,
            VMOffsets::STORE_CONTEXT_LAST_WASM_EXIT_FP as i32,
        );
        let len = ty.params.len().max(ty.results.len()).max(1) as u32;
        let slot = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            len * VAL_RAW_SIZE,
            4,
        ));
        let values = b.ins().stack_addr(POINTER, slot, 0);
        for (i, v) in p[2..].iter().enumerate() {
            let off = (i as u32 * VAL_RAW_SIZE) as i32;
            b.ins().store(values_flags(), *v, values, off);
        }
        let host = b.ins().load(
            POINTER,
            MemFlagsData::trusted().with_readonly(),
            callee_vmctx,
            VMOffsets::HOST_CTX_ARRAY_CALL as i32,
        );
        let sig = b.import_signature(array_signature(self.call_conv()));
        let n = b.ins().iconst(POINTER, i64::from(len));
        b.ins()
            .call_indirect(sig, host, &[callee_vmctx, caller_vmctx, values, n]);
        let mut results = Vec::new();
        for (i, t) in ty.results.iter().enumerate() {
            let off = (i as u32 * VAL_RAW_SIZE) as i32;
            results.push(b.ins().load(ir_type(*t), values_flags(), values, off));
        }
        b.ins().return_(&results);
        b.finalize(self.isa.frontend_config());
        let compiled = compile_function(self, &mut ctx, &crate::inline::InlineSites::default())?;
        if !compiled.relocs.is_empty() {
            return Err(CompileError::codegen("host trampoline has relocations"));
        }
        Ok(HostTrampoline {
            code: compiled.code,
        })
    }
}
