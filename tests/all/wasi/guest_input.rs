//! Bad guest input: a wrong import signature is a link error, `proc_exit`
//! reaches the caller, wild arguments and pointers never crash the host,
//! and flag and enum arguments are checked before anything else.

use super::{EBADF, Guest, OUT, PATH, SIGNATURES, assert_all_functions_listed};
use crate::harness::{XorShift, scratch_dir};
use trestle::{Linker, Module, Store, Val};
use trestle_wasi::{
    DirPerms, Errno, FilePerms, I32Exit, MemoryInputPipe, MemoryOutputPipe, WasiCtxBuilder,
    WasiP1Ctx,
};

#[test]
fn wrong_import_signature_is_a_link_error() {
    let engine = crate::harness::engine();
    let module = Module::new(
        &engine,
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
                   (memory (export "memory") 1))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    trestle_wasi::add_to_linker(&mut linker, |cx: &mut WasiP1Ctx| cx).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build_p1());
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("wasi_snapshot_preview1::fd_write"), "{msg}");
    assert!(msg.contains("incompatible import type"), "{msg}");
}

#[test]
fn proc_exit_reaches_the_caller_as_i32_exit() {
    let mut g = Guest::new(&mut WasiCtxBuilder::new());
    let err = g.call("proc_exit", &[Val::I32(3)]).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(3)));
    // Statuses past 125 are not valid WASI exit codes: a plain error.
    let err = g.call("proc_exit", &[Val::I32(200)]).unwrap_err();
    assert!(err.downcast_ref::<I32Exit>().is_none());
    assert!(format!("{err:#}").contains("exit status"), "{err:#}");
    // The store stays usable.
    assert_eq!(g.errno("sched_yield", &[]), 0);
}

/// A value that is often a boundary: near 0, the end of the guest's one
/// page, the top of the 32-bit range, or anything.
fn wild_arg(rng: &mut XorShift) -> u64 {
    const SPECIAL: &[u64] = &[
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        9,
        0xFFFF,
        0xFFF8,
        0x1_0000,
        0x1_0000 - 24,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFF0,
        0xFFFF_FFFF,
        u64::MAX,
        0x8000_0000_0000_0000,
    ];
    match rng.next() % 4 {
        0 => rng.next(),
        1 => rng.next() % 0x1_0000,
        _ => SPECIAL[(rng.next() % SPECIAL.len() as u64) as usize],
    }
}

