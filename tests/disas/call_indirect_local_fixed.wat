;; call_indirect through a defined table that cannot grow (maximum equals
;; minimum, as toolchains emit it): the bound is a constant.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 16 16 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
