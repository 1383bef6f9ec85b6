//! The `table_ops` fuzz target: see `trestle_fuzz::table_ops`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    trestle_fuzz::run("table_ops", data);
});
