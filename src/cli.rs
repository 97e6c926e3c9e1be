//! Command-line interface: arguments and dispatch. Everything it calls lives in the library.

use crate::capture;
use crate::render::{
    self,
    text::{CpuSelection, TextOptions},
};
use crate::report::Report;
use crate::root::Root;
use crate::sample::{Sample, Sampler};
use crate::serve;
use crate::source::cpuset;
use crate::watch;
use clap::{Args, Parser, Subcommand};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: i32 = 0;
    /// `report` found something to change.
    pub const FINDINGS: i32 = 1;
    /// Bad arguments or input, or a failure that left nothing changed.
    pub const ERROR: i32 = 2;
}

#[derive(Parser, Debug)]
#[command(
    name = "rxpath",
    version,
    about = "Where are packets dropped on this Linux host's receive path, and what to change.",
    long_about = "rxpath reads the whole network receive path — NIC ring and driver counters, IRQs, \
softirq/NAPI, the backlog and RPS/RFS, IP and netfilter, UDP/TCP and each socket — and shows it in \
path order with the settings and counters of every stage.\n\n\
It reads /proc and /sys, asks the driver through the SIOCETHTOOL ioctl and the kernel through \
netlink; it never runs ethtool, ip or sysctl. Without root everything readable is shown and the \
parts that need root say so.\n\n\
Exit codes: 0 success (report: nothing to change), 1 report has findings, 2 error (nothing \
was changed); watch stopped by signal N: 128 + N; serve stopped by SIGTERM or SIGINT: 0.",
    after_help = "Examples:\n  rxpath report                 the receive path of this host\n  \
rxpath report --json | jq '.path.stages[] | {stage, dropped}'\n  \
rxpath capture /tmp/host1     save this host for later or for someone else\n  \
rxpath report --root /tmp/host1   the same report, from the capture\n  \
rxpath watch                  a live view, refreshed every second\n  \
rxpath serve                  Prometheus metrics on http://127.0.0.1:9417/metrics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Where packets die on this host's receive path, why, and what to change.
    #[command(
        long_about = "Sample the host twice (--interval apart) and print: the drop path — the \
eight stages in path order with what entered each, what each dropped per second by the kernel's \
counter names, and its share of all drops; the findings, each with its evidence, the mechanism and \
the exact change (knob, current → proposed, why, command); per-CPU, per-queue and per-socket \
tables (with the process owning a socket that drops); then every stage's settings.\n\n\
With --root DIR (a capture or a copy of /proc and /sys) the report is static: settings and totals \
since boot.\n\nExit codes: 0 nothing to change, 1 findings, 2 error."
    )]
    Report(ReportArgs),
    /// Save everything `report` reads to DIR, to replay later with `report --root DIR`.
    #[command(
        long_about = "Save everything `report` reads to DIR: the kernel files as they were, \
under the same paths (sysfs links included), plus what came from ioctls and netlink as JSON \
(rxpath-capture.json) and the sample itself (rxpath-sample.json). DIR must be new or empty; the \
capture appears complete or not at all. Run as root to capture the parts that need it."
    )]
    Capture(CaptureArgs),
    /// A live view of the receive path, refreshed each interval (q quits, ? shows the keys).
    #[command(
        long_about = "A live view of this host's receive path, refreshed each interval: the drop \
path at the top (entered, dropped and share per stage, with a sparkline of each stage's drops per \
second), and below it one of four views — per CPU, per receive queue, the UDP sockets that dropped \
with their owning process, and the current findings with their remedies. The words and numbers are \
those of `rxpath report`.\n\n\
Keys: Tab or 1-4 switch the view, s cycles the sort column, f or space freezes the screen (and \
resumes), ↑/↓ and PgUp/PgDn scroll the findings, ? shows the keys, q, Esc or Ctrl-C quits. On hosts with more CPUs than fit, the CPU view \
shows a sum per NUMA node, then the busiest CPUs by the sort column.\n\n\
watch reads the live host only: a capture (--root) is one snapshot with no rates, so read it with \
`rxpath report --root DIR`. The terminal is restored on quit, on error, on a panic and on \
SIGTERM, SIGINT or SIGHUP (exit code 128 + the signal's number)."
    )]
    Watch(WatchArgs),
    /// Export the drop path to Prometheus: /metrics on 127.0.0.1:9417, read at each scrape.
    #[command(
        long_about = "Serve the receive path as Prometheus metrics: GET /metrics reads the host \
at that moment and answers the numbers of `rxpath report --root` — counters since boot, which \
Prometheus turns into rates (rate(rxpath_drops_total[1m])):\n\n  \
rxpath_stage_entered_packets_total, rxpath_stage_dropped_packets_total  per stage, path order\n  \
rxpath_drops_total{stage,counter,where,counted}  every drop counter by its kernel name; \
sum by (stage) over counted=\"true\" is the stage's dropped\n  \
rxpath_softnet_*_total{cpu}  processed, dropped, time_squeeze, received_rps, flow_limit_count\n  \
rxpath_netdev_rx_packets_total{interface,counter}, rxpath_netdev_rx_bytes_total{interface}\n  \
rxpath_rx_queue_packets_total, rxpath_rx_queue_drops_total{interface,queue}\n  \
rxpath_udp_socket_drops_total{local,remote,inode}  the 100 sockets with the most drops\n  \
rxpath_scrape_duration_seconds, rxpath_build_info, rxpath_source_available{source}\n\n\
docs/metrics.md describes every family and the kernel counter behind it. The body is \
OpenMetrics text (application/openmetrics-text; version=1.0.0). GET / is a page pointing to \
/metrics; other paths answer 404, other methods 405.\n\n\
Each scrape costs one sample of the host (a few milliseconds; rxpath_scrape_duration_seconds \
says how long); nothing is cached, scrapes that arrive while a sample is taken share it. A scrape \
interval of 15s to 60s is plenty: drops are counted by the kernel, none is missed between \
scrapes. Counters that are 32 bits in the kernel (softnet_stat) wrap, which Prometheus treats as \
a reset.\n\n\
Listens on 127.0.0.1:9417 unless --listen says otherwise (0.0.0.0:9417 for every interface, \
port 0 for any free port); the bound address is printed on standard error. A client must send \
its request head within 3 s, a connection lasts at most 5 s, at most 64 are open at once. \
SIGTERM or SIGINT stop it with exit code 0, after answering the requests already received; a \
bad address or a port in use exits 2. Run it as root to export the parts that need root (driver \
counters, socket details)."
    )]
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Read procfs and sysfs under DIR instead of / (a capture, or any copy of /proc and /sys).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print the report as JSON (docs/report-format.md; its `sample` is docs/sample-format.md).
    #[arg(long)]
    pub json: bool,
    /// Per-CPU rows to show: `all`, or a list such as `0-3,8`. Default: every CPU on hosts with up
    /// to 16, else the busiest eight and a line summing the rest.
    #[arg(long, value_name = "all|LIST", value_parser = parse_cpus)]
    pub cpus: Option<CpuSelection>,
    /// Show every queue of every interface (`--queues all`). Default: up to 16 per interface.
    #[arg(long, value_name = "all", value_parser = ["all"])]
    pub queues: Option<String>,
    /// Show every driver counter and every part that could not be read, not only drop counters.
    #[arg(long, short)]
    pub verbose: bool,
    /// Time between the two samples rates are taken over: `1s`, `500ms`, `2` (seconds), `0` (back
    /// to back). Ignored with --root, which reads one static snapshot.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Print N reports, each over the next interval, instead of one. With --json each report is
    /// one line (newline-delimited JSON), so `--count 100 --interval 0` times the sampling path.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Time between refreshes, each showing the rates over the interval before it: `1s`,
    /// `500ms`, `2` (seconds); at least 100ms.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Not supported: watch needs the live host (a capture has no rates); accepted only to say so.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address and port to listen on: `127.0.0.1:9417`, `0.0.0.0:9417`, `[::]:9417`; port 0
    /// picks a free one (the bound address is printed on standard error).
    #[arg(long, value_name = "ADDR", default_value = serve::DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Serve the totals of a capture or a tree holding proc/ and sys/ instead of this host (for
    /// trying dashboards and alerts against a saved host).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// A new or empty directory to write the capture into.
    pub dir: PathBuf,
}

