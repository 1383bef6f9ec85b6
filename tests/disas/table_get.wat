;; table.get from a growable funcref table (a null funcref sends it to a
;; cold path that tells a null entry from one lazy initialization has not
;; written yet), from a fixed-size funcref table (constant bound and
;; funcref offset) and from an externref table (one word, no cold path).
(module
  (table $funcs 16 funcref)
  (table $fixed 16 16 funcref)
  (table $externs 16 externref)
  (func (export "get_func") (param $i i32) (result funcref)
    (table.get $funcs (local.get $i)))
  (func (export "get_fixed") (param $i i32) (result funcref)
    (table.get $fixed (local.get $i)))
  (func (export "get_extern") (param $i i32) (result externref)
    (table.get $externs (local.get $i))))
