//! The `compile` fuzz target: see `trestle_fuzz::compile`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trestle_fuzz::run("compile", data);
});
