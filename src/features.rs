//! The WebAssembly features a command runs with: the engine's defaults,
//! the feature set of one edition of the standard (`--standard`), and the
//! switches that turn features off (`--disable`).
//!
//! The command line only ever turns features off: the defaults are all of
//! standard WebAssembly that Trestle implements, and a standard's set is
//! exactly what that edition defines (so a script written for WebAssembly
//! 1.0 sees a second memory rejected, as its authors meant).

use anyhow::bail;
use trestle::{Config, Result};

/// The WebAssembly features a module or script may use, on top of
/// WebAssembly 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Functions and blocks with several results.
    pub multi_value: bool,
    /// `i32.extend8_s` and friends.
    pub sign_extension: bool,
    /// Non-trapping float-to-int conversions (`i32.trunc_sat_f32_s`, ...).
    pub saturating_float_to_int: bool,
    /// `memory.copy`, `memory.fill`, passive segments, `table.init`, ...
    pub bulk_memory: bool,
    /// `externref`, several tables, `table.get`/`table.set`, `ref.func`, ...
    pub reference_types: bool,
    /// 64-bit memories and tables ([`Config::wasm_memory64`]).
    pub memory64: bool,
    /// Typed function references ([`Config::wasm_function_references`]).
    pub function_references: bool,
    /// The part of the GC proposal Trestle implements
    /// ([`Config::wasm_gc`]); implies typed function references.
    pub gc: bool,
    /// Tail calls ([`Config::wasm_tail_call`]).
    pub tail_call: bool,
    /// Fixed-width SIMD: `v128` and its instructions
    /// ([`Config::wasm_simd`]).
    pub simd: bool,
    /// Relaxed SIMD ([`Config::wasm_relaxed_simd`]).
    pub relaxed_simd: bool,
    /// Several memories per module ([`Config::wasm_multi_memory`]).
    pub multi_memory: bool,
    /// Arithmetic in constant expressions
    /// ([`Config::wasm_extended_const`]).
    pub extended_const: bool,
    /// Exception handling: tags, `throw`, `throw_ref`, `try_table`,
    /// `exnref` ([`Config::wasm_exceptions`]).
    pub exceptions: bool,
}

/// Turns one feature (and what depends on it) off.
type Switch = fn(&mut Features);

/// The names `--disable` accepts, each with the field it clears.
const SWITCHES: &[(&str, Switch)] = &[
    ("multi-value", |f| f.multi_value = false),
    ("sign-extension", |f| f.sign_extension = false),
    ("saturating-float-to-int", |f| {
        f.saturating_float_to_int = false
    }),
    ("bulk-memory", |f| f.bulk_memory = false),
    ("reference-types", |f| f.reference_types = false),
    ("memory64", |f| f.memory64 = false),
    ("function-references", |f| {
        f.function_references = false;
        f.gc = false;
    }),
    ("gc", |f| f.gc = false),
    ("tail-call", |f| f.tail_call = false),
    ("simd", |f| {
        f.simd = false;
        f.relaxed_simd = false;
    }),
    ("relaxed-simd", |f| f.relaxed_simd = false),
    ("multi-memory", |f| f.multi_memory = false),
    ("extended-const", |f| f.extended_const = false),
    ("exceptions", |f| f.exceptions = false),
];

impl Features {
    /// WebAssembly 1.0: every later feature off. The `wasm-v1` spec suite
    /// runs with these features, so it also checks that later constructs
    /// are rejected.
    pub const MVP: Features = Features {
        multi_value: false,
        sign_extension: false,
        saturating_float_to_int: false,
        bulk_memory: false,
        reference_types: false,
        memory64: false,
        function_references: false,
        gc: false,
        tail_call: false,
        simd: false,
        relaxed_simd: false,
        multi_memory: false,
        extended_const: false,
        exceptions: false,
    };

    /// WebAssembly 2.0: multi-value, sign extension, non-trapping
    /// conversions, bulk memory, reference types and SIMD. The `wasm-v2`
    /// suite runs with these features, so it also checks that a second
    /// memory is rejected.
    pub const WASM2: Features = Features {
        multi_value: true,
        sign_extension: true,
        saturating_float_to_int: true,
        bulk_memory: true,
        reference_types: true,
        simd: true,
        ..Features::MVP
    };

    /// WebAssembly 3.0 as far as Trestle implements it: [`Features::WASM2`]
    /// with 64-bit memories and tables, typed function references, the GC
    /// subset, tail calls, relaxed SIMD, multiple memories, extended
    /// constant expressions and exception handling. The `wasm-v3` suite
    /// runs with these.
    pub const WASM3: Features = Features {
        memory64: true,
        function_references: true,
        gc: true,
        tail_call: true,
        relaxed_simd: true,
        multi_memory: true,
        extended_const: true,
        exceptions: true,
        ..Features::WASM2
    };

