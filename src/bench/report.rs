//! Benchmark results and their three forms: a text table, JSON and an SVG
//! bar chart.

use super::{Measured, SampleOptions};
use std::fmt::Write as _;

/// The groups of benchmarks, each printed as its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// `call_indirect` latency, ns per call, with the native baseline.
    CallIndirect,
    /// Table operations: ns per grow, per element or per host call.
    TableOps,
    /// SIMD kernels: ns per pass over a buffer.
    Simd,
    /// C and C++ programs dominated by indirect calls, with their native
    /// builds: ns per unit of each program's work.
    Programs,
    /// Memory kernels (loads and stores, `memory.copy`) on memory 0, a
    /// second memory and a 64-bit memory: ns per pass over a buffer.
    Memory,
    /// Compilation of the benchmark modules.
    Compile,
    /// Instantiation (with a new store) of the benchmark modules.
    Instantiate,
    /// Instantiation of modules with tables of 1k, 10k and 100k entries
    /// filled by an element segment, lazy and eager.
    TableInit,
    /// `call_indirect` latency through tables of 1 to 1M entries.
    TableSize,
    /// New store + instantiate + one call + drop, for tables of 1k to 1M
    /// entries filled by an element segment, lazy and eager.
    TableCycle,
    /// Calls of a function of the user's module (`trestle bench --module`).
    Function,
}

impl Group {
    /// The groups of the built-in suite, in report order.
    pub const SUITE: [Group; 10] = [
        Group::CallIndirect,
        Group::TableOps,
        Group::Simd,
        Group::Memory,
        Group::Programs,
        Group::Compile,
        Group::Instantiate,
        Group::TableInit,
        Group::TableSize,
        Group::TableCycle,
    ];

    /// The group's name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Group::CallIndirect => "call_indirect",
            Group::TableOps => "table_ops",
            Group::Simd => "simd",
            Group::Programs => "programs",
            Group::Memory => "memory",
            Group::Compile => "compile",
            Group::Instantiate => "instantiate",
            Group::TableInit => "table_init",
            Group::TableSize => "table_size",
            Group::TableCycle => "table_cycle",
            Group::Function => "function",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::CallIndirect => "call_indirect: time per call (lower is better)",
            Group::TableOps => "table operations: time per unit (lower is better)",
            Group::Simd => "SIMD kernels: time per pass over the buffer (lower is better)",
            Group::Programs => {
                "programs: C and C++ built by clang, time per unit of work (lower is better)"
            }
            Group::Memory => {
                "memory kernels: time per pass over 32 KiB, by memory (lower is better)"
            }
            Group::Compile => "compilation: time per compile of the case's module(s)",
            Group::Instantiate => "instantiation: new store + instantiate the case's module(s)",
            Group::TableInit => {
                "instantiation of a table filled by an element segment: lazy vs eager init"
            }
            Group::TableSize => {
                "call_indirect through a table of each size, pseudo-random slots: time per call"
            }
            Group::TableCycle => {
                "new store + instantiate + one call + drop, by table size; Trestle lazy or eager \
                 init, Wasmtime default (lazy)"
            }
            Group::Function => "function calls from the host: time per call",
        }
    }

    /// Whether the group's cases have a native baseline row.
    pub fn has_native(self) -> bool {
        matches!(self, Group::CallIndirect | Group::Programs)
    }

    /// The unit a time of this group is printed in, and its divisor from
    /// nanoseconds.
    fn time_unit(self) -> (&'static str, f64) {
        match self {
            Group::CallIndirect
            | Group::TableOps
            | Group::Simd
            | Group::Programs
            | Group::Memory
            | Group::TableSize
            | Group::Function => ("ns", 1.0),
            Group::Instantiate | Group::TableInit | Group::TableCycle => ("us", 1e3),
            Group::Compile => ("ms", 1e6),
        }
    }
}

/// The machine the benchmarks ran on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`, or `unknown`.
    pub cpu_model: String,
    /// `target_os`-`target_arch`.
    pub target: String,
}

impl Machine {
    /// Describes this machine.
    pub fn this() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            target: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

/// The result of one benchmark on one engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The benchmark group.
    pub group: Group,
    /// The case, e.g. `mega1024`.
    pub case: String,
    /// `native`, `trestle`, `wasmtime` or `wasmi`.
    pub engine: String,
    /// What a unit is: `call`, `element`, ...
    pub unit: &'static str,
    /// The samples.
    pub measured: Measured,
}

