//! Build script of the `trestle` command: compiles the native builds of the
//! benchmark programs in `benches/programs`, which `trestle bench` times
//! next to their WebAssembly builds and the tests use to confirm the
//! WebAssembly builds' checksums. Each program's `run` gets its own name,
//! `trestle_program_NAME`, through `-DPROGRAM=NAME`.

use std::path::Path;

/// The programs, as in `src/bench/programs.rs`.
const PROGRAMS: [&str; 7] = [
    "virtual.cc",
    "interp.c",
    "sort.c",
    "lexer.c",
    "callable.cc",
    "visitor.cc",
    "direct.c",
];

fn main() {
    let dir = Path::new("benches/programs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dir.join("common.h").display());
    let c = cc::Build::new();
    let mut cpp = cc::Build::new();
    cpp.cpp(true)
        // Nothing of the C++ library is used: no exceptions, no RTTI, and
        // placement new is defined by the program.
        .cpp_link_stdlib(None)
        .flag_if_supported("-fno-exceptions")
        .flag_if_supported("-fno-rtti");
    for source in PROGRAMS {
        let path = dir.join(source);
        println!("cargo:rerun-if-changed={}", path.display());
        let (name, ext) = source
            .rsplit_once('.')
            .expect("a file name with an extension");
        let build = if ext == "cc" { &cpp } else { &c };
        // One library per program, each with its own PROGRAM: cc's `define`
        // applies to a whole build.
        build
            .clone()
            .opt_level(2)
            .warnings(true)
            .define("PROGRAM", name)
            .file(&path)
            .compile(&format!("trestle_program_{name}"));
    }
}
