//! The functions of `wasi_snapshot_preview1`.
//!
//! Each function takes the context, the guest memory and the raw
//! arguments, and returns `Ok(())` (errno 0), an error number, or a trap.
//! The order of the checks follows Wasmtime's preview 1 implementation, so
//! a guest sees the same error number for the same bad call: flag and enum
//! arguments first (`EINVAL`), then, function by function, the descriptor
//! and the guest pointers in the order Wasmtime reads them. Result
//! pointers are written last, so a bad result pointer traps after the
//! operation took place, as in Wasmtime.

#![expect(
    clippy::too_many_arguments,
    reason = "each function takes the parameters of the WASI function it implements"
)]

use crate::Error;
use crate::ctx::{Desc, DirDesc, DirPerms, FileDesc, FilePerms, WasiP1Ctx};
use crate::memory::{GuestMemory, le_u16, le_u32, le_u64};
use crate::types::{
    Errno, clockid, eventtype, fdflags, filetype, fstflags, layout, lookupflags, oflags, rights,
    subclockflags, whence,
};
use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _, OpenOptionsMaybeDirExt};
use cap_std::fs::{Metadata, OpenOptions};
use std::time::{Duration, SystemTime};
use system_interface::fs::{Advice, FileIoExt as _};

type R<T = ()> = Result<T, Error>;

fn check_bits<T: Into<u64>>(value: T, all: T) -> R {
    let (value, all) = (value.into(), all.into());
    if value & !all != 0 {
        return Err(Errno::Inval.into());
    }
    Ok(())
}

/// A flag or enum argument as Wasmtime's bindings read it from the wasm
/// `i32`: first a checked conversion to the type's width (`EOVERFLOW` when
/// the value does not fit, negative values included), then the value
/// itself is checked by the caller (`EINVAL`).
fn narrow(value: u32, max: u32) -> R<u32> {
    if (value as i32) < 0 || value > max {
        return Err(Errno::Overflow.into());
    }
    Ok(value)
}

/// A 16-bit flags argument.
fn flags16(value: u32, all: u16) -> R<u16> {
    let v = narrow(value, u32::from(u16::MAX))? as u16;
    check_bits(v, all)?;
    Ok(v)
}

/// An 8-bit enum argument with values `0..=max`.
fn enum8(value: u32, max: u8) -> R<u8> {
    let v = narrow(value, u32::from(u8::MAX))? as u8;
    if v > max {
        return Err(Errno::Inval.into());
    }
    Ok(v)
}

/// A `rights` argument, passed as an `i64`.
fn check_rights(value: u64) -> R {
    if (value as i64) < 0 {
        return Err(Errno::Overflow.into());
    }
    check_bits(value, rights::ALL)
}

// ---------------------------------------------------------------------
// Arguments and environment

fn write_string_list<'s>(
    mem: &mut GuestMemory<'_>,
    mut ptrs: u32,
    mut buf: u32,
    items: impl Iterator<Item = Vec<u8>> + 's,
) -> R {
    for item in items {
        mem.write_u32(ptrs, buf)?;
        ptrs = ptrs.checked_add(4).ok_or_else(overflow_trap)?;
        mem.write_bytes(buf, &item)?;
        let len = u32::try_from(item.len()).map_err(|_| overflow_trap())?;
        buf = buf.checked_add(len).ok_or_else(overflow_trap)?;
    }
    Ok(())
}

fn overflow_trap() -> Error {
    Error::trap(anyhow::anyhow!(
        "WASI call: guest pointer arithmetic overflowed"
    ))
}

fn sizes(items: impl Iterator<Item = usize>) -> R<(u32, u32)> {
    let (mut n, mut len) = (0u64, 0u64);
    for l in items {
        n += 1;
        len += l as u64;
    }
    let n = u32::try_from(n).map_err(|_| Error::from(Errno::Overflow))?;
    let len = u32::try_from(len).map_err(|_| Error::from(Errno::Overflow))?;
    Ok((n, len))
}

fn arg_bytes(cx: &WasiP1Ctx) -> impl Iterator<Item = Vec<u8>> + '_ {
    cx.args.iter().map(|a| {
        let mut v = a.as_bytes().to_vec();
        v.push(0);
        v
    })
}

fn env_bytes(cx: &WasiP1Ctx) -> impl Iterator<Item = Vec<u8>> + '_ {
    cx.env.iter().map(|(k, v)| {
        let mut out = Vec::with_capacity(k.len() + v.len() + 2);
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(0);
        out
    })
}

pub(crate) fn args_get(cx: &mut WasiP1Ctx, mem: &mut GuestMemory<'_>, argv: u32, buf: u32) -> R {
    write_string_list(mem, argv, buf, arg_bytes(cx))
}

pub(crate) fn args_sizes_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    argc: u32,
    size: u32,
) -> R {
    let (n, len) = sizes(cx.args.iter().map(|a| a.len() + 1))?;
    mem.write_u32(argc, n)?;
    mem.write_u32(size, len)
}

