//! A stable-Rust driver for the fuzz targets, for machines without
//! cargo-fuzz or a nightly toolchain: feeds random inputs from a seeded
//! PRNG to a target for a given time.
//!
//! ```text
//! smoke TARGET SECONDS [--seed N] [--max-len BYTES]
//! smoke TARGET --replay FILE...
//! smoke differential --module FILE.wasm|FILE.wat...
//! ```
//!
//! The `differential` target's oracle is wasmi, or Wasmtime when built
//! with the `wasmtime-oracle` feature.
//!
//! On a finding (a panic) it writes the input to
//! `artifacts/TARGET/crash-HASH` under the fuzz directory and exits with
//! status 1. The input being run is also kept in
//! `artifacts/TARGET/current-input`, so one that kills the process
//! (a fault outside wasm, an abort) is left behind too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// xorshift64*: small, fast and good enough to make fuzz input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: smoke TARGET SECONDS [--seed N] [--max-len BYTES]\n       \
         smoke TARGET --replay FILE...\ntargets: {}",
        trestle_fuzz::TARGETS.join(", ")
    );
    ExitCode::from(2)
}

/// Runs `target` on `data`; `Err` with the panic message on a finding.
fn run_one(target: &str, data: &[u8]) -> Result<&'static str, String> {
    std::panic::catch_unwind(|| trestle_fuzz::run(target, data)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first().cloned() else {
        return usage();
    };
    if !trestle_fuzz::TARGETS.contains(&target.as_str()) {
        return usage();
    }
    if target == "differential" && args.get(1).map(String::as_str) == Some("--module") {
        // Runs a .wasm or .wat module on both engines.
        let mut failed = false;
        for file in &args[2..] {
            let wasm = wat::parse_file(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            for (table64, lazy) in [(false, true), (false, false), (true, true)] {
                match trestle_fuzz::differential_compare(&wasm, table64, lazy) {
                    Ok(a) => println!("{file} (table64 {table64}, lazy {lazy}): {a:?}"),
                    Err(d) => {
                        println!(
                            "{file} (table64 {table64}, lazy {lazy}): DIVERGENCE: {}",
                            d.what
                        );
                        failed = true;
                    }
                }
            }
        }
        return if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    if args.get(1).map(String::as_str) == Some("--replay") {
        let mut failed = false;
        for file in &args[2..] {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            match run_one(&target, &data) {
                Ok(outcome) => println!("{file}: ok ({outcome})"),
                Err(msg) => {
                    println!("{file}: FINDING: {msg}");
                    failed = true;
                }
            }
        }
        return if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let Some(seconds) = args.get(1).and_then(|s| s.parse::<f64>().ok()) else {
        return usage();
    };
    let mut seed = 0x5eed_7e57_1e00_0001u64;
    let mut max_len = 4096usize;
    let mut rest = args[2..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--seed", Some(v)) => seed = v.max(1),
            ("--max-len", Some(v)) => max_len = v.max(1) as usize,
            _ => return usage(),
        }
    }

    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(&target);
    std::fs::create_dir_all(&dir).expect("the artifacts directory");
    let current = dir.join("current-input");
    // Findings are reported once, by this driver, not by the default hook
    // for every caught panic.
    std::panic::set_hook(Box::new(|_| {}));

    let mut rng = Rng(seed);
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(seconds);
    let mut execs = 0u64;
    let mut outcomes: std::collections::BTreeMap<&'static str, u64> = Default::default();
    let mut slowest = (Duration::ZERO, 0usize);
    let mut buf = vec![0u8; max_len];
    while start.elapsed() < deadline {
        // Mostly short inputs, sometimes long ones.
        let len = match rng.below(4) {
            0 => rng.below(64),
            1 | 2 => rng.below(max_len as u64 / 2 + 1),
            _ => rng.below(max_len as u64 + 1),
        } as usize;
        let data = &mut buf[..len];
        rng.fill(data);
        std::fs::write(&current, &*data).expect("writing the current input");
        let t = Instant::now();
        match run_one(&target, data) {
            Ok(outcome) => *outcomes.entry(outcome).or_default() += 1,
            Err(msg) => {
                let file = dir.join(format!("crash-{:016x}", fnv1a(data)));
                std::fs::write(&file, &*data).expect("writing the finding");
                println!(
                    "FINDING after {execs} executions ({:.1} s): {msg}\ninput: {}",
                    start.elapsed().as_secs_f64(),
                    file.display()
                );
                return ExitCode::FAILURE;
            }
        }
        let took = t.elapsed();
        if took > slowest.0 {
            slowest = (took, len);
        }
        execs += 1;
    }
    let _ = std::fs::remove_file(&current);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{target}: {execs} executions in {secs:.1} s ({:.0}/s), no finding; seed {seed:#x}; \
         slowest input {:.1} ms ({} bytes)",
        execs as f64 / secs,
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1
    );
    for (outcome, n) in outcomes {
        println!("  {n:>8}  {outcome}");
    }
    ExitCode::SUCCESS
}
