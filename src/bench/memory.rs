//! The kernels of the `memory` group: sequential loads and stores, and
//! `memory.copy`, each on memory 0, on a second memory and on a 64-bit
//! memory, timed per pass over a 32 KiB buffer.
//!
//! The three variants of a kernel are the same loop; only the memory the
//! accesses name (and, for the 64-bit memory, the type of the addresses)
//! differs, so their times compare what reaching each memory costs. Each
//! module fills its source buffer in its start function (not timed) and
//! exports `run(n, seed) -> i32`, checked against [`MemoryCase::expected`]
//! before timing.

use super::kernel::KernelCase;

/// The `i32` elements of the source buffer (32 KiB); the destination
/// buffer follows it.
pub const WORDS: u32 = 8192;

/// What a kernel does per pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `dst[i] = src[i] + seed` and a sum of `src[i]`, one `i32.load` and
    /// one `i32.store` per element.
    LoadStore,
    /// One `memory.copy` of the source buffer onto the destination, and a
    /// load of one copied word.
    Copy,
}

/// Which memory a kernel works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Memory 0 of a module with one memory.
    Memory0,
    /// Memory 1 of a module with two (memory 0 unused).
    Memory1,
    /// A 64-bit memory (memory 0, `i64` addresses).
    Memory64,
}

/// One benchmark of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryCase {
    /// The loop.
    pub kernel: Kernel,
    /// The memory it works on.
    pub target: Target,
}

impl MemoryCase {
    /// Every case, in report order.
    pub const ALL: [MemoryCase; 6] = {
        use Kernel::*;
        use Target::*;
        [
            MemoryCase::new(LoadStore, Memory0),
            MemoryCase::new(LoadStore, Memory1),
            MemoryCase::new(LoadStore, Memory64),
            MemoryCase::new(Copy, Memory0),
            MemoryCase::new(Copy, Memory1),
            MemoryCase::new(Copy, Memory64),
        ]
    };

    const fn new(kernel: Kernel, target: Target) -> Self {
        MemoryCase { kernel, target }
    }

    /// Element `i` of the source buffer.
    fn source(i: u32) -> i32 {
        i.wrapping_mul(7).wrapping_add(3) as i32
    }
}

impl KernelCase for MemoryCase {
    /// The case's name in reports: `load-store-32k/mem0`.
    fn name(self) -> &'static str {
        use Kernel::*;
        use Target::*;
        match (self.kernel, self.target) {
            (LoadStore, Memory0) => "load-store-32k/mem0",
            (LoadStore, Memory1) => "load-store-32k/mem1",
            (LoadStore, Memory64) => "load-store-32k/mem64",
            (Copy, Memory0) => "copy-32k/mem0",
            (Copy, Memory1) => "copy-32k/mem1",
            (Copy, Memory64) => "copy-32k/mem64",
        }
    }

    /// What `run(n, seed)` returns.
    fn expected(self, n: u32, seed: i32) -> i32 {
        let per_pass = match self.kernel {
            Kernel::LoadStore => (0..WORDS).fold(0i32, |acc, i| acc.wrapping_add(Self::source(i))),
            Kernel::Copy => Self::source(1),
        };
        seed.wrapping_add(per_pass.wrapping_mul(n as i32))
    }

    /// The module, as text.
    fn wat(self) -> String {
        // The memory declarations, the memory operand of every access and
        // the address type.
        let (memories, mem, addr) = match self.target {
            Target::Memory0 => ("(memory 1 1)", "0", "i32"),
            Target::Memory1 => ("(memory 1 1) (memory 1 1)", "1", "i32"),
            Target::Memory64 => ("(memory i64 1 1)", "0", "i64"),
        };
        let bytes = WORDS * 4;
        let body = match self.kernel {
            Kernel::LoadStore => format!(
                r#"(local.set $p ({addr}.const 0))
        (loop $word
          (local.set $v (i32.load {mem} (local.get $p)))
          (i32.store {mem} offset={bytes} (local.get $p) (i32.add (local.get $v) (local.get $seed)))
          (local.set $total (i32.add (local.get $total) (local.get $v)))
          (br_if $word ({addr}.lt_u
            (local.tee $p ({addr}.add (local.get $p) ({addr}.const 4))) ({addr}.const {bytes}))))"#
            ),
            Kernel::Copy => format!(
                r#"(memory.copy {mem} {mem} ({addr}.const {bytes}) ({addr}.const 0) ({addr}.const {bytes}))
        (local.set $total (i32.add (local.get $total)
          (i32.load {mem} offset={bytes} ({addr}.const 4))))"#
            ),
        };
        let index_of_i = match self.target {
            Target::Memory64 => "(i64.extend_i32_u (i32.shl (local.get $i) (i32.const 2)))",
            _ => "(i32.shl (local.get $i) (i32.const 2))",
        };
        format!(
            r#"(module
  {memories}
  ;; src[i] = 7 * i + 3 at 4 * i; the destination is {bytes} bytes further.
  (func $init (local $i i32)
    (loop $fill
      (i32.store {mem} {index_of_i}
        (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)))
      (br_if $fill (i32.lt_u
        (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const {WORDS})))))
  (start $init)
  (func (export "run") (param $n i32) (param $seed i32) (result i32)
    (local $p {addr}) (local $v i32) (local $total i32)
    (local.set $total (local.get $seed))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $pass
        {body}
        (br_if $pass (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $total)))
"#
        )
    }
}
