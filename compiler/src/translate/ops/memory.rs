//! Memory instructions: loads, stores, `memory.size`, `memory.grow` and the
//! bulk operations (`memory.fill`, `memory.copy`, `memory.init`,
//! `data.drop`).
//!
//! Where an access goes is the environment's
//! ([`crate::translate::env::FuncEnvironment::heap_address`]); this file
//! picks the Cranelift load or store. The bulk operations are libcalls.

use super::super::BodyTranslator;
use crate::index::{DataIndex, MemoryIndex};
use cranelift_codegen::ir::{InstBuilder, Type, Value, types};
use trestle_vmctx::LibcallIndex;
use wasmparser::{MemArg, Operator};

/// How a load extends a narrow value to its result type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extension {
    Signed,
    Unsigned,
}

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a memory instruction.
    pub(in crate::translate) fn translate_memory(&mut self, op: &Operator<'_>) -> bool {
        use Extension::{Signed, Unsigned};
        use Operator as O;
        use types::{F32, F64, I8, I16, I32, I64};
        match *op {
            O::I32Load { memarg } => self.load(I32, I32, Unsigned, &memarg),
            O::I64Load { memarg } => self.load(I64, I64, Unsigned, &memarg),
            O::F32Load { memarg } => self.load(F32, F32, Unsigned, &memarg),
            O::F64Load { memarg } => self.load(F64, F64, Unsigned, &memarg),
            O::I32Load8S { memarg } => self.load(I32, I8, Signed, &memarg),
            O::I32Load8U { memarg } => self.load(I32, I8, Unsigned, &memarg),
            O::I32Load16S { memarg } => self.load(I32, I16, Signed, &memarg),
            O::I32Load16U { memarg } => self.load(I32, I16, Unsigned, &memarg),
            O::I64Load8S { memarg } => self.load(I64, I8, Signed, &memarg),
            O::I64Load8U { memarg } => self.load(I64, I8, Unsigned, &memarg),
            O::I64Load16S { memarg } => self.load(I64, I16, Signed, &memarg),
            O::I64Load16U { memarg } => self.load(I64, I16, Unsigned, &memarg),
            O::I64Load32S { memarg } => self.load(I64, I32, Signed, &memarg),
            O::I64Load32U { memarg } => self.load(I64, I32, Unsigned, &memarg),
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.store(None, &memarg),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(Some(I8), &memarg),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(Some(I16), &memarg),
            O::I64Store32 { memarg } => self.store(Some(I32), &memarg),
            O::MemorySize { mem } => {
                let mem = MemoryIndex::from_u32(mem);
                let v = self.env.memory_size(&mut self.b, mem);
                self.stack.push(v);
            }
            O::MemoryGrow { mem } => {
                let mem = MemoryIndex::from_u32(mem);
                let delta = self.stack.pop();
                let delta = self.i64_arg(delta);
                let m = self.index_arg(mem);
                let r = self.libcall_value(LibcallIndex::memory_grow, &[m, delta]);
                let r = self.i64_result(r, self.env.memory_index_type(mem));
                self.stack.push(r);
            }
            O::MemoryFill { mem } => {
                let (dst, val, len) = self.stack.pop3();
                let m = self.index_arg(MemoryIndex::from_u32(mem));
                let (dst, len) = (self.i64_arg(dst), self.i64_arg(len));
                self.libcall(LibcallIndex::memory_fill, &[m, dst, val, len]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.stack.pop3();
                let (dst_mem, src_mem) = (
                    MemoryIndex::from_u32(dst_mem),
                    MemoryIndex::from_u32(src_mem),
                );
                let (dm, sm) = (self.index_arg(dst_mem), self.index_arg(src_mem));
                let (dst, src, len) = (self.i64_arg(dst), self.i64_arg(src), self.i64_arg(len));
                self.libcall(LibcallIndex::memory_copy, &[dm, dst, sm, src, len]);
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.stack.pop3();
                let (mem, data_index) =
                    (MemoryIndex::from_u32(mem), DataIndex::from_u32(data_index));
                let (m, d) = (self.index_arg(mem), self.index_arg(data_index));
                let dst = self.i64_arg(dst);
                self.libcall(LibcallIndex::memory_init, &[m, d, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let d = self.index_arg(DataIndex::from_u32(data_index));
                self.libcall(LibcallIndex::data_drop, &[d]);
            }
            _ => return false,
        }
        true
    }

    /// An address, length or page count of either index type as the i64
    /// a libcall takes: 32-bit ones are zero-extended.
    fn i64_arg(&mut self, v: Value) -> Value {
        if self.b.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            self.b.ins().uextend(types::I64, v)
        }
    }

    /// A libcall's i64 result as a value of type `ty` (truncated for i32).
    fn i64_result(&mut self, v: Value, ty: Type) -> Value {
        if ty == types::I64 {
            v
        } else {
            self.b.ins().ireduce(ty, v)
        }
    }

    /// A load of a `mem_ty` value, extended to `ty` when narrower.
    fn load(&mut self, ty: Type, mem_ty: Type, extend: Extension, memarg: &MemArg) {
        let index = self.stack.pop();
        let at = self.env.heap_address(&mut self.b, memarg, index);
        let (flags, addr, off) = (at.flags, at.base, at.offset);
        let ins = self.b.ins();
        let v = match (mem_ty, extend) {
            _ if mem_ty == ty => ins.load(ty, flags, addr, off),
            (types::I8, Extension::Signed) => ins.sload8(ty, flags, addr, off),
            (types::I8, Extension::Unsigned) => ins.uload8(ty, flags, addr, off),
            (types::I16, Extension::Signed) => ins.sload16(ty, flags, addr, off),
            (types::I16, Extension::Unsigned) => ins.uload16(ty, flags, addr, off),
            (types::I32, Extension::Signed) => ins.sload32(flags, addr, off),
            (types::I32, Extension::Unsigned) => ins.uload32(flags, addr, off),
            _ => unreachable!("no such load"),
        };
        self.stack.push(v);
    }

    /// A store of the value, truncated to `narrow` if given.
    fn store(&mut self, narrow: Option<Type>, memarg: &MemArg) {
        let (index, value) = self.stack.pop2();
        let at = self.env.heap_address(&mut self.b, memarg, index);
        let (flags, addr, off) = (at.flags, at.base, at.offset);
        let ins = self.b.ins();
        match narrow {
            None => ins.store(flags, value, addr, off),
            Some(types::I8) => ins.istore8(flags, value, addr, off),
            Some(types::I16) => ins.istore16(flags, value, addr, off),
            Some(_) => ins.istore32(flags, value, addr, off),
        };
    }
}
