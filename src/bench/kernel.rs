//! [`KernelCase`]: what the `simd` and `memory` groups have in common. A
//! kernel is a module whose export `run(n, seed) -> i32` makes `n` passes
//! over a buffer in linear memory and returns a value the host can
//! predict, which is checked before any timing.

use super::{Bench, verified_run, wat_to_binary};
use crate::bench::engines::BenchEngine;
use anyhow::Result;

/// One kernel of a benchmark group.
pub trait KernelCase: Copy {
    /// The kernel's name in reports.
    fn name(self) -> &'static str;

    /// The module, as text.
    fn wat(self) -> String;

    /// What `run(n, seed)` returns.
    fn expected(self, n: u32, seed: i32) -> i32;

    /// The module in binary form.
    ///
    /// # Errors
    ///
    /// Never for the built-in texts; an error would be a bug here.
    fn module(self) -> Result<Vec<u8>> {
        wat_to_binary(&self.wat())
    }
}

/// A benchmark of `kernel` on `engine`, one pass (the unit) per iteration,
/// after checking that `run(3, seed)` returns what
/// [`KernelCase::expected`] says.
///
/// # Errors
///
/// When the module does not compile or instantiate (an engine without the
/// features the kernel uses), or computes a wrong result.
pub fn kernel_bench(engine: &dyn BenchEngine, kernel: impl KernelCase) -> Result<Bench<'static>> {
    let name = kernel.name();
    let module = engine.compile(&[kernel.module()?])?;
    let (n, seed) = (3, 0x31);
    let expected = kernel.expected(n, seed);
    Ok(Bench {
        sampler: Box::new(verified_run(engine, module, name, (n, seed, expected))?),
        units_per_iter: 1,
        unit: "pass",
        fixed_n: None,
        max_n: 1 << 24,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::engines::{EngineKind, engine};
    use crate::bench::memory::MemoryCase;
    use crate::bench::simd::SimdCase;

    /// Checks every one of `kernels` on Trestle against
    /// [`KernelCase::expected`] for a few `n` and seeds.
    fn assert_kernels_compute_the_expected_results(kernels: &[impl KernelCase]) {
        let engine = engine(EngineKind::Trestle, true).unwrap();
        for &kernel in kernels {
            let module = engine.compile(&[kernel.module().unwrap()]).unwrap();
            let mut instance = module.instantiate().unwrap();
            for (n, seed) in [(0, 5), (1, 0), (2, -1), (5, 0x1234)] {
                assert_eq!(
                    instance.run(n, seed).unwrap(),
                    kernel.expected(n as u32, seed),
                    "{} n={n} seed={seed}",
                    kernel.name()
                );
            }
        }
    }

    #[test]
    fn kernels_compute_the_expected_results() {
        assert_kernels_compute_the_expected_results(&MemoryCase::ALL);
        assert_kernels_compute_the_expected_results(&SimdCase::ALL);
    }
}
