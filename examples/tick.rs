//! What one `watch` refresh costs on a synthetic host: `cargo run --release --example tick --
//! [big|small] [N] [moving|static]` (default big, 30 refreshes, moving).
//!
//! Moving: the host is written at tick 0, then rewritten in place one tick later before each
//! refresh, so every counter moves as on a busy host (every NIC IRQ fires, sockets drop) and the
//! sampler re-reads files it keeps open, from caches the rewrite has cooled. Static: the tree as
//! the generator wrote it, read again each refresh, as on a quiet host. Each refresh
//! is what `watch` does every interval: a sample (`Sampler::take`), the report over the interval
//! (`Report::over`: rates, drop path, findings, tables) and one frame drawn (160×50, ratatui's
//! test backend). Only those are timed, in this thread's CPU time; writing the tree is not.
//! Prints the median, mean and maximum of each part and the share of one core at a 1 s interval
//! (from the mean: a setting re-read now and then makes some refreshes dearer).

#[path = "common/cpu_time.rs"]
mod cpu_time;
#[path = "../benches/synth/mod.rs"]
mod synth;

use cpu_time::thread_cpu;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rxpath::render::tui::{self, App};
use rxpath::report::Report;
use rxpath::{Root, Sampler};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn timed<T>(spent: &mut Vec<Duration>, f: impl FnOnce() -> T) -> T {
    let t0 = thread_cpu();
    let v = f();
    spent.push(thread_cpu() - t0);
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = args.first().map_or("big", String::as_str);
    let Some(spec) = synth::Spec::preset(preset) else {
        eprintln!("tick: unknown preset {preset:?}: give big or small");
        return ExitCode::from(2);
    };
    let n: u64 = match args.get(1).map(|a| a.parse()) {
        None => 30,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("tick: N must be a whole number of refreshes, at least 1");
            return ExitCode::from(2);
        }
    };
    let moving = match args.get(2).map(String::as_str) {
        None | Some("moving") => true,
        Some("static") => false,
        Some(other) => {
            eprintln!("tick: unknown mode {other:?}: give moving or static");
            return ExitCode::from(2);
        }
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    synth::write(dir.path(), &spec, 0).expect("write tick 0");
    let mut sampler = Sampler::new(Root::at(dir.path()));
    let mut earlier = Arc::new(sampler.take());
    let mut app = App::new(Duration::from_secs(1));
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).expect("a test terminal");
    let (mut sample, mut report, mut draw) = (Vec::new(), Vec::new(), Vec::new());
    for tick in 1..=n {
        if moving {
            synth::write(dir.path(), &spec, tick).expect("rewrite the host");
        }
        let later = timed(&mut sample, || sampler.take());
        let r = timed(&mut report, || Report::over(&earlier, later, Some(sampler.root())));
        earlier = Arc::clone(&r.sample);
        app.update(r);
        timed(&mut draw, || terminal.draw(|f| tui::draw(f, &app)).map(|_| ()))
            .expect("draw a frame");
    }
    // The share of a core is what the refreshes cost on average: settings re-read in turn make
    // some refreshes dearer than the median one, and the mean counts them.
    let parts = [
        ("sample (Sampler::take)", &mut sample),
        ("report (rates, path, findings)", &mut report),
        ("draw (one 160x50 frame)", &mut draw),
    ];
    let mode = if moving { "every counter moving" } else { "static tree" };
    println!("{preset} host, {mode}, {n} refreshes, CPU time per refresh:");
    println!("  {:<32} {:>9} {:>9} {:>9}", "", "median ms", "mean ms", "max ms");
    let (mut median_total, mut mean_total) = (0.0, 0.0);
    for (what, v) in parts {
        let mean = ms(v.iter().sum::<Duration>()) / v.len() as f64;
        let (med, max) = (ms(median(v)), ms(*v.iter().max().expect("n > 0")));
        println!("  {what:<32} {med:>9.3} {mean:>9.3} {max:>9.3}");
        (median_total, mean_total) = (median_total + med, mean_total + mean);
    }
    println!("  {:<32} {median_total:>9.3} {mean_total:>9.3}", "total");
    println!("  at a 1 s interval: {:.2}% of one core (mean)", mean_total / 10.0);
    ExitCode::SUCCESS
}
