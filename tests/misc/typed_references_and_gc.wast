;; Typed function references and the part of the GC proposal Trestle
;; implements: concrete reference types in tables, globals and signatures,
;; call_ref, br_on_null, br_on_non_null, ref.as_non_null, declared subtypes
;; in call_indirect, recursion groups, arrays allocated by constant
;; expressions, and ref.eq.

;; call_ref and the null checks.
(module
  (type $ii (func (param i32) (result i32)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $inc $dbl)
  (global $g (mut (ref null $ii)) (ref.null $ii))

  (func (export "call_ref") (param i32 i32) (result i32)
    (call_ref $ii
      (local.get 1)
      (if (result (ref $ii)) (local.get 0)
        (then (ref.func $inc))
        (else (ref.func $dbl)))))
  (func (export "call_null") (result i32)
    (call_ref $ii (i32.const 1) (global.get $g)))
  (func (export "set_and_call") (param i32) (result i32)
    (global.set $g (ref.func $dbl))
    (call_ref $ii (local.get 0) (global.get $g)))
  (func (export "as_non_null_of_null")
    (drop (ref.as_non_null (ref.null $ii))))
  (func (export "br_on_null") (param i32) (result i32)
    (block $null
      (return
        (call_ref $ii
          (i32.const 10)
          (br_on_null $null
            (if (result (ref null $ii)) (local.get 0)
              (then (ref.func $inc))
              (else (ref.null $ii)))))))
    (i32.const -1))
  (func (export "br_on_non_null") (param i32) (result i32)
    (call_ref $ii
      (i32.const 20)
      (block $some (result (ref $ii))
        (br_on_non_null $some
          (if (result (ref null $ii)) (local.get 0)
            (then (ref.func $dbl))
            (else (ref.null $ii))))
        (return (i32.const -1)))))
)

(assert_return (invoke "call_ref" (i32.const 1) (i32.const 5)) (i32.const 6))
(assert_return (invoke "call_ref" (i32.const 0) (i32.const 5)) (i32.const 10))
(assert_trap (invoke "call_null") "null function reference")
(assert_return (invoke "set_and_call" (i32.const 21)) (i32.const 42))
(assert_trap (invoke "as_non_null_of_null") "null reference")
(assert_return (invoke "br_on_null" (i32.const 1)) (i32.const 11))
(assert_return (invoke "br_on_null" (i32.const 0)) (i32.const -1))
(assert_return (invoke "br_on_non_null" (i32.const 1)) (i32.const 40))
(assert_return (invoke "br_on_non_null" (i32.const 0)) (i32.const -1))

;; A typed table: call_indirect through it, table.copy into a funcref table.
(module $typed
  (type $v (func (result i32)))
  (table $t (export "t") 4 (ref null $v))
  (table $f 4 funcref)
  (func $one (type $v) (i32.const 1))
  (func $two (type $v) (i32.const 2))
  (elem (table $t) (i32.const 0) (ref null $v) (ref.func $one) (ref.func $two))
  (func (export "call") (param i32) (result i32)
    (call_indirect $t (type $v) (local.get 0)))
  (func (export "copy_and_call") (param i32) (result i32)
    (table.copy $f $t (i32.const 0) (i32.const 0) (i32.const 4))
    (call_indirect $f (type $v) (local.get 0)))
)
(register "typed" $typed)

(assert_return (invoke "call" (i32.const 1)) (i32.const 2))
(assert_trap (invoke "call" (i32.const 2)) "uninitialized element")
(assert_return (invoke "copy_and_call" (i32.const 0)) (i32.const 1))

;; The imported table type must name a structurally equal element type.
(module
  (type $same (func (result i32)))
  (import "typed" "t" (table 4 (ref null $same)))
)
(assert_unlinkable
  (module
    (type $other (func (result i64)))
    (import "typed" "t" (table 4 (ref null $other))))
  "incompatible import type")
(assert_unlinkable
  (module (import "typed" "t" (table 4 funcref)))
  "incompatible import type")

;; Declared subtypes: call_indirect accepts a function whose type declares
;; the expected type as a supertype, and still rejects unrelated types.
(module
  (type $base (sub (func (result i32))))
  (type $derived (sub $base (func (result i32))))
  (type $leaf (sub final $derived (func (result i32))))
  ;; Structurally like $base but final: a different type, no subtype.
  (type $unrelated (func (result i32)))
  (table 4 funcref)
  (func $d (type $derived) (i32.const 10))
  (func $l (type $leaf) (i32.const 20))
  (func $u (type $unrelated) (i32.const 30))
  (elem (i32.const 0) func $d $l $u)
  (func (export "as_base") (param i32) (result i32)
    (call_indirect (type $base) (local.get 0)))
  (func (export "as_derived") (param i32) (result i32)
    (call_indirect (type $derived) (local.get 0)))
  (func (export "as_leaf") (param i32) (result i32)
    (call_indirect (type $leaf) (local.get 0)))
)
(assert_return (invoke "as_base" (i32.const 0)) (i32.const 10))
(assert_return (invoke "as_base" (i32.const 1)) (i32.const 20))
(assert_trap (invoke "as_base" (i32.const 2)) "indirect call type mismatch")
(assert_return (invoke "as_derived" (i32.const 1)) (i32.const 20))
(assert_trap (invoke "as_derived" (i32.const 2)) "indirect call type mismatch")
(assert_trap (invoke "as_leaf" (i32.const 0)) "indirect call type mismatch")
(assert_return (invoke "as_leaf" (i32.const 1)) (i32.const 20))

;; Recursion groups canonicalize across modules: a function whose type is
;; the first member of an equal group is accepted by call_indirect there.
(module $rec_a
  (rec (type $f (func (param (ref null $g)) (result i32))) (type $g (func)))
  (func (export "f") (type $f) (i32.const 7))
)
(register "rec_a" $rec_a)
(module
  (rec (type $f (func (param (ref null $g)) (result i32))) (type $g (func)))
  (type $lonely (func (param (ref null $g)) (result i32)))
  (import "rec_a" "f" (func $imported (type $f)))
  (table 1 funcref)
  (elem (i32.const 0) func $imported)
  (func (export "same_group") (result i32)
    (call_indirect (type $f) (ref.null $g) (i32.const 0)))
  (func (export "other_group") (result i32)
    (call_indirect (type $lonely) (ref.null $g) (i32.const 0)))
)
(assert_return (invoke "same_group") (i32.const 7))
(assert_trap (invoke "other_group") "indirect call type mismatch")

;; Arrays made by constant expressions: segments evaluated once, tables and
;; globals of array references, ref.eq.
(module
  (type $bytes (array (mut i8)))
  (type $nested (array (ref null $bytes)))
  (global $a (ref $bytes) (array.new $bytes (i32.const 300) (i32.const 3)))
  (global $b (ref $nested) (array.new_fixed $nested 2 (global.get $a) (ref.null $bytes)))
  (table $t 4 eqref)
  (elem $e eqref (item (global.get $a)) (item (array.new_default $bytes (i32.const 5))))
  (func (export "init") (param i32)
    (table.init $t $e (local.get 0) (i32.const 0) (i32.const 2)))
  (func (export "same") (param i32 i32) (result i32)
    (ref.eq (table.get $t (local.get 0)) (table.get $t (local.get 1))))
  (func (export "is_global_a") (param i32) (result i32)
    (ref.eq (table.get $t (local.get 0)) (global.get $a)))
  (func (export "get") (param i32) (result eqref) (table.get $t (local.get 0)))
  (func (export "nested") (result (ref $nested)) (global.get $b))
)
(assert_return (invoke "same" (i32.const 0) (i32.const 1)) (i32.const 1))
(invoke "init" (i32.const 0))
(invoke "init" (i32.const 2))
(assert_return (invoke "same" (i32.const 0) (i32.const 2)) (i32.const 1))
(assert_return (invoke "same" (i32.const 1) (i32.const 3)) (i32.const 1))
(assert_return (invoke "same" (i32.const 0) (i32.const 1)) (i32.const 0))
(assert_return (invoke "is_global_a" (i32.const 2)) (i32.const 1))
(assert_return (invoke "is_global_a" (i32.const 3)) (i32.const 0))
(assert_return (invoke "get" (i32.const 1)) (ref.array))
(assert_return (invoke "nested") (ref.array))