impl Record {
    /// A record of `measured`.
    pub fn new(
        group: Group,
        case: String,
        engine: &str,
        unit: &'static str,
        measured: Measured,
    ) -> Self {
        Self {
            group,
            case,
            engine: engine.to_string(),
            unit,
            measured,
        }
    }

    /// The median time per unit, in nanoseconds.
    pub fn median_ns(&self) -> f64 {
        median(&self.measured.samples_ns)
    }

    /// Units per second at the median.
    pub fn per_second(&self) -> f64 {
        1e9 / self.median_ns()
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// A time in nanoseconds with a unit picked for it: `1.23 ns`, `45.6 us`.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "us")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", three_digits(value))
}

/// A number with about three significant digits.
fn three_digits(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Results of a benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Where they were measured.
    pub machine: Machine,
    /// How they were sampled.
    pub sample: SampleOptions,
    /// One record per case and engine, in run order.
    pub records: Vec<Record>,
    /// For `--module` runs: the function's results, as text.
    pub results: Option<String>,
}

impl Report {
    /// An empty report for this machine.
    pub fn new(sample: SampleOptions) -> Self {
        Self {
            machine: Machine::this(),
            sample,
            records: Vec::new(),
            results: None,
        }
    }

    /// The groups present, in order of first appearance.
    fn groups(&self) -> Vec<Group> {
        let mut groups = Vec::new();
        for r in &self.records {
            if !groups.contains(&r.group) {
                groups.push(r.group);
            }
        }
        groups
    }

    /// The cases of `group`, in order of first appearance.
    fn cases(&self, group: Group) -> Vec<&str> {
        let mut cases = Vec::new();
        for r in self.records.iter().filter(|r| r.group == group) {
            if !cases.contains(&r.case.as_str()) {
                cases.push(r.case.as_str());
            }
        }
        cases
    }

