//! What every integration test builds on, in one place: the engines (so
//! that one environment variable switches the table mode of the whole
//! suite), calling wasm and judging its traps and panics
//! ([`calls`]), the modules several subjects share ([`modules`]), payloads
//! that count their drops ([`payloads`]), a limiter that records what it is
//! asked ([`limiters`]), and the `trestle` command and
//! scratch directories ([`cli`]). Everything is re-exported here, so a test
//! names `harness::instantiate` whatever file it comes from.
//!
//! `TRESTLE_TABLE_LAZY_INIT` picks the default table initialization mode of
//! the tests: unset, `1` or `true` for lazy (the runtime's default), `0` or
//! `false` for eager. CI runs `cargo test --workspace` once without it and
//! once with `TRESTLE_TABLE_LAZY_INIT=0`, so every test that does not pick
//! a mode itself runs both ways. The runtime never reads the variable:
//! [`config`] applies it to a [`Config::new`], [`run_options`] to the
//! library behind `trestle run`, and [`cli_args`] to a `trestle` command.
//! Tests that pick a mode ([`engine_in_mode`], [`both_modes`], ...) keep
//! it.

pub mod calls;
pub mod cli;
pub mod limiters;
pub mod modules;
pub mod payloads;

pub use calls::*;
pub use cli::*;
pub use limiters::*;
pub use modules::*;
pub use payloads::*;

use trestle::{Config, Engine, Instance, Store};
use trestle_cli::run::RunOptions;

/// The variable that picks the tests' table initialization mode.
pub const TABLE_LAZY_INIT_VAR: &str = "TRESTLE_TABLE_LAZY_INIT";

/// The table initialization mode [`TABLE_LAZY_INIT_VAR`] asks for.
///
/// # Panics
///
/// When the variable holds something else than `0`, `1`, `false` or
/// `true`: a typo must not silently test the wrong mode.
pub fn table_lazy_init() -> bool {
    match std::env::var(TABLE_LAZY_INIT_VAR) {
        Err(std::env::VarError::NotPresent) => true,
        Ok(v) if v == "1" || v == "true" => true,
        Ok(v) if v == "0" || v == "false" => false,
        other => panic!("{TABLE_LAZY_INIT_VAR} must be 0, 1, false or true, not {other:?}"),
    }
}

/// `Config::new()` in the table mode the environment asks for.
pub fn config() -> Config {
    let mut config = Config::new();
    config.table_lazy_init(table_lazy_init());
    config
}

/// An engine with [`config`].
pub fn engine() -> Engine {
    Engine::new(&config()).expect("host CPU supported")
}

/// An engine of `Config::new()` with lazily (`true`) or eagerly
/// initialized funcref tables, whatever the environment says.
pub fn engine_in_mode(lazy: bool) -> Engine {
    engine_with(lazy, |_| {})
}

/// [`engine_in_mode`] with 64-bit tables and memories on
/// (`Config::wasm_memory64`): the engine of the table tests.
pub fn table64_engine(lazy: bool) -> Engine {
    engine_with(lazy, |config| {
        config.wasm_memory64(true);
    })
}

/// [`engine_in_mode`] with the GC subset on (`Config::wasm_gc`, which
/// brings typed function references).
pub fn gc_engine(lazy: bool) -> Engine {
    engine_with(lazy, |config| {
        config.wasm_gc(true);
    })
}

fn engine_with(lazy: bool, features: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.table_lazy_init(lazy);
    features(&mut config);
    Engine::new(&config).expect("host CPU supported")
}

/// Runs `f` with a [`table64_engine`] in each table mode, lazy first.
pub fn both_modes(f: impl Fn(&Engine)) {
    for lazy in [true, false] {
        f(&table64_engine(lazy));
    }
}

/// Runs `f` on a new store with an instance of `wat` in it, in each table
/// mode ([`both_modes`]).
pub fn in_both_modes(wat: &str, f: impl Fn(Store<()>, Instance)) {
    both_modes(|engine| {
        let (store, inst) = new_instance(engine, wat);
        f(store, inst);
    });
}

/// The options of `trestle run`, in the table mode the environment asks
/// for.
pub fn run_options() -> RunOptions {
    RunOptions {
        table_lazy_init: table_lazy_init(),
        ..RunOptions::default()
    }
}

/// The `trestle` command-line arguments for the table mode the environment
/// asks for.
pub fn cli_args() -> [String; 2] {
    [
        "--table-lazy-init".to_string(),
        table_lazy_init().to_string(),
    ]
}

#[test]
fn the_mode_reaches_configs_engines_and_the_cli() {
    let lazy = table_lazy_init();
    assert_eq!(config().get_table_lazy_init(), lazy);
    assert_eq!(engine().config().get_table_lazy_init(), lazy);
    assert_eq!(run_options().table_lazy_init, lazy);
    assert_eq!(cli_args()[1], lazy.to_string());
    assert!(
        Config::new().get_table_lazy_init(),
        "the runtime's default does not depend on the environment"
    );
}

/// A deterministic xorshift generator of pseudo-random words, for the
/// seeded adversarial tests.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next word.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Fuzz input made from a seed, for the seeded runs of the fuzz targets'
/// checking code: input number `index` of `seed`, of a length in `len`
/// (splitmix64).
pub fn seeded_bytes(seed: u64, index: u64, len: std::ops::Range<usize>) -> Vec<u8> {
    let mut state = seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = len.start + (next() % (len.end - len.start) as u64) as usize;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&next().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}
