//! Table instructions: `table.get`, `table.set`, `table.size`,
//! `table.grow`, and the bulk operations (`table.fill`, `table.copy`,
//! `table.init`, `elem.drop`).
//!
//! The inline sequences of get, set, size and grow are the environment's
//! ([`crate::translate::env`]); the bulk operations are libcalls, whose
//! indices and lengths are widened to i64 here.

use super::super::BodyTranslator;
use super::super::env::FuncEnvironment;
use crate::index::{ElemIndex, TableIndex};
use cranelift_codegen::ir::{InstBuilder, types};
use trestle_vmctx::LibcallIndex;
use wasmparser::Operator;

impl BodyTranslator<'_, '_> {
    /// Translates `op` if it is a table instruction.
    pub(in crate::translate) fn translate_table(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        let env = &mut self.env;
        let b = &mut self.b;
        match *op {
            O::TableGet { table } => {
                let table = TableIndex::from_u32(table);
                let index = self.stack.pop();
                let v = env.table_get(b, table, index);
                self.stack.push(v);
            }
            O::TableSet { table } => {
                let table = TableIndex::from_u32(table);
                let (index, val) = self.stack.pop2();
                env.table_set(b, table, index, val);
            }
            O::TableSize { table } => {
                let table = TableIndex::from_u32(table);
                let v = env.table_size(b, table);
                self.stack.push(v);
            }
            O::TableGrow { table } => {
                let table = TableIndex::from_u32(table);
                let (init, delta) = self.stack.pop2();
                let v = env.table_grow(b, table, delta, init);
                self.stack.push(v);
            }
            O::TableFill { table } => {
                let table = TableIndex::from_u32(table);
                let (dst, val, len) = self.stack.pop3();
                let dst = env.table_index_to_i64(b, table, dst);
                let len = env.table_index_to_i64(b, table, len);
                let t = FuncEnvironment::index_arg(b, table);
                env.libcall(b, LibcallIndex::table_fill, &[t, dst, val, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst_table, src_table) = (
                    TableIndex::from_u32(dst_table),
                    TableIndex::from_u32(src_table),
                );
                let (dst, src, len) = self.stack.pop3();
                let dst = env.table_index_to_i64(b, dst_table, dst);
                let src = env.table_index_to_i64(b, src_table, src);
                // The length has the smaller of the two index types.
                let len = if env.table64(dst_table) && env.table64(src_table) {
                    len
                } else {
                    b.ins().uextend(types::I64, len)
                };
                let dt = FuncEnvironment::index_arg(b, dst_table);
                let st = FuncEnvironment::index_arg(b, src_table);
                env.libcall(b, LibcallIndex::table_copy, &[dt, dst, st, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let (table, elem_index) =
                    (TableIndex::from_u32(table), ElemIndex::from_u32(elem_index));
                let (dst, src, len) = self.stack.pop3();
                let dst = env.table_index_to_i64(b, table, dst);
                let t = FuncEnvironment::index_arg(b, table);
                let e = FuncEnvironment::index_arg(b, elem_index);
                env.libcall(b, LibcallIndex::table_init, &[t, e, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let e = FuncEnvironment::index_arg(b, ElemIndex::from_u32(elem_index));
                env.libcall(b, LibcallIndex::elem_drop, &[e]);
            }
            _ => return false,
        }
        true
    }
}
