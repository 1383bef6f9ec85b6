;; call_indirect through a table that cannot grow with an index masked
;; below its size (as `i & (size - 1)` in a dispatch loop): the index is in
;; bounds by construction, so there is no bounds check and no clamp.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 16 16 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (i32.and (local.get $i) (i32.const 15)))))
