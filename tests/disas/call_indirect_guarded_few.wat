;; call_indirect with a variable index through a table the module writes
;; (table.set), where the element segment puts two functions of the
;; expected type: after the bounds check, the entry's funcref word is
;; compared with each of their funcrefs in this instance and a match is a
;; direct (here inlined) call; another function, null, or an entry lazy
;; initialization has not written yet takes the generic sequence, cold.
(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param i64) (result i64)))
  (table $tab 8 funcref)
  (elem (table $tab) (i32.const 0) func $inc $double $wide)
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $wide (type $u) (local.get 0))
  (func (export "set") (param $i i32)
    (table.set $tab (local.get $i) (ref.func $double)))
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
