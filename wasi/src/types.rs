//! The values and layouts of `wasi_snapshot_preview1`: error numbers, flag
//! bits, file types and the byte offsets of the structures guests pass.
//!
//! Everything here follows the witx description of WASI preview 1; the
//! sizes and offsets are those of the 32-bit guest ABI (little endian,
//! natural alignment).

/// A WASI error number, as returned by every preview 1 function.
///
/// The discriminants are the values of the specification's `errno` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[expect(
    missing_docs,
    reason = "each variant is the POSIX error of the same name"
)]
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Addrinuse = 3,
    Addrnotavail = 4,
    Afnosupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    Badmsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    Connaborted = 13,
    Connrefused = 14,
    Connreset = 15,
    Deadlk = 16,
    Destaddrreq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Hostunreach = 23,
    Idrm = 24,
    Ilseq = 25,
    Inprogress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    Isconn = 30,
    Isdir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    Msgsize = 35,
    Multihop = 36,
    Nametoolong = 37,
    Netdown = 38,
    Netreset = 39,
    Netunreach = 40,
    Nfile = 41,
    Nobufs = 42,
    Nodev = 43,
    Noent = 44,
    Noexec = 45,
    Nolck = 46,
    Nolink = 47,
    Nomem = 48,
    Nomsg = 49,
    Noprotoopt = 50,
    Nospc = 51,
    Nosys = 52,
    Notconn = 53,
    Notdir = 54,
    Notempty = 55,
    Notrecoverable = 56,
    Notsock = 57,
    Notsup = 58,
    Notty = 59,
    Nxio = 60,
    Overflow = 61,
    Ownerdead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    Protonosupport = 66,
    Prototype = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    Timedout = 73,
    Txtbsy = 74,
    Xdev = 75,
    Notcapable = 76,
}

impl Errno {
    /// The error number of a host I/O error, as Wasmtime maps it: by the
    /// operating system's error code when there is one, else by its kind
    /// (an attempt to leave a preopened directory is `PermissionDenied`
    /// without a code, so it becomes [`Errno::Perm`]).
    pub fn from_io(err: &std::io::Error) -> Errno {
        if let Some(errno) = err.raw_os_error().and_then(Errno::from_os) {
            return errno;
        }
        match err.kind() {
            std::io::ErrorKind::NotFound => Errno::Noent,
            std::io::ErrorKind::PermissionDenied => Errno::Perm,
            std::io::ErrorKind::AlreadyExists => Errno::Exist,
            std::io::ErrorKind::InvalidInput => Errno::Inval,
            _ => Errno::Io,
        }
    }

