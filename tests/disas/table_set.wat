;; table.set into a growable funcref table (the code word is copied out of
;; the funcref, or the null entry's marker, beside the funcref word), into a
;; fixed-size funcref table, and into an externref table (one word).
(module
  (table $funcs 16 funcref)
  (table $fixed 16 16 funcref)
  (table $externs 16 externref)
  (func (export "set_func") (param $i i32) (param $r funcref)
    (table.set $funcs (local.get $i) (local.get $r)))
  (func (export "set_fixed") (param $i i32) (param $r funcref)
    (table.set $fixed (local.get $i) (local.get $r)))
  (func (export "set_extern") (param $i i32) (param $r externref)
    (table.set $externs (local.get $i) (local.get $r))))
