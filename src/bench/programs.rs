//! The `programs` group: real C and C++ programs, compiled by clang to
//! WebAssembly (`benches/programs/wasm`, built by
//! `benches/programs/build.sh`) and natively by the host's compilers (the
//! package's build script), each dominated by indirect calls of a
//! different shape, plus a control kernel with direct calls only.
//!
//! Every program exports `run(n, seed) -> i32`, doing `n` units of its
//! work and returning a checksum; the native build of the same source
//! computes the checksum each WebAssembly run is checked against.

use super::{Bench, Sampler, verified_run};
use crate::bench::engines::BenchEngine;
use anyhow::Result;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A program of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// C++ virtual dispatch over a scene of shapes of six classes.
    Virtual,
    /// A bytecode interpreter dispatching through a table of handlers.
    Interp,
    /// A merge sort calling one of four comparators through a pointer.
    Sort,
    /// A lexer whose states are a table of functions, reporting tokens to
    /// callbacks.
    Lexer,
    /// Type-erased callables (`std::function`-like) in a pipeline.
    Callable,
    /// Two visitors over an expression tree (double dispatch).
    Visitor,
    /// The control: the same shape of work with direct calls only.
    Direct,
}

macro_rules! native_runs {
    ($($name:ident),*) => {
        // SAFETY: the build script links these functions, compiled from the
        // sources in `benches/programs` with `-DPROGRAM=<name>`; each has the
        // C signature `int32_t (int32_t, int32_t)`.
        unsafe extern "C" {
            $(fn $name(n: i32, seed: i32) -> i32;)*
        }
    };
}

native_runs!(
    trestle_program_virtual,
    trestle_program_interp,
    trestle_program_sort,
    trestle_program_lexer,
    trestle_program_callable,
    trestle_program_visitor,
    trestle_program_direct
);

impl Program {
    /// Every program, in report order; the control last.
    pub const ALL: [Program; 7] = [
        Program::Virtual,
        Program::Interp,
        Program::Sort,
        Program::Lexer,
        Program::Callable,
        Program::Visitor,
        Program::Direct,
    ];

    /// The program's name in reports, and its source's file stem.
    pub fn name(self) -> &'static str {
        match self {
            Program::Virtual => "virtual",
            Program::Interp => "interp",
            Program::Sort => "sort",
            Program::Lexer => "lexer",
            Program::Callable => "callable",
            Program::Visitor => "visitor",
            Program::Direct => "direct",
        }
    }

    /// What one unit of `run(n, seed)` is.
    pub fn unit(self) -> &'static str {
        match self {
            Program::Virtual | Program::Callable | Program::Direct => "iter",
            Program::Interp => "loop",
            Program::Sort => "record",
            Program::Lexer => "char",
            Program::Visitor => "tree",
        }
    }

    /// The WebAssembly build, as committed.
    pub fn wasm(self) -> &'static [u8] {
        match self {
            Program::Virtual => include_bytes!("../../benches/programs/wasm/virtual.wasm"),
            Program::Interp => include_bytes!("../../benches/programs/wasm/interp.wasm"),
            Program::Sort => include_bytes!("../../benches/programs/wasm/sort.wasm"),
            Program::Lexer => include_bytes!("../../benches/programs/wasm/lexer.wasm"),
            Program::Callable => include_bytes!("../../benches/programs/wasm/callable.wasm"),
            Program::Visitor => include_bytes!("../../benches/programs/wasm/visitor.wasm"),
            Program::Direct => include_bytes!("../../benches/programs/wasm/direct.wasm"),
        }
    }

    /// Runs the native build: what the WebAssembly build's `run(n, seed)`
    /// must return.
    pub fn native_run(self, n: i32, seed: i32) -> i32 {
        let run = match self {
            Program::Virtual => trestle_program_virtual,
            Program::Interp => trestle_program_interp,
            Program::Sort => trestle_program_sort,
            Program::Lexer => trestle_program_lexer,
            Program::Callable => trestle_program_callable,
            Program::Visitor => trestle_program_visitor,
            Program::Direct => trestle_program_direct,
        };
        // SAFETY: the native builds are plain computations over their own
        // stack frames and constant data, for any arguments.
        unsafe { run(n, seed) }
    }
}

/// The arguments the results are checked with before timing.
const CHECK: (i32, i32) = (5000, 0x2545F491);

/// A program on `engine`. Checks `run` against the native build first.
///
/// # Errors
///
/// When the module does not compile or instantiate, or computes another
/// checksum than the native build.
pub fn program_bench(engine: &dyn BenchEngine, program: Program) -> Result<Bench<'static>> {
    let module = engine.compile(&[program.wasm().to_vec()])?;
    let (n, seed) = CHECK;
    let expected = program.native_run(n, seed);
    Ok(Bench {
        sampler: Box::new(verified_run(
            engine,
            module,
            program.name(),
            (n as u32, seed, expected),
        )?),
        units_per_iter: 1,
        unit: program.unit(),
        fixed_n: None,
        max_n: 1 << 30,
    })
}

struct NativeProgramSampler {
    program: Program,
    seed: i32,
}

impl Sampler for NativeProgramSampler {
    fn sample(&mut self, n: u64) -> Result<Duration> {
        self.seed = self.seed.wrapping_add(1);
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        let start = Instant::now();
        let result = self.program.native_run(black_box(n), black_box(self.seed));
        let elapsed = start.elapsed();
        black_box(result);
        Ok(elapsed)
    }
}

/// The native build of `program`.
pub fn native_program_bench(program: Program) -> Bench<'static> {
    Bench {
        sampler: Box::new(NativeProgramSampler { program, seed: 7 }),
        units_per_iter: 1,
        unit: program.unit(),
        fixed_n: None,
        max_n: 1 << 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::engines::{EngineKind, engine};

    #[test]
    fn every_program_matches_its_native_build_in_both_table_modes() {
        for lazy in [true, false] {
            let engine = engine(EngineKind::Trestle, lazy).unwrap();
            for program in Program::ALL {
                for (n, seed) in [(0, 1), (1, 7), (1000, 42), CHECK] {
                    let module = engine.compile(&[program.wasm().to_vec()]).unwrap();
                    let got = module.instantiate().unwrap().run(n, seed).unwrap();
                    assert_eq!(
                        got,
                        program.native_run(n, seed),
                        "{} run({n}, {seed}), lazy tables {lazy}",
                        program.name()
                    );
                }
            }
        }
    }

    #[test]
    fn checksums_depend_on_the_work() {
        for program in Program::ALL {
            assert_ne!(
                program.native_run(1000, 7),
                program.native_run(2000, 7),
                "{}",
                program.name()
            );
            assert_ne!(
                program.native_run(1000, 7),
                program.native_run(1000, 8),
                "{}",
                program.name()
            );
        }
    }
}
