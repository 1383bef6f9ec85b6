//! The embedding API as an embedder reads it: every `Config` setting has a
//! getter, table and memory types report their current size the same way
//! (and import matching goes by it), and the `Val`/`Ref` conveniences
//! Wasmtime users reach for exist.

use trestle::{
    Config, Engine, Extern, ExternRef, Func, HeapType, Instance, Memory, MemoryType, Module, Ref,
    RefType, Store, Table, TableType, Val, ValType,
};

#[test]
fn every_config_setting_reads_back() {
    let defaults = Config::new();
    assert!(defaults.get_wasm_multi_value());
    assert!(defaults.get_wasm_bulk_memory());
    assert!(defaults.get_wasm_reference_types());
    // All of standard WebAssembly 3.0 that is implemented is on by default;
    // the GC subset is incomplete and stays off.
    assert!(defaults.get_wasm_memory64());
    assert!(defaults.get_wasm_function_references());
    assert!(!defaults.get_wasm_gc());
    assert!(defaults.get_wasm_tail_call());
    assert!(defaults.get_wasm_multi_memory());
    assert!(defaults.get_wasm_extended_const());
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
            .wasm_multi_memory(on)
            .wasm_extended_const(on)
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
                c.get_wasm_multi_memory(),
                c.get_wasm_extended_const(),
                c.get_table_lazy_init(),
                c.get_consume_fuel(),
                c.get_epoch_interruption(),
                c.get_cranelift_debug_verifier(),
                c.get_cranelift_optimize(),
            ],
            [on; 17],
        );
        assert_eq!(c.get_max_wasm_stack(), if on { 1 << 20 } else { 1 << 16 });
    }
    // GC implies typed function references.
    let mut config = Config::new();
    config.wasm_gc(true);
    assert!(config.get_wasm_function_references());
}

#[test]
fn table_and_memory_types_report_the_current_size() {
    let mut store = Store::new(&crate::harness::engine(), ());
    let table = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 1, Some(10)),
        Ref::Func(None),
    )
    .unwrap();
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(10))).unwrap();
    table.grow(&mut store, 4, Ref::Func(None)).unwrap();
    memory.grow(&mut store, 4).unwrap();
    let tty = table.ty(&store);
    let mty = memory.ty(&store);
    assert_eq!((tty.minimum(), tty.maximum()), (5, Some(10)));
    assert_eq!((mty.minimum(), mty.maximum()), (5, Some(10)));
    assert_eq!(table.size(&store), tty.minimum());
    assert_eq!(memory.size(&store), mty.minimum());
    assert_eq!(Extern::Table(table).ty(&store).table(), Some(&tty));
    assert_eq!(Extern::Memory(memory).ty(&store).memory(), Some(&mty));

    // Import matching goes by the same types: both now satisfy a minimum
    // of 5, and neither one of 6.
    let engine = store.engine().clone();
    let fits = |min: u32| {
        format!(
            r#"(module (import "m" "t" (table {min} 10 funcref)) (import "m" "m" (memory {min} 10)))"#
        )
    };
    let ok = Module::new(&engine, fits(5)).unwrap();
    Instance::new(&mut store, &ok, &[table.into(), memory.into()]).unwrap();
    let too_big = Module::new(&engine, fits(6)).unwrap();
    let err = Instance::new(&mut store, &too_big, &[table.into(), memory.into()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "incompatible import type for `m::t`: expected (table 6 10 funcref), found (table 5 10 funcref)"
    );
}

#[test]
fn val_and_ref_conveniences() {
    let mut store = Store::new(&crate::harness::engine(), ());
    assert_eq!(Val::null_func_ref(), Val::FuncRef(None));
    assert_eq!(Val::null_extern_ref(), Val::ExternRef(None));
    assert_eq!(Val::null_any_ref(), Val::AnyRef(None));
    assert_eq!(Val::null_ref(&HeapType::NoExtern), Val::ExternRef(None));
    assert_eq!(Val::null_ref(&HeapType::Eq), Val::AnyRef(None));
    assert_eq!(Val::null_func_ref(), Val::default_for_ty(&ValType::FUNCREF));
    assert_eq!(Ref::null(&HeapType::Func), Ref::Func(None));

    let f = Func::wrap(&mut store, || {});
    let e = ExternRef::new(&mut store, 5u8).unwrap();
    let fv = Val::from(f);
    let ev = Val::from(e);
    assert_eq!(fv.unwrap_funcref(), Some(&f));
    assert_eq!(ev.unwrap_externref(), Some(&e));
    assert_eq!(Val::null_extern_ref().unwrap_externref(), None);
    assert_eq!(Val::from(Some(f)), fv);
    assert_eq!(Val::from(None::<ExternRef>), Val::null_extern_ref());
    assert_eq!(Val::V128(7u128.into()).unwrap_v128(), 7u128.into());
    assert_eq!(Val::I32(1).v128(), None);
    assert_eq!(Val::I32(1).anyref(), None);

    let fr = Ref::from(f);
    let er = Ref::from(Some(e));
    assert!(fr.is_func() && fr.is_non_null() && !fr.is_extern() && !fr.is_any());
    assert!(er.is_extern() && er.is_non_null());
    assert!(Ref::from(None::<Func>).is_null());
    assert_eq!(fr.unwrap_func(), Some(&f));
    assert_eq!(er.unwrap_extern(), Some(&e));
    assert_eq!(Ref::Any(None).unwrap_any(), None);
    let wrong = std::panic::catch_unwind(|| {
        let _ = Ref::Func(None).unwrap_extern();
    });
    assert!(wrong.is_err(), "unwrapping the wrong kind panics");
    let wrong = std::panic::catch_unwind(|| {
        let _ = Val::I32(0).unwrap_funcref();
    });
    assert!(wrong.is_err());
}
