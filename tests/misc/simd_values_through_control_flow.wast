;; v128 values computed as one lane shape (i32x4, f32x4, i16x8) and
;; carried through everything that is not a vector operation: locals,
;; block, loop and if results and parameters, branches with values
;; (`br_if`, `br_table`), `select`, globals, direct, indirect and tail calls
;; with many vector arguments (more than the argument registers), and
;; across modules. The translator keeps every v128 between operations as
;; i8x16, so each of these must see the same bits the operation produced.

(module $lib
  (func (export "swap_halves") (param v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
      (local.get 0) (local.get 0))))
(register "lib" $lib)

(module
  (import "lib" "swap_halves" (func $swap (param v128) (result v128)))
  (type $vv (func (param v128 v128) (result v128)))
  (table 2 funcref)
  (elem (i32.const 0) $mul $sub)
  (global $acc (mut v128) (v128.const i32x4 0 0 0 0))

  (func $mul (type $vv) (i32x4.mul (local.get 0) (local.get 1)))
  (func $sub (type $vv) (f32x4.sub (local.get 0) (local.get 1)))

  ;; A local defaults to zero; tee keeps the value on the stack.
  (func (export "local_default") (result v128)
    (local $v v128)
    (i32x4.add (local.tee $v (i32x4.splat (i32.const 3))) (local.get $v)))

  ;; Block and if results of different lane shapes, chosen at run time.
  (func (export "if_result") (param i32) (result v128)
    (if (result v128) (local.get 0)
      (then (f32x4.splat (f32.const 1.5)))
      (else (i16x8.splat (i32.const -2)))))

  ;; A loop that carries two vectors as block parameters (multi-value).
  (func (export "loop_params") (param $n i32) (result v128 v128)
    (local $f v128)
    (i32x4.splat (i32.const 1))
    (f32x4.splat (f32.const 1))
    (loop $l (param v128 v128) (result v128 v128)
      (local.set $f)
      (i32x4.add (i32x4.splat (i32.const 2)))
      (call $swap)
      (f32x4.add (local.get $f) (f32x4.splat (f32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))

  ;; Branches that carry a vector out of nested blocks.
  (func (export "br_table") (param i32) (result v128)
    (block $a (result v128)
      (block $b (result v128)
        (br_table $a $b $a
          (i64x2.splat (i64.const 7))
          (local.get 0)))
      (i64x2.neg)))

  (func (export "br_if") (param i32) (result v128)
    (block $out (result v128)
      (drop (br_if $out (f64x2.splat (f64.const 2.5)) (local.get 0)))
      (i8x16.splat (i32.const 9))))

  (func (export "select") (param i32) (result v128)
    (select (result v128)
      (i32x4.splat (i32.const 1))
      (f32x4.splat (f32.const -0.0))
      (local.get 0)))

  (func (export "select_untyped") (param i32) (result v128)
    (select
      (i16x8.splat (i32.const 5))
      (v128.const i64x2 -1 0)
      (local.get 0)))

  ;; A global written from one shape and read as another.
  (func (export "global") (result v128)
    (global.set $acc (i32x4.add (global.get $acc) (i32x4.splat (i32.const 5))))
    (global.set $acc (i16x8.mul (global.get $acc) (i16x8.splat (i32.const 3))))
    (global.get $acc))

  (func (export "call_indirect") (param i32) (result v128)
    (call_indirect (type $vv)
      (i32x4.splat (i32.const 7))
      (i32x4.splat (i32.const 6))
      (local.get 0)))

  ;; Twelve vector arguments: some go on the stack.
  (func $many (param v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)
    (result v128)
    (i8x16.add (local.get 0)
      (i8x16.add (local.get 5)
        (i8x16.add (local.get 10) (local.get 11)))))
  (func (export "many") (result v128)
    (call $many
      (i8x16.splat (i32.const 1)) (v128.const i64x2 0 0) (v128.const i64x2 0 0)
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (i8x16.splat (i32.const 2))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0)
      (v128.const i64x2 0 0) (i8x16.splat (i32.const 4))
      (i8x16.splat (i32.const 8))))
  (func (export "tail") (result v128)
    (return_call $many
      (i8x16.splat (i32.const 16)) (v128.const i64x2 0 0) (v128.const i64x2 0 0)
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (i8x16.splat (i32.const 32))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0)
      (v128.const i64x2 0 0) (i8x16.splat (i32.const 64))
      (i8x16.splat (i32.const -128))))

  ;; The same vector, reinterpreted twice, feeding two shapes.
  (func (export "two_shapes") (param v128) (result v128)
    (local $x v128)
    (local.set $x (i32x4.add (local.get 0) (local.get 0)))
    (v128.and
      (i16x8.add (local.get $x) (local.get $x))
      (f32x4.abs (local.get $x)))))

(assert_return (invoke "local_default") (v128.const i32x4 6 6 6 6))
(assert_return (invoke "if_result" (i32.const 1)) (v128.const f32x4 1.5 1.5 1.5 1.5))
(assert_return (invoke "if_result" (i32.const 0)) (v128.const i16x8 -2 -2 -2 -2 -2 -2 -2 -2))
(assert_return (invoke "loop_params" (i32.const 1))
  (v128.const i32x4 3 3 3 3) (v128.const f32x4 2 2 2 2))
(assert_return (invoke "loop_params" (i32.const 4))
  (v128.const i32x4 9 9 9 9) (v128.const f32x4 5 5 5 5))
(assert_return (invoke "br_table" (i32.const 0)) (v128.const i64x2 7 7))
(assert_return (invoke "br_table" (i32.const 1)) (v128.const i64x2 -7 -7))
(assert_return (invoke "br_table" (i32.const 9)) (v128.const i64x2 7 7))
(assert_return (invoke "br_if" (i32.const 1)) (v128.const f64x2 2.5 2.5))
(assert_return (invoke "br_if" (i32.const 0)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9))
(assert_return (invoke "select" (i32.const 1)) (v128.const i32x4 1 1 1 1))
(assert_return (invoke "select" (i32.const 0)) (v128.const f32x4 -0.0 -0.0 -0.0 -0.0))
(assert_return (invoke "select_untyped" (i32.const 0)) (v128.const i64x2 -1 0))
(assert_return (invoke "global") (v128.const i32x4 15 15 15 15))
(assert_return (invoke "global") (v128.const i32x4 60 60 60 60))
(assert_return (invoke "call_indirect" (i32.const 0)) (v128.const i32x4 42 42 42 42))
;; 7 and 6 as f32 bits are subnormals; their difference is the smallest.
(assert_return (invoke "call_indirect" (i32.const 1)) (v128.const i32x4 1 1 1 1))
(assert_trap (invoke "call_indirect" (i32.const 2)) "undefined element")
(assert_return (invoke "many") (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
(assert_return (invoke "tail")
  (v128.const i8x16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16 -16))
(assert_return (invoke "two_shapes" (v128.const i32x4 1 -1 0x40000000 -0x40000000))
  (v128.const i32x4 0 0x7ffefffc 0 0))
