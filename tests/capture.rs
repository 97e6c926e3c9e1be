//! Capture → replay: `rxpath report --root DIR` on a capture gives the sample and the report the
//! live host gave.

mod common;

use rxpath::render::text::{self, TextOptions};
use rxpath::{Root, Sample, capture};
use std::process::Command;

/// Everything but the line naming where the sample came from.
fn without_source(mut s: Sample) -> Sample {
    s.host.source = String::new();
    s
}

#[test]
fn capture_replays_the_same_sample_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cap");
    let live = capture::capture(&target).expect("capture");
    let replayed = Sample::take(&Root::at(&target));
    let (live, replayed) = (without_source(live), without_source(replayed));
    assert_eq!(
        serde_json::to_value(&live).unwrap(),
        serde_json::to_value(&replayed).unwrap(),
        "the replayed sample differs from the live one"
    );
    let opt = TextOptions::default();
    assert_eq!(text::render(&live, &opt), text::render(&replayed, &opt));
    // The capture is a real tree: the interfaces' sysfs links resolve like on the host.
    assert!(target.join("proc/net/dev").is_file());
    assert!(target.join("sys/class/net/lo").exists());
}

#[test]
fn capture_cli_refuses_a_non_empty_directory_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep"), "mine").unwrap();
    let out = Command::new(common::rxpath_bin())
        .args(["capture", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not empty"), "{err}");
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep")]);
}

#[test]
fn capture_then_report_root_via_cli() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("c");
    let t = target.to_str().unwrap();
    let out = Command::new(common::rxpath_bin()).args(["capture", t]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(common::rxpath_bin())
        .args(["report", "--json", "--root", t])
        .output()
        .unwrap();
    // 0 or 1 (findings, since boot, depend on the host); never an error.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["basis"], "since_boot");
    let mut replay = report["sample"].clone();
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target.join(capture::SAMPLE_FILE)).unwrap())
            .unwrap();
    replay["host"]["source"] = "".into();
    saved["host"]["source"] = "".into();
    assert_eq!(replay, saved);
}

#[test]
fn bad_root_is_a_clear_error() {
    let out = Command::new(common::rxpath_bin())
        .args(["report", "--root", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}
