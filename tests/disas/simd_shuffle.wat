;; i8x16.shuffle with constant lane indices: interleaving the low halves
;; of two vectors and reversing the bytes of one. Each is one `shuffle`
;; with an immediate mask, which the backends match to their own
;; instructions (on x86-64 `punpcklbw` for the interleave and `pshufb`
;; with a constant mask for the reversal).
(module
  (func (export "interleave_low") (param v128 v128) (result v128)
    (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
      (local.get 0) (local.get 1)))
  (func (export "reverse") (param v128) (result v128)
    (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0
      (local.get 0) (local.get 0))))
