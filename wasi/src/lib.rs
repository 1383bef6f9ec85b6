//! WASI preview 1 (`wasi_snapshot_preview1`) for the Trestle runtime: what
//! programs built by clang with wasi-libc, Rust for `wasm32-wasip1`,
//! AssemblyScript and other WASI toolchains import.
//!
//! The API follows Wasmtime's preview 1 support, so an embedder ports by
//! renaming: a [`WasiCtxBuilder`] assembles a [`WasiP1Ctx`] (arguments,
//! environment, standard streams, preopened directories, clocks, random
//! source), the store's data holds it, and [`add_to_linker`] defines every
//! preview 1 function in a [`trestle::Linker`] through a projection from
//! the store's data to the context.
//!
//! ```
//! use trestle::{Engine, Linker, Module, Store};
//! use trestle_wasi::{I32Exit, MemoryOutputPipe, WasiCtxBuilder, WasiP1Ctx};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write"
//!       (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "hi\n")
//!     (func (export "_start")
//!       ;; one iovec at 0: 3 bytes at 16; bytes written go to 8
//!       (i32.store (i32.const 0) (i32.const 16))
//!       (i32.store (i32.const 4) (i32.const 3))
//!       (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
//!       (call $exit (i32.const 7))))"#)?;
//!
//! let stdout = MemoryOutputPipe::new(1024);
//! let mut linker = Linker::<WasiP1Ctx>::new(&engine);
//! trestle_wasi::add_to_linker(&mut linker, |cx| cx)?;
//! let ctx = WasiCtxBuilder::new().stdout(stdout.clone()).build_p1();
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! let err = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(7)));
//! assert_eq!(stdout.contents(), b"hi\n");
//! # Ok::<(), trestle::Error>(())
//! ```
//!
//! # The sandbox
//!
//! A guest reaches the host's file system only through the directories
//! given with [`WasiCtxBuilder::preopened_dir`]. Paths are resolved by
//! `cap-std` under the directory's open handle, one component at a time:
//! `..` above the directory, absolute paths and symbolic links whose
//! target lies outside fail with `EPERM`, as in Wasmtime, and hard links
//! and renames only name entries inside preopens. [`DirPerms`] and
//! [`FilePerms`] make a directory or its files read-only.
//!
//! # Guest errors
//!
//! A bad descriptor, flag or path is an error number returned to the guest
//! ([`Errno`]). A pointer or length outside the guest's memory, or a
//! misaligned structure pointer, is a trap, as the preview 1 ABI and
//! Wasmtime specify. `proc_exit` ends the call with an [`I32Exit`] error.

mod ctx;
mod memory;
mod p1;
mod pipe;
pub mod types;

pub use ctx::{
    DirPerms, FilePerms, HostMonotonicClock, HostWallClock, RandomSource, WasiCtxBuilder, WasiP1Ctx,
};
pub use pipe::{
    ClosedInput, InputStream, MemoryInputPipe, MemoryOutputPipe, OutputStream, Sink, Stderr, Stdin,
    Stdout,
};
pub use types::Errno;

/// The random-number traits a custom [`WasiCtxBuilder::secure_random`]
/// source implements (`cap_rand::RngCore`).
pub use cap_rand;

use memory::GuestMemory;
use trestle::{Caller, Extern, Linker};

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The error a guest's `proc_exit(code)` ends its call with: downcast the
/// error of [`trestle::Func::call`] to find the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with i32 exit status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// How one WASI call ends when it does not succeed.
#[derive(Debug)]
pub(crate) enum Error {
    /// An error number for the guest.
    Errno(Errno),
    /// A trap: the call does not return to the guest.
    Trap(anyhow::Error),
}

impl Error {
    pub(crate) fn trap(e: anyhow::Error) -> Error {
        Error::Trap(e)
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::Errno(e)
    }
}

