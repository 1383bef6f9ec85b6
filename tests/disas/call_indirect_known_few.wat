;; call_indirect through a table whose contents are known at compile time,
;; where only two functions have the expected type: the index is compared
;; against their slots (a range check for the run of three slots holding
;; $inc) and a match is a direct call; every other index takes the generic
;; sequence, cold since the expected type is final (it can only trap).
(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param i64) (result i64)))
  (table $tab 8 8 funcref)
  (elem (table $tab) (i32.const 1) func $inc $inc $inc $wide $double)
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $wide (type $u) (local.get 0))
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
