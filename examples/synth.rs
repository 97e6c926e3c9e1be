//! Writes a synthetic host as a fixture tree: `cargo run --release --example synth -- big DIR [TICK]`.
//!
//! Presets: `big` (512 CPUs, 8 NUMA nodes, 4 NICs × 64 queues, ~2,000 interrupt lines, 10,000 UDP
//! sockets) and `small` (2 CPUs, one virtio NIC). TICK (default 0) is seconds into the run: write
//! ticks 0 and 1 to two directories and `Delta::between` their samples gives one second of rates.

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synth big|small DIR [TICK]";
    let (Some(preset), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let Some(spec) = synth::Spec::preset(preset) else {
        eprintln!("synth: unknown preset {preset:?}: give big or small\n{usage}");
        return ExitCode::from(2);
    };
    let tick = match args.get(2).map(|t| t.parse::<u64>()) {
        None => 0,
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            eprintln!("synth: TICK must be a whole number of seconds\n{usage}");
            return ExitCode::from(2);
        }
    };
    let dir = PathBuf::from(dir);
    match synth::write(&dir, &spec, tick) {
        Ok(()) => {
            println!("wrote {preset} host (tick {tick}) to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("synth: cannot write {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}
