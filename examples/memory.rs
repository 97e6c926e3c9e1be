//! Memory stays flat over many samples: takes N samples (default 10,000) with one `Sampler` and
//! checks that VmRSS after the warm-up does not grow by more than a bound. Exits 1 if it does.
//!
//! `cargo run --release --example memory -- [N] [live]`: the small synthetic host by default,
//! the running host with `live`.

#[path = "../benches/synth/mod.rs"]
mod synth;

use rxpath::{Root, Sampler};
use std::process::ExitCode;

/// What the allocator may keep for itself after the warm-up (fragmentation, lazily grown arenas).
const BOUND_KIB: u64 = 2048;

fn vm_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let live = args.iter().any(|a| a == "live");
    let tree = tempfile::tempdir().expect("a temporary directory");
    let root = if live {
        Root::live()
    } else {
        synth::write(tree.path(), &synth::Spec::small(), 0).expect("write the small host");
        Root::at(tree.path())
    };
    let mut sampler = Sampler::new(root);
    let warm_up = (n / 10).max(1);
    let mut after_warm_up = 0;
    for i in 1..=n {
        std::hint::black_box(sampler.take());
        if i == warm_up {
            after_warm_up = vm_kib("VmRSS:").unwrap_or(0);
        }
    }
    let end = vm_kib("VmRSS:").unwrap_or(0);
    let peak = vm_kib("VmHWM:").unwrap_or(0);
    let growth = end.saturating_sub(after_warm_up);
    println!(
        "{n} samples ({}): VmRSS {after_warm_up} KiB after {warm_up}, {end} KiB at the end \
         (growth {growth} KiB, bound {BOUND_KIB} KiB), VmHWM {peak} KiB, {} files open",
        if live { "live host" } else { "small synthetic host" },
        sampler.root().open_files()
    );
    if growth > BOUND_KIB {
        eprintln!(
            "memory: VmRSS grew by {growth} KiB over {} samples after the warm-up",
            n - warm_up
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
