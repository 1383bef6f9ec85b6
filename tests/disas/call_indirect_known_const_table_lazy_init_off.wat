;;! table_lazy_init = false
;; call_indirect with a constant index through a table whose contents are
;; known at compile time (defined, not exported, written only by its active
;; element segment): a direct call when the slot holds a function of the
;; expected type, otherwise the trap the generic sequence would raise
;; (a function of another type, a null slot, an index past the end).
(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param i64) (result i64)))
  (table $tab 8 8 funcref)
  (elem (table $tab) (i32.const 0) func $inc $inc $double $wide)
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $wide (type $u) (local.get 0))
  (func (export "direct") (param $x i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.const 2)))
  (func (export "wrong_type") (param $x i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.const 3)))
  (func (export "null") (param $x i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.const 5)))
  (func (export "out_of_bounds") (param $x i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.const 8))))
