;; call_indirect through an imported table: the table definition's address
;; is loaded from the import's slot in the vmctx first.
(module
  (type $t (func (param i32) (result i32)))
  (import "env" "table" (table $tab 16 funcref))
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
