;; call_indirect through a table the module defines and may grow: the bound
;; is loaded from the table definition in the vmctx.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 16 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
