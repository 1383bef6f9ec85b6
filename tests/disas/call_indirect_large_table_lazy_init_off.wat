;;! table_lazy_init = false
;; As call_indirect_large.wat, compiled for eagerly initialized tables: a
;; null funcref faults on the first load through it (the code pointer or
;; the type id), which is the trap.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab 65536 funcref)
  (func (export "call") (param $x i32) (param $i i32) (result i32)
    (call_indirect $tab (type $t) (local.get $x) (local.get $i))))
