//! Exception handling: `try_table`, `throw` and `throw_ref`.
//!
//! A `try_table` is a block whose calls become `try_call`s; each of its
//! clauses gets a handler block, built when the `try_table` starts (its
//! labels are those around the `try_table`), that unpacks the payload when
//! the clause asks for it and branches to the clause's label. How the
//! calls and throws reach the runtime is the environment's
//! ([`crate::translate::env`]).

use super::super::env::Catch;
use super::super::stack::ControlKind;
use super::super::{BodyTranslator, Handled, block_args};
use crate::abi::{POINTER, ir_type};
use crate::index::TagIndex;
use cranelift_codegen::ir::{InstBuilder, Type};
use wasmparser::Operator;

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is an exception-handling instruction.
    pub(in crate::translate) fn translate_exception(&mut self, op: &Operator<'_>) -> Handled {
        match *op {
            Operator::TryTable { ref try_table } => {
                let (params, results) = self.block_type(try_table.ty)?;
                let next = self.new_block_with(&results);
                let body = self.b.create_block();
                self.b.ins().jump(body, &[]);
                let catches = try_table.catches.iter().map(|c| self.handler(c)).collect();
                self.b.seal_block(body);
                self.b.switch_to_block(body);
                self.env.push_catches(catches);
                self.open_frame(ControlKind::TryTable, next, params.len(), results.len());
            }
            Operator::Throw { tag_index } => {
                let tag = TagIndex::from_u32(tag_index);
                let n = self.env.info().tag_type(tag).params.len();
                let values = self.stack.top_n(n).to_vec();
                self.stack.drop_n(n);
                let exn = self.env.exn_new(&mut self.b, tag, &values);
                self.env.throw_ref(&mut self.b, exn);
                self.reachable = false;
            }
            Operator::ThrowRef => {
                let exn = self.stack.pop();
                self.env.throw_ref(&mut self.b, exn);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The handler block of clause `c` of a `try_table` being entered: it
    /// takes the `exnref`, unpacks the tag's payload (`catch`,
    /// `catch_ref`), appends the `exnref` itself (`catch_ref`,
    /// `catch_all_ref`) and branches to the clause's label.
    fn handler(&mut self, c: &wasmparser::Catch) -> Catch {
        use wasmparser::Catch as C;
        let (tag, label, with_ref) = match *c {
            C::One { tag, label } => (Some(TagIndex::from_u32(tag)), label, false),
            C::OneRef { tag, label } => (Some(TagIndex::from_u32(tag)), label, true),
            C::All { label } => (None, label, false),
            C::AllRef { label } => (None, label, true),
        };
        let handler = self.b.create_block();
        let exn = self.b.append_block_param(handler, POINTER);
        self.b.switch_to_block(handler);
        let mut values = match tag {
            Some(tag) => {
                let types: Vec<Type> = self
                    .env
                    .info()
                    .tag_type(tag)
                    .params
                    .iter()
                    .map(|t| ir_type(*t))
                    .collect();
                self.env.exn_payload(&mut self.b, exn, &types)
            }
            None => Vec::new(),
        };
        if with_ref {
            values.push(exn);
        }
        let (target, _) = self.control.branch_target_mut(label);
        self.b.ins().jump(target, &block_args(&values));
        Catch { tag, handler }
    }
}
