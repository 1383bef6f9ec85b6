;; Loads from 64-bit memories: `index + offset` (trapping on overflow)
;; compared with the length, and the address replaced by null through
;; `select_spectre_guard` when out of bounds. A memory that can grow reads
;; its length per access; one whose maximum is its minimum compares with a
;; constant.
(module
  (memory i64 1)
  (memory i64 2 2)
  (func (export "load_growable") (param i64) (result i32)
    (i32.load offset=8 (local.get 0)))
  (func (export "load_fixed") (param i64) (result i32)
    (i32.load 1 (local.get 0))))
