;; i32x4.dot_i16x8_s, alone and in a loop summing the dot products of two
;; i16 arrays. The dot product is the widening multiply-and-pairwise-add
;; shape x86-64 selects `pmaddwd` for; in the loop the dot product goes to
;; the `i32x4.add` without a `bitcast` in between. The accumulator, a
;; local, is an `i8x16` like every `v128` between operations, reinterpreted
;; where it is used: a `bitcast` between vector types costs no
;; instruction. The loop body is two loads, `pmaddwd` and `paddd`.
(module
  (memory 1)
  (func (export "dot") (param v128 v128) (result v128)
    (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))
  (func (export "dot_sum") (param $a i32) (param $b i32) (param $n i32) (result v128)
    (local $acc v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc
          (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s (v128.load (local.get $a)) (v128.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
