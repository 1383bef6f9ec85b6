;; A call_indirect loop: `run(n)` makes n indirect calls through a table of
;; four functions of the same type and returns the sum of their results.
;;
;;   cargo run --release -- run examples/indirect.wat --invoke run 1000
;;
;; prints 4000: call i goes to slot i % 4, whose function adds slot + 1 to
;; its argument, the slot number, so every group of four calls adds
;; 1 + 3 + 5 + 7 = 16.
(module
  (type $unary (func (param i32) (result i32)))

  (table 4 funcref)
  (elem (i32.const 0) $add1 $add2 $add3 $add4)

  (func $add1 (type $unary) (i32.add (local.get 0) (i32.const 1)))
  (func $add2 (type $unary) (i32.add (local.get 0) (i32.const 2)))
  (func $add3 (type $unary) (i32.add (local.get 0) (i32.const 3)))
  (func $add4 (type $unary) (i32.add (local.get 0) (i32.const 4)))

  (func (export "run") (param $n i32) (result i32)
    (local $i i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; slot = i % 4; the callee gets the slot number as its argument
        (local.set $sum
          (i32.add
            (local.get $sum)
            (call_indirect (type $unary)
              (i32.and (local.get $i) (i32.const 3))
              (i32.and (local.get $i) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum)))