#[test]
fn wild_arguments_never_crash_the_host() {
    assert_all_functions_listed();
    let dir = scratch_dir("wild");
    std::fs::write(dir.join("file"), "contents").unwrap();
    let mut b = WasiCtxBuilder::new();
    b.preopened_dir(&dir, "/", DirPerms::ALL, FilePerms::ALL)
        .unwrap()
        .stdin(MemoryInputPipe::new("input"))
        .stdout(MemoryOutputPipe::new(1 << 16))
        .stderr(MemoryOutputPipe::new(1 << 16));
    let mut g = Guest::new(&mut b);
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let (mut errnos, mut traps) = (0, 0);
    for round in 0..60 {
        for (name, params, _) in SIGNATURES {
            // Random memory contents, except for poll_oneoff, whose
            // subscriptions could otherwise ask for a sleep of years.
            let mut page = vec![0u8; 0x1_0000];
            if *name != "poll_oneoff" {
                for chunk in page.chunks_mut(8) {
                    let v = if rng.next().is_multiple_of(2) {
                        rng.next() % 64
                    } else {
                        rng.next()
                    };
                    chunk.copy_from_slice(&v.to_le_bytes());
                }
            }
            g.write(0, &page);
            let args: Vec<Val> = params
                .chars()
                .map(|c| {
                    let v = wild_arg(&mut rng);
                    if c == 'I' {
                        Val::I64(v as i64)
                    } else {
                        Val::I32(v as u32 as i32)
                    }
                })
                .collect();
            match g.call(name, &args) {
                Ok(errno) => {
                    assert!(
                        (0..=76).contains(&errno),
                        "round {round}: {name}{args:?} returned errno {errno}"
                    );
                    errnos += 1;
                }
                Err(e) => {
                    // A clean trap or error; proc_exit ends calls this way
                    // by design.
                    let text = format!("{e:#}");
                    assert!(!text.is_empty());
                    traps += 1;
                }
            }
        }
    }
    assert!(
        errnos > 500 && traps > 500,
        "{errnos} errnos, {traps} traps"
    );
    drop(g);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wild_pointers_trap_in_every_function_that_takes_one() {
    // Each function with a pointer parameter, called with every pointer at
    // 0xFFFF_FFF0 and small lengths, must trap or return an errno; the
    // functions that dereference an argument right away trap.
    let mut g = Guest::new(WasiCtxBuilder::new().arg("prog").env("A", "b"));
    for name in [
        "args_get",
        "environ_get",
        "args_sizes_get",
        "environ_sizes_get",
        "random_get",
        "fd_write",
    ] {
        let (_, params, _) = SIGNATURES.iter().find(|s| s.0 == name).unwrap();
        let args: Vec<Val> = params
            .chars()
            .enumerate()
            .map(|(i, c)| match (name, i, c) {
                // a valid descriptor and count where there is one
                ("fd_write", 0, _) => Val::I32(1),
                ("fd_write", 2, _) => Val::I32(1),
                ("random_get", 1, _) => Val::I32(16),
                (_, _, 'I') => Val::I64(0),
                _ => Val::I32(0xFFFF_FFF0_u32 as i32),
            })
            .collect();
        let err = g.call(name, &args).unwrap_err();
        assert!(
            format!("{err:#}").contains("out of bounds"),
            "{name}: {err:#}"
        );
    }
    // Misaligned structure pointers trap too.
    let err = g
        .call("fd_fdstat_get", &[Val::I32(1), Val::I32(3)])
        .unwrap_err();
    assert!(format!("{err:#}").contains("misaligned"), "{err:#}");
}

#[test]
fn flag_and_enum_arguments_are_checked_first() {
    // As in Wasmtime's bindings: an argument that does not fit its type is
    // EOVERFLOW, an undefined flag or enum value EINVAL, both before the
    // descriptor is looked at.
    let mut g = Guest::new(&mut WasiCtxBuilder::new());
    let overflow = Errno::Overflow as i32;
    let inval = Errno::Inval as i32;
    let seek = |g: &mut Guest, fd, whence| {
        g.errno(
            "fd_seek",
            &[
                Val::I32(fd),
                Val::I64(0),
                Val::I32(whence),
                Val::I32(OUT as i32),
            ],
        )
    };
    assert_eq!(seek(&mut g, 99, 3), inval);
    assert_eq!(seek(&mut g, 99, -1), overflow);
    assert_eq!(seek(&mut g, 99, 256), overflow);
    assert_eq!(seek(&mut g, 99, 0), EBADF);
    assert_eq!(seek(&mut g, 1, 0), Errno::Spipe as i32);
    let time = |g: &mut Guest, id| {
        g.errno(
            "clock_time_get",
            &[Val::I32(id), Val::I64(0), Val::I32(OUT as i32)],
        )
    };
    assert_eq!(time(&mut g, -1), overflow);
    assert_eq!(time(&mut g, 4), inval);
    let set_flags =
        |g: &mut Guest, flags| g.errno("fd_fdstat_set_flags", &[Val::I32(99), Val::I32(flags)]);
    assert_eq!(set_flags(&mut g, 0x100), inval);
    assert_eq!(set_flags(&mut g, 0x1_0000), overflow);
    assert_eq!(set_flags(&mut g, 1), EBADF);
    let shutdown =
        |g: &mut Guest, fd, how| g.errno("sock_shutdown", &[Val::I32(fd), Val::I32(how)]);
    assert_eq!(shutdown(&mut g, 99, 4), inval);
    assert_eq!(shutdown(&mut g, 99, 1), EBADF);
    assert_eq!(shutdown(&mut g, 0, 1), Errno::Notsock as i32);
    assert_eq!(g.errno("proc_raise", &[Val::I32(31)]), inval);
    assert_eq!(g.errno("proc_raise", &[Val::I32(6)]), Errno::Notsup as i32);
    // path_open: lookup flags, open flags, rights, fd flags, in that order.
    let open = |g: &mut Guest, dirflags, oflags, rights: i64, fdflags| {
        g.errno(
            "path_open",
            &[
                Val::I32(99),
                Val::I32(dirflags),
                Val::I32(PATH as i32),
                Val::I32(1),
                Val::I32(oflags),
                Val::I64(rights),
                Val::I64(0),
                Val::I32(fdflags),
                Val::I32(OUT as i32),
            ],
        )
    };
    assert_eq!(open(&mut g, 2, 0, 0, 0), inval);
    assert_eq!(open(&mut g, -1, 0, 0, 0), overflow);
    assert_eq!(open(&mut g, 0, 16, 0, 0), inval);
    assert_eq!(open(&mut g, 0, 0, 1 << 30, 0), inval);
    assert_eq!(open(&mut g, 0, 0, -1, 0), overflow);
    assert_eq!(open(&mut g, 0, 0, 0, 32), inval);
    assert_eq!(open(&mut g, 0, 0, 0, 0), EBADF);
}
