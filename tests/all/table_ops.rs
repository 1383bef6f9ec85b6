//! The `table_ops` fuzz target's checking code (`fuzz/src/table_ops.rs`)
//! on a fixed set of seeded inputs: random table operations from wasm and
//! from the host against a model, with calls through a private table whose
//! `call_indirect`s the compiler devirtualizes in between, and instances
//! of a module whose table qualifies for reuse by its next instance, in
//! stores made and dropped along the way (the module is shared by all the
//! inputs, so one input's dropped instances serve the next). A finding
//! panics with the operation that disagreed.

#[path = "../../fuzz/src/table_ops.rs"]
mod check;

/// The inputs are made from `SEED`.
const SEED: u64 = 0x7ab1_e0b5_5eed_0001;
const INPUTS: u64 = 400;

#[test]
fn seeded_table_operations_agree_with_the_model() {
    let mut long_runs = 0;
    for index in 0..INPUTS {
        let input = crate::harness::seeded_bytes(SEED, index, 64..4096);
        if check::check(&input) == "100 operations or more" {
            long_runs += 1;
        }
    }
    // The inputs must keep producing long sequences of operations.
    assert!(
        long_runs >= INPUTS / 4,
        "only {long_runs} of {INPUTS} inputs ran 100 operations"
    );
}
