;; c[i] = a[i] * b[i] over i32x4 lanes. A `v128.load` that goes straight
;; into a vector operation is loaded as the shape that operation works on
;; (`load.i32x4`, no `bitcast`), and a commutative operation takes it as
;; its second operand: with the product used once, the backend folds the
;; second load into the multiplication (on x86-64 `pmulld xmm, [mem]`).
(module
  (memory 1)
  (func (export "mul") (param $a i32) (param $b i32) (param $c i32) (param $n i32)
    (loop $next
      (v128.store (local.get $c)
        (i32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
