//! Build script of the `trestle` runtime: compiles the small C helpers
//! (`sigsetjmp`/`siglongjmp` wrappers and instruction-cache maintenance)
//! that the trap-handling code in `src/vm/traphandlers.rs` relies on.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/vm/helpers.c");
    cc::Build::new()
        .file("src/vm/helpers.c")
        .warnings(true)
        .compile("trestle_helpers");
}
