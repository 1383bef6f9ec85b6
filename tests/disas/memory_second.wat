;; A load from memory 0 and from a second, defined memory: the same code,
;; only the vmctx offset of the base differs (a read-only, movable load
;; that Cranelift hoists out of loops). No bounds check for 32-bit
;; memories: the guard region catches out-of-bounds accesses.
(module
  (memory 1)
  (memory 1)
  (func (export "load0") (param i32) (result i32)
    (i32.load offset=8 (local.get 0)))
  (func (export "load1") (param i32) (result i32)
    (i32.load 1 offset=8 (local.get 0))))
