//! What one `GET /metrics` of `rxpath serve` costs, without HTTP: `cargo run --release --example
//! scrape -- [live|small|big] [N] [GAP_MS]` (default live, 200 scrapes, back to back). With
//! `GAP_MS` the loop sleeps that long before each scrape, as a server waits between scrapes: the
//! caches go cold, and the scrape costs what it costs a server.
//!
//! Each scrape is what the server's sampling thread does: a sample (`Sampler::take`), the totals
//! since boot and the drop path with the report's queue and socket rows (`Scrape::since_boot`), and
//! the OpenMetrics text (`prometheus::encode`). `live` reads this host (files kept open across
//! scrapes, as in the server); `small` and `big` read a synthetic host (benches/synth). Prints the
//! median wall time and thread CPU time of each part, and the size of the text.

#[path = "common/cpu_time.rs"]
mod cpu_time;
#[path = "../benches/synth/mod.rs"]
mod synth;

use cpu_time::thread_cpu;

use rxpath::render::prometheus::{self, Scrape};
use rxpath::{Root, Sampler};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wall and CPU time of each call.
#[derive(Default)]
struct Timing {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Timing {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (w, c) = (Instant::now(), thread_cpu());
        let v = f();
        self.cpu.push(thread_cpu() - c);
        self.wall.push(w.elapsed());
        v
    }

    fn medians(&mut self) -> (f64, f64) {
        let m = |v: &mut Vec<Duration>| {
            v.sort();
            v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        (m(&mut self.wall), m(&mut self.cpu))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let host = args.first().map_or("live", String::as_str);
    let n: usize = match args.get(1).map(|a| a.parse()) {
        None => 200,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("scrape: N must be a whole number of scrapes, at least 1");
            return ExitCode::from(2);
        }
    };
    let gap = match args.get(2).map(|a| a.parse()) {
        None => Duration::ZERO,
        Some(Ok(ms)) => Duration::from_millis(ms),
        _ => {
            eprintln!("scrape: GAP_MS must be a whole number of milliseconds");
            return ExitCode::from(2);
        }
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = if host == "live" {
        Root::live()
    } else if let Some(spec) = synth::Spec::preset(host) {
        synth::write(dir.path(), &spec, 0).expect("write the synthetic host");
        Root::at(dir.path())
    } else {
        eprintln!("scrape: unknown host {host:?}: give live, small or big");
        return ExitCode::from(2);
    };
    let mut sampler = Sampler::new(root);
    // The first scrape opens every file; the server pays that once.
    let _ = rxpath::serve::scrape(&mut sampler);
    let (mut take, mut build, mut encode, mut total) =
        (Timing::default(), Timing::default(), Timing::default(), Timing::default());
    let mut bytes = 0;
    for _ in 0..n {
        std::thread::sleep(gap);
        let text = total.time(|| {
            let sample = take.time(|| sampler.take());
            let scrape = build.time(|| Arc::new(Scrape::since_boot(sample)));
            encode.time(|| prometheus::encode(&scrape))
        });
        bytes = text.len();
    }
    let series = {
        let text = rxpath::serve::scrape(&mut sampler);
        text.lines().filter(|l| !l.starts_with('#')).count()
    };
    let gap_ms = gap.as_millis();
    println!(
        "{host} host, {n} scrapes {gap_ms} ms apart, {series} series, {bytes} bytes; median per scrape:"
    );
    println!("  {:<44} {:>9} {:>9}", "", "wall ms", "CPU ms");
    for (what, t) in [
        ("sample (Sampler::take)", &mut take),
        ("since boot + drop path + rows (Scrape)", &mut build),
        ("OpenMetrics text (prometheus::encode)", &mut encode),
        ("total", &mut total),
    ] {
        let (w, c) = t.medians();
        println!("  {what:<44} {w:>9.3} {c:>9.3}");
    }
    ExitCode::SUCCESS
}
