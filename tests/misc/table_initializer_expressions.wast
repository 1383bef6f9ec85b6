;; Tables with an initializer expression (function references proposal):
;; every element starts as the expression's value, element segments
;; overwrite their ranges, and the value may come from an imported global.
;; Such a table is filled at instantiation even with lazy tables.

(module $provider
  (type $r (func (result i32)))
  (func $seven (type $r) (i32.const 7))
  (global (export "seven") (ref $r) (ref.func $seven))
  (global (export "nullfunc") funcref (ref.null func))
)
(register "provider" $provider)

(module
  (type $r (func (result i32)))
  (import "provider" "seven" (global $seven (ref $r)))
  (func $one (type $r) (i32.const 1))
  (func $two (type $r) (i32.const 2))

  ;; Nullable funcref table, every element $one, two overwritten.
  (table $plain 10 funcref (ref.func $one))
  (elem (table $plain) (i32.const 3) func $two $two)

  ;; Non-nullable typed table from an imported global.
  (table $typed 5 20 (ref $r) (global.get $seven))

  ;; 64-bit table with an initializer.
  (table $wide i64 4 (ref null $r) (ref.func $two))

  (func (export "plain") (param i32) (result i32)
    (call_indirect $plain (type $r) (local.get 0)))
  (func (export "typed") (param i32) (result i32)
    (call_ref $r (table.get $typed (local.get 0))))
  (func (export "wide") (param i64) (result i32)
    (call_indirect $wide (type $r) (local.get 0)))
  (func (export "plain-is-null") (param i32) (result i32)
    (ref.is_null (table.get $plain (local.get 0))))
  (func (export "grow-typed") (param i32) (result i32)
    (table.grow $typed (ref.func $two) (local.get 0)))
  (func (export "size-typed") (result i32) (table.size $typed))
)

(assert_return (invoke "plain" (i32.const 0)) (i32.const 1))
(assert_return (invoke "plain" (i32.const 2)) (i32.const 1))
(assert_return (invoke "plain" (i32.const 3)) (i32.const 2))
(assert_return (invoke "plain" (i32.const 4)) (i32.const 2))
(assert_return (invoke "plain" (i32.const 5)) (i32.const 1))
(assert_return (invoke "plain" (i32.const 9)) (i32.const 1))
(assert_trap (invoke "plain" (i32.const 10)) "undefined element")
(assert_return (invoke "plain-is-null" (i32.const 9)) (i32.const 0))

(assert_return (invoke "typed" (i32.const 0)) (i32.const 7))
(assert_return (invoke "typed" (i32.const 4)) (i32.const 7))
(assert_trap (invoke "typed" (i32.const 5)) "out of bounds table access")
(assert_return (invoke "grow-typed" (i32.const 3)) (i32.const 5))
(assert_return (invoke "size-typed") (i32.const 8))
(assert_return (invoke "typed" (i32.const 4)) (i32.const 7))
(assert_return (invoke "typed" (i32.const 5)) (i32.const 2))
(assert_return (invoke "typed" (i32.const 7)) (i32.const 2))
(assert_return (invoke "grow-typed" (i32.const 13)) (i32.const -1))

(assert_return (invoke "wide" (i64.const 0)) (i32.const 2))
(assert_return (invoke "wide" (i64.const 3)) (i32.const 2))
(assert_trap (invoke "wide" (i64.const 4)) "undefined element")

;; A null initializer leaves the table null.
(module
  (type $r (func (result i32)))
  (import "provider" "nullfunc" (global $n funcref))
  (table $t 3 funcref (global.get $n))
  (func (export "call") (param i32) (result i32)
    (call_indirect $t (type $r) (local.get 0)))
)
(assert_trap (invoke "call" (i32.const 1)) "uninitialized element")

;; A non-nullable table needs an initializer.
(assert_invalid
  (module (type $r (func)) (table 1 (ref $r)))
  "type mismatch"
)
;; The initializer must have the element type.
(assert_invalid
  (module (type $r (func)) (type $s (func (result i32)))
    (func $f (type $s) (i32.const 0))
    (table 1 (ref $r) (ref.func $f)))
  "type mismatch"
)
