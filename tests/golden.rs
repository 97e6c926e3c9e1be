//! Golden tests: `report` and `report --json` over fixture trees must match the files in
//! tests/golden/ byte for byte. After an intended change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Relative to the project, so the report's source line (and its wrapping) is the same in any clone.
fn fixture(tree: &str) -> PathBuf {
    Path::new("tests/fixtures/trees").join(tree)
}

fn rxpath(args: &[&str]) -> String {
    let out = Command::new(common::rxpath_bin())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run rxpath");
    // 1 = the report has findings (the JSON golden holds them); 2 would be an error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "rxpath {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn check(golden: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", path.display()));
    if want != actual {
        let first = want.lines().zip(actual.lines()).position(|(a, b)| a != b);
        panic!(
            "{golden} differs (first differing line {:?}); run UPDATE_GOLDEN=1 cargo test --test golden \
             and review the diff.\n--- actual ---\n{actual}",
            first.map(|l| l + 1)
        );
    }
}

#[test]
fn report_over_fixture_trees() {
    for tree in ["linux-6.18-virtio", "capture-6.18-vm"] {
        let dir = fixture(tree);
        let text = rxpath(&["report", "--root", dir.to_str().unwrap()]);
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{tree}: a line is over 80 columns");
        check(&format!("{tree}.txt"), &text);
        let verbose =
            rxpath(&["report", "--verbose", "--cpus", "all", "--root", dir.to_str().unwrap()]);
        check(&format!("{tree}.verbose.txt"), &verbose);
    }
}

#[test]
fn report_json_over_fixture_trees() {
    for tree in ["linux-6.18-virtio", "capture-6.18-vm"] {
        let dir = fixture(tree);
        let json = rxpath(&["report", "--json", "--root", dir.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v["format"], 1);
        check(&format!("{tree}.json"), &json);
    }
}