/// `1s`, `500ms`, `1.5`, `2m`: a bare number is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v * scale <= 86_400.0 => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "`{s}` is not a duration: give seconds (`2`, `0.5`) or a unit (`500ms`, `1s`, `1m`), \
             at most a day"
        )),
    }
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!(
            "`{s}` is not an address to listen on: give IP:PORT such as 127.0.0.1:9417, \
             0.0.0.0:9417 or [::1]:9417 (a numeric IP; port 0 picks a free port)"
        )
    })
}

fn parse_cpus(s: &str) -> Result<CpuSelection, String> {
    if s == "all" {
        return Ok(CpuSelection::All);
    }
    cpuset::parse_list(s)
        .map(CpuSelection::List)
        .map_err(|e| format!("{e}: give `all` or a CPU list such as 0-3,8"))
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Report(a) => report(a),
        Command::Watch(a) => watch(a),
        Command::Serve(a) => serve(a),
        Command::Capture(a) => match capture::capture(&a.dir) {
            Ok(s) => {
                let n = s.interfaces.value().map_or(0, Vec::len);
                let msg = format!(
                    "captured {n} interfaces to {}; replay with: rxpath report --root {}\n",
                    a.dir.display(),
                    a.dir.display()
                );
                emit(&msg).err().unwrap_or(exit::OK)
            }
            Err(e) => fail(&e),
        },
    }
}

