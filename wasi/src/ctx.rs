//! The WASI context: what a guest can see (arguments, environment,
//! standard streams, preopened directories, clocks, random numbers) and the
//! builder that assembles it.

use crate::pipe::{ClosedInput, InputStream, OutputStream, Sink, Stderr, Stdin, Stdout};
use crate::types::Errno;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// Defines a set of permissions: a bit set with `NONE`, two single
/// permissions, `ALL`, a `contains` test and `|` to combine them.
macro_rules! permission_set {
    (
        $(#[$doc:meta])*
        $name:ident {
            $(#[$none_doc:meta])* NONE,
            $(#[$first_doc:meta])* $first:ident,
            $(#[$second_doc:meta])* $second:ident,
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(u8);

        impl $name {
            $(#[$none_doc])*
            pub const NONE: $name = $name(0);
            $(#[$first_doc])*
            pub const $first: $name = $name(1);
            $(#[$second_doc])*
            pub const $second: $name = $name(2);
            /// Both.
            pub const ALL: $name = $name(3);

            /// Whether every permission of `other` is included.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }
    };
}

permission_set! {
    /// What the guest may do inside a preopened directory and the directories
    /// it opens from there.
    DirPerms {
        /// Nothing: the directory can only be named.
        NONE,
        /// List entries, look up paths, read metadata.
        READ,
        /// Create, remove, rename, link, and change metadata of entries.
        MUTATE,
    }
}

permission_set! {
    /// What the guest may do with the files it opens under a preopened
    /// directory.
    FilePerms {
        /// Nothing.
        NONE,
        /// Read contents and metadata.
        READ,
        /// Write contents, change size and times.
        WRITE,
    }
}

/// A wall clock: time since the Unix epoch.
pub trait HostWallClock: Send {
    /// The clock's resolution.
    fn resolution(&self) -> Duration;
    /// The time since 1970-01-01T00:00:00Z.
    fn now(&self) -> Duration;
}

/// A monotonic clock: nanoseconds since an arbitrary, fixed start.
pub trait HostMonotonicClock: Send {
    /// The clock's resolution in nanoseconds.
    fn resolution(&self) -> u64;
    /// The current reading in nanoseconds.
    fn now(&self) -> u64;
}

/// The host's wall clock, through `cap-std`'s `SystemClock`.
struct SystemWallClock(cap_std::time::SystemClock);

impl HostWallClock for SystemWallClock {
    fn resolution(&self) -> Duration {
        cap_time_ext::SystemClockExt::resolution(&self.0)
    }
    fn now(&self) -> Duration {
        self.0
            .now()
            .duration_since(cap_std::time::SystemClock::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// The host's monotonic clock, through `cap-std`'s `MonotonicClock`,
/// counting from the context's creation.
struct SystemMonotonicClock {
    clock: cap_std::time::MonotonicClock,
    start: cap_std::time::Instant,
}

impl HostMonotonicClock for SystemMonotonicClock {
    fn resolution(&self) -> u64 {
        let r = cap_time_ext::MonotonicClockExt::resolution(&self.clock);
        u64::try_from(r.as_nanos()).unwrap_or(u64::MAX).max(1)
    }
    fn now(&self) -> u64 {
        let elapsed = self.clock.now().duration_since(self.start);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The random source a guest reads with `random_get`.
pub type RandomSource = Box<dyn cap_rand::RngCore + Send>;

/// An open file of the guest.
pub(crate) struct FileDesc {
    pub(crate) file: cap_std::fs::File,
    /// The offset `fd_read`/`fd_write`/`fd_seek` use; the host file's own
    /// offset is never used.
    pub(crate) position: u64,
    pub(crate) append: bool,
    pub(crate) nonblock: bool,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) perms: FilePerms,
}

/// An open directory of the guest.
pub(crate) struct DirDesc {
    pub(crate) dir: Dir,
    pub(crate) perms: DirPerms,
    pub(crate) file_perms: FilePerms,
    /// The guest name of a preopened directory.
    pub(crate) preopen: Option<String>,
}

/// What a guest file descriptor refers to.
pub(crate) enum Desc {
    Input(Box<dyn InputStream>),
    Output(Box<dyn OutputStream>),
    File(FileDesc),
    Dir(DirDesc),
}

/// The WASI preview 1 state of one guest: keep it in the store's data and
/// hand it to [`crate::add_to_linker`] through a projection.
///
/// Made with [`WasiCtxBuilder::build_p1`].
pub struct WasiP1Ctx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) fds: BTreeMap<u32, Desc>,
    /// Numbers of closed descriptors, reused highest first as Wasmtime does.
    pub(crate) free: BTreeSet<u32>,
    pub(crate) wall_clock: Box<dyn HostWallClock>,
    pub(crate) monotonic_clock: Box<dyn HostMonotonicClock>,
    pub(crate) random: RandomSource,
}

impl std::fmt::Debug for WasiP1Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiP1Ctx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("fds", &self.fds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WasiP1Ctx {
    /// Installs `desc` under a new descriptor number.
    pub(crate) fn push(&mut self, desc: Desc) -> Result<u32, Errno> {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.fds.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
                None => 0,
            },
        };
        self.fds.insert(fd, desc);
        Ok(fd)
    }

    /// Removes descriptor `fd`.
    pub(crate) fn remove(&mut self, fd: u32) -> Result<Desc, Errno> {
        let desc = self.fds.remove(&fd).ok_or(Errno::Badf)?;
        self.free.insert(fd);
        Ok(desc)
    }

    pub(crate) fn desc(&mut self, fd: u32) -> Result<&mut Desc, Errno> {
        self.fds.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn file(&mut self, fd: u32) -> Result<&mut FileDesc, Errno> {
        match self.fds.get_mut(&fd) {
            Some(Desc::File(f)) => Ok(f),
            _ => Err(Errno::Badf),
        }
    }

    pub(crate) fn dir(&self, fd: u32) -> Result<&DirDesc, Errno> {
        match self.fds.get(&fd) {
            Some(Desc::Dir(d)) => Ok(d),
            _ => Err(Errno::Badf),
        }
    }
}

/// Assembles a [`WasiP1Ctx`], in the shape of Wasmtime's `WasiCtxBuilder`.
///
/// By default a guest gets no arguments, an empty environment, an empty
/// standard input, discarded output, no directories, the host's clocks
/// and a cryptographically secure random source.
///
/// ```
/// use trestle_wasi::{DirPerms, FilePerms, MemoryOutputPipe, WasiCtxBuilder};
/// let out = MemoryOutputPipe::new(1 << 20);
/// let dir = std::env::temp_dir();
/// let ctx = WasiCtxBuilder::new()
///     .arg("app.wasm")
///     .env("LANG", "C")
///     .stdout(out.clone())
///     .preopened_dir(&dir, "/tmp", DirPerms::READ, FilePerms::READ)?
///     .build_p1();
/// # drop(ctx);
/// # Ok::<(), trestle::Error>(())
/// ```
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Box<dyn InputStream>,
    stdout: Box<dyn OutputStream>,
    stderr: Box<dyn OutputStream>,
    preopens: Vec<DirDesc>,
    wall_clock: Option<Box<dyn HostWallClock>>,
    monotonic_clock: Option<Box<dyn HostMonotonicClock>>,
    random: Option<RandomSource>,
}

impl std::fmt::Debug for WasiCtxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtxBuilder")
            .field("args", &self.args)
            .field("env", &self.env)
            .field(
                "preopens",
                &self.preopens.iter().map(|p| &p.preopen).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiCtxBuilder {
    /// A builder with the defaults described on the type.
    pub fn new() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Box::new(ClosedInput),
            stdout: Box::new(Sink),
            stderr: Box::new(Sink),
            preopens: Vec::new(),
            wall_clock: None,
            monotonic_clock: None,
            random: None,
        }
    }

    /// Appends one argument; the first is conventionally the program name.
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    /// Appends arguments.
    pub fn args(&mut self, args: &[impl AsRef<str>]) -> &mut Self {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Appends the host process's arguments (those that are UTF-8).
    pub fn inherit_args(&mut self) -> &mut Self {
        self.args
            .extend(std::env::args_os().filter_map(|a| a.into_string().ok()));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.env
            .push((name.as_ref().to_string(), value.as_ref().to_string()));
        self
    }

    /// Sets environment variables.
    pub fn envs(&mut self, vars: &[(impl AsRef<str>, impl AsRef<str>)]) -> &mut Self {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Copies the host process's environment (the variables that are
    /// UTF-8).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars_os() {
            if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
                self.env.push((k, v));
            }
        }
        self
    }

    /// Standard input from `stream`, e.g. a [`crate::MemoryInputPipe`].
    pub fn stdin(&mut self, stream: impl InputStream + 'static) -> &mut Self {
        self.stdin = Box::new(stream);
        self
    }

    /// Standard output to `stream`, e.g. a [`crate::MemoryOutputPipe`].
    pub fn stdout(&mut self, stream: impl OutputStream + 'static) -> &mut Self {
        self.stdout = Box::new(stream);
        self
    }

    /// Standard error to `stream`.
    pub fn stderr(&mut self, stream: impl OutputStream + 'static) -> &mut Self {
        self.stderr = Box::new(stream);
        self
    }

    /// The host process's standard input.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin(Stdin)
    }

    /// The host process's standard output.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout(Stdout)
    }

    /// The host process's standard error.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr(Stderr)
    }

    /// The host process's standard input, output and error.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the guest the host directory `host_path` under the name
    /// `guest_path`, with `perms` on it and the directories below, and
    /// `file_perms` on the files it opens there. Preopens get descriptors
    /// 3, 4, ... in the order they are added.
    ///
    /// The guest reaches nothing outside the directory: every path is
    /// resolved under its handle by `cap-std`, and `..`, absolute paths and
    /// symbolic links that would lead outside fail.
    ///
    /// # Errors
    ///
    /// When `host_path` cannot be opened as a directory.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
        perms: DirPerms,
        file_perms: FilePerms,
    ) -> anyhow::Result<&mut Self> {
        let host_path = host_path.as_ref();
        let dir = Dir::open_ambient_dir(host_path, ambient_authority()).map_err(|e| {
            anyhow::anyhow!("failed to open directory {}: {e}", host_path.display())
        })?;
        self.preopens.push(DirDesc {
            dir,
            perms,
            file_perms,
            preopen: Some(guest_path.as_ref().to_string()),
        });
        Ok(self)
    }

    /// The wall clock the guest reads (`clock_time_get(realtime)`).
    pub fn wall_clock(&mut self, clock: impl HostWallClock + 'static) -> &mut Self {
        self.wall_clock = Some(Box::new(clock));
        self
    }

    /// The monotonic clock the guest reads and sleeps on.
    pub fn monotonic_clock(&mut self, clock: impl HostMonotonicClock + 'static) -> &mut Self {
        self.monotonic_clock = Some(Box::new(clock));
        self
    }

    /// The random source of `random_get`; tests pass a seeded generator.
    pub fn secure_random(&mut self, random: impl cap_rand::RngCore + Send + 'static) -> &mut Self {
        self.random = Some(Box::new(random));
        self
    }

    /// The context. The builder is left empty, with its defaults.
    pub fn build_p1(&mut self) -> WasiP1Ctx {
        let b = std::mem::take(self);
        let mut ctx = WasiP1Ctx {
            args: b.args,
            env: b.env,
            fds: BTreeMap::new(),
            free: BTreeSet::new(),
            wall_clock: b.wall_clock.unwrap_or_else(|| {
                Box::new(SystemWallClock(cap_std::time::SystemClock::new(
                    ambient_authority(),
                )))
            }),
            monotonic_clock: b.monotonic_clock.unwrap_or_else(|| {
                let clock = cap_std::time::MonotonicClock::new(ambient_authority());
                let start = clock.now();
                Box::new(SystemMonotonicClock { clock, start })
            }),
            random: b
                .random
                .unwrap_or_else(|| Box::new(cap_rand::rngs::OsRng::default(ambient_authority()))),
        };
        ctx.fds.insert(0, Desc::Input(b.stdin));
        ctx.fds.insert(1, Desc::Output(b.stdout));
        ctx.fds.insert(2, Desc::Output(b.stderr));
        for (fd, dir) in (3..).zip(b.preopens) {
            ctx.fds.insert(fd, Desc::Dir(dir));
        }
        ctx
    }
}
