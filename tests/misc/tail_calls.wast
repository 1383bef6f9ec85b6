;; Tail calls: a chain of `return_call`, `return_call_indirect` or
;; `return_call_ref` runs in constant stack, also between functions with
;; different numbers of stack-passed arguments, across modules and into host
;; functions.

(module $lib
  (type $step (func (param i64 i64) (result i64)))
  ;; Counts down while summing, through an exported table.
  (table (export "table") 2 funcref)
  (elem (i32.const 0) func $sum_step $sum_done)
  (func $sum_step (export "sum_step") (type $step)
    (return_call_indirect (type $step)
      (i64.sub (local.get 0) (i64.const 1))
      (i64.add (local.get 1) (local.get 0))
      (i64.eqz (i64.sub (local.get 0) (i64.const 1)))))
  (func $sum_done (type $step) (local.get 1))
)
(register "lib" $lib)

(module
  (type $step (func (param i64 i64) (result i64)))
  (type $wide (func (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type $narrow (func (param i64) (result i64)))
  (import "lib" "sum_step" (func $lib_step (type $step)))
  (import "lib" "table" (table $lib_table 2 funcref))
  (import "spectest" "print_i64" (func $print (param i64)))

  ;; A million self tail calls, far beyond what the stack would hold.
  (func $count (export "count") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 0))
      (else (return_call $count (i64.sub (local.get 0) (i64.const 1))))))

  ;; Narrow and wide functions calling each other: the wide one takes its
  ;; last arguments on the stack, so every call reshapes the frame.
  (func $narrow (export "narrow") (type $narrow)
    (if (result i64) (i64.le_s (local.get 0) (i64.const 0))
      (then (i64.const 42))
      (else
        (return_call $wide
          (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3)
          (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7)
          (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11)))))
  (func $wide (type $wide)
    (return_call $narrow
      (i64.sub (i64.add (local.get 0) (local.get 11)) (i64.const 12))))

  ;; Across modules: into the imported function, which continues through
  ;; its own table.
  (func (export "sum") (param i64) (result i64)
    (return_call $lib_step (local.get 0) (i64.const 0)))

  ;; Through the imported table.
  (func (export "sum_via_table") (param i64) (result i64)
    (return_call_indirect $lib_table (type $step)
      (local.get 0) (i64.const 0) (i32.const 0)))

  ;; Through a function reference.
  (elem declare func $count)
  (func (export "count_ref") (param i64) (result i64)
    (return_call_ref $narrow (local.get 0) (ref.func $count)))

  ;; Into a host function.
  (func (export "print") (return_call $print (i64.const 7)))

  ;; The checks of the indirect forms still trap.
  (func (export "bad_type") (result i64)
    (return_call_indirect $lib_table (type $narrow) (i64.const 1) (i32.const 0)))
  (func (export "out_of_bounds") (result i64)
    (return_call_indirect $lib_table (type $step)
      (i64.const 1) (i64.const 0) (i32.const 2)))
  (func (export "null_ref") (result i64)
    (return_call_ref $narrow (i64.const 1) (ref.null $narrow)))
)

(assert_return (invoke "count" (i64.const 1_000_000)) (i64.const 0))
(assert_return (invoke "narrow" (i64.const 0)) (i64.const 42))
(assert_return (invoke "narrow" (i64.const 100_000)) (i64.const 42))
(assert_return (invoke "sum" (i64.const 1)) (i64.const 1))
(assert_return (invoke "sum" (i64.const 1_000_000)) (i64.const 500_000_500_000))
(assert_return (invoke "sum_via_table" (i64.const 1_000_000)) (i64.const 500_000_500_000))
(assert_return (invoke "count_ref" (i64.const 1_000_000)) (i64.const 0))
(assert_return (invoke "print"))
(assert_trap (invoke "bad_type") "indirect call type mismatch")
(assert_trap (invoke "out_of_bounds") "undefined element")
(assert_trap (invoke "null_ref") "null function reference")

;; The callee's results must match the caller's.
(assert_invalid
  (module
    (func $f (result i32) (i32.const 0))
    (func (result i64) (return_call $f)))
  "type mismatch")
