;; A direct call of a small function that calls nothing is inlined: the
;; caller computes the callee's result itself. The callee's trap (a load
;; out of bounds) stays a trap of the caller's code, mapped back to the
;; call for backtraces. A callee that calls is not inlined.
(module
  (memory 1)
  (func $load_plus (param $p i32) (param $k i32) (result i32)
    (i32.add (i32.load (local.get $p)) (local.get $k)))
  (func $calls (param $p i32) (result i32)
    (call $load_plus (local.get $p) (i32.const 1)))
  (func (export "run") (param $p i32) (result i32)
    (i32.add
      (call $load_plus (local.get $p) (i32.const 7))
      (call $calls (local.get $p)))))
