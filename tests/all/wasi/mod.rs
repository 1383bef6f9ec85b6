//! WASI preview 1: `trestle-wasi` through its embedding API (the sandbox,
//! what a guest cannot reach, with the error numbers Wasmtime's preview 1
//! gives; bad guest input: wrong import signatures, wild pointers and
//! lengths passed to every function, flag and enum values; the context
//! builder's pipes, clocks and random source), C and C++ programs run by
//! `trestle run` and checked against native builds, and the upstream WASI
//! test suite.
//!
//! The embedding API cases use a guest module that wraps every WASI
//! function in an export of the same name, so a test calls `path_open` as
//! a wasm export and the WASI function sees a real wasm caller with its
//! memory.

mod context;
mod guest_input;
mod programs;
mod sandbox;
mod testsuite;

use crate::harness::call;
use trestle::{Instance, Linker, Memory, Module, Store, Val};
use trestle_wasi::{Errno, WasiCtxBuilder, WasiP1Ctx};

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
        let results = call(&mut self.store, &self.instance, name, args)?;
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

const EBADF: i32 = Errno::Badf as i32;
