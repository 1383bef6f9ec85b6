//! What every integration test builds its engines from, so that one
//! environment variable switches the table mode of the whole suite.
//!
//! `TRESTLE_TABLE_LAZY_INIT` picks the default table initialization mode of
//! the tests: unset, `1` or `true` for lazy (the runtime's default), `0` or
//! `false` for eager. CI runs `cargo test --workspace` once without it and
//! once with `TRESTLE_TABLE_LAZY_INIT=0`, so every test that does not pick
//! a mode itself runs both ways. The runtime never reads the variable:
//! [`config`] applies it to a [`Config::new`], [`run_options`] to the
//! library behind `trestle run`, and [`cli_args`] to a `trestle` command.
//! Tests that pick a mode (`Config::table_lazy_init`) keep it.

use trestle::{Config, Engine};
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
