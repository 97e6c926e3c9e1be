//! The text report on a big host: summaries by default, every row on request, always 80 columns.

mod common;

use std::path::Path;
use std::process::Command;

#[path = "../benches/synth/mod.rs"]
mod synth;

const CPUS: u32 = 480;
const QUEUES: u32 = 64;

/// A 480-CPU host over 8 NUMA nodes with one 64-queue NIC (`eth0`, an ice-style device: one misc
/// vector at IRQ 100, then one combined vector per queue, queue q on CPU q), built as a tree like
/// /proc + /sys by the shared synthetic-host generator.
fn big_host(dir: &Path) {
    let spec = synth::Spec {
        cpus: CPUS,
        nodes: 8,
        nics: 1,
        queues: QUEUES,
        virtio: false,
        interrupt_lines: 100,
        udp_sockets: 3,
        first_nic_irq: 100,
    };
    synth::write(dir, &spec, 0).unwrap();
}

fn report(dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(common::rxpath_bin())
        .args(["report", "--root", dir.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    // 1: the synthetic host has findings; 2 would be an error.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn cpu_rows(text: &str) -> usize {
    // The Per CPU table: a header, then rows up to the blank line or the note under it.
    let table = text.split("── Per CPU ").nth(1).unwrap();
    let is_note = |l: &str| l.contains(" sums ") || l.contains("busiest");
    table.lines().skip(2).take_while(|l| !l.is_empty() && !is_note(l)).count()
}

#[test]
fn big_host_is_summarised_by_default() {
    let dir = tempfile::tempdir().unwrap();
    big_host(dir.path());
    let text = report(dir.path(), &[]);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert_eq!(cpu_rows(&text), 9, "the 8 busiest CPUs and one line for the other 472:\n{text}");
    assert!(text.contains("\n+472 "), "{text}");
    assert!(text.contains("The 8 busiest of 480 CPUs by drops"), "{text}");
    assert!(
        text.contains("per CPU: the Per CPU table above"),
        "a snapshot shows its per-CPU totals once:\n{text}"
    );
    assert!(!text.contains("per CPU (softnet_stat"), "{text}");
    assert!(text.contains("… 56 more rx queues (--queues all)"), "{text}");
    assert!(text.contains("eth0: 65 IRQs"), "{text}");
    assert!(text.contains("on 64 CPUs (0-63)"), "{text}");
    assert!(text.contains("NUMA node 0,1"), "CPUs 60-63 are on node 1:\n{text}");
    assert!(
        text.contains("    softnet.dropped in 480, top cpu"),
        "per-CPU drops are one summed line on the drop path:\n{text}"
    );
    // The synthetic counters make many findings; everything else must stay a summary.
    let findings = text.split("── Findings").nth(1).and_then(|t| t.split("── Per CPU").next());
    let rows = text.lines().count() - findings.map_or(0, |f| f.lines().count());
    assert!(rows < 200, "a summary, not a wall: {rows} lines besides the findings");
}

#[test]
fn every_row_on_request() {
    let dir = tempfile::tempdir().unwrap();
    big_host(dir.path());
    let text = report(dir.path(), &["--cpus", "all", "--queues", "all"]);
    assert_eq!(cpu_rows(&text), CPUS as usize);
    // eth0's queue rows, each with its IRQ; lo's one queue has none (`rx-0  -  -  off`).
    let table_rows = text.lines().filter(|l| {
        let mut w = l.split_whitespace();
        w.next().is_some_and(|q| q.starts_with("rx-"))
            && w.next().is_some_and(|irq| irq.parse::<u32>().is_ok())
    });
    assert_eq!(table_rows.count(), QUEUES as usize);
    assert!(text.contains("164 rxtx-63 → cpu 63"), "{text}");
    let some = report(dir.path(), &["--cpus", "3,400-401"]);
    assert_eq!(cpu_rows(&some), 4, "the three listed and one line for the rest:\n{some}");
    assert!(some.contains("+477 sums the CPUs not listed"), "{some}");
}

#[test]
fn bad_cpu_list_is_a_clear_error() {
    let out =
        Command::new(common::rxpath_bin()).args(["report", "--cpus", "3-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CPU list"));
}

#[test]
fn count_prints_one_json_report_per_line_over_each_interval() {
    let out = Command::new(common::rxpath_bin())
        .args(["report", "--json", "--count", "3", "--interval", "50ms"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let reports: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert_eq!(reports.len(), 3);
    let mut last_taken = 0;
    for r in &reports {
        assert_eq!(r["basis"], "interval");
        let secs = r["interval"]["secs"].as_f64().expect("a live interval");
        assert!(secs >= 0.05, "each report spans its own interval: {secs}");
        assert_eq!(r["path"]["stages"].as_array().map(Vec::len), Some(8));
        let taken = r["sample"]["host"]["taken_at_ms"].as_u64().unwrap();
        assert!(taken >= last_taken, "reports follow each other in time");
        last_taken = taken;
    }
}

#[test]
fn count_needs_the_live_host() {
    let dir = tempfile::tempdir().unwrap();
    big_host(dir.path());
    let out = Command::new(common::rxpath_bin())
        .args(["report", "--root", dir.path().to_str().unwrap(), "--count", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--count needs the live host"));
    assert!(out.stdout.is_empty(), "an error prints no report");
}

#[test]
fn bad_interval_is_a_clear_error() {
    let out =
        Command::new(common::rxpath_bin()).args(["report", "--interval", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`soon` is not a duration") && err.contains("500ms"), "{err}");
}

#[test]
fn per_cpu_totals_appear_once_in_a_snapshot_and_beside_the_rates_over_an_interval() {
    use rxpath::render::report::render;
    use rxpath::render::text::TextOptions;
    use rxpath::report::Report;
    use rxpath::{Root, Sample};
    let (t0, t1) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = synth::Spec::small();
    synth::write(t0.path(), &spec, 0).unwrap();
    synth::write(t1.path(), &spec, 1).unwrap();
    let (s0, s1) = (Sample::take(&Root::at(t0.path())), Sample::take(&Root::at(t1.path())));
    let opt = TextOptions::default();
    let snapshot = render(&Report::since_boot(s1.clone(), None), &opt);
    assert!(snapshot.contains("── Per CPU "), "{snapshot}");
    assert!(!snapshot.contains("per CPU (softnet_stat"), "{snapshot}");
    assert!(snapshot.contains("per CPU: the Per CPU table above"), "{snapshot}");
    // Over an interval the Per CPU table holds rates, so the totals since boot keep their table.
    let interval = render(&Report::over(&s0, s1, None), &opt);
    assert!(interval.contains("── Per CPU "), "{interval}");
    assert!(interval.contains("per CPU (softnet_stat"), "{interval}");
    assert!(!interval.contains("per CPU: the Per CPU table above"), "{interval}");
}
