//! Reference instructions: `ref.null`, `ref.is_null`, `ref.eq`,
//! `ref.as_non_null` and `ref.func`. A reference is a pointer-sized value,
//! null is zero.

use super::super::BodyTranslator;
use crate::abi::{POINTER, trap_code};
use crate::index::FuncIndex;
use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::condcodes::IntCC;
use trestle_vmctx::Trap;
use wasmparser::Operator;

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a reference instruction.
    pub(in crate::translate) fn translate_reference(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        match *op {
            O::RefNull { .. } => self.push_with(|b| b.ins().iconst(POINTER, 0)),
            O::RefIsNull => self.eqz(),
            O::RefEq => self.icmp(IntCC::Equal),
            O::RefAsNonNull => {
                let v = self.stack.top();
                self.b.ins().trapz(v, trap_code(Trap::NullReference));
            }
            O::RefFunc { function_index } => {
                let v = self
                    .env
                    .ref_func(&mut self.b, FuncIndex::from_u32(function_index));
                self.stack.push(v);
            }
            _ => return false,
        }
        true
    }
}
