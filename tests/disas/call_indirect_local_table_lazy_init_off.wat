;;! table_lazy_init = false
;; call_indirect through a growable table the module defines, compiled for
;; eagerly initialized tables (`Config::table_lazy_init(false)`): a null
;; funcref is always a null entry, so the cold path has no lazy
;; initialization call.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 16 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
