//! Calls: `call`, `call_indirect`, `call_ref` and their tail-call forms.
//!
//! The parameters are the top of the operand stack; the call sequences
//! themselves (how a callee, its vmctx and its code pointer are found) are
//! the environment's ([`crate::translate::env`]).

use super::super::env::{CallKind, CallResults, FuncEnvironment};
use super::super::{BodyTranslator, Handled};
use crate::index::{FuncIndex, TableIndex, TypeIndex};
use wasmparser::Operator;

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a call.
    pub(in crate::translate) fn translate_call(&mut self, op: &Operator<'_>) -> Handled {
        use CallKind::{Call, TailCall};
        use Operator as O;
        // A tail call is translated as the call it replaces, of another kind.
        let kind = match *op {
            O::ReturnCall { .. } | O::ReturnCallIndirect { .. } | O::ReturnCallRef { .. } => {
                TailCall
            }
            _ => Call,
        };
        match *op {
            O::Call { function_index } | O::ReturnCall { function_index } => {
                self.call(FuncIndex::from_u32(function_index), kind)
            }
            O::CallIndirect {
                type_index,
                table_index,
            }
            | O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let table = TableIndex::from_u32(table_index);
                self.call_indirect(TypeIndex::from_u32(type_index), table, kind)?
            }
            O::CallRef { type_index } | O::ReturnCallRef { type_index } => {
                self.call_ref(TypeIndex::from_u32(type_index), kind)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn num_params(&self, type_index: TypeIndex) -> usize {
        self.env.info().types[type_index].params.len()
    }

    fn call(&mut self, func: FuncIndex, kind: CallKind) {
        let n = self.env.info().func_type(func).params.len();
        let call = self
            .env
            .call_function(&mut self.b, func, self.stack.top_n(n), kind);
        self.finish_call(call, n);
    }

    fn call_indirect(
        &mut self,
        type_index: TypeIndex,
        table: TableIndex,
        kind: CallKind,
    ) -> Result<(), crate::CompileError> {
        let index = self.stack.pop();
        let n = self.num_params(type_index);
        let params = self.stack.top_n(n);
        let results =
            self.env
                .call_indirect(&mut self.b, type_index, table, index, params, kind)?;
        self.finish_call(results, n);
        Ok(())
    }

    fn call_ref(&mut self, type_index: TypeIndex, kind: CallKind) {
        let func_ref = self.stack.pop();
        let callee = FuncEnvironment::func_ref_callee(&mut self.b, func_ref);
        let n = self.num_params(type_index);
        let params = self.stack.top_n(n);
        let call = self
            .env
            .call_func_ref(&mut self.b, type_index, callee, params, kind);
        self.finish_call(call, n);
    }

    /// Replaces the `num_params` arguments on the stack with the call's
    /// `results`, or, after a tail call (`None`), drops them: the rest of
    /// the block is unreachable.
    fn finish_call(&mut self, results: CallResults, num_params: usize) {
        self.stack.drop_n(num_params);
        match results {
            Some(results) => self.stack.extend(&results),
            None => self.reachable = false,
        }
    }
}