    fn rows(&self, group: Group, case: &str) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| r.group == group && r.case == case)
            .collect()
    }

    /// Whether more than one engine (not counting native) ran.
    fn compares(&self) -> bool {
        let mut engines: Vec<&str> = self
            .records
            .iter()
            .filter(|r| r.engine != "native")
            .map(|r| r.engine.as_str())
            .collect();
        engines.sort_unstable();
        engines.dedup();
        engines.len() > 1
    }

    /// The record's time relative to the native baseline of its case.
    pub fn vs_native(&self, record: &Record) -> Option<f64> {
        if !record.group.has_native() {
            return None;
        }
        self.rows(record.group, &record.case)
            .into_iter()
            .find(|r| r.engine == "native")
            .map(|n| record.median_ns() / n.median_ns())
    }

    /// The record's time relative to the fastest engine (not counting
    /// native) of its case.
    pub fn vs_fastest(&self, record: &Record) -> Option<f64> {
        if record.engine == "native" {
            return None;
        }
        let fastest = self
            .rows(record.group, &record.case)
            .into_iter()
            .filter(|r| r.engine != "native")
            .map(|r| r.median_ns())
            .fold(f64::INFINITY, f64::min);
        fastest.is_finite().then(|| record.median_ns() / fastest)
    }

    /// The results as text tables, one per group.
    pub fn text(&self) -> String {
        let compares = self.compares();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} CPUs, {}, {}; median of {} samples of ~{} ms each",
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.target,
            self.sample.samples,
            self.sample.sample_time.as_millis()
        );
        for group in self.groups() {
            let (unit, div) = if group == Group::Function {
                // A user's function may take nanoseconds or seconds.
                let slowest = self
                    .records
                    .iter()
                    .filter(|r| r.group == group)
                    .map(|r| r.median_ns())
                    .fold(0.0, f64::max);
                match slowest {
                    s if s < 1e4 => ("ns", 1.0),
                    s if s < 1e7 => ("us", 1e3),
                    _ => ("ms", 1e6),
                }
            } else {
                group.time_unit()
            };
            let per = match group {
                Group::CallIndirect | Group::TableSize => "Mcalls/s".to_string(),
                Group::Function => "calls/s".to_string(),
                Group::TableOps => "M/s".to_string(),
                _ => "per s".to_string(),
            };
            let _ = writeln!(out, "\n{}", group.title());
            let mut header = format!(
                "{:<20} {:<9} {:>12} {:>10}",
                "case",
                "engine",
                format!("{unit}/{}", self.unit_word(group)),
                per
            );
            if group.has_native() {
                header.push_str(&format!(" {:>10}", "vs native"));
            }
            if compares {
                header.push_str(&format!(" {:>11}", "vs fastest"));
            }
            let _ = writeln!(out, "{header}");
            let _ = writeln!(out, "{}", "-".repeat(header.len()));
            for case in self.cases(group) {
                for (k, r) in self.rows(group, case).into_iter().enumerate() {
                    let per_s = match group {
                        Group::CallIndirect | Group::TableOps | Group::TableSize => {
                            format!("{:.1}", r.per_second() / 1e6)
                        }
                        _ => format!("{:.0}", r.per_second()),
                    };
                    let mut line = format!(
                        "{:<20} {:<9} {:>12} {:>10}",
                        if k == 0 { case } else { "" },
                        r.engine,
                        three_digits(r.median_ns() / div),
                        per_s
                    );
                    if group.has_native() {
                        let v = self
                            .vs_native(r)
                            .map_or(String::new(), |v| format!("{v:.2}x"));
                        line.push_str(&format!(" {v:>10}"));
                    }
                    if compares {
                        let v = self
                            .vs_fastest(r)
                            .map_or(String::new(), |v| format!("{v:.2}x"));
                        line.push_str(&format!(" {v:>11}"));
                    }
                    let _ = writeln!(out, "{}", line.trim_end());
                }
            }
        }
        if self.records.iter().any(|r| r.group == Group::CallIndirect) {
            let _ = writeln!(
                out,
                "\nnative: the same loop in Rust over a slice of fn(i32) -> i32; lazy-first-touch \
                 and cross-module\nare compared with the poly4 and mono loops, whose targets they call."
            );
        }
        if let Some(results) = &self.results {
            let _ = writeln!(out, "\nresults of one call: {results}");
        }
        out
    }

    fn unit_word(&self, group: Group) -> &'static str {
        match group {
            Group::TableOps | Group::Programs => "unit",
            _ => self
                .records
                .iter()
                .find(|r| r.group == group)
                .map_or("unit", |r| match r.unit {
                    "instantiation" => "inst",
                    other => other,
                }),
        }
    }

    /// The results as JSON.
    pub fn json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(
            out,
            "  \"trestle_version\": {},",
            json_str(env!("CARGO_PKG_VERSION"))
        );
        let _ = writeln!(
            out,
            "  \"machine\": {{\"cpus\": {}, \"cpu_model\": {}, \"target\": {}}},",
            self.machine.cpus,
            json_str(&self.machine.cpu_model),
            json_str(&self.machine.target)
        );
        let _ = writeln!(
            out,
            "  \"sampling\": {{\"samples\": {}, \"sample_time_ms\": {}, \"warmup_ms\": {}, \
             \"statistic\": \"median\"}},",
            self.sample.samples,
            self.sample.sample_time.as_millis(),
            self.sample.warmup.as_millis()
        );
        if let Some(results) = &self.results {
            let _ = writeln!(out, "  \"function_results\": {},", json_str(results));
        }
        out.push_str("  \"results\": [");
        for (k, r) in self.records.iter().enumerate() {
            out.push_str(if k == 0 { "\n" } else { ",\n" });
            let samples: Vec<String> = r.measured.samples_ns.iter().map(|s| json_num(*s)).collect();
            let _ = write!(
                out,
                "    {{\"group\": {}, \"case\": {}, \"engine\": {}, \"unit\": {}, \
                 \"median_ns\": {}, \"per_second\": {}, \"vs_native\": {}, \"vs_fastest\": {}, \
                 \"iterations_per_sample\": {}, \"units_per_sample\": {}, \"samples_ns\": [{}]}}",
                json_str(r.group.name()),
                json_str(&r.case),
                json_str(&r.engine),
                json_str(r.unit),
                json_num(r.median_ns()),
                json_num(r.per_second()),
                self.vs_native(r).map_or("null".to_string(), json_num),
                self.vs_fastest(r).map_or("null".to_string(), json_num),
                r.measured.n,
                r.measured.units,
                samples.join(", ")
            );
        }
        out.push_str("\n  ]\n}\n");
        out
    }

    /// Horizontal bar charts, one per group the report holds (in suite
    /// order, a `--module` run's function group last), each on its own
    /// scale: one group of bars per case, one bar per engine.
    pub fn svg(&self) -> String {
        let groups: Vec<Group> = Group::SUITE
            .into_iter()
            .chain([Group::Function])
            .filter(|g| self.records.iter().any(|r| r.group == *g))
            .collect();
        let mut engines: Vec<&str> = Vec::new();
        for r in &self.records {
            if !engines.contains(&r.engine.as_str()) {
                engines.push(r.engine.as_str());
            }
        }
        let left = 10.0;
        let mut body = String::new();
        let mut y = 70.0;
        for group in groups {
            y = self.svg_group(&mut body, group, y);
        }
        let (width, height) = (SVG_BAR_X + SVG_BAR_W + 90.0, y + 10.0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
        );
        let _ = writeln!(
            s,
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{left}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Trestle \
             benchmarks (lower is better)</text>\n\
             <text x=\"{left}\" y=\"40\" fill=\"#555\">median of {} samples; {} CPUs, {}</text>",
            self.sample.samples,
            self.machine.cpus,
            xml(&self.machine.cpu_model)
        );
        // Legend.
        let mut lx = left;
        for e in &engines {
            let _ = writeln!(
                s,
                "<rect x=\"{lx}\" y=\"50\" width=\"10\" height=\"10\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"59\">{}</text>",
                color(e),
                lx + 14.0,
                xml(e)
            );
            lx += 24.0 + 7.0 * e.len() as f64;
        }
        s.push_str(&body);
        s.push_str("</svg>\n");
        s
    }

    /// Appends the chart of `group` from height `top` to `s`; returns
    /// where the next chart starts.
    fn svg_group(&self, s: &mut String, group: Group, top: f64) -> f64 {
        let (left, bar_x, bar_w) = (10.0, SVG_BAR_X, SVG_BAR_W);
        let (bar_h, gap, group_gap) = (14.0, 3.0, 14.0);
        let (unit, div) = group.time_unit();
        let cases = self.cases(group);
        let values: Vec<f64> = self
            .records
            .iter()
            .filter(|r| r.group == group)
            .map(|r| r.median_ns() / div)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
        if values.is_empty() {
            return top;
        }
        let log = hi / lo > 30.0;
        let scale = Scale::new(lo, hi, log);
        let _ = writeln!(
            s,
            "<text x=\"{left}\" y=\"{:.1}\" font-size=\"14\" font-weight=\"bold\">{}</text>\
             <text x=\"{left}\" y=\"{:.1}\" fill=\"#555\">{unit}, {} scale</text>",
            top + 4.0,
            xml(group.title()),
            top + 20.0,
            if log { "logarithmic" } else { "linear" },
        );
        let bars_top = top + 28.0;
        let rows_h: f64 = cases
            .iter()
            .map(|c| self.rows(group, c).len() as f64 * (bar_h + gap) + group_gap)
            .sum();
        // Grid lines.
        let grid_bottom = bars_top + rows_h;
        for tick in scale.ticks() {
            let x = bar_x + scale.pos(tick) * bar_w;
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{bars_top}\" x2=\"{x:.1}\" y2=\"{grid_bottom}\" stroke=\"#ddd\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                grid_bottom + 14.0,
                trim_number(tick)
            );
        }
        // Bars.
        let mut y = bars_top + group_gap / 2.0;
        for case in &cases {
            let rows = self.rows(group, case);
            let group_h = rows.len() as f64 * (bar_h + gap);
            let _ = writeln!(
                s,
                "<text x=\"{left}\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
                y + group_h / 2.0 + 4.0,
                xml(case)
            );
            for r in rows {
                let v = r.median_ns() / div;
                let w = (scale.pos(v) * bar_w).max(1.0);
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{}</text>\
                     <rect x=\"{bar_x}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    bar_x - 6.0,
                    y + bar_h - 3.0,
                    xml(&r.engine),
                    color(&r.engine),
                    bar_x + w + 4.0,
                    y + bar_h - 3.0,
                    three_digits(v)
                );
                y += bar_h + gap;
            }
            y += group_gap;
        }
        grid_bottom + 40.0
    }
}

