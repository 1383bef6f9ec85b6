;; f32x4.min and f32x4.max propagate NaN and order -0 below +0, which
;; Cranelift's `fmin`/`fmax` do (on x86-64 `minps`/`maxps` plus the fix-up
;; of NaN and zero lanes). f32x4.pmin and f32x4.pmax are `y < x ? y : x`
;; and `x < y ? y : x`: a compare and a select, written in the operand
;; order that x86-64 turns into a single `minps`/`maxps`.
(module
  (func (export "min") (param v128 v128) (result v128)
    (f32x4.min (local.get 0) (local.get 1)))
  (func (export "max") (param v128 v128) (result v128)
    (f32x4.max (local.get 0) (local.get 1)))
  (func (export "pmin") (param v128 v128) (result v128)
    (f32x4.pmin (local.get 0) (local.get 1)))
  (func (export "pmax") (param v128 v128) (result v128)
    (f32x4.pmax (local.get 0) (local.get 1))))
