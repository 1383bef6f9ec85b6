//! `trestle-wasi` through its embedding API: the sandbox (what a guest
//! cannot reach, with the error numbers Wasmtime's preview 1 gives), bad
//! guest input (wrong import signatures, wild pointers and lengths passed
//! to every function), and the context builder's pipes, clocks and random
//! source.
//!
//! The guest is a module that wraps every WASI function in an export of
//! the same name, so a test calls `path_open` as a wasm export and the
//! WASI function sees a real wasm caller with its memory.

use crate::wasi_programs::scratch_dir;
use std::path::Path;
use std::time::Duration;
use trestle::{Instance, Linker, Memory, Module, Store, Val};
use trestle_wasi::{
    DirPerms, Errno, FilePerms, HostMonotonicClock, HostWallClock, I32Exit, MemoryInputPipe,
    MemoryOutputPipe, WasiCtxBuilder, WasiP1Ctx,
};

/// Every preview 1 function: name, parameter types (`'i'` for i32, `'I'`
/// for i64) and whether it returns an errno.
const SIGNATURES: &[(&str, &str, bool)] = &[
    ("args_get", "ii", true),
    ("args_sizes_get", "ii", true),
    ("environ_get", "ii", true),
    ("environ_sizes_get", "ii", true),
    ("clock_res_get", "ii", true),
    ("clock_time_get", "iIi", true),
    ("fd_advise", "iIIi", true),
    ("fd_allocate", "iII", true),
    ("fd_close", "i", true),
    ("fd_datasync", "i", true),
    ("fd_fdstat_get", "ii", true),
    ("fd_fdstat_set_flags", "ii", true),
    ("fd_fdstat_set_rights", "iII", true),
    ("fd_filestat_get", "ii", true),
    ("fd_filestat_set_size", "iI", true),
    ("fd_filestat_set_times", "iIIi", true),
    ("fd_pread", "iiiIi", true),
    ("fd_prestat_get", "ii", true),
    ("fd_prestat_dir_name", "iii", true),
    ("fd_pwrite", "iiiIi", true),
    ("fd_read", "iiii", true),
    ("fd_readdir", "iiiIi", true),
    ("fd_renumber", "ii", true),
    ("fd_seek", "iIii", true),
    ("fd_sync", "i", true),
    ("fd_tell", "ii", true),
    ("fd_write", "iiii", true),
    ("path_create_directory", "iii", true),
    ("path_filestat_get", "iiiii", true),
    ("path_filestat_set_times", "iiiiIIi", true),
    ("path_link", "iiiiiii", true),
    ("path_open", "iiiiiIIii", true),
    ("path_readlink", "iiiiii", true),
    ("path_remove_directory", "iii", true),
    ("path_rename", "iiiiii", true),
    ("path_symlink", "iiiii", true),
    ("path_unlink_file", "iii", true),
    ("poll_oneoff", "iiii", true),
    ("proc_exit", "i", false),
    ("proc_raise", "i", true),
    ("sched_yield", "", true),
    ("random_get", "ii", true),
    ("sock_accept", "iii", true),
    ("sock_recv", "iiiiii", true),
    ("sock_send", "iiiii", true),
    ("sock_shutdown", "ii", true),
];

fn wasm_ty(c: char) -> &'static str {
    if c == 'I' { "i64" } else { "i32" }
}

/// A module importing every WASI function and exporting a wrapper of each,
/// plus one page of memory.
fn wrapper_module() -> String {
    let mut imports = String::new();
    let mut funcs = String::new();
    for (name, params, ret) in SIGNATURES {
        let params: Vec<&str> = params.chars().map(wasm_ty).collect();
        let result = if *ret { "(result i32)" } else { "" };
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) {result}))\n",
            params.join(" ")
        ));
        let gets: String = (0..params.len())
            .map(|i| format!("local.get {i} "))
            .collect();
        funcs.push_str(&format!(
            "(func (export \"{name}\") (param {}) {result} {gets} call ${name})\n",
            params.join(" ")
        ));
    }
    format!("(module\n{imports}(memory (export \"memory\") 1)\n{funcs})")
}