    /// The engine's defaults ([`Config::new`]): [`Features::WASM3`]
    /// without the GC subset, which is incomplete. `trestle run` and
    /// `trestle wast` use these unless told otherwise.
    pub const DEFAULT: Features = Features {
        gc: false,
        ..Features::WASM3
    };

    /// [`Features::WASM2`] with typed function references, GC types and
    /// tail calls. The older proposal suites run with these: some of their
    /// scripts were updated to later proposals' types (`(ref null $t)`
    /// tables, arrayref segments).
    pub const WASM2_GC: Features = Features {
        function_references: true,
        gc: true,
        tail_call: true,
        ..Features::WASM2
    };

    /// Everything Trestle implements, [`Features::WASM3`]. Trestle's own
    /// scripts in `tests/misc` run with these.
    pub const ALL: Features = Features::WASM3;

    /// The feature set of one edition of the standard: `1.0`, `2.0` or
    /// `3.0` (also `1`, `2`, `3`).
    ///
    /// # Errors
    ///
    /// When `name` names no edition.
    pub fn standard(name: &str) -> Result<Features> {
        Ok(match name {
            "1" | "1.0" => Features::MVP,
            "2" | "2.0" => Features::WASM2,
            "3" | "3.0" => Features::WASM3,
            _ => bail!("unknown WebAssembly standard `{name}` (expected 1.0, 2.0 or 3.0)"),
        })
    }

    /// These features with `name` turned off (and what depends on it:
    /// `simd` also turns off relaxed SIMD, `function-references` the GC
    /// subset).
    ///
    /// # Errors
    ///
    /// When `name` is not a feature's name; the message lists the names.
    pub fn without(mut self, name: &str) -> Result<Features> {
        let Some((_, clear)) = SWITCHES.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = SWITCHES.iter().map(|(n, _)| *n).collect();
            bail!(
                "unknown feature `{name}` (expected one of: {})",
                names.join(", ")
            );
        };
        clear(&mut self);
        Ok(self)
    }

    /// Turns the features on or off in `config`.
    pub fn configure(&self, config: &mut Config) {
        config
            .wasm_multi_value(self.multi_value)
            .wasm_sign_extension(self.sign_extension)
            .wasm_saturating_float_to_int(self.saturating_float_to_int)
            .wasm_bulk_memory(self.bulk_memory)
            .wasm_reference_types(self.reference_types)
            .wasm_memory64(self.memory64)
            .wasm_function_references(self.function_references || self.gc)
            .wasm_gc(self.gc)
            .wasm_tail_call(self.tail_call)
            .wasm_simd(self.simd)
            .wasm_relaxed_simd(self.simd && self.relaxed_simd)
            .wasm_multi_memory(self.multi_memory)
            .wasm_extended_const(self.extended_const)
            .wasm_exceptions(self.exceptions);
    }
}

impl Default for Features {
    /// [`Features::DEFAULT`].
    fn default() -> Self {
        Features::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_engine() {
        let mut ours = Config::new();
        Features::DEFAULT.configure(&mut ours);
        let engine_default = Config::new();
        assert_eq!(
            ours.get_wasm_tail_call(),
            engine_default.get_wasm_tail_call()
        );
        assert_eq!(ours.get_wasm_memory64(), engine_default.get_wasm_memory64());
        assert_eq!(ours.get_wasm_gc(), engine_default.get_wasm_gc());
        assert_eq!(
            ours.get_wasm_extended_const(),
            engine_default.get_wasm_extended_const()
        );
        assert_eq!(
            ours.get_wasm_exceptions(),
            engine_default.get_wasm_exceptions()
        );
        assert_eq!(
            ours.get_wasm_multi_memory(),
            engine_default.get_wasm_multi_memory()
        );
        assert_eq!(
            ours.get_wasm_function_references(),
            engine_default.get_wasm_function_references()
        );
    }

    #[test]
    fn standards_and_switches() {
        assert_eq!(Features::standard("1.0").unwrap(), Features::MVP);
        assert_eq!(Features::standard("2").unwrap(), Features::WASM2);
        assert_eq!(Features::standard("3.0").unwrap(), Features::WASM3);
        assert!(Features::standard("4.0").is_err());
        let f = Features::WASM3.without("simd").unwrap();
        assert!(!f.simd && !f.relaxed_simd && f.tail_call);
        let f = Features::WASM3.without("function-references").unwrap();
        assert!(!f.function_references && !f.gc);
        let err = Features::DEFAULT.without("threads").unwrap_err();
        assert!(err.to_string().contains("tail-call"), "{err}");
    }
}
