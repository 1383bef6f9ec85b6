;; call_indirect through a table of 2^16 entries, large enough that the
;; code pointer is read from the callee's funcref rather than from the
;; entry's code word: the fast path touches one of the table's two arrays.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 65536 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
