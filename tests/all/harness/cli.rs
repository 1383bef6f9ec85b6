//! The `trestle` binary as the tests run it, and the scratch directories
//! they give it.

use std::path::PathBuf;
use std::process::Command;

/// `trestle SUBCOMMAND` in the table mode the environment asks for
/// ([`super::cli_args`]), run in the package root; add the arguments and
/// run it.
pub fn trestle(subcommand: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trestle"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(subcommand)
        .args(super::cli_args());
    cmd
}

/// A fresh, empty directory for one test, named after `name`, the process
/// and the thread.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "trestle-test-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd`, checks that it succeeded, and returns its standard output.
///
/// # Panics
///
/// When the command cannot run or fails.
#[track_caller]
pub fn successful_stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("failed to run the command");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
