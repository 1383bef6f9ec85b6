//! The `differential` fuzz target: see `trestle_fuzz::differential`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trestle_fuzz::run("differential", data);
});
