;;! features = tail_call
;; return_call_indirect through a table whose contents are known at compile
;; time, with one function of the expected type: a compare and a direct
;; tail call, the generic sequence (a tail call too) for every other index.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 4 funcref)
  (elem (table $tab) (i32.const 0) func $inc)
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (return_call_indirect $tab (type $t) (local.get $x) (local.get $i))))
