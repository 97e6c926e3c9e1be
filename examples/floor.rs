//! The floor: what reading the kernel files of a sample costs with no parsing at all. Reads every
//! path listed in LIST (one per line) ROUNDS times, open-read-close each, and prints the time of
//! each round and the median. `scripts/compare` makes LIST from an `rxpath capture`.
//!
//! `cargo run --release --example floor -- LIST [ROUNDS]`

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(list) = args.first() else {
        eprintln!("usage: floor LIST [ROUNDS]   (LIST: one kernel path per line)");
        return ExitCode::from(2);
    };
    let rounds: usize = match args.get(1).map(|r| r.parse()) {
        None => 100,
        Some(Ok(r)) if r > 0 => r,
        _ => {
            eprintln!("floor: ROUNDS must be a positive whole number");
            return ExitCode::from(2);
        }
    };
    let paths: Vec<String> = match std::fs::read_to_string(list) {
        Ok(t) => t.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect(),
        Err(e) => {
            eprintln!("floor: cannot read {list}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut buf = Vec::with_capacity(1 << 16);
    let mut times = Vec::with_capacity(rounds);
    let mut bytes = 0usize;
    let mut failed = 0usize;
    for round in 0..rounds {
        let start = Instant::now();
        bytes = 0;
        failed = 0;
        for p in &paths {
            buf.clear();
            // Open, read to the end, close: what a one-shot reader does per file.
            match File::open(p).and_then(|mut f| f.read_to_end(&mut buf)) {
                Ok(n) => bytes += n,
                Err(_) => failed += 1,
            }
        }
        let ms = start.elapsed().as_secs_f64() * 1e3;
        println!("round {round}: {ms:.3} ms");
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "files {} (unreadable {failed}), bytes {bytes}, median {median:.3} ms per round",
        paths.len()
    );
    ExitCode::SUCCESS
}
