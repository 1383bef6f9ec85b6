//! The sandbox: `..`, absolute paths and symbolic links that lead out of a
//! preopen, hard links and renames across preopens, and read-only
//! preopens, each checked on the host file system afterwards.

use super::{EBADF, Guest, OUT, PATH};
use crate::harness::scratch_dir;
use std::path::Path;
use trestle::Val;
use trestle_wasi::{DirPerms, Errno, FilePerms, WasiCtxBuilder};

const O_CREAT: i32 = 1;
const RIGHT_READ: i64 = 1 << 1;
const RIGHT_WRITE: i64 = 1 << 6;

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
    let args = [SANDBOX, 1, PATH as i32, 6, 0].map(Val::I32);
    let follow_stat = g.errno("path_filestat_get", &args);
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

    let link = |g: &mut Guest, from, to| g.two_paths("path_link", from, to);
    let rename = |g: &mut Guest, from, to| g.two_paths("path_rename", from, to);

    // A hard link to a file outside, or a link placed outside.
    for (from, to) in [
        ((SANDBOX, "../outside.txt"), (SANDBOX, "hard")),
        ((SANDBOX, "inside.txt"), (SANDBOX, "../hard")),
    ] {
        assert_eq!(link(&mut g, from, to), EPERM, "{from:?} -> {to:?}");
    }
    // A link through the escaping symlink links the symlink itself (links
    // never follow), which stays inside.
    assert_eq!(link(&mut g, (SANDBOX, "escape"), (SANDBOX, "escape2")), 0);
    assert_eq!(g.open(SANDBOX, true, "escape2", 0, RIGHT_READ).0, EPERM);
    assert_eq!(outside_links(), 1, "no new link to the outside file");
    assert!(!tree.root.join("hard").exists());

    // Renames out of the preopen, into a read-only preopen, and between
    // two preopens of equal permissions (allowed, as in Wasmtime: the file
    // stays inside the guest's reach).
    for (from, to) in [
        ((SANDBOX, "inside.txt"), (SANDBOX, "../moved")),
        ((SANDBOX, "inside.txt"), (RO, "moved")),
        ((RO, "file.txt"), (SANDBOX, "taken")),
    ] {
        assert_eq!(rename(&mut g, from, to), EPERM, "{from:?} -> {to:?}");
    }
    assert!(!tree.root.join("moved").exists());
    assert!(!tree.root.join("ro/moved").exists());
    assert!(tree.root.join("ro/file.txt").exists());
    assert_eq!(rename(&mut g, (SANDBOX, "inside.txt"), (OTHER, "moved")), 0);
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
