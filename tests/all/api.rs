//! The embedding API as an embedder reads it: every `Config` setting has a
//! getter.

use trestle::{Config, Engine};

#[test]
fn every_config_setting_reads_back() {
    let defaults = Config::new();
    assert!(defaults.get_wasm_multi_value());
    assert!(defaults.get_wasm_bulk_memory());
    assert!(defaults.get_wasm_reference_types());
    assert!(!defaults.get_wasm_memory64());
    assert!(!defaults.get_wasm_function_references());
    assert!(!defaults.get_wasm_gc());
    assert!(!defaults.get_wasm_tail_call());
    assert_eq!(defaults.get_max_wasm_stack(), 512 * 1024);
    assert!(defaults.get_table_lazy_init());
    assert!(!defaults.get_consume_fuel());
    assert!(!defaults.get_epoch_interruption());
    assert!(defaults.get_cranelift_optimize());

    for on in [false, true] {
        let mut config = Config::new();
        config
            .wasm_multi_value(on)
            .wasm_sign_extension(on)
            .wasm_saturating_float_to_int(on)
            .wasm_mutable_global(on)
            .wasm_bulk_memory(on)
            .wasm_reference_types(on)
            .wasm_memory64(on)
            .wasm_function_references(on)
            .wasm_gc(on)
            .wasm_tail_call(on)
            .max_wasm_stack(if on { 1 << 20 } else { 1 << 16 })
            .table_lazy_init(on)
            .consume_fuel(on)
            .epoch_interruption(on)
            .cranelift_debug_verifier(on)
            .cranelift_optimize(on);
        // An engine's settings are the config it was made with.
        let engine = Engine::new(&config).unwrap();
        let c = engine.config();
        assert_eq!(
            [
                c.get_wasm_multi_value(),
                c.get_wasm_sign_extension(),
                c.get_wasm_saturating_float_to_int(),
                c.get_wasm_mutable_global(),
                c.get_wasm_bulk_memory(),
                c.get_wasm_reference_types(),
                c.get_wasm_memory64(),
                c.get_wasm_function_references(),
                c.get_wasm_gc(),
                c.get_wasm_tail_call(),
                c.get_table_lazy_init(),
                c.get_consume_fuel(),
                c.get_epoch_interruption(),
                c.get_cranelift_debug_verifier(),
                c.get_cranelift_optimize(),
            ],
            [on; 15],
        );
        assert_eq!(c.get_max_wasm_stack(), if on { 1 << 20 } else { 1 << 16 });
    }
    // GC implies typed function references.
    let mut config = Config::new();
    config.wasm_gc(true);
    assert!(config.get_wasm_function_references());
}
