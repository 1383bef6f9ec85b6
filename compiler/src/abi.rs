//! How compiled code meets the rest of the system: the Cranelift types of
//! wasm values, the signatures of wasm functions and libcalls, and the
//! mapping between Cranelift trap codes and [`Trap`].
//!
//! The translator, the trampolines and the code-emission driver all build
//! on these, so each is defined once; so are the two steps every built
//! function shares (entering it, declaring a direct callee).

use crate::index::FuncIndex;
use crate::types::{WasmFuncType, WasmValType};
use cranelift_codegen::ir::{
    AbiParam, ArgumentPurpose, ExtFuncData, ExternalName, FuncRef, Function, SigRef, Signature,
    TrapCode, Type, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use trestle_vmctx::{LibcallIndex, Trap};

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

/// Empties `func` for building the function `name` of signature `sig`, as
/// [`Function::with_name_signature`] would make it, but keeping the memory
/// of the previous function: compiling the functions of a module one after
/// the other then allocates little.
pub(crate) fn start_function(func: &mut Function, name: UserFuncName, sig: Signature) {
    func.clear();
    // `Function::clear` leaves the exception tables behind.
    func.dfg.exception_tables.clear();
    func.name = name;
    func.signature = sig;
}

/// Creates the entry block of the function `b` builds, with the
/// function's parameters, and moves there; returns the parameters.
pub(crate) fn enter_function(b: &mut FunctionBuilder<'_>) -> Vec<Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.block_params(entry).to_vec()
}

/// Declares defined function `func_index`, of signature `sig`, as a
/// direct callee of the function `b` builds (a relocation the module's
/// linker resolves).
pub(crate) fn import_defined_function(
    b: &mut FunctionBuilder<'_>,
    func_index: FuncIndex,
    sig: SigRef,
) -> FuncRef {
    let name = b
        .func
        .declare_imported_user_function(UserExternalName::new(0, func_index.as_u32()));
    b.import_function(ExtFuncData {
        name: ExternalName::user(name),
        signature: sig,
        colocated: true,
        patchable: false,
    })
}

/// The Cranelift signature of a libcall, from the one list in
/// `trestle-vmctx`.
///
/// `throw_ref` is the exception: compiled code calls the runtime's throw
/// stub in its slot, with the `tail` convention (so that at the handlers
/// of a `try_call` of it every register counts as clobbered, which is
/// what lets the runtime resume there without restoring any) and only
/// `(vmctx, exn)`; the stub adds the frame pointer and return address.
pub(crate) fn libcall_signature(call_conv: CallConv, which: LibcallIndex) -> Signature {
    if which == LibcallIndex::throw_ref {
        let mut sig = Signature::new(CallConv::Tail);
        sig.params.push(AbiParam::new(POINTER));
        sig.params.push(AbiParam::new(POINTER));
        return sig;
    }
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
