;;! features = memory64
;; table.grow: in place while the table's inline capacity has room (the new
;; elements are written in a loop, then the length), else through the
;; libcall on a cold path. A funcref table writes two words per element, an
;; externref table one; a 64-bit table takes and returns an i64.
(module
  (table $funcs 16 funcref)
  (table $externs 16 externref)
  (table $wide i64 16 funcref)
  (func (export "grow_func") (param $r funcref) (param $n i32) (result i32)
    (table.grow $funcs (local.get $r) (local.get $n)))
  (func (export "grow_extern") (param $r externref) (param $n i32) (result i32)
    (table.grow $externs (local.get $r) (local.get $n)))
  (func (export "grow_wide") (param $r funcref) (param $n i64) (result i64)
    (table.grow $wide (local.get $r) (local.get $n))))