/// Calls `$m!` with every preview 1 function but `proc_exit` (which
/// returns no errno): its name and its parameters with their Rust types,
/// which give the wasm types (`u32` is `i32`, `u64` and `i64` are `i64`).
/// The implementation of each is the function of the same name in `p1`,
/// or the call after `=`, with the context and memory as first arguments.
macro_rules! for_each_function {
    ($m:ident) => {
        $m! {
            args_get(argv: u32, buf: u32);
            args_sizes_get(argc: u32, size: u32);
            environ_get(environ: u32, buf: u32);
            environ_sizes_get(count: u32, size: u32);
            clock_res_get(id: u32, out: u32);
            clock_time_get(id: u32, precision: u64, out: u32);
            fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
            fd_allocate(fd: u32, offset: u64, len: u64);
            fd_close(fd: u32);
            fd_datasync(fd: u32);
            fd_fdstat_get(fd: u32, out: u32);
            fd_fdstat_set_flags(fd: u32, flags: u32);
            fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
            fd_filestat_get(fd: u32, out: u32);
            fd_filestat_set_size(fd: u32, size: u64);
            fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, flags: u32);
            fd_pread(fd: u32, iovs: u32, count: u32, offset: u64, out: u32) = read(fd, (iovs, count), At::Offset(offset), out);
            fd_prestat_get(fd: u32, out: u32);
            fd_prestat_dir_name(fd: u32, path: u32, len: u32);
            fd_pwrite(fd: u32, iovs: u32, count: u32, offset: u64, out: u32) = write(fd, (iovs, count), At::Offset(offset), out);
            fd_read(fd: u32, iovs: u32, count: u32, out: u32) = read(fd, (iovs, count), At::Cursor, out);
            fd_readdir(fd: u32, buf: u32, len: u32, cookie: u64, out: u32);
            fd_renumber(from: u32, to: u32);
            fd_seek(fd: u32, offset: i64, whence: u32, out: u32);
            fd_sync(fd: u32);
            fd_tell(fd: u32, out: u32);
            fd_write(fd: u32, iovs: u32, count: u32, out: u32) = write(fd, (iovs, count), At::Cursor, out);
            path_create_directory(fd: u32, path: u32, len: u32);
            path_filestat_get(fd: u32, flags: u32, path: u32, len: u32, out: u32);
            path_filestat_set_times(fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32);
            path_link(old_fd: u32, old_flags: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
            path_open(fd: u32, dirflags: u32, path: u32, len: u32, oflags: u32, base: u64, inheriting: u64, fdflags: u32, out: u32);
            path_readlink(fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, out: u32);
            path_remove_directory(fd: u32, path: u32, len: u32);
            path_rename(old_fd: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
            path_symlink(old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32);
            path_unlink_file(fd: u32, path: u32, len: u32);
            poll_oneoff(subs: u32, events: u32, count: u32, out: u32);
            proc_raise(sig: u32);
            sched_yield();
            random_get(buf: u32, len: u32);
            sock_accept(fd: u32, flags: u32, out: u32);
            sock_recv(fd: u32, iovs: u32, count: u32, flags: u32, out_len: u32, out_flags: u32);
            sock_send(fd: u32, iovs: u32, count: u32, flags: u32, out: u32);
            sock_shutdown(fd: u32, how: u32);
        }
    };
}

/// Runs one WASI function on the caller's memory and the context.
fn dispatch<T>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WasiP1Ctx,
    f: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> Result<(), Error>,
) -> anyhow::Result<i32> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        anyhow::bail!("missing required memory export");
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut mem = GuestMemory::new(bytes);
    match f(get(data), &mut mem) {
        Ok(()) => Ok(0),
        Err(Error::Errno(e)) => Ok(i32::from(e as u16)),
        Err(Error::Trap(e)) => Err(e),
    }
}

/// Defines every function of `wasi_snapshot_preview1` in `linker`;
/// `get` finds the [`WasiP1Ctx`] in the store's data.
///
/// A function fails with a trap when the calling instance exports no
/// memory named `memory`.
///
/// # Errors
///
/// When one of the names is already defined in `linker` and shadowing is
/// not allowed.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiP1Ctx + Copy + Send + Sync + 'static,
) -> anyhow::Result<()> {
    macro_rules! define {
        ($(
            $name:ident ( $( $arg:ident : $ty:ty ),* )
            $( = $imp:ident ( $( $e:expr ),* ) )?;
        )*) => {
            $(
                linker.func_wrap(
                    MODULE,
                    stringify!($name),
                    move |mut caller: Caller<'_, T>, $( $arg: $ty ),*| -> anyhow::Result<i32> {
                        dispatch(&mut caller, get, |cx, mem| {
                            implementation!(cx, mem, $name ( $( $arg ),* ) $( = $imp ( $( $e ),* ) )?)
                        })
                    },
                )?;
            )*
        };
    }
    /// The call that implements one function: see [`for_each_function`].
    macro_rules! implementation {
        ($cx:ident, $mem:ident, $name:ident ( $( $arg:ident ),* )) => {
            p1::$name($cx, $mem, $( $arg ),*)
        };
        ($cx:ident, $mem:ident, $name:ident ( $( $arg:ident ),* ) = $imp:ident ( $( $e:expr ),* )) => {{
            use p1::At;
            p1::$imp($cx, $mem, $( $e ),*)
        }};
    }
    for_each_function!(define);
    linker.func_wrap(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: u32| -> anyhow::Result<()> {
            let mut status = 0;
            dispatch(&mut caller, get, |_, _| {
                status = code;
                Ok(())
            })?;
            if status >= 126 {
                anyhow::bail!("exit with invalid exit status outside of [0..126)");
            }
            Err(I32Exit(status as i32).into())
        },
    )?;
    Ok(())
}

macro_rules! names {
    ($( $name:ident ( $( $arg:ident : $ty:ty ),* ) $( = $imp:ident ( $( $e:expr ),* ) )?; )*) => {
        /// The names of every function [`add_to_linker`] defines.
        pub const FUNCTIONS: &[&str] = &[$( stringify!($name), )* "proc_exit"];
    };
}
for_each_function!(names);
