//! The text report on a big host: summaries by default, every row on request, always 80 columns.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

const CPUS: u32 = 480;
const QUEUES: u32 = 64;

/// A 480-CPU host (the real HP BL920 softnet_stat) with a 64-queue NIC whose MSI-X IRQs are spread
/// one per CPU, built as a tree like /proc + /sys.
fn big_host(dir: &Path) {
    let w = |p: &str, text: &str| {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    let softnet = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cpu/extra/softnet_stat/performancecopilot_pcp-bigsys-hpbl920gen8-net_softnet_stat.txt"
    ))
    .unwrap();
    w("proc/net/softnet_stat", &softnet);
    w("sys/devices/system/cpu/online", &format!("0-{}\n", CPUS - 1));
    for node in 0..8 {
        w(
            &format!("sys/devices/system/node/node{node}/cpulist"),
            &format!("{}-{}\n", node * 60, node * 60 + 59),
        );
    }
    let dev = "sys/devices/pci0000:00/0000:00:05.0";
    fs::create_dir_all(dir.join(format!("{dev}/net/eth9"))).unwrap();
    fs::create_dir_all(dir.join("sys/class/net")).unwrap();
    std::os::unix::fs::symlink(
        "../../devices/pci0000:00/0000:00:05.0/net/eth9",
        dir.join("sys/class/net/eth9"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../../0000:00:05.0", dir.join(format!("{dev}/net/eth9/device")))
        .unwrap();
    w(&format!("{dev}/net/eth9/operstate"), "up\n");
    w(&format!("{dev}/net/eth9/ifindex"), "2\n");
    w(&format!("{dev}/numa_node"), "0\n");
    for q in 0..QUEUES {
        let irq = 100 + q;
        w(&format!("{dev}/net/eth9/queues/rx-{q}/rps_cpus"), "0\n");
        w(&format!("{dev}/net/eth9/queues/tx-{q}/xps_cpus"), "0\n");
        w(&format!("{dev}/msi_irqs/{irq}"), "msix\n");
        w(&format!("sys/kernel/irq/{irq}/actions"), &format!("eth9-TxRx-{q}\n"));
        w(&format!("proc/irq/{irq}/effective_affinity_list"), &format!("{q}\n"));
    }
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
    let table = text.split("per CPU").nth(1).unwrap();
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("  ") && !l.contains("busiest") && !l.contains(" sums "))
        .count()
}

#[test]
fn big_host_is_summarised_by_default() {
    let dir = tempfile::tempdir().unwrap();
    big_host(dir.path());
    let text = report(dir.path(), &[]);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert_eq!(cpu_rows(&text), 9, "the 8 busiest CPUs and one line for the other 472:\n{text}");
    assert!(text.contains("  +472 "), "{text}");
    assert!(text.contains("the 8 busiest of 480 CPUs"), "{text}");
    assert!(text.contains("… 56 more rx queues (--queues all)"), "{text}");
    assert!(text.contains("eth9: 64 IRQs"), "{text}");
    assert!(text.contains("on 64 CPUs (0-63)"), "{text}");
    assert!(text.contains("NUMA node 0,1"), "CPUs 60-63 are on node 1:\n{text}");
    assert!(text.lines().count() < 150, "a summary, not a wall: {} lines", text.lines().count());
}

#[test]
fn every_row_on_request() {
    let dir = tempfile::tempdir().unwrap();
    big_host(dir.path());
    let text = report(dir.path(), &["--cpus", "all", "--queues", "all"]);
    assert_eq!(cpu_rows(&text), CPUS as usize);
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("rx-")).count(), QUEUES as usize);
    assert!(text.contains("163 rxtx-63 → cpu 63"), "{text}");
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
