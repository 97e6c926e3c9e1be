//! The live view drawn on ratatui's TestBackend from Reports built over crafted samples
//! (`diagnose::testing::Scene`), the keys, the bounded history and a 512-CPU host.

use super::draw::cpu_lines;
use super::{Action, App, HISTORY, View};
use crate::avail::Avail;
use crate::diagnose::testing::Scene;
use crate::path::{Amount, StageId};
use crate::report::{CpuRow, Report};
use crate::source::cpus::NumaNode;
use crate::source::owners::Owner;
use crate::source::sysctl::SysctlValue;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::time::Duration;

fn app() -> App {
    App::new(Duration::from_secs(1))
}

fn drawn(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    t.draw(|f| super::draw(f, app)).expect("draws");
    t
}

/// The screen as lines of text.
fn lines(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    let w = usize::from(buf.area.width);
    buf.content.chunks(w).map(|row| row.iter().map(|c| c.symbol()).collect()).collect()
}

/// The one line holding `needle`; panics (showing the screen) unless exactly one does.
fn line_with(t: &Terminal<TestBackend>, needle: &str) -> String {
    let all = lines(t);
    let found: Vec<&String> = all.iter().filter(|l| l.contains(needle)).collect();
    assert_eq!(found.len(), 1, "`{needle}` on {} lines of:\n{}", found.len(), all.join("\n"));
    found[0].clone()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// 1997 UDP datagrams/s lost to a full receive buffer of the socket on 127.0.0.1:5000, owned
/// by pid 4242 `udp-sink`.
fn rcvbuf_report() -> Report {
    let mut s = Scene::quiet();
    s.snmp("Udp", "RcvbufErrors", 1997).snmp("Udp", "InErrors", 1997);
    s.udp_socket(5000, 4242, 1997);
    s.sysctl("net.core.rmem_max", SysctlValue::Int(212_992));
    let mut r = s.report();
    r.sockets[0].owners = Avail::Value(vec![Owner { pid: 4242, comm: "udp-sink".into() }]);
    r
}

#[test]
fn before_the_first_report_the_stages_are_named() {
    let t = drawn(&app(), 80, 28);
    for id in StageId::ALL {
        line_with(&t, id.title());
    }
    line_with(&t, "the first rates come after one interval (1.00 s)");
    insta::assert_snapshot!("waiting", t.backend());
}

#[test]
fn a_quiet_host_says_nothing_was_dropped() {
    let mut a = app();
    a.update(Scene::quiet().report());
    let t = drawn(&a, 80, 28);
    line_with(&t, "No packet was dropped on the receive path.");
    line_with(&t, "All 2 CPUs.");
    insta::assert_snapshot!("quiet_cpus", t.backend());
}

#[test]
fn the_stage_with_drops_shows_its_rate_and_share() {
    let mut a = app();
    a.update(rcvbuf_report());
    let t = drawn(&a, 80, 28);
    let row = line_with(&t, "8 socket receive buffers");
    let cells: Vec<&str> = row.trim_matches('│').split_whitespace().collect();
    // Entered ("-": the kernel counts nothing there), dropped, share, and the one bar so far.
    assert_eq!(cells[4..], ["-", "1997", "100%", "█"], "{row}");
    line_with(&t, "Most packets die at socket receive buffers (100% of 1997): Udp.RcvbufErrors");
    // The UDP / TCP stage dropped nothing (Udp.InErrors is a sum, not added).
    let udp = line_with(&t, "7 UDP / TCP");
    assert!(udp.contains(" 0 "), "{udp}");
    insta::assert_snapshot!("rcvbuf_cpus", t.backend());
}

#[test]
fn the_findings_view_lists_the_rule_its_evidence_and_the_commands() {
    let mut a = app();
    a.update(rcvbuf_report());
    assert_eq!(a.handle_key(key(KeyCode::Char('4'))), Action::Continue);
    assert_eq!(a.view, View::Findings);
    let t = drawn(&a, 100, 40);
    line_with(&t, "CRITICAL [udp_rcvbuf] 1997 UDP datagrams dropped in the last 1.0 s");
    line_with(&t, "· socket 127.0.0.1:5000 (inode 4242): drops 1997 (1997/s)");
    line_with(&t, "→ net.core.rmem_max: 212992 → 1048576");
    line_with(&t, "sysctl -w net.core.rmem_max=1048576");
    line_with(&t, "4 findings (1)");
    insta::assert_snapshot!("rcvbuf_findings", t.backend());

    // Scrolling moves the lines up; switching views starts the next view at its top.
    a.handle_key(key(KeyCode::Down));
    let t = drawn(&a, 100, 40);
    assert!(!lines(&t).iter().any(|l| l.contains("[udp_rcvbuf]")));
    line_with(&t, "· Udp.RcvbufErrors + Udp6RcvbufErrors: 1997 (1997/s)");
    a.handle_key(key(KeyCode::Up));
    a.handle_key(key(KeyCode::Up));
    assert_eq!(a.scroll, 0);
    a.handle_key(key(KeyCode::PageDown));
    a.handle_key(key(KeyCode::Tab));
    assert_eq!((a.view, a.scroll), (View::Cpus, 0));
}

#[test]
fn the_sockets_view_names_the_owner() {
    let mut a = app();
    a.update(rcvbuf_report());
    a.handle_key(key(KeyCode::Char('3')));
    let t = drawn(&a, 80, 28);
    let row = line_with(&t, "127.0.0.1:5000");
    let cells: Vec<&str> = row.trim_matches('│').split_whitespace().collect();
    assert_eq!(cells, ["127.0.0.1:5000", "1997", "3840", "-", "4242", "udp-sink"], "{row}");
    line_with(&t, "UDP sockets that dropped: 1.");
    insta::assert_snapshot!("rcvbuf_sockets", t.backend());
}

#[test]
fn the_queues_view_lists_the_vm_queues() {
    let mut a = app();
    a.update(Scene::quiet().report());
    a.handle_key(key(KeyCode::Char('2')));
    let t = drawn(&a, 80, 28);
    line_with(&t, "queues · sorted by drops");
    insta::assert_snapshot!("quiet_queues", t.backend());
}

#[test]
fn keys_switch_views_sort_freeze_and_quit() {
    let mut a = app();
    assert_eq!(a.view, View::Cpus);
    for want in [View::Queues, View::Sockets, View::Findings, View::Cpus] {
        assert_eq!(a.handle_key(key(KeyCode::Tab)), Action::Continue);
        assert_eq!(a.view, want);
    }
    a.handle_key(key(KeyCode::BackTab));
    assert_eq!(a.view, View::Findings);
    a.handle_key(key(KeyCode::Char('2')));
    assert_eq!(a.view, View::Queues);

    // Sort cycles through the view's columns and back; each view keeps its own.
    assert_eq!(a.sort_key(), Some("drops"));
    a.handle_key(key(KeyCode::Char('s')));
    assert_eq!(a.sort_key(), Some("packets"));
    a.handle_key(key(KeyCode::Char('s')));
    a.handle_key(key(KeyCode::Char('s')));
    assert_eq!(a.sort_key(), Some("drops"));
    a.handle_key(key(KeyCode::Char('s')));
    assert_eq!(a.sort_key_of(View::Cpus), Some("dropped"));
    a.handle_key(key(KeyCode::Char('4')));
    a.handle_key(key(KeyCode::Char('s')));
    assert_eq!(a.sort_key(), None, "findings keep their order");
    a.handle_key(key(KeyCode::Char('2')));
    assert_eq!(a.sort_key(), Some("packets"));

    // A release is not a second press.
    let mut release = key(KeyCode::Tab);
    release.kind = KeyEventKind::Release;
    a.handle_key(release);
    assert_eq!(a.view, View::Queues);

    a.handle_key(key(KeyCode::Char('?')));
    assert!(a.help);
    let t = drawn(&a, 100, 28);
    line_with(&t, "Tab/1-4 view · s sort: packets · f/space freeze · ↑↓ scroll · q/Esc quit");

    for quit in [
        key(KeyCode::Char('q')),
        key(KeyCode::Esc),
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    ] {
        assert_eq!(a.handle_key(quit), Action::Quit, "{quit:?}");
    }
    assert_eq!(a.handle_key(key(KeyCode::Char('c'))), Action::Continue, "c alone is not quit");
}

#[test]
fn freeze_keeps_the_view_until_resumed() {
    let mut a = app();
    let quiet = Scene::quiet().report();
    a.update(quiet.clone());
    a.handle_key(key(KeyCode::Char('f')));
    assert!(a.frozen);
    a.update(rcvbuf_report());
    assert_eq!(a.report.as_ref(), Some(&quiet), "frozen: the report on screen stays");
    assert_eq!((a.updates, a.history.len()), (1, 1));
    let t = drawn(&a, 80, 28);
    line_with(&t, "FROZEN");
    line_with(&t, "No packet was dropped on the receive path.");

    a.handle_key(key(KeyCode::Char(' ')));
    assert!(!a.frozen);
    a.update(rcvbuf_report());
    assert_eq!((a.updates, a.history.len()), (2, 2));
    assert_eq!(a.history.stage(StageId::Socket, 10), [0, 1997]);
    let t = drawn(&a, 80, 28);
    assert!(!lines(&t).iter().any(|l| l.contains("FROZEN")));
    line_with(&t, "Most packets die at socket receive buffers");
}

#[test]
fn history_stays_bounded_over_a_long_run() {
    let mut a = app();
    let mut r = Scene::quiet().report();
    let backlog = StageId::ALL.iter().position(|s| *s == StageId::Backlog).unwrap();
    for i in 0..10_000u64 {
        r.path.stages[backlog].dropped = Amount { count: i, per_sec: Some(i as f64 + 0.25) };
        a.update(r);
        r = a.report.take().expect("just shown");
    }
    assert_eq!(a.updates, 10_000);
    assert_eq!(a.history.len(), HISTORY);
    // The newest kept, oldest first; a fraction of a drop per second rounds up to a bar.
    assert_eq!(a.history.stage(StageId::Backlog, 3), [9998, 9999, 10_000]);
    assert_eq!(a.history.stage(StageId::Backlog, usize::MAX)[0], 10_000 - HISTORY as u64 + 1);
    assert_eq!(a.history.stage(StageId::Nic, 2), [0, 0]);
}

/// A 512-CPU host on two NUMA nodes where CPU n dropped n packets per second.
fn big_host() -> Report {
    let mut r = Scene::quiet().report();
    let per = |n: u64| Some(Amount { count: n, per_sec: Some(n as f64) });
    r.cpus = (0..512u32)
        .map(|cpu| CpuRow {
            cpu,
            irqs: per(10),
            net_rx: per(20),
            processed: per(1000),
            dropped: per(u64::from(cpu)),
            time_squeeze: per(u64::from(cpu % 7)),
            received_rps: None,
            flow_limit_count: None,
            backlog_len: Some(1),
            softirq_share: Some(0.5),
        })
        .collect();
    std::sync::Arc::make_mut(&mut r.sample).cpus.nodes = Avail::Value(vec![
        NumaNode { node: 0, cpus: (0..256).collect() },
        NumaNode { node: 1, cpus: (256..512).collect() },
    ]);
    r
}

#[test]
fn cpu_lines_give_node_sums_then_the_top_cpus() {
    let r = big_host();
    let l = cpu_lines(&r, "dropped", 10);
    assert_eq!((l.nodes, l.shown, l.total, l.rows.len()), (2, 8, 512, 10));
    // node0: 0 + 1 + … + 255 = 32640; node1: 256 + … + 511 = 98176.
    assert_eq!(
        l.rows[0].0,
        ["node0 ×256", "2560", "5120", "256000", "32640", "762", "-", "256", "50.0"]
    );
    assert!(l.rows[0].1 && l.rows[1].1 && !l.rows[2].1);
    assert_eq!(l.rows[1].0[4], "98176");
    let top: Vec<&str> = l.rows[2..].iter().map(|(c, _)| c[0].as_str()).collect();
    assert_eq!(top, ["511", "510", "509", "508", "507", "506", "505", "504"]);

    // By CPU number instead; and everything when it fits, with no sums.
    let l = cpu_lines(&r, "cpu", 4);
    let first: Vec<&str> = l.rows.iter().map(|(c, _)| c[0].as_str()).collect();
    assert_eq!(first, ["node0 ×256", "node1 ×256", "0", "1"]);
    let l = cpu_lines(&r, "dropped", 600);
    assert_eq!((l.nodes, l.shown, l.rows.len()), (0, 512, 512));

    // Without NUMA nodes, one sum over all CPUs; a pane too small for even the sums shows
    // what fits.
    let mut r = r;
    std::sync::Arc::make_mut(&mut r.sample).cpus.nodes =
        Avail::missing("/sys/devices/system/node", "no NUMA");
    let l = cpu_lines(&r, "dropped", 3);
    assert_eq!(l.rows[0].0[..5], ["all ×512", "5120", "10240", "512000", "130816"]);
    assert_eq!((l.nodes, l.shown), (1, 2));
    assert_eq!(cpu_lines(&r, "dropped", 0).rows.len(), 0);
}

#[test]
fn five_hundred_twelve_cpus_fit_the_screen() {
    let mut a = app();
    a.update(big_host());
    let t = drawn(&a, 80, 30);
    line_with(&t, "node0 ×256");
    line_with(&t, "node1 ×256");
    line_with(&t, "511 ");
    // 30 rows: 1 header, 12 path, 1 tabs, 1 keys; the pane's 15 rows hold 2 borders, a column
    // header and a note, so 11 rows: 2 node sums and the top 9 CPUs.
    line_with(&t, "9 of 512 CPUs: 2 node sums first, then the top by dropped.");
    assert!(lines(&t).iter().any(|l| l.starts_with("│503 ")));
    assert!(!lines(&t).iter().any(|l| l.starts_with("│502 ")));
    insta::assert_snapshot!("big_host_cpus", t.backend());
}

#[test]
fn any_terminal_size_draws_without_panicking() {
    let mut a = app();
    for report in [None, Some(rcvbuf_report()), Some(big_host())] {
        if let Some(r) = report {
            a.update(r);
        }
        for view in View::ALL {
            a.view = view;
            for (w, h) in [(1, 1), (7, 3), (20, 5), (40, 16), (200, 60)] {
                drawn(&a, w, h);
            }
        }
    }
}
