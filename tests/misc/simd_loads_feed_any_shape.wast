;; A v128.load that goes straight into a vector operation is loaded as
;; the shape that operation works on, and a commutative operation takes it
;; as its second operand. A load whose value is also copied elsewhere (by
;; local.tee, br_if, select) must keep its bytes for every other use, and
;; a non-commutative operation must keep its operand order.

(module
  (memory 1)
  (data (i32.const 0) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00")
  (data (i32.const 16) "\0a\00\00\00\14\00\00\00\1e\00\00\00\28\00\00\00")

  ;; Both loads as i64x2, with address arithmetic between them.
  (func (export "two_loads") (param $a i32) (result v128)
    (i64x2.add
      (v128.load (local.get $a))
      (v128.load (i32.add (local.get $a) (i32.const 16)))))

  ;; The loaded value in a local, read back as two shapes.
  (func (export "tee") (result v128)
    (local $v v128)
    (i32x4.sub
      (i32x4.mul (local.tee $v (v128.load (i32.const 0))) (local.get $v))
      (i16x8.add (local.get $v) (local.get $v))))

  ;; The loaded value both leaves the block and stays for an i16x8 op.
  (func (export "br_if") (param $c i32) (result v128)
    (block $b (result v128)
      (br_if $b (v128.load (i32.const 16)) (local.get $c))
      (i16x8.neg)))

  (func (export "select") (param $c i32) (result v128)
    (i32x4.mul
      (select (v128.load (i32.const 0)) (v128.load (i32.const 16)) (local.get $c))
      (i32x4.splat (i32.const 3))))

  ;; Commutative: the load may go second. Not commutative: it may not.
  (func (export "eq") (result v128)
    (i8x16.eq (v128.load (i32.const 0)) (v128.const i32x4 1 0 3 0)))
  (func (export "sub") (result v128)
    (i32x4.sub (v128.load (i32.const 16)) (v128.load (i32.const 0))))
  (func (export "lt") (result v128)
    (i32x4.lt_s (v128.load (i32.const 0)) (v128.const i32x4 2 2 2 2)))

  ;; A load stored as it is, and one replacing a lane.
  (func (export "copy_and_lane") (result v128)
    (v128.store (i32.const 32) (v128.load (i32.const 16)))
    (i16x8.replace_lane 1 (v128.load (i32.const 32)) (i32.const 7))))

(assert_return (invoke "two_loads" (i32.const 0)) (v128.const i32x4 11 22 33 44))
(assert_return (invoke "tee") (v128.const i32x4 -1 0 3 8))
(assert_return (invoke "br_if" (i32.const 1)) (v128.const i32x4 10 20 30 40))
(assert_return (invoke "br_if" (i32.const 0)) (v128.const i16x8 -10 0 -20 0 -30 0 -40 0))
(assert_return (invoke "select" (i32.const 1)) (v128.const i32x4 3 6 9 12))
(assert_return (invoke "select" (i32.const 0)) (v128.const i32x4 30 60 90 120))
(assert_return (invoke "eq") (v128.const i32x4 -1 -256 -1 -256))
(assert_return (invoke "sub") (v128.const i32x4 9 18 27 36))
(assert_return (invoke "lt") (v128.const i32x4 -1 0 0 0))
(assert_return (invoke "copy_and_lane") (v128.const i16x8 10 7 20 0 30 0 40 0))
