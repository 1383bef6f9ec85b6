;; A trap three calls deep, to show a wasm backtrace:
;;
;;   cargo run --release -- run examples/trap.wat --invoke run
;;
;; fails with `unreachable` and prints the frames of $inner, $middle and
;; $outer under the error.
(module $trap
  (func $outer (export "run") (call $middle))
  (func $middle (call $inner))
  (func $inner unreachable))