pub(crate) fn environ_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    environ: u32,
    buf: u32,
) -> R {
    write_string_list(mem, environ, buf, env_bytes(cx))
}

pub(crate) fn environ_sizes_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> R {
    let (n, len) = sizes(cx.env.iter().map(|(k, v)| k.len() + v.len() + 2))?;
    mem.write_u32(count, n)?;
    mem.write_u32(size, len)
}

// ---------------------------------------------------------------------
// Clocks, random numbers, scheduling, process

fn nanos(d: Duration) -> R<u64> {
    u64::try_from(d.as_nanos()).map_err(|_| Error::from(Errno::Overflow))
}

/// A `clockid` read from guest memory.
fn check_clock(id: u32) -> R {
    if id > clockid::THREAD_CPUTIME {
        return Err(Errno::Inval.into());
    }
    Ok(())
}

/// A `clockid` argument.
fn clock_arg(id: u32) -> R {
    narrow(id, u32::MAX)?;
    check_clock(id)
}

pub(crate) fn clock_res_get(cx: &mut WasiP1Ctx, mem: &mut GuestMemory<'_>, id: u32, out: u32) -> R {
    clock_arg(id)?;
    let res = match id {
        clockid::REALTIME => nanos(cx.wall_clock.resolution())?,
        clockid::MONOTONIC => cx.monotonic_clock.resolution(),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u64(out, res)
}

pub(crate) fn clock_time_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> R {
    clock_arg(id)?;
    let now = match id {
        clockid::REALTIME => nanos(cx.wall_clock.now())?,
        clockid::MONOTONIC => cx.monotonic_clock.now(),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u64(out, now)
}

pub(crate) fn random_get(cx: &mut WasiP1Ctx, mem: &mut GuestMemory<'_>, buf: u32, len: u32) -> R {
    let bytes = mem.slice_mut(buf, len)?;
    cx.random
        .try_fill_bytes(bytes)
        .map_err(|e| Error::trap(anyhow::anyhow!("random source failed: {e}")))
}

pub(crate) fn sched_yield(_cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>) -> R {
    std::thread::yield_now();
    Ok(())
}

pub(crate) fn proc_raise(_cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>, sig: u32) -> R {
    // `signal` is an enum of 31 values.
    enum8(sig, 30)?;
    Err(Errno::Notsup.into())
}

// ---------------------------------------------------------------------
// Descriptors

fn io(e: std::io::Error) -> Error {
    Errno::from_io(&e).into()
}

pub(crate) fn fd_advise(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> R {
    let advice = match enum8(advice, crate::types::advice::MAX)? {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => return Err(Errno::Inval.into()),
    };
    let f = cx.file(fd)?;
    f.file.advise(offset, len, advice).map_err(io)
}

pub(crate) fn fd_allocate(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _offset: u64,
    _len: u64,
) -> R {
    cx.file(fd)?;
    Err(Errno::Notsup.into())
}

pub(crate) fn fd_close(cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>, fd: u32) -> R {
    cx.remove(fd)?;
    Ok(())
}

pub(crate) fn fd_datasync(cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>, fd: u32) -> R {
    cx.file(fd)?.file.sync_data().map_err(io)
}

pub(crate) fn fd_sync(cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>, fd: u32) -> R {
    cx.file(fd)?.file.sync_all().map_err(io)
}

fn stdio_filetype(terminal: bool) -> u8 {
    if terminal {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

/// Rights Wasmtime reports for a preopened directory, and what it lets
/// files opened there inherit.
const PREOPEN_RIGHTS: u64 = rights::PATH_CREATE_DIRECTORY
    | rights::PATH_CREATE_FILE
    | rights::PATH_LINK_SOURCE
    | rights::PATH_LINK_TARGET
    | rights::PATH_OPEN
    | rights::FD_READDIR
    | rights::PATH_READLINK
    | rights::PATH_RENAME_SOURCE
    | rights::PATH_RENAME_TARGET
    | rights::PATH_SYMLINK
    | rights::PATH_REMOVE_DIRECTORY
    | rights::PATH_UNLINK_FILE
    | rights::PATH_FILESTAT_GET
    | rights::PATH_FILESTAT_SET_TIMES
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_TIMES;

const PREOPEN_INHERITING: u64 = PREOPEN_RIGHTS
    | rights::FD_DATASYNC
    | rights::FD_READ
    | rights::FD_SEEK
    | rights::FD_FDSTAT_SET_FLAGS
    | rights::FD_SYNC
    | rights::FD_TELL
    | rights::FD_WRITE
    | rights::FD_ADVISE
    | rights::FD_ALLOCATE
    | rights::FD_FILESTAT_GET
    | rights::FD_FILESTAT_SET_SIZE
    | rights::FD_FILESTAT_SET_TIMES
    | rights::POLL_FD_READWRITE;

pub(crate) fn fd_fdstat_get(cx: &mut WasiP1Ctx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> R {
    let (ft, flags, base, inheriting) = match cx.desc(fd)? {
        Desc::Input(s) => (
            stdio_filetype(s.is_terminal()),
            0,
            rights::FD_READ,
            rights::FD_READ,
        ),
        Desc::Output(s) => (
            stdio_filetype(s.is_terminal()),
            0,
            rights::FD_WRITE,
            rights::FD_WRITE,
        ),
        Desc::Dir(DirDesc {
            preopen: Some(_), ..
        }) => (filetype::DIRECTORY, 0, PREOPEN_RIGHTS, PREOPEN_INHERITING),
        Desc::Dir(_) => {
            let r = rights::ALL
                & !(rights::FD_SEEK
                    | rights::FD_FILESTAT_SET_SIZE
                    | rights::PATH_FILESTAT_SET_SIZE
                    | rights::FD_WRITE);
            (filetype::DIRECTORY, 0, r, r)
        }
        Desc::File(f) => {
            let ft = file_type(&f.file.metadata().map_err(io)?);
            let mut r = rights::ALL;
            if !f.readable {
                r &= !(rights::FD_READ | rights::FD_READDIR);
            }
            if !f.writable {
                r &= !rights::FD_WRITE;
            }
            let mut flags = 0;
            if f.append {
                flags |= fdflags::APPEND;
            }
            if f.nonblock {
                flags |= fdflags::NONBLOCK;
            }
            (ft, flags, r, r)
        }
    };
    mem.record(out, layout::FDSTAT_SIZE, layout::FDSTAT_ALIGN)?
        .zero()
        .u8(0, ft)
        .u16(2, flags)
        .u64(8, base)
        .u64(16, inheriting);
    Ok(())
}

pub(crate) fn fd_fdstat_set_flags(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
) -> R {
    let flags = flags16(flags, fdflags::ALL)?;
    let f = cx.file(fd)?;
    if flags & (fdflags::DSYNC | fdflags::SYNC | fdflags::RSYNC) != 0 {
        return Err(Errno::Inval.into());
    }
    f.append = flags & fdflags::APPEND != 0;
    f.nonblock = flags & fdflags::NONBLOCK != 0;
    Ok(())
}

pub(crate) fn fd_fdstat_set_rights(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> R {
    check_rights(base)?;
    check_rights(inheriting)?;
    match cx.desc(fd)? {
        Desc::File(_) | Desc::Dir(_) => Err(Errno::Notsup.into()),
        _ => Err(Errno::Badf.into()),
    }
}

fn file_type(m: &Metadata) -> u8 {
    use cap_fs_ext::FileTypeExt as _;
    let t = m.file_type();
    if t.is_dir() {
        filetype::DIRECTORY
    } else if t.is_file() {
        filetype::REGULAR_FILE
    } else if t.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if t.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if t.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if t.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

fn timestamp(t: std::io::Result<cap_std::time::SystemTime>) -> u64 {
    t.ok()
        .and_then(|t| t.into_std().duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// The status-change time: `ctime` where the platform has one.
fn ctime(m: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        use cap_std::fs::MetadataExt as _;
        let secs = u64::try_from(m.ctime()).unwrap_or(0);
        let nsec = u64::try_from(m.ctime_nsec()).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nsec)
    }
    #[cfg(not(unix))]
    {
        timestamp(m.modified())
    }
}

fn write_filestat(mem: &mut GuestMemory<'_>, out: u32, m: &Metadata) -> R {
    use cap_fs_ext::MetadataExt as _;
    mem.record(out, layout::FILESTAT_SIZE, layout::FILESTAT_ALIGN)?
        .zero()
        .u64(0, m.dev())
        .u64(8, m.ino())
        .u8(16, file_type(m))
        .u64(24, m.nlink())
        .u64(32, m.len())
        .u64(40, timestamp(m.accessed()))
        .u64(48, timestamp(m.modified()))
        .u64(56, ctime(m));
    Ok(())
}

pub(crate) fn fd_filestat_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> R {
    let m = match cx.desc(fd)? {
        Desc::Input(s) => {
            let ft = stdio_filetype(s.is_terminal());
            return stdio_filestat(mem, out, ft);
        }
        Desc::Output(s) => {
            let ft = stdio_filetype(s.is_terminal());
            return stdio_filestat(mem, out, ft);
        }
        Desc::File(f) => f.file.metadata().map_err(io)?,
        Desc::Dir(d) => d.dir.dir_metadata().map_err(io)?,
    };
    write_filestat(mem, out, &m)
}

fn stdio_filestat(mem: &mut GuestMemory<'_>, out: u32, ft: u8) -> R {
    mem.record(out, layout::FILESTAT_SIZE, layout::FILESTAT_ALIGN)?
        .zero()
        .u8(16, ft);
    Ok(())
}

pub(crate) fn fd_filestat_set_size(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    size: u64,
) -> R {
    let f = cx.file(fd)?;
    if !f.perms.contains(FilePerms::WRITE) {
        return Err(Errno::Perm.into());
    }
    f.file.set_len(size).map_err(io)
}

/// The new value of one timestamp of a `*_set_times` call.
fn time_spec(set: bool, value: u64, now: bool) -> R<Option<fs_set_times::SystemTimeSpec>> {
    match (set, now) {
        (true, true) => Err(Errno::Inval.into()),
        (true, false) => Ok(Some(fs_set_times::SystemTimeSpec::Absolute(
            SystemTime::UNIX_EPOCH + Duration::from_nanos(value),
        ))),
        (false, true) => Ok(Some(fs_set_times::SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
    }
}

fn time_specs(
    atim: u64,
    mtim: u64,
    flags: u32,
) -> R<(
    Option<fs_set_times::SystemTimeSpec>,
    Option<fs_set_times::SystemTimeSpec>,
)> {
    let flags = flags16(flags, fstflags::ALL)?;
    let a = time_spec(
        flags & fstflags::ATIM != 0,
        atim,
        flags & fstflags::ATIM_NOW != 0,
    )?;
    let m = time_spec(
        flags & fstflags::MTIM != 0,
        mtim,
        flags & fstflags::MTIM_NOW != 0,
    )?;
    Ok((a, m))
}

pub(crate) fn fd_filestat_set_times(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> R {
    use fs_set_times::SetTimes as _;
    let (a, m) = time_specs(atim, mtim, flags)?;
    match cx.desc(fd)? {
        Desc::File(f) => {
            if !f.perms.contains(FilePerms::WRITE) {
                return Err(Errno::Perm.into());
            }
            f.file.set_times(a, m).map_err(io)
        }
        Desc::Dir(d) => {
            if !d.perms.contains(DirPerms::MUTATE) {
                return Err(Errno::Perm.into());
            }
            fs_set_times::SetTimes::set_times(&d.dir, a, m).map_err(io)
        }
        _ => Err(Errno::Badf.into()),
    }
}

/// The first non-empty buffer of an iovec array (an empty one if all are
/// empty): like Wasmtime, each read or write call moves at most one
/// buffer's worth of data.
fn first_buffer(mem: &GuestMemory<'_>, iovs: u32, count: u32) -> R<(u32, u32)> {
    let list = mem.iovecs(iovs, count)?;
    Ok(list
        .into_iter()
        .find(|&(_, len)| len != 0)
        .unwrap_or((0, 0)))
}

fn to_u32(n: usize) -> R<u32> {
    u32::try_from(n).map_err(|_| Errno::Overflow.into())
}

/// Where a read or write goes: the descriptor's own offset, which then
/// advances (`fd_read`, `fd_write`), or a given offset, which leaves it
/// alone (`fd_pread`, `fd_pwrite`; streams cannot seek: `ESPIPE`).
#[derive(Clone, Copy)]
pub(crate) enum At {
    Cursor,
    Offset(u64),
}

fn advance(position: u64, n: usize) -> R<u64> {
    position
        .checked_add(n as u64)
        .ok_or(Error::from(Errno::Overflow))
}

/// `fd_read` and `fd_pread`: reads into the first non-empty buffer of
/// `iovs` at `at`, and stores the number of bytes read at `out`.
pub(crate) fn read(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    (iovs, count): (u32, u32),
    at: At,
    out: u32,
) -> R {
    let (ptr, len) = first_buffer(mem, iovs, count)?;
    let n = match (cx.desc(fd)?, at) {
        (Desc::File(f), At::Cursor) => {
            let n = f
                .file
                .read_at(mem.slice_mut(ptr, len)?, f.position)
                .map_err(io)?;
            f.position = advance(f.position, n)?;
            n
        }
        (Desc::File(f), At::Offset(offset)) => f
            .file
            .read_at(mem.slice_mut(ptr, len)?, offset)
            .map_err(io)?,
        (Desc::Input(s), At::Cursor) => s.read(mem.slice_mut(ptr, len)?).map_err(io)?,
        (Desc::Input(_), At::Offset(_)) => return Err(Errno::Spipe.into()),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u32(out, to_u32(n)?)
}

/// Writes to a file at the end in append mode (whatever the offset, as
/// Linux `pwrite` does), else at `offset`.
fn file_write(f: &FileDesc, buf: &[u8], offset: u64) -> R<usize> {
    if f.append {
        f.file.append(buf).map_err(io)
    } else {
        f.file.write_at(buf, offset).map_err(io)
    }
}

/// `fd_write` and `fd_pwrite`: writes the first non-empty buffer of
/// `iovs` at `at`, and stores the number of bytes written at `out`.
pub(crate) fn write(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    (iovs, count): (u32, u32),
    at: At,
    out: u32,
) -> R {
    let (ptr, len) = first_buffer(mem, iovs, count)?;
    let n = match (cx.desc(fd)?, at) {
        (Desc::File(f), At::Cursor) => {
            let n = file_write(f, mem.slice(ptr, len)?, f.position)?;
            f.position = if f.append {
                f.file.metadata().map_err(io)?.len()
            } else {
                advance(f.position, n)?
            };
            n
        }
        (Desc::File(f), At::Offset(offset)) => file_write(f, mem.slice(ptr, len)?, offset)?,
        (Desc::Output(s), At::Cursor) => {
            let buf = mem.slice(ptr, len)?;
            s.write(buf).map_err(io)?;
            buf.len()
        }
        (Desc::Output(_), At::Offset(_)) => return Err(Errno::Spipe.into()),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_u32(out, to_u32(n)?)
}

pub(crate) fn fd_prestat_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> R {
    match cx.desc(fd)? {
        Desc::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            let len = to_u32(name.len())?;
            mem.record(out, layout::PRESTAT_SIZE, layout::PRESTAT_ALIGN)?
                .zero()
                .u8(0, 0)
                .u32(4, len);
            Ok(())
        }
        _ => Err(Errno::Badf.into()),
    }
}

pub(crate) fn fd_prestat_dir_name(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> R {
    match cx.desc(fd)? {
        Desc::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            if name.len() > len as usize {
                return Err(Errno::Nametoolong.into());
            }
            let name = name.clone();
            mem.write_bytes(path, name.as_bytes())
        }
        _ => Err(Errno::Notdir.into()),
    }
}

pub(crate) fn fd_renumber(cx: &mut WasiP1Ctx, _mem: &mut GuestMemory<'_>, from: u32, to: u32) -> R {
    if !cx.fds.contains_key(&from) || !cx.fds.contains_key(&to) {
        return Err(Errno::Badf.into());
    }
    if from == to {
        return Ok(());
    }
    cx.remove(to)?;
    let desc = cx.remove(from)?;
    cx.free.remove(&to);
    cx.fds.insert(to, desc);
    Ok(())
}

fn seekable(cx: &mut WasiP1Ctx, fd: u32) -> R<&mut FileDesc> {
    match cx.desc(fd)? {
        Desc::File(f) => Ok(f),
        Desc::Input(_) | Desc::Output(_) => Err(Errno::Spipe.into()),
        Desc::Dir(_) => Err(Errno::Badf.into()),
    }
}

pub(crate) fn fd_seek(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    how: u32,
    out: u32,
) -> R {
    let how = enum8(how, whence::END)?;
    let f = seekable(cx, fd)?;
    let base = match how {
        whence::SET => 0,
        whence::CUR => f.position,
        _ => f.file.metadata().map_err(io)?.len(),
    };
    let pos = if how == whence::SET {
        u64::try_from(offset).map_err(|_| Error::from(Errno::Inval))?
    } else {
        base.checked_add_signed(offset)
            .ok_or(Error::from(Errno::Inval))?
    };
    f.position = pos;
    mem.write_u64(out, pos)
}

pub(crate) fn fd_tell(cx: &mut WasiP1Ctx, mem: &mut GuestMemory<'_>, fd: u32, out: u32) -> R {
    let pos = seekable(cx, fd)?.position;
    mem.write_u64(out, pos)
}

/// One entry of a directory listing as `fd_readdir` reports it.
struct Entry {
    ino: u64,
    kind: u8,
    name: Vec<u8>,
}

fn list_dir(d: &DirDesc) -> R<Vec<Entry>> {
    #[cfg(unix)]
    use std::os::unix::fs::DirEntryExt as _;
    if !d.perms.contains(DirPerms::READ) {
        return Err(Errno::Perm.into());
    }
    let mut entries = Vec::new();
    let this = {
        use cap_fs_ext::MetadataExt as _;
        d.dir.dir_metadata().map_err(io)?.ino()
    };
    for name in [".", ".."] {
        entries.push(Entry {
            ino: this,
            kind: filetype::DIRECTORY,
            name: name.as_bytes().to_vec(),
        });
    }
    for entry in d.dir.entries().map_err(io)? {
        let entry = entry.map_err(io)?;
        let ft = entry.file_type().map_err(io)?;
        let kind = if ft.is_dir() {
            filetype::DIRECTORY
        } else if ft.is_file() {
            filetype::REGULAR_FILE
        } else if ft.is_symlink() {
            filetype::SYMBOLIC_LINK
        } else {
            use cap_fs_ext::FileTypeExt as _;
            if ft.is_block_device() {
                filetype::BLOCK_DEVICE
            } else if ft.is_char_device() {
                filetype::CHARACTER_DEVICE
            } else if ft.is_socket() {
                filetype::SOCKET_STREAM
            } else {
                filetype::UNKNOWN
            }
        };
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| Error::from(Errno::Ilseq))?
            .into_bytes();
        entries.push(Entry {
            ino: entry.ino(),
            kind,
            name,
        });
    }
    Ok(entries)
}

pub(crate) fn fd_readdir(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    out: u32,
) -> R {
    let entries = list_dir(cx.dir(fd)?)?;
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    let mut pos = buf;
    let mut room = buf_len;
    for (i, entry) in entries.iter().enumerate().skip(skip) {
        let mut header = [0u8; layout::DIRENT_SIZE as usize];
        header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&entry.ino.to_le_bytes());
        header[16..20].copy_from_slice(&to_u32(entry.name.len())?.to_le_bytes());
        header[20] = entry.kind;
        for part in [&header[..], &entry.name[..]] {
            let n = room.min(to_u32(part.len())?);
            mem.write_bytes(pos, &part[..n as usize])?;
            pos = pos.checked_add(n).ok_or_else(overflow_trap)?;
            room -= n;
            if room == 0 {
                return mem.write_u32(out, buf_len);
            }
        }
    }
    mem.write_u32(out, buf_len - room)
}

// ---------------------------------------------------------------------
// Paths

fn check_lookup(flags: u32) -> R<bool> {
    narrow(flags, u32::MAX)?;
    check_bits(flags, lookupflags::SYMLINK_FOLLOW)?;
    Ok(flags & lookupflags::SYMLINK_FOLLOW != 0)
}

fn require_mutate(d: &DirDesc) -> R {
    if d.perms.contains(DirPerms::MUTATE) {
        Ok(())
    } else {
        Err(Errno::Perm.into())
    }
}

pub(crate) fn path_create_directory(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> R {
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    require_mutate(d)?;
    d.dir.create_dir(path).map_err(io)
}

fn stat_at(d: &DirDesc, path: &str, follow: bool) -> R<Metadata> {
    if !d.perms.contains(DirPerms::READ) {
        return Err(Errno::Perm.into());
    }
    if follow {
        d.dir.metadata(path).map_err(io)
    } else {
        d.dir.symlink_metadata(path).map_err(io)
    }
}

pub(crate) fn path_filestat_get(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    out: u32,
) -> R {
    let follow = check_lookup(flags)?;
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    let m = stat_at(d, &path, follow)?;
    write_filestat(mem, out, &m)
}

pub(crate) fn path_filestat_set_times(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> R {
    let follow = check_lookup(flags)?;
    let (a, m) = time_specs(atim, mtim, fst)?;
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    require_mutate(d)?;
    let a = a.map(cap_fs_ext::SystemTimeSpec::from_std);
    let m = m.map(cap_fs_ext::SystemTimeSpec::from_std);
    if follow {
        d.dir.set_times(path, a, m).map_err(io)
    } else {
        d.dir.set_symlink_times(path, a, m).map_err(io)
    }
}

/// The directories and paths of a two-path operation (`path_link`,
/// `path_rename`), each given as a descriptor, a path pointer and a length;
/// both directories must allow changes, with the same rights (an operation
/// between them must not give a path more rights than its directory has).
fn two_mutable_paths<'c>(
    cx: &'c WasiP1Ctx,
    mem: &GuestMemory<'_>,
    (old_fd, old_path, old_len): (u32, u32, u32),
    (new_fd, new_path, new_len): (u32, u32, u32),
) -> R<(&'c DirDesc, String, &'c DirDesc, String)> {
    let src = cx.dir(old_fd)?;
    let dst = cx.dir(new_fd)?;
    let old_path = mem.string(old_path, old_len)?;
    let new_path = mem.string(new_path, new_len)?;
    require_mutate(src)?;
    require_mutate(dst)?;
    if src.perms != dst.perms || src.file_perms != dst.file_perms {
        return Err(Errno::Perm.into());
    }
    Ok((src, old_path, dst, new_path))
}

pub(crate) fn path_link(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> R {
    let follow = check_lookup(old_flags)?;
    let (src, old_path, dst, new_path) = two_mutable_paths(
        cx,
        mem,
        (old_fd, old_path, old_len),
        (new_fd, new_path, new_len),
    )?;
    if follow {
        return Err(Errno::Inval.into());
    }
    src.dir.hard_link(old_path, &dst.dir, new_path).map_err(io)
}

pub(crate) fn path_open(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    len: u32,
    oflags: u32,
    base: u64,
    inheriting: u64,
    fdflags: u32,
    out: u32,
) -> R {
    let follow = check_lookup(dirflags)?;
    let oflags = flags16(oflags, oflags::ALL)?;
    check_rights(base)?;
    check_rights(inheriting)?;
    let fdflags = flags16(fdflags, fdflags::ALL)?;
    let path = mem.string(path, len)?;
    let d = match cx.desc(fd)? {
        Desc::Dir(d) => d,
        Desc::File(_) => return Err(Errno::Notdir.into()),
        _ => return Err(Errno::Badf.into()),
    };

    let mut opts = OpenOptions::new();
    opts.maybe_dir(true);
    let mut create = false;
    let (mut read, mut write) = (false, false);
    if oflags & oflags::CREAT != 0 {
        if oflags & oflags::EXCL != 0 {
            opts.create_new(true);
        } else {
            opts.create(true);
        }
        create = true;
        write = true;
    }
    if oflags & oflags::TRUNC != 0 {
        opts.truncate(true);
        write = true;
    }
    if base & rights::FD_READ != 0 {
        read = true;
    }
    if base & rights::FD_WRITE != 0 {
        write = true;
    } else {
        // Opened for reading at least, so the host lets the file be opened;
        // the guest's rights are checked on use.
        read = true;
    }
    opts.read(read).write(write);
    opts.follow(if follow {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    });
    if fdflags & (fdflags::SYNC | fdflags::DSYNC | fdflags::RSYNC) != 0 {
        return Err(Errno::Notsup.into());
    }
    if oflags & oflags::DIRECTORY != 0
        && oflags & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0
    {
        return Err(Errno::Inval.into());
    }
    if (create || write)
        && (!d.perms.contains(DirPerms::MUTATE) || !d.file_perms.contains(FilePerms::WRITE))
    {
        return Err(Errno::Perm.into());
    }
    let file = d.dir.open_with(&path, &opts).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let desc = if meta.is_dir() {
        Desc::Dir(DirDesc {
            dir: cap_std::fs::Dir::from_std_file(file.into_std()),
            perms: d.perms,
            file_perms: d.file_perms,
            preopen: None,
        })
    } else if oflags & oflags::DIRECTORY != 0 {
        return Err(Errno::Notdir.into());
    } else {
        Desc::File(FileDesc {
            file,
            position: 0,
            append: fdflags & fdflags::APPEND != 0,
            nonblock: fdflags & fdflags::NONBLOCK != 0,
            readable: read,
            writable: write,
            perms: d.file_perms,
        })
    };
    let new_fd = cx.push(desc)?;
    mem.write_u32(out, new_fd)
}

pub(crate) fn path_readlink(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
    buf: u32,
    buf_len: u32,
    out: u32,
) -> R {
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    if !d.perms.contains(DirPerms::READ) {
        return Err(Errno::Perm.into());
    }
    let target = d.dir.read_link(path).map_err(io)?;
    let mut target = target
        .into_os_string()
        .into_string()
        .map_err(|_| Error::from(Errno::Ilseq))?
        .into_bytes();
    target.truncate(buf_len as usize);
    mem.write_bytes(buf, &target)?;
    mem.write_u32(out, to_u32(target.len())?)
}

pub(crate) fn path_remove_directory(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> R {
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    require_mutate(d)?;
    d.dir.remove_dir(path).map_err(io)
}

pub(crate) fn path_rename(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> R {
    let (src, old_path, dst, new_path) = two_mutable_paths(
        cx,
        mem,
        (old_fd, old_path, old_len),
        (new_fd, new_path, new_len),
    )?;
    src.dir.rename(old_path, &dst.dir, new_path).map_err(io)
}

pub(crate) fn path_symlink(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> R {
    let d = cx.dir(fd)?;
    let old_path = mem.string(old_path, old_len)?;
    let new_path = mem.string(new_path, new_len)?;
    require_mutate(d)?;
    // A link to an absolute path could never be followed inside the
    // sandbox; refusing it also keeps other host programs from following
    // it.
    if old_path.starts_with('/') {
        return Err(Errno::Perm.into());
    }
    d.dir.symlink(old_path, new_path).map_err(io)
}

pub(crate) fn path_unlink_file(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> R {
    let d = cx.dir(fd)?;
    let path = mem.string(path, len)?;
    require_mutate(d)?;
    d.dir.remove_file_or_symlink(path).map_err(io)
}

// ---------------------------------------------------------------------
// poll_oneoff

enum Sub {
    /// A timer: the monotonic-clock reading at which it fires.
    Clock(u64),
    /// Read or write readiness of a descriptor, with the byte count to
    /// report and whether the peer hung up.
    Fd { kind: u8, nbytes: u64, hangup: bool },
}

pub(crate) fn poll_oneoff(
    cx: &mut WasiP1Ctx,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    events: u32,
    count: u32,
    out: u32,
) -> R {
    if count == 0 {
        return Err(Errno::Inval.into());
    }
    let size = count
        .checked_mul(layout::SUBSCRIPTION_SIZE)
        .ok_or_else(overflow_trap)?;
    let raw = mem
        .read_record(subs, size, layout::SUBSCRIPTION_ALIGN)?
        .to_vec();
    let event_size = count
        .checked_mul(layout::EVENT_SIZE)
        .ok_or_else(overflow_trap)?;
    mem.read_record(events, event_size, layout::EVENT_ALIGN)?;

    let mut parsed = Vec::with_capacity(count as usize);
    for sub in raw.chunks_exact(layout::SUBSCRIPTION_SIZE as usize) {
        let userdata = le_u64(sub, 0);
        let tag = sub[8];
        let item = match tag {
            eventtype::CLOCK => {
                let id = le_u32(sub, 16);
                let timeout = le_u64(sub, 24);
                let flags = le_u16(sub, 40);
                check_clock(id)?;
                check_bits(flags, subclockflags::ABSTIME)?;
                let absolute = flags & subclockflags::ABSTIME != 0;
                let now = cx.monotonic_clock.now();
                let deadline = match (id, absolute) {
                    (clockid::MONOTONIC, true) => timeout,
                    (clockid::MONOTONIC, false) | (clockid::REALTIME, false) => {
                        now.saturating_add(timeout)
                    }
                    (clockid::REALTIME, true) => {
                        let wall = nanos(cx.wall_clock.now())?;
                        now.saturating_add(timeout.saturating_sub(wall))
                    }
                    _ => return Err(Errno::Inval.into()),
                };
                Sub::Clock(deadline)
            }
            eventtype::FD_READ => {
                let fd = le_u32(sub, 16);
                match cx.desc(fd)? {
                    Desc::Input(_) => Sub::Fd {
                        kind: tag,
                        nbytes: 1,
                        hangup: false,
                    },
                    Desc::File(f) => {
                        let size = f.file.metadata().map_err(io)?.len();
                        Sub::Fd {
                            kind: tag,
                            nbytes: 1,
                            hangup: size <= f.position,
                        }
                    }
                    _ => return Err(Errno::Badf.into()),
                }
            }
            eventtype::FD_WRITE => {
                let fd = le_u32(sub, 16);
                match cx.desc(fd)? {
                    Desc::Output(_) | Desc::File(_) => Sub::Fd {
                        kind: tag,
                        nbytes: 1,
                        hangup: false,
                    },
                    _ => return Err(Errno::Badf.into()),
                }
            }
            _ => return Err(Errno::Inval.into()),
        };
        parsed.push((userdata, item));
    }

    let any_fd = parsed.iter().any(|(_, s)| matches!(s, Sub::Fd { .. }));
    if !any_fd {
        let earliest = parsed
            .iter()
            .filter_map(|(_, s)| match s {
                Sub::Clock(d) => Some(*d),
                Sub::Fd { .. } => None,
            })
            .min()
            .unwrap_or(0);
        let now = cx.monotonic_clock.now();
        if earliest > now {
            std::thread::sleep(Duration::from_nanos(earliest - now));
        }
    }
    let now = cx.monotonic_clock.now();
    let mut written = 0u32;
    for (userdata, sub) in &parsed {
        let (kind, nbytes, hangup) = match *sub {
            Sub::Clock(deadline) if any_fd && deadline > now => continue,
            Sub::Clock(_) => (eventtype::CLOCK, 0, false),
            Sub::Fd {
                kind,
                nbytes,
                hangup,
            } => (kind, nbytes, hangup),
        };
        let at = events + written * layout::EVENT_SIZE;
        mem.record(at, layout::EVENT_SIZE, layout::EVENT_ALIGN)?
            .zero()
            .u64(0, *userdata)
            .u16(8, 0)
            .u8(10, kind)
            .u64(16, nbytes)
            .u16(24, u16::from(hangup));
        written += 1;
    }
    mem.write_u32(out, written)
}

// ---------------------------------------------------------------------
// Sockets: none can be created in preview 1, so every call on a valid
// descriptor is "not a socket".

pub(crate) fn sock_accept(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    _out: u32,
) -> R {
    flags16(flags, fdflags::ALL)?;
    cx.desc(fd)?;
    Err(Errno::Notsock.into())
}

pub(crate) fn sock_recv(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _iovs: u32,
    _count: u32,
    flags: u32,
    _out_len: u32,
    _out_flags: u32,
) -> R {
    // riflags: RECV_PEEK and RECV_WAITALL.
    flags16(flags, 0b11)?;
    cx.desc(fd)?;
    Err(Errno::Notsock.into())
}

pub(crate) fn sock_send(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _iovs: u32,
    _count: u32,
    flags: u32,
    _out: u32,
) -> R {
    // siflags has no flags defined, but is a plain 16-bit value.
    narrow(flags, u32::from(u16::MAX))?;
    cx.desc(fd)?;
    Err(Errno::Notsock.into())
}

pub(crate) fn sock_shutdown(
    cx: &mut WasiP1Ctx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    how: u32,
) -> R {
    // sdflags: RD and WR, an 8-bit flags type.
    let how = narrow(how, u32::from(u8::MAX))?;
    check_bits(how, 0b11)?;
    cx.desc(fd)?;
    Err(Errno::Notsock.into())
}
