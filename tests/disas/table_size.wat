;;! features = memory64
;; table.size of a growable table (loaded from the table definition), of an
;; imported table (through the import's pointer), of a fixed-size table (a
;; constant) and of a 64-bit table (an i64, not reduced).
(module
  (import "env" "table" (table $imported 4 funcref))
  (table $funcs 16 funcref)
  (table $fixed 16 16 funcref)
  (table $wide i64 16 funcref)
  (func (export "size_func") (result i32) (table.size $funcs))
  (func (export "size_imported") (result i32) (table.size $imported))
  (func (export "size_fixed") (result i32) (table.size $fixed))
  (func (export "size_wide") (result i64) (table.size $wide)))
