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

/// Defines a module of WASI constants of type `$ty`, numbered in the order
/// listed: `values` count from 0; `bits` take the bits from 0 up, and `ALL`
/// has every one of them.
macro_rules! wasi_constants {
    (
        $(#[$doc:meta])*
        $name:ident: $ty:ty as $kind:ident { $($(#[$item_doc:meta])* $item:ident,)+ }
    ) => {
        $(#[$doc])*
        pub mod $name {
            wasi_constants!(@next $kind $ty; 0; $($(#[$item_doc])* $item,)+);
        }
    };
    (@next $kind:ident $ty:ty; $n:expr; $(#[$item_doc:meta])* $item:ident, $($rest:tt)*) => {
        $(#[$item_doc])*
        pub const $item: $ty = wasi_constants!(@value $kind $n);
        wasi_constants!(@next $kind $ty; $n + 1; $($rest)*);
    };
    (@next bits $ty:ty; $n:expr;) => {
        /// Every defined bit.
        pub const ALL: $ty = (1 << ($n)) - 1;
    };
    (@next values $ty:ty; $n:expr;) => {};
    (@value bits $n:expr) => {
        1 << ($n)
    };
    (@value values $n:expr) => {
        $n
    };
}

wasi_constants! {
    /// `filetype` values.
    filetype: u8 as values {
        /// Unknown, or not a file the guest can name (a pipe, a terminal
        /// reported as such).
        UNKNOWN,
        /// A block device.
        BLOCK_DEVICE,
        /// A character device.
        CHARACTER_DEVICE,
        /// A directory.
        DIRECTORY,
        /// A regular file.
        REGULAR_FILE,
        /// A datagram socket.
        SOCKET_DGRAM,
        /// A stream socket.
        SOCKET_STREAM,
        /// A symbolic link.
        SYMBOLIC_LINK,
    }
}

wasi_constants! {
    /// `rights` bits.
    rights: u64 as bits {
        /// `fd_datasync`.
        FD_DATASYNC,
        /// `fd_read`, `fd_pread`.
        FD_READ,
        /// `fd_seek`.
        FD_SEEK,
        /// `fd_fdstat_set_flags`.
        FD_FDSTAT_SET_FLAGS,
        /// `fd_sync`.
        FD_SYNC,
        /// `fd_tell`.
        FD_TELL,
        /// `fd_write`, `fd_pwrite`.
        FD_WRITE,
        /// `fd_advise`.
        FD_ADVISE,
        /// `fd_allocate`.
        FD_ALLOCATE,
        /// `path_create_directory`.
        PATH_CREATE_DIRECTORY,
        /// `path_open` with `O_CREAT`.
        PATH_CREATE_FILE,
        /// `path_link` source.
        PATH_LINK_SOURCE,
        /// `path_link` target.
        PATH_LINK_TARGET,
        /// `path_open`.
        PATH_OPEN,
        /// `fd_readdir`.
        FD_READDIR,
        /// `path_readlink`.
        PATH_READLINK,
        /// `path_rename` source.
        PATH_RENAME_SOURCE,
        /// `path_rename` target.
        PATH_RENAME_TARGET,
        /// `path_filestat_get`.
        PATH_FILESTAT_GET,
        /// `path_filestat_set_size`.
        PATH_FILESTAT_SET_SIZE,
        /// `path_filestat_set_times`.
        PATH_FILESTAT_SET_TIMES,
        /// `fd_filestat_get`.
        FD_FILESTAT_GET,
        /// `fd_filestat_set_size`.
        FD_FILESTAT_SET_SIZE,
        /// `fd_filestat_set_times`.
        FD_FILESTAT_SET_TIMES,
        /// `path_symlink`.
        PATH_SYMLINK,
        /// `path_remove_directory`.
        PATH_REMOVE_DIRECTORY,
        /// `path_unlink_file`.
        PATH_UNLINK_FILE,
        /// `poll_oneoff` on read/write readiness.
        POLL_FD_READWRITE,
        /// `sock_shutdown`.
        SOCK_SHUTDOWN,
        /// `sock_accept`.
        SOCK_ACCEPT,
    }
}

wasi_constants! {
    /// `fdflags` bits.
    fdflags: u16 as bits {
        /// Writes go to the end of the file.
        APPEND,
        /// Data integrity on each write.
        DSYNC,
        /// Non-blocking mode.
        NONBLOCK,
        /// Read integrity.
        RSYNC,
        /// File integrity on each write.
        SYNC,
    }
}

wasi_constants! {
    /// `oflags` bits of `path_open`.
    oflags: u16 as bits {
        /// Create the file if it does not exist.
        CREAT,
        /// Fail unless the path is a directory.
        DIRECTORY,
        /// With `CREAT`, fail if the file exists.
        EXCL,
        /// Truncate the file to size 0.
        TRUNC,
    }
}

wasi_constants! {
    /// `lookupflags` bits.
    lookupflags: u32 as bits {
        /// Follow a symbolic link in the last component.
        SYMLINK_FOLLOW,
    }
}

wasi_constants! {
    /// `fstflags` bits of the `*_set_times` functions.
    fstflags: u16 as bits {
        /// Set the access time to the given value.
        ATIM,
        /// Set the access time to now.
        ATIM_NOW,
        /// Set the modification time to the given value.
        MTIM,
        /// Set the modification time to now.
        MTIM_NOW,
    }
}

wasi_constants! {
    /// `clockid` values.
    clockid: u32 as values {
        /// The wall clock.
        REALTIME,
        /// The monotonic clock.
        MONOTONIC,
        /// The process CPU-time clock (not provided).
        PROCESS_CPUTIME,
        /// The thread CPU-time clock (not provided).
        THREAD_CPUTIME,
    }
}

wasi_constants! {
    /// `whence` values of `fd_seek`.
    whence: u8 as values {
        /// From the start.
        SET,
        /// From the current position.
        CUR,
        /// From the end.
        END,
    }
}

/// `advice` values of `fd_advise`.
pub mod advice {
    /// The largest defined value (`noreuse`).
    pub const MAX: u8 = 5;
}

wasi_constants! {
    /// `eventtype` values of `poll_oneoff`.
    eventtype: u8 as values {
        /// A clock timeout.
        CLOCK,
        /// Readable.
        FD_READ,
        /// Writable.
        FD_WRITE,
    }
}

wasi_constants! {
    /// `subclockflags` bits.
    subclockflags: u16 as bits {
        /// The timeout is an absolute time of the clock, not a delay.
        ABSTIME,
    }
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

    #[test]
    fn flags_take_their_bits_in_order() {
        assert_eq!(rights::FD_DATASYNC, 1);
        assert_eq!(rights::PATH_OPEN, 1 << 13);
        assert_eq!(rights::SOCK_ACCEPT, 1 << 29);
        assert_eq!(
            (fdflags::NONBLOCK, fdflags::SYNC, fdflags::ALL),
            (4, 16, 31)
        );
        assert_eq!((oflags::TRUNC, oflags::ALL), (8, 15));
        assert_eq!((fstflags::MTIM_NOW, fstflags::ALL), (8, 15));
        assert_eq!(lookupflags::SYMLINK_FOLLOW, 1);
        assert_eq!(subclockflags::ABSTIME, 1);
    }
}
