;; call_indirect and table.get/set on tables that cannot grow, with indices
;; the compiler can prove in bounds (a mask, a shift, a remainder, a
;; constant) and indices it cannot: the proven ones skip the bounds check,
;; so every entry they reach must still be checked for null and type, and
;; the unproven ones must still trap past the end.

(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (table $t 16 16 funcref)
  (elem (table $t) (i32.const 0) func $a $b $c)
  (elem (table $t) (i32.const 15) func $wrong)
  (func $a (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $b (type $ii) (i32.add (local.get 0) (i32.const 2)))
  (func $c (type $ii) (i32.add (local.get 0) (i32.const 3)))
  (func $wrong (type $v))

  ;; i & 15: always below 16.
  (func (export "masked") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.and (local.get $i) (i32.const 15))))
  ;; i & 31: may be 16..31, checked.
  (func (export "wide-mask") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.and (local.get $i) (i32.const 31))))
  ;; i >> 28: below 16.
  (func (export "shifted") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.shr_u (local.get $i) (i32.const 28))))
  ;; i >> 27: may be 16..31, checked.
  (func (export "short-shift") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.shr_u (local.get $i) (i32.const 27))))
  ;; A shift count of 60 is 60 mod 32 = 28.
  (func (export "shift-wraps") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.shr_u (local.get $i) (i32.const 60))))
  ;; A shift count of 35 is 3: may be large, checked.
  (func (export "shift-wraps-small") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.shr_u (local.get $i) (i32.const 35))))
  ;; i % 16: below 16.
  (func (export "rem") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.rem_u (local.get $i) (i32.const 16))))
  ;; i % 17: may be 16, checked.
  (func (export "rem17") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.rem_u (local.get $i) (i32.const 17))))
  (func (export "const2") (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.const 2)))
  (func (export "const16") (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.const 16)))
  (func (export "get-masked") (param $i i32) (result funcref)
    (table.get $t (i32.and (local.get $i) (i32.const 7))))
  (func (export "clear-masked") (param $i i32)
    (table.set $t (i32.and (local.get $i) (i32.const 7)) (ref.null func)))
)

(assert_return (invoke "masked" (i32.const 0)) (i32.const 101))
(assert_return (invoke "masked" (i32.const 17)) (i32.const 102))
(assert_return (invoke "masked" (i32.const -14)) (i32.const 103))
(assert_trap (invoke "masked" (i32.const 3)) "uninitialized element")
(assert_trap (invoke "masked" (i32.const 15)) "indirect call type mismatch")
(assert_trap (invoke "masked" (i32.const -1)) "indirect call type mismatch")
(assert_return (invoke "wide-mask" (i32.const 33)) (i32.const 102))
(assert_trap (invoke "wide-mask" (i32.const 16)) "undefined element")
(assert_trap (invoke "wide-mask" (i32.const 31)) "undefined element")
(assert_return (invoke "shifted" (i32.const 0x1fffffff)) (i32.const 102))
(assert_trap (invoke "shifted" (i32.const -1)) "indirect call type mismatch")
(assert_trap (invoke "short-shift" (i32.const -1)) "undefined element")
(assert_return (invoke "short-shift" (i32.const 0x10000000)) (i32.const 103))
(assert_return (invoke "shift-wraps" (i32.const 0x20000000)) (i32.const 103))
(assert_trap (invoke "shift-wraps-small" (i32.const 128)) "undefined element")
(assert_return (invoke "shift-wraps-small" (i32.const 8)) (i32.const 102))
(assert_return (invoke "rem" (i32.const 33)) (i32.const 102))
(assert_trap (invoke "rem" (i32.const -1)) "indirect call type mismatch")
(assert_trap (invoke "rem17" (i32.const 16)) "undefined element")
(assert_return (invoke "rem17" (i32.const 18)) (i32.const 102))
(assert_return (invoke "const2") (i32.const 103))
(assert_trap (invoke "const16") "undefined element")
(assert_return (invoke "get-masked" (i32.const 13)) (ref.null func))
(invoke "clear-masked" (i32.const 9))
(assert_trap (invoke "masked" (i32.const 1)) "uninitialized element")
(assert_return (invoke "masked" (i32.const 2)) (i32.const 103))

;; The same on a 64-bit table.
(module
  (type $ii (func (param i32) (result i32)))
  (table $t i64 8 8 funcref)
  (elem (table $t) (i64.const 1) func $a)
  (func $a (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func (export "masked") (param $i i64) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i64.and (local.get $i) (i64.const 7))))
  (func (export "shifted") (param $i i64) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i64.shr_u (local.get $i) (i64.const 61))))
  (func (export "unmasked") (param $i i64) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (local.get $i)))
)

(assert_return (invoke "masked" (i64.const 0x100000001)) (i32.const 101))
(assert_trap (invoke "masked" (i64.const 2)) "uninitialized element")
(assert_trap (invoke "shifted" (i64.const -1)) "uninitialized element")
(assert_return (invoke "shifted" (i64.const 0x2000000000000000)) (i32.const 101))
(assert_trap (invoke "unmasked" (i64.const 0x100000001)) "undefined element")

;; A growable table: the mask proves nothing, the bound is checked.
(module
  (type $ii (func (param i32) (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $a)
  (func $a (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func (export "masked") (param $i i32) (result i32)
    (call_indirect $t (type $ii) (i32.const 100) (i32.and (local.get $i) (i32.const 3))))
  (func (export "grow") (result i32) (table.grow $t (ref.func $a) (i32.const 2)))
)

(assert_return (invoke "masked" (i32.const 4)) (i32.const 101))
(assert_trap (invoke "masked" (i32.const 2)) "undefined element")
(assert_return (invoke "grow") (i32.const 2))
(assert_return (invoke "masked" (i32.const 3)) (i32.const 101))
