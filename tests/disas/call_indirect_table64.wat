;;! features = memory64
;; call_indirect through a 64-bit table (memory64 proposal): the index is an
;; i64 and is not extended.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab i64 16 funcref)
  (func (export "call") (param $x i32) (param $i i64) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
