;; v128.load32_splat: a 32-bit load from linear memory, addressed and
;; bounds-checked by the guard region like a scalar load, then `splat`
;; (on x86-64 one `vbroadcastss` with AVX, or a load and `pshufd`).
(module
  (memory 1)
  (func (export "load32_splat") (param i32) (result v128)
    (v128.load32_splat offset=12 (local.get 0))))