/// Where the bars of the SVG charts start, and their longest length.
const SVG_BAR_X: f64 = 250.0;
const SVG_BAR_W: f64 = 560.0;

/// Maps times to bar lengths in `0..=1`.
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn new(min: f64, max: f64, log: bool) -> Self {
        if !(min.is_finite() && max > 0.0) {
            return Self {
                lo: 0.0,
                hi: 1.0,
                log: false,
            };
        }
        if log {
            Self {
                lo: 10f64.powf(min.log10().floor()),
                hi: 10f64.powf(max.log10().ceil()),
                log,
            }
        } else {
            Self {
                lo: 0.0,
                hi: nice_ceiling(max),
                log,
            }
        }
    }

    fn pos(&self, v: f64) -> f64 {
        let p = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        p.clamp(0.0, 1.0)
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut t = Vec::new();
            let mut v = self.lo;
            while v <= self.hi * 1.0001 {
                t.push(v);
                v *= 10.0;
            }
            t
        } else {
            (0..=5).map(|k| self.hi * f64::from(k) / 5.0).collect()
        }
    }
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least
/// `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

fn trim_number(v: f64) -> String {
    if v >= 1.0 && v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn color(engine: &str) -> &'static str {
    match engine {
        "native" => "#8c8c8c",
        "trestle" => "#1f77b4",
        "wasmtime" => "#ff7f0e",
        "wasmi" => "#2ca02c",
        _ => "#9467bd",
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn json_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        // Enough digits for sub-nanosecond times; no exponent notation.
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        "null".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(case: &str, engine: &str, ns: f64) -> Record {
        Record::new(
            Group::CallIndirect,
            case.to_string(),
            engine,
            "call",
            Measured {
                n: 10,
                units: 10,
                samples_ns: vec![ns, ns * 2.0, ns * 0.5],
            },
        )
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut report = Report::new(SampleOptions::default());
        report.records = vec![
            record("mono", "native", 1.0),
            record("mono", "trestle", 2.0),
            record("mono", "wasmtime", 4.0),
        ];
        let t = &report.records[1];
        assert_eq!(report.vs_native(t), Some(2.0));
        assert_eq!(report.vs_fastest(t), Some(1.0));
        assert_eq!(report.vs_fastest(&report.records[2]), Some(2.0));
        assert_eq!(report.vs_fastest(&report.records[0]), None);
        let text = report.text();
        assert!(text.contains("vs fastest"), "{text}");
        assert!(text.contains("2.00x"), "{text}");
        let json = report.json();
        assert!(json.contains("\"vs_native\": 2,"), "{json}");
        let svg = report.svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=\"250\"").count(), 3);
    }

    #[test]
    fn the_svg_charts_every_group_in_its_own_unit() {
        let mut report = Report::new(SampleOptions::default());
        let mut program = record("interp", "trestle", 3.0);
        program.group = Group::Programs;
        let mut compile = record("textstats", "wasmtime", 2.5e6);
        compile.group = Group::Compile;
        report.records = vec![record("mono", "trestle", 2.0), program, compile];
        let svg = report.svg();
        for group in [Group::CallIndirect, Group::Programs, Group::Compile] {
            assert!(svg.contains(&xml(group.title())), "{svg}");
        }
        assert!(!svg.contains(&xml(Group::Simd.title())), "{svg}");
        assert_eq!(svg.matches("<rect x=\"250\"").count(), 3);
        // 2.5 ms in the compile chart's milliseconds.
        assert!(svg.contains(">2.50</text>"), "{svg}");
        assert!(svg.contains("wasmtime</text>"), "{svg}");
    }

    #[test]
    fn formatting() {
        assert_eq!(format_ns(1.234), "1.23 ns");
        assert_eq!(format_ns(45_600.0), "45.6 us");
        assert_eq!(format_ns(2_500_000.0), "2.50 ms");
        assert_eq!(json_str("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(json_num(1.5), "1.5");
        assert_eq!(json_num(f64::NAN), "null");
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(1.7), 2.0);
    }
}