fn assert_all_functions_listed() {
    let names: Vec<&str> = SIGNATURES.iter().map(|s| s.0).collect();
    assert_eq!(names.len(), trestle_wasi::FUNCTIONS.len());
    for f in trestle_wasi::FUNCTIONS {
        assert!(names.contains(f), "{f} missing from SIGNATURES");
    }
}

/// A guest instance of the wrapper module.
struct Guest {
    store: Store<WasiP1Ctx>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    fn new(builder: &mut WasiCtxBuilder) -> Guest {
        let engine = crate::harness::engine();
        let module = Module::new(&engine, wrapper_module()).unwrap();
        let mut linker = Linker::new(&engine);
        trestle_wasi::add_to_linker(&mut linker, |cx| cx).unwrap();
        let mut store = Store::new(&engine, builder.build_p1());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Guest {
            store,
            instance,
            memory,
        }
    }

    /// Calls WASI function `name` with raw arguments: the errno, or the
    /// trap or other error that ended the call.
    fn call(&mut self, name: &str, args: &[Val]) -> trestle::Result<i32> {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, args, &mut results)?;
        Ok(results.first().map_or(0, |v| v.unwrap_i32()))
    }

    /// Calls `name` and expects an errno (no trap).
    fn errno(&mut self, name: &str, args: &[Val]) -> i32 {
        self.call(name, args)
            .unwrap_or_else(|e| panic!("{name} trapped: {e:#}"))
    }

    fn write(&mut self, addr: usize, bytes: &[u8]) {
        self.memory.write(&mut self.store, addr, bytes).unwrap();
    }

    fn read_u32(&self, addr: usize) -> u32 {
        let mut b = [0; 4];
        self.memory.read(&self.store, addr, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    /// `path_open(dir, dirflags, path, oflags, rights, 0, 0)`: the errno
    /// and, on success, the new descriptor.
    fn open(&mut self, dir: i32, follow: bool, path: &str, oflags: i32, rights: i64) -> (i32, u32) {
        self.write(PATH, path.as_bytes());
        let errno = self.errno(
            "path_open",
            &[
                Val::I32(dir),
                Val::I32(i32::from(follow)),
                Val::I32(PATH as i32),
                Val::I32(path.len() as i32),
                Val::I32(oflags),
                Val::I64(rights),
                Val::I64(0),
                Val::I32(0),
                Val::I32(OUT as i32),
            ],
        );
        (errno, self.read_u32(OUT))
    }

    /// A path function taking `(fd, path, len)`.
    fn path_op(&mut self, name: &str, dir: i32, path: &str) -> i32 {
        self.write(PATH, path.as_bytes());
        self.errno(
            name,
            &[
                Val::I32(dir),
                Val::I32(PATH as i32),
                Val::I32(path.len() as i32),
            ],
        )
    }

    /// `path_symlink(target, dir, link)`.
    fn symlink(&mut self, target: &str, dir: i32, link: &str) -> i32 {
        self.write(PATH, target.as_bytes());
        self.write(PATH2, link.as_bytes());
        self.errno(
            "path_symlink",
            &[
                Val::I32(PATH as i32),
                Val::I32(target.len() as i32),
                Val::I32(dir),
                Val::I32(PATH2 as i32),
                Val::I32(link.len() as i32),
            ],
        )
    }

    /// `path_rename` or `path_link`-shaped calls between two directories.
    fn two_paths(&mut self, name: &str, from: (i32, &str), to: (i32, &str)) -> i32 {
        self.write(PATH, from.1.as_bytes());
        self.write(PATH2, to.1.as_bytes());
        let mut args = vec![Val::I32(from.0)];
        if name == "path_link" {
            args.push(Val::I32(0));
        }
        args.extend([
            Val::I32(PATH as i32),
            Val::I32(from.1.len() as i32),
            Val::I32(to.0),
            Val::I32(PATH2 as i32),
            Val::I32(to.1.len() as i32),
        ]);
        self.errno(name, &args)
    }
}

const PATH: usize = 1024;
const PATH2: usize = 2048;
const OUT: usize = 256;

const O_CREAT: i32 = 1;
const RIGHT_READ: i64 = 1 << 1;
const RIGHT_WRITE: i64 = 1 << 6;

const EBADF: i32 = Errno::Badf as i32;
const ELOOP: i32 = Errno::Loop as i32;
const ENOENT: i32 = Errno::Noent as i32;
const EPERM: i32 = Errno::Perm as i32;

/// The host tree of the sandbox tests:
///
/// ```text
/// outside.txt          never reachable
/// sandbox/             preopen 3, "/sandbox", read-write
///   inside.txt
///   sub/
///   escape -> ../outside.txt
///   absolute -> <host path of outside.txt>
/// ro/                  preopen 4, "/ro", read-only
///   file.txt
/// other/               preopen 5, "/other", read-write
/// ```
struct Tree {
    root: std::path::PathBuf,
}

impl Tree {
    fn new(name: &str) -> Tree {
        let root = scratch_dir(name);
        std::fs::write(root.join("outside.txt"), "secret").unwrap();
        std::fs::create_dir_all(root.join("sandbox/sub")).unwrap();
        std::fs::write(root.join("sandbox/inside.txt"), "inside").unwrap();
        std::fs::create_dir(root.join("ro")).unwrap();
        std::fs::write(root.join("ro/file.txt"), "read only").unwrap();
        std::fs::create_dir(root.join("other")).unwrap();
        std::os::unix::fs::symlink("../outside.txt", root.join("sandbox/escape")).unwrap();
        std::os::unix::fs::symlink(root.join("outside.txt"), root.join("sandbox/absolute"))
            .unwrap();
        Tree { root }
    }

    fn guest(&self) -> Guest {
        let mut b = WasiCtxBuilder::new();
        b.preopened_dir(
            self.root.join("sandbox"),
            "/sandbox",
            DirPerms::ALL,
            FilePerms::ALL,
        )
        .unwrap()
        .preopened_dir(self.root.join("ro"), "/ro", DirPerms::READ, FilePerms::READ)
        .unwrap()
        .preopened_dir(
            self.root.join("other"),
            "/other",
            DirPerms::ALL,
            FilePerms::ALL,
        )
        .unwrap();
        Guest::new(&mut b)
    }

    /// Every file and directory below the root, sorted, with file
    /// contents: a snapshot to compare before and after.
    fn snapshot(&self) -> Vec<(String, String)> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let path = e.path();
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                let ft = e.file_type().unwrap();
                if ft.is_symlink() {
                    out.push((
                        rel,
                        format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                    ));
                } else if ft.is_dir() {
                    out.push((rel, "dir".to_string()));
                    walk(&path, root, out);
                } else {
                    out.push((rel, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const SANDBOX: i32 = 3;
const RO: i32 = 4;
const OTHER: i32 = 5;

#[test]
fn sandbox_refuses_escapes() {
    let tree = Tree::new("escapes");
    let before = tree.snapshot();
    let mut g = tree.guest();

    // `..` above the preopen, directly and after a detour.
    assert_eq!(
        g.open(SANDBOX, false, "../outside.txt", 0, RIGHT_READ).0,
        EPERM
    );
    assert_eq!(
        g.open(SANDBOX, false, "sub/../../outside.txt", 0, RIGHT_READ)
            .0,
        EPERM
    );
    assert_eq!(g.open(SANDBOX, false, "..", 0, RIGHT_READ).0, EPERM);
    // `..` that stays inside is fine.
    assert_eq!(
        g.open(SANDBOX, false, "sub/../inside.txt", 0, RIGHT_READ).0,
        0
    );
    // Absolute paths.
    let abs = tree.root.join("outside.txt").display().to_string();
    assert_eq!(g.open(SANDBOX, false, &abs, 0, RIGHT_READ).0, EPERM);
    assert_eq!(
        g.open(SANDBOX, false, "/etc/passwd", 0, RIGHT_READ).0,
        EPERM
    );
    // Symbolic links leading out: followed, they are refused; not
    // followed, the link itself cannot be opened as a file.
    assert_eq!(g.open(SANDBOX, true, "escape", 0, RIGHT_READ).0, EPERM);
    assert_eq!(g.open(SANDBOX, true, "absolute", 0, RIGHT_READ).0, EPERM);
    assert_eq!(g.open(SANDBOX, false, "escape", 0, RIGHT_READ).0, ELOOP);
    // The same through path_filestat_get with SYMLINK_FOLLOW.
    g.write(PATH, b"escape");
    let follow_stat = g.errno(
        "path_filestat_get",
        &[
            Val::I32(SANDBOX),
            Val::I32(1),
            Val::I32(PATH as i32),
            Val::I32(6),
            Val::I32(0),
        ],
    );
    assert_eq!(follow_stat, EPERM);
    // Writing through an escaping link, creating one to an absolute path.
    assert_eq!(
        g.open(SANDBOX, true, "escape", O_CREAT, RIGHT_WRITE).0,
        EPERM
    );
    assert_eq!(g.symlink(&abs, SANDBOX, "made_link"), EPERM);
    assert_eq!(
        g.path_op("path_create_directory", SANDBOX, "../made"),
        EPERM
    );
    assert_eq!(
        g.path_op("path_unlink_file", SANDBOX, "../outside.txt"),
        EPERM
    );
    assert_eq!(
        g.path_op("path_remove_directory", SANDBOX, "../other"),
        EPERM
    );

    drop(g);
    assert_eq!(
        tree.snapshot(),
        before,
        "nothing outside the guest's reach changed"
    );
}

#[test]
fn sandbox_links_and_renames() {
    let tree = Tree::new("links");
    let outside_links = || {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(tree.root.join("outside.txt"))
            .unwrap()
            .nlink()
    };
    let mut g = tree.guest();

    // A hard link to a file outside, or a link placed outside.
    assert_eq!(
        g.two_paths("path_link", (SANDBOX, "../outside.txt"), (SANDBOX, "hard")),
        EPERM
    );
    assert_eq!(
        g.two_paths("path_link", (SANDBOX, "inside.txt"), (SANDBOX, "../hard")),
        EPERM
    );
    // A link through the escaping symlink links the symlink itself (links
    // never follow), which stays inside.
    assert_eq!(
        g.two_paths("path_link", (SANDBOX, "escape"), (SANDBOX, "escape2")),
        0
    );
    assert_eq!(g.open(SANDBOX, true, "escape2", 0, RIGHT_READ).0, EPERM);
    assert_eq!(outside_links(), 1, "no new link to the outside file");
    assert!(!tree.root.join("hard").exists());

    // Renames out of the preopen, into a read-only preopen, and between
    // two preopens of equal permissions (allowed, as in Wasmtime: the file
    // stays inside the guest's reach).
    assert_eq!(
        g.two_paths(
            "path_rename",
            (SANDBOX, "inside.txt"),
            (SANDBOX, "../moved")
        ),
        EPERM
    );
    assert_eq!(
        g.two_paths("path_rename", (SANDBOX, "inside.txt"), (RO, "moved")),
        EPERM
    );
    assert_eq!(
        g.two_paths("path_rename", (RO, "file.txt"), (SANDBOX, "taken")),
        EPERM
    );
    assert!(!tree.root.join("moved").exists());
    assert!(!tree.root.join("ro/moved").exists());
    assert!(tree.root.join("ro/file.txt").exists());
    assert_eq!(
        g.two_paths("path_rename", (SANDBOX, "inside.txt"), (OTHER, "moved")),
        0
    );
    assert_eq!(
        std::fs::read_to_string(tree.root.join("other/moved")).unwrap(),
        "inside"
    );
    // A symlink whose target climbs out can be made (as on any POSIX
    // system) but never followed.
    assert_eq!(g.symlink("../outside.txt", SANDBOX, "made"), 0);
    assert_eq!(g.open(SANDBOX, true, "made", 0, RIGHT_READ).0, EPERM);
    assert_eq!(
        std::fs::read_to_string(tree.root.join("outside.txt")).unwrap(),
        "secret"
    );
}

#[test]
fn read_only_preopen() {
    let tree = Tree::new("readonly");
    let before = tree.snapshot();
    let mut g = tree.guest();

    assert_eq!(g.open(RO, false, "file.txt", 0, RIGHT_WRITE).0, EPERM);
    assert_eq!(g.open(RO, false, "new.txt", O_CREAT, RIGHT_WRITE).0, EPERM);
    const O_TRUNC: i32 = 8;
    assert_eq!(g.open(RO, false, "file.txt", O_TRUNC, RIGHT_READ).0, EPERM);
    assert_eq!(g.path_op("path_create_directory", RO, "dir"), EPERM);
    assert_eq!(g.path_op("path_unlink_file", RO, "file.txt"), EPERM);
    assert_eq!(g.path_op("path_remove_directory", RO, "."), EPERM);
    assert_eq!(g.symlink("file.txt", RO, "link"), EPERM);
    g.write(PATH, b"file.txt");
    let set_times = g.errno(
        "path_filestat_set_times",
        &[
            Val::I32(RO),
            Val::I32(0),
            Val::I32(PATH as i32),
            Val::I32(8),
            Val::I64(0),
            Val::I64(0),
            Val::I32(2 | 8),
        ],
    );
    assert_eq!(set_times, EPERM);

    // Reading works; writing through the read-only descriptor does not.
    let (errno, fd) = g.open(RO, false, "file.txt", 0, RIGHT_READ);
    assert_eq!(errno, 0);
    let fd = fd as i32;
    g.write(0, &16u32.to_le_bytes());
    g.write(4, &4u32.to_le_bytes());
    g.write(16, b"XXXX");
    let args = [Val::I32(fd), Val::I32(0), Val::I32(1), Val::I32(OUT as i32)];
    assert_eq!(g.errno("fd_write", &args), EBADF);
    assert_eq!(g.errno("fd_read", &args), 0);
    assert_eq!(g.read_u32(OUT), 4);
    assert_eq!(
        g.errno("fd_filestat_set_size", &[Val::I32(fd), Val::I64(0)]),
        EPERM
    );
    assert_eq!(
        g.errno(
            "fd_filestat_set_times",
            &[Val::I32(fd), Val::I64(0), Val::I64(0), Val::I32(2)]
        ),
        EPERM
    );
    assert_eq!(g.open(RO, false, "missing", 0, RIGHT_READ).0, ENOENT);

    drop(g);
    assert_eq!(
        tree.snapshot(),
        before,
        "the read-only preopen is unchanged"
    );
}

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
    assert!(format!("{err}").contains("exit status"), "{err}");
    // The store stays usable.
    assert_eq!(g.errno("sched_yield", &[]), 0);
}

/// A deterministic xorshift generator for the wild-argument test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value that is often a boundary: near 0, the end of the guest's
    /// one page, the top of the 32-bit range, or anything.
    fn arg(&mut self) -> u64 {
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
        match self.next() % 4 {
            0 => self.next(),
            1 => self.next() % 0x1_0000,
            _ => SPECIAL[(self.next() % SPECIAL.len() as u64) as usize],
        }
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
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
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
                    let v = rng.arg();
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
    assert_eq!(
        g.errno("fd_fdstat_set_flags", &[Val::I32(99), Val::I32(0x100)]),
        inval
    );
    assert_eq!(
        g.errno("fd_fdstat_set_flags", &[Val::I32(99), Val::I32(0x1_0000)]),
        overflow
    );
    assert_eq!(
        g.errno("fd_fdstat_set_flags", &[Val::I32(99), Val::I32(1)]),
        EBADF
    );
    assert_eq!(
        g.errno("sock_shutdown", &[Val::I32(99), Val::I32(4)]),
        inval
    );
    assert_eq!(
        g.errno("sock_shutdown", &[Val::I32(99), Val::I32(1)]),
        EBADF
    );
    assert_eq!(
        g.errno("sock_shutdown", &[Val::I32(0), Val::I32(1)]),
        Errno::Notsock as i32
    );
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