    fn from_os(code: i32) -> Option<Errno> {
        Some(match code {
            libc::EPIPE => Errno::Pipe,
            libc::EPERM => Errno::Perm,
            libc::ENOENT => Errno::Noent,
            libc::ENOMEM => Errno::Nomem,
            libc::EIO => Errno::Io,
            libc::EBADF => Errno::Badf,
            libc::EBUSY => Errno::Busy,
            libc::EACCES => Errno::Acces,
            libc::ENOTDIR => Errno::Notdir,
            libc::EISDIR => Errno::Isdir,
            libc::EINVAL => Errno::Inval,
            libc::EEXIST => Errno::Exist,
            libc::EFBIG => Errno::Fbig,
            libc::ENOSPC => Errno::Nospc,
            libc::ESPIPE => Errno::Spipe,
            libc::EMLINK => Errno::Mlink,
            libc::ENAMETOOLONG => Errno::Nametoolong,
            libc::ENOTEMPTY => Errno::Notempty,
            libc::ELOOP => Errno::Loop,
            libc::EOVERFLOW => Errno::Overflow,
            libc::EILSEQ => Errno::Ilseq,
            libc::ENOTSUP => Errno::Notsup,
            libc::EALREADY => Errno::Already,
            libc::EINPROGRESS => Errno::Inprogress,
            libc::EINTR => Errno::Intr,
            libc::EAGAIN => Errno::Again,
            libc::EXDEV => Errno::Xdev,
            libc::EROFS => Errno::Rofs,
            libc::ETXTBSY => Errno::Txtbsy,
            libc::EDQUOT => Errno::Dquot,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WASI errno {:?} ({})", self, *self as u16)
    }
}

/// `filetype` values.
pub mod filetype {
    /// Unknown, or not a file the guest can name (a pipe, a terminal
    /// reported as such).
    pub const UNKNOWN: u8 = 0;
    /// A block device.
    pub const BLOCK_DEVICE: u8 = 1;
    /// A character device.
    pub const CHARACTER_DEVICE: u8 = 2;
    /// A directory.
    pub const DIRECTORY: u8 = 3;
    /// A regular file.
    pub const REGULAR_FILE: u8 = 4;
    /// A datagram socket.
    pub const SOCKET_DGRAM: u8 = 5;
    /// A stream socket.
    pub const SOCKET_STREAM: u8 = 6;
    /// A symbolic link.
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `rights` bits.
pub mod rights {
    /// `fd_datasync`.
    pub const FD_DATASYNC: u64 = 1 << 0;
    /// `fd_read`, `fd_pread`.
    pub const FD_READ: u64 = 1 << 1;
    /// `fd_seek`.
    pub const FD_SEEK: u64 = 1 << 2;
    /// `fd_fdstat_set_flags`.
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    /// `fd_sync`.
    pub const FD_SYNC: u64 = 1 << 4;
    /// `fd_tell`.
    pub const FD_TELL: u64 = 1 << 5;
    /// `fd_write`, `fd_pwrite`.
    pub const FD_WRITE: u64 = 1 << 6;
    /// `fd_advise`.
    pub const FD_ADVISE: u64 = 1 << 7;
    /// `fd_allocate`.
    pub const FD_ALLOCATE: u64 = 1 << 8;
    /// `path_create_directory`.
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    /// `path_open` with `O_CREAT`.
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    /// `path_link` source.
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    /// `path_link` target.
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    /// `path_open`.
    pub const PATH_OPEN: u64 = 1 << 13;
    /// `fd_readdir`.
    pub const FD_READDIR: u64 = 1 << 14;
    /// `path_readlink`.
    pub const PATH_READLINK: u64 = 1 << 15;
    /// `path_rename` source.
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    /// `path_rename` target.
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    /// `path_filestat_get`.
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    /// `path_filestat_set_size`.
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    /// `path_filestat_set_times`.
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    /// `fd_filestat_get`.
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    /// `fd_filestat_set_size`.
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    /// `fd_filestat_set_times`.
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    /// `path_symlink`.
    pub const PATH_SYMLINK: u64 = 1 << 24;
    /// `path_remove_directory`.
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    /// `path_unlink_file`.
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    /// `poll_oneoff` on read/write readiness.
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// `sock_shutdown`.
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    /// `sock_accept`.
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every right.
    pub const ALL: u64 = (1 << 30) - 1;
}

/// `fdflags` bits.
pub mod fdflags {
    /// Writes go to the end of the file.
    pub const APPEND: u16 = 1 << 0;
    /// Data integrity on each write.
    pub const DSYNC: u16 = 1 << 1;
    /// Non-blocking mode.
    pub const NONBLOCK: u16 = 1 << 2;
    /// Read integrity.
    pub const RSYNC: u16 = 1 << 3;
    /// File integrity on each write.
    pub const SYNC: u16 = 1 << 4;
    /// Every defined bit.
    pub const ALL: u16 = (1 << 5) - 1;
}

/// `oflags` bits of `path_open`.
pub mod oflags {
    /// Create the file if it does not exist.
    pub const CREAT: u16 = 1 << 0;
    /// Fail unless the path is a directory.
    pub const DIRECTORY: u16 = 1 << 1;
    /// With `CREAT`, fail if the file exists.
    pub const EXCL: u16 = 1 << 2;
    /// Truncate the file to size 0.
    pub const TRUNC: u16 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u16 = (1 << 4) - 1;
}

/// `lookupflags` bits.
pub mod lookupflags {
    /// Follow a symbolic link in the last component.
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags` bits of the `*_set_times` functions.
pub mod fstflags {
    /// Set the access time to the given value.
    pub const ATIM: u16 = 1 << 0;
    /// Set the access time to now.
    pub const ATIM_NOW: u16 = 1 << 1;
    /// Set the modification time to the given value.
    pub const MTIM: u16 = 1 << 2;
    /// Set the modification time to now.
    pub const MTIM_NOW: u16 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u16 = (1 << 4) - 1;
}

/// `clockid` values.
pub mod clockid {
    /// The wall clock.
    pub const REALTIME: u32 = 0;
    /// The monotonic clock.
    pub const MONOTONIC: u32 = 1;
    /// The process CPU-time clock (not provided).
    pub const PROCESS_CPUTIME: u32 = 2;
    /// The thread CPU-time clock (not provided).
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `whence` values of `fd_seek`.
pub mod whence {
    /// From the start.
    pub const SET: u8 = 0;
    /// From the current position.
    pub const CUR: u8 = 1;
    /// From the end.
    pub const END: u8 = 2;
}

/// `advice` values of `fd_advise`.
pub mod advice {
    /// The largest defined value (`noreuse`).
    pub const MAX: u8 = 5;
}

/// `eventtype` values of `poll_oneoff`.
pub mod eventtype {
    /// A clock timeout.
    pub const CLOCK: u8 = 0;
    /// Readable.
    pub const FD_READ: u8 = 1;
    /// Writable.
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags` bits.
pub mod subclockflags {
    /// The timeout is an absolute time of the clock, not a delay.
    pub const ABSTIME: u16 = 1 << 0;
}

/// The guest layout of the structures, in bytes: size and alignment, and
/// the offsets of their fields.
pub mod layout {
    /// `iovec`/`ciovec`: `buf: u32` at 0, `buf_len: u32` at 4.
    pub const IOVEC_SIZE: u32 = 8;
    /// Alignment of `iovec`.
    pub const IOVEC_ALIGN: u32 = 4;
    /// `fdstat`: `fs_filetype: u8` at 0, `fs_flags: u16` at 2,
    /// `fs_rights_base: u64` at 8, `fs_rights_inheriting: u64` at 16.
    pub const FDSTAT_SIZE: u32 = 24;
    /// Alignment of `fdstat`.
    pub const FDSTAT_ALIGN: u32 = 8;
    /// `filestat`: `dev` at 0, `ino` at 8, `filetype: u8` at 16, `nlink`
    /// at 24, `size` at 32, `atim` at 40, `mtim` at 48, `ctim` at 56.
    pub const FILESTAT_SIZE: u32 = 64;
    /// Alignment of `filestat`.
    pub const FILESTAT_ALIGN: u32 = 8;
    /// `prestat`: tag `u8` at 0, `pr_name_len: u32` at 4.
    pub const PRESTAT_SIZE: u32 = 8;
    /// Alignment of `prestat`.
    pub const PRESTAT_ALIGN: u32 = 4;
    /// `dirent` header: `d_next` at 0, `d_ino` at 8, `d_namlen: u32` at 16,
    /// `d_type: u8` at 20; the name follows, unaligned.
    pub const DIRENT_SIZE: u32 = 24;
    /// `subscription`: `userdata: u64` at 0, tag `u8` at 8, the union at
    /// 16 (clock: `id: u32` at 16, `timeout: u64` at 24, `precision: u64`
    /// at 32, `flags: u16` at 40; fd read/write: `fd: u32` at 16).
    pub const SUBSCRIPTION_SIZE: u32 = 48;
    /// Alignment of `subscription`.
    pub const SUBSCRIPTION_ALIGN: u32 = 8;
    /// `event`: `userdata: u64` at 0, `error: u16` at 8, `type: u8` at 10,
    /// `fd_readwrite.nbytes: u64` at 16, `fd_readwrite.flags: u16` at 24.
    pub const EVENT_SIZE: u32 = 32;
    /// Alignment of `event`.
    pub const EVENT_ALIGN: u32 = 8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_like_wasmtime() {
        let escape = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "outside");
        assert_eq!(Errno::from_io(&escape), Errno::Perm);
        let noent = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(Errno::from_io(&noent), Errno::Noent);
        let loop_ = std::io::Error::from_raw_os_error(libc::ELOOP);
        assert_eq!(Errno::from_io(&loop_), Errno::Loop);
        assert_eq!(Errno::Notcapable as u16, 76);
        assert_eq!(rights::ALL, 0x3fff_ffff);
    }
}
