//! Modules the tests of more than one subject instantiate.

/// Four slots of a funcref table, all holding a function returning 7;
/// `call` calls a slot, `grow` grows the table by null entries and `ok`
/// returns 42 (see [`super::assert_usable`]).
pub const FOUR_SLOTS: &str = r#"
(module
  (type $v (func (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $a $a $a $a)
  (func $a (type $v) i32.const 7)
  (func (export "call") (param i32) (result i32) (call_indirect $t (type $v) (local.get 0)))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "ok") (result i32) i32.const 42))
"#;

/// One function per type below, at the same index in the table as its
/// type; `call_<type>` calls slot `i` with that type.
pub const SIGNATURES: &str = r#"
(module
  (type $i64 (func (param i64) (result i64)))
  (type $f64 (func (param f64) (result f64)))
  (type $if (func (param i32 f32) (result i32)))
  (type $fi (func (param f32 i32) (result i32)))
  (type $i_to_f (func (param i32) (result f32)))
  (type $f_to_i (func (param f32) (result i32)))
  (type $two (func (result i32 i32)))
  (type $three (func (result i32 i32 i32)))
  (type $zero_params (func (result i32)))
  (type $one_param (func (param i32) (result i32)))
  (table 10 funcref)
  (elem (i32.const 0) func $i64 $f64 $if $fi $i_to_f $f_to_i $two $three $zero_params $one_param)
  (func $i64 (type $i64) local.get 0)
  (func $f64 (type $f64) local.get 0)
  (func $if (type $if) local.get 0)
  (func $fi (type $fi) local.get 1)
  (func $i_to_f (type $i_to_f) f32.const 1)
  (func $f_to_i (type $f_to_i) i32.const 1)
  (func $two (type $two) i32.const 1 i32.const 2)
  (func $three (type $three) i32.const 1 i32.const 2 i32.const 3)
  (func $zero_params (type $zero_params) i32.const 1)
  (func $one_param (type $one_param) local.get 0)
  (func (export "call_i64") (param i32) (drop (call_indirect (type $i64) (i64.const 1) (local.get 0))))
  (func (export "call_f64") (param i32) (drop (call_indirect (type $f64) (f64.const 1) (local.get 0))))
  (func (export "call_if") (param i32) (drop (call_indirect (type $if) (i32.const 1) (f32.const 1) (local.get 0))))
  (func (export "call_fi") (param i32) (drop (call_indirect (type $fi) (f32.const 1) (i32.const 1) (local.get 0))))
  (func (export "call_i_to_f") (param i32) (drop (call_indirect (type $i_to_f) (i32.const 1) (local.get 0))))
  (func (export "call_f_to_i") (param i32) (drop (call_indirect (type $f_to_i) (f32.const 1) (local.get 0))))
  (func (export "call_two") (param i32) (drop (drop (call_indirect (type $two) (local.get 0)))))
  (func (export "call_three") (param i32) (drop (drop (drop (call_indirect (type $three) (local.get 0))))))
  (func (export "call_zero_params") (param i32) (drop (call_indirect (type $zero_params) (local.get 0))))
  (func (export "call_one_param") (param i32) (drop (call_indirect (type $one_param) (i32.const 1) (local.get 0))))
  (func (export "ok") (result i32) i32.const 42))
"#;

/// A funcref table `t` of 1 to 10 entries, its first holding `$one`
/// (returning 1); `grow` grows it by copies of `$one`, `grow_null` by
/// null entries, `call` calls an entry and `size` is its size.
pub const GROW32: &str = r#"
(module
  (type $t (func (result i32)))
  (table $tab (export "t") 1 10 funcref)
  (elem (i32.const 0) $one)
  (func $one (type $t) i32.const 1)
  (func (export "grow") (param i32) (result i32) (table.grow (ref.func $one) (local.get 0)))
  (func (export "grow_null") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "size") (result i32) table.size))
"#;
