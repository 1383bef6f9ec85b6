;;! table_lazy_init = false
;; table.get from a growable funcref table compiled for eagerly initialized
;; tables (`Config::table_lazy_init(false)`): the funcref word is the
;; result, with no cold path.
(module
  (table $funcs 16 funcref)
  (func (export "get_func") (param $i i32) (result funcref)
    (table.get $funcs (local.get $i))))