/// The live host, or `--root DIR` when it is a tree rxpath can read.
fn root_of(dir: Option<&Path>) -> Result<Root, String> {
    let Some(dir) = dir else { return Ok(Root::live()) };
    if !dir.is_dir() {
        return Err(format!(
            "--root {}: not a directory; give a capture (rxpath capture DIR) or a tree holding \
             proc/ and sys/",
            dir.display()
        ));
    }
    if !dir.join("proc").is_dir() && !dir.join("sys").is_dir() {
        return Err(format!(
            "--root {}: holds neither proc/ nor sys/; give the directory that contains them",
            dir.display()
        ));
    }
    Ok(Root::at(dir))
}

fn report(a: ReportArgs) -> i32 {
    let root = match root_of(a.root.as_deref()) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if root.is_live() {
        live_reports(root, &a)
    } else if a.count.is_some_and(|n| n > 1) {
        fail("--count needs the live host: a --root tree is one snapshot, so it gives one report")
    } else {
        let report = Report::since_boot(Sample::take(&root), Some(&root));
        match emit(&render(&report, &a)) {
            Ok(()) => verdict(&report),
            Err(code) => code,
        }
    }
}

fn watch(a: WatchArgs) -> i32 {
    if let Some(dir) = &a.root {
        return fail(&format!(
            "watch reads the live host only, not --root {}: a capture is one snapshot and has no \
             rates; read it with `rxpath report --root {}`",
            dir.display(),
            dir.display()
        ));
    }
    if a.interval < watch::MIN_INTERVAL {
        return fail(&format!(
            "--interval {:?} is too short for watch: give at least 100ms",
            a.interval
        ));
    }
    match watch::run(Root::live(), a.interval) {
        Ok(watch::Stop::Quit) => exit::OK,
        Ok(watch::Stop::Signal(sig)) => 128 + sig,
        Err(e) => fail(&e),
    }
}

fn serve(a: ServeArgs) -> i32 {
    let root = match root_of(a.root.as_deref()) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let listener = match serve::bind(a.listen) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    let ready = |addr| {
        // Scripts and tests started with port 0 read the bound address from this line.
        let _ = writeln!(io::stderr(), "rxpath serve: listening on http://{addr}/metrics");
    };
    match serve::run(listener, root, ready) {
        Ok(sig) => {
            let _ = writeln!(io::stderr(), "rxpath serve: stopped by signal {sig}");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// Samples the live host: a baseline, then one report per interval, each over the interval
/// before it. One Sampler keeps the kernel files open across samples. The exit code is that of
/// the last report.
fn live_reports(root: Root, a: &ReportArgs) -> i32 {
    let mut sampler = Sampler::new(root);
    let mut earlier = std::sync::Arc::new(sampler.take());
    let mut code = exit::OK;
    for _ in 0..a.count.unwrap_or(1) {
        std::thread::sleep(a.interval);
        let later = sampler.take();
        let report = Report::over(&earlier, later, Some(sampler.root()));
        if let Err(code) = emit(&render(&report, a)) {
            return code;
        }
        code = verdict(&report);
        earlier = report.sample;
    }
    code
}

/// 1 when the report has findings, so scripts and monitoring can act on it.
fn verdict(r: &Report) -> i32 {
    if r.findings.is_empty() { exit::OK } else { exit::FINDINGS }
}

fn render(report: &Report, a: &ReportArgs) -> String {
    if a.json {
        // One line per document when several follow each other (newline-delimited JSON).
        let encoded = if a.count.is_some() {
            serde_json::to_string(report)
        } else {
            serde_json::to_string_pretty(report)
        };
        match encoded {
            Ok(mut s) => {
                s.push('\n');
                s
            }
            Err(e) => panic!("a Report always encodes as JSON: {e}"),
        }
    } else {
        let opt = TextOptions {
            cpus: a.cpus.clone().unwrap_or_default(),
            all_queues: a.queues.is_some(),
            verbose: a.verbose,
        };
        render::report::render(report, &opt)
    }
}

/// Writes to stdout. `Err(code)` ends the command: a closed pipe (`rxpath report | head`) is a
/// normal end (exit 0), any other write error an error.
fn emit(s: &str) -> Result<(), i32> {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(exit::OK),
        Err(e) => Err(fail(&format!("cannot write to standard output: {e}"))),
    }
}

fn fail(msg: &str) -> i32 {
    let _ = writeln!(io::stderr(), "rxpath: {msg}");
    exit::ERROR
}
