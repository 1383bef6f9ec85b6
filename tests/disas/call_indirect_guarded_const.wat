;; call_indirect with a constant index through a table the host may write
;; (it is exported): the slot's function at instantiation is only a guess.
;; The entry's funcref word is compared with that function's funcref in
;; this instance; when they are the same the function is called directly,
;; and here, small and a leaf, inlined: the loop body is the guard and the
;; add. Anything else in the slot takes the generic sequence, cold.
(module
  (type $t (func (param i32) (result i32)))
  (table $tab (export "t") 1 1 funcref)
  (elem (i32.const 0) func $inc)
  (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func (export "run") (param $n i32) (result i32)
    (local $acc i32)
    (loop $next
      (local.set $acc (call_indirect $tab (type $t) (local.get $acc) (i32.const 0)))
      (br_if $next (i32.lt_u (local.get $acc) (local.get $n))))
    (local.get $acc)))
