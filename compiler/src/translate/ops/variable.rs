//! Variable and parametric instructions: locals, globals, `drop` and
//! `select`.

use super::super::BodyTranslator;
use crate::index::GlobalIndex;
use cranelift_codegen::ir::InstBuilder;
use wasmparser::Operator;

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a variable or parametric instruction.
    pub(in crate::translate) fn translate_variable(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        match *op {
            O::Drop => {
                self.stack.pop();
            }
            O::Select | O::TypedSelect { .. } | O::TypedSelectMulti { .. } => {
                let (x, y, c) = self.stack.pop3();
                let r = self.b.ins().select(c, x, y);
                self.stack.push(r);
            }
            O::LocalGet { local_index } => {
                let v = self.b.use_var(self.locals[local_index as usize]);
                self.stack.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.stack.pop();
                self.b.def_var(self.locals[local_index as usize], v);
            }
            O::LocalTee { local_index } => {
                let v = self.stack.top();
                self.b.def_var(self.locals[local_index as usize], v);
            }
            O::GlobalGet { global_index } => {
                let v = self
                    .env
                    .global_get(&mut self.b, GlobalIndex::from_u32(global_index));
                self.stack.push(v);
            }
            O::GlobalSet { global_index } => {
                let v = self.stack.pop();
                self.env
                    .global_set(&mut self.b, GlobalIndex::from_u32(global_index), v);
            }
            _ => return false,
        }
        true
    }
}
