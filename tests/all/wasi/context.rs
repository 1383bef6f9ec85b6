//! The context builder: clocks, the random source and standard input and
//! output are the host's to inject, and the guest sees what was injected.

use super::{EBADF, Guest, OUT};
use std::time::Duration;
use trestle::Val;
use trestle_wasi::{
    Errno, HostMonotonicClock, HostWallClock, MemoryInputPipe, MemoryOutputPipe, WasiCtxBuilder,
};

#[test]
fn pipes_clocks_and_random_are_injectable() {
    struct FixedWall;
    impl HostWallClock for FixedWall {
        fn resolution(&self) -> Duration {
            Duration::from_nanos(7)
        }
        fn now(&self) -> Duration {
            Duration::from_secs(1_700_000_000)
        }
    }
    struct FixedMono;
    impl HostMonotonicClock for FixedMono {
        fn resolution(&self) -> u64 {
            3
        }
        fn now(&self) -> u64 {
            42
        }
    }
    struct Counter(u8);
    impl trestle_wasi::cap_rand::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            u32::from(self.next_u8())
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u8())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u8();
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), trestle_wasi::cap_rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl Counter {
        fn next_u8(&mut self) -> u8 {
            self.0 = self.0.wrapping_add(1);
            self.0
        }
    }

    let out = MemoryOutputPipe::new(64);
    let mut b = WasiCtxBuilder::new();
    b.wall_clock(FixedWall)
        .monotonic_clock(FixedMono)
        .secure_random(Counter(0))
        .stdin(MemoryInputPipe::new("abc"))
        .stdout(out.clone());
    let mut g = Guest::new(&mut b);
    let read_u64 = |g: &Guest, addr: usize| {
        let mut b = [0; 8];
        g.memory.read(&g.store, addr, &mut b).unwrap();
        u64::from_le_bytes(b)
    };
    let time = |g: &mut Guest, id| {
        g.errno(
            "clock_time_get",
            &[Val::I32(id), Val::I64(0), Val::I32(OUT as i32)],
        )
    };
    assert_eq!(time(&mut g, 0), 0);
    assert_eq!(read_u64(&g, OUT), 1_700_000_000_000_000_000);
    assert_eq!(time(&mut g, 1), 0);
    assert_eq!(read_u64(&g, OUT), 42);
    assert_eq!(
        g.errno("clock_res_get", &[Val::I32(0), Val::I32(OUT as i32)]),
        0
    );
    assert_eq!(read_u64(&g, OUT), 7);
    assert_eq!(time(&mut g, 2), EBADF, "no CPU-time clocks");
    assert_eq!(time(&mut g, 9), Errno::Inval as i32);

    assert_eq!(g.errno("random_get", &[Val::I32(0), Val::I32(4)]), 0);
    let mut bytes = [0; 4];
    g.memory.read(&g.store, 0, &mut bytes).unwrap();
    assert_eq!(bytes, [1, 2, 3, 4]);

    // stdin to stdout through the pipes: read "abc" into 16.., write it.
    g.write(0, &16u32.to_le_bytes());
    g.write(4, &8u32.to_le_bytes());
    let iov = |fd| [Val::I32(fd), Val::I32(0), Val::I32(1), Val::I32(OUT as i32)];
    assert_eq!(g.errno("fd_read", &iov(0)), 0);
    assert_eq!(g.read_u32(OUT), 3);
    g.write(4, &3u32.to_le_bytes());
    assert_eq!(g.errno("fd_write", &iov(1)), 0);
    assert_eq!(g.errno("fd_read", &iov(0)), 0);
    assert_eq!(g.read_u32(OUT), 0, "end of input");
    assert_eq!(out.contents(), b"abc");
}
