//! The text of a Report: the drop path in path order, the findings with their remedies, compact
//! per-CPU, per-queue and per-socket tables, then every stage's settings and totals.

use super::layout::{Table, count, rule, wrap};
use super::text::{self, CpuSelection, TextOptions};
use crate::diagnose::{Finding, Remedy, Severity, rate};
use crate::path::{Amount, Stage};
use crate::report::{Basis, CpuRow, Report};

/// Rows of the per-CPU and per-queue tables before the rest are summed.
const TOP_ROWS: usize = 8;

pub fn render(r: &Report, opt: &TextOptions) -> String {
    let mut out: Vec<String> = Vec::new();
    text::header(&r.sample, &mut out);
    out.push(match (r.basis, r.interval.value()) {
        (Basis::Interval, Some(i)) => format!("Rates over {:.2} s between two samples.", i.secs),
        (Basis::Interval, None) => "Counts between two samples (no usable clock: no rates).".into(),
        (Basis::SinceBoot, _) => {
            "A snapshot: counts are totals since boot, rates their average over the uptime.".into()
        }
    });
    drop_path(r, &mut out);
    findings(r, &mut out);
    cpu_table(r, opt, &mut out);
    queue_table(r, opt, &mut out);
    socket_table(r, &mut out);
    out.push(String::new());
    out.push(rule("Settings and totals since boot, stage by stage"));
    text::stages(&r.sample, opt, r.basis == Basis::SinceBoot, &mut out);
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// `1997` (per second) for an interval, the count since boot otherwise.
pub(super) fn amount(r: &Report, a: Option<Amount>) -> String {
    match (r.basis, a) {
        (_, None) => "-".into(),
        (Basis::Interval, Some(Amount { per_sec: Some(p), .. })) => rate(p),
        (_, Some(a)) => count(a.count),
    }
}

pub(super) fn share(s: Option<f64>) -> String {
    s.map_or(String::new(), |s| format!("{:.0}%", s * 100.0))
}

fn drop_path(r: &Report, out: &mut Vec<String>) {
    out.push(String::new());
    let unit = if r.basis == Basis::Interval { "per second" } else { "since boot" };
    out.push(rule(&format!("Where packets die ({unit})")));
    let mut t = Table::new(&["stage", "entered", "dropped", "share"]);
    for (n, s) in r.path.stages.iter().enumerate() {
        t.row(vec![
            format!("{} {}", n + 1, s.title),
            amount(r, s.entered),
            amount(r, Some(s.dropped)),
            share(s.share),
        ]);
        for g in drop_groups(s) {
            let val = if g.counted {
                amount(r, Some(g.amount))
            } else {
                format!("({})", amount(r, Some(g.amount)))
            };
            t.row(vec![format!("    {}", g.label), String::new(), val, share(g.share)]);
        }
    }
    out.extend(t.render(0));
    match r.path.top_stage {
        Some(id) => {
            let s: &Stage = r.path.stage(id);
            out.extend(wrap(
                0,
                &format!(
                    "Most packets die at {} ({} of {} drops).",
                    s.title,
                    share(s.share),
                    amount(r, Some(r.path.total_dropped))
                ),
            ));
        }
        None => out.push("No packet was dropped on the receive path.".into()),
    }
    if r.path.stages.iter().flat_map(|s| &s.drops).any(|d| !d.counted && d.count > 0) {
        out.extend(wrap(
            0,
            "(In parentheses: inside another counter, or pressure rather than drops; not added.)",
        ));
    }
}

/// One line of the drop path: a counter at one place, or summed over many places.
struct DropGroup {
    label: String,
    amount: Amount,
    share: Option<f64>,
    counted: bool,
}

/// The moved drops of a stage, one line per counter and place; a counter that moved in more
/// than `PLACES` places (per CPU on a big host, many interfaces) becomes one summed line naming
/// how many and the worst, so the path stays a screenful (the JSON keeps every place).
fn drop_groups(s: &Stage) -> Vec<DropGroup> {
    const PLACES: usize = 3;
    let moved: Vec<&crate::path::Drop> = s.drops.iter().filter(|d| d.count > 0).collect();
    let mut out = Vec::new();
    let mut seen: Vec<(&str, bool)> = Vec::new();
    for d in &moved {
        let key = (d.counter.as_str(), d.counted);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let same: Vec<_> =
            moved.iter().filter(|x| x.counter == d.counter && x.counted == d.counted).collect();
        if same.len() <= PLACES {
            out.extend(same.iter().map(|x| DropGroup {
                label: match &x.where_ {
                    Some(w) => format!("{} {w}", x.counter),
                    None => x.counter.clone(),
                },
                amount: Amount { count: x.count, per_sec: x.per_sec },
                share: x.share,
                counted: x.counted,
            }));
            continue;
        }
        let mut amount = Amount::default();
        let mut share_sum = None::<f64>;
        for x in &same {
            amount.add(Amount { count: x.count, per_sec: x.per_sec });
            if let Some(sh) = x.share {
                *share_sum.get_or_insert(0.0) += sh;
            }
        }
        let worst = same.iter().max_by_key(|x| x.count).and_then(|x| x.where_.as_deref());
        out.push(DropGroup {
            label: format!("{} in {}, top {}", d.counter, same.len(), worst.unwrap_or("?")),
            amount,
            share: share_sum,
            counted: d.counted,
        });
    }
    out
}

fn findings(r: &Report, out: &mut Vec<String>) {
    out.push(String::new());
    if r.findings.is_empty() {
        out.push(rule("Findings: none"));
        out.push("Nothing on this host needs a change.".into());
        return;
    }
    out.push(rule(&format!("Findings ({})", r.findings.len())));
    for f in &r.findings {
        finding(f, out);
    }
}

pub(super) fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "info",
    }
}

/// `knob: current → proposed`, or the knob alone when no value is proposed.
pub(super) fn change(m: &Remedy) -> String {
    match (&m.current, &m.proposed) {
        (Some(c), Some(p)) => format!("{}: {c} → {p}", m.knob),
        (None, Some(p)) => format!("{}: → {p}", m.knob),
        _ => m.knob.clone(),
    }
}

fn finding(f: &Finding, out: &mut Vec<String>) {
    out.push(String::new());
    out.extend(wrap(0, &format!("{} [{}] {}", severity(f.severity), f.rule, f.title)));
    for e in &f.evidence {
        out.extend(wrap(2, &format!("· {}: {}", e.what, e.value)));
    }
    out.extend(wrap(2, &f.explanation));
    for m in &f.remedies {
        out.extend(wrap(2, &format!("→ {} — {}", change(m), m.why)));
        if let Some(c) = &m.command {
            out.extend(wrap(6, c));
        }
    }
}

fn cpu_table(r: &Report, opt: &TextOptions, out: &mut Vec<String>) {
    if r.cpus.is_empty() {
        return;
    }
    let mut rows: Vec<&CpuRow> = match &opt.cpus {
        CpuSelection::List(l) => r.cpus.iter().filter(|c| l.contains(&c.cpu)).collect(),
        _ => r.cpus.iter().collect(),
    };
    if opt.cpus == CpuSelection::Auto && rows.len() > TOP_ROWS * 2 {
        // The busiest by drops, then squeezes, then packets.
        let key = |c: &&CpuRow| {
            let n = |a: Option<Amount>| a.map_or(0, |a| a.count);
            (n(c.dropped), n(c.time_squeeze), n(c.processed))
        };
        rows.sort_by_key(|c| std::cmp::Reverse(key(c)));
        rows.truncate(TOP_ROWS);
        rows.sort_by_key(|c| c.cpu);
    }
    out.push(String::new());
    out.push(rule("Per CPU"));
    let mut t = Table::new(&[
        "cpu",
        "irq",
        "NET_RX",
        "processed",
        "dropped",
        "squeezed",
        "rps",
        "backlog",
        "si%",
    ]);
    for c in &rows {
        t.row(vec![
            c.cpu.to_string(),
            amount(r, c.irqs),
            amount(r, c.net_rx),
            amount(r, c.processed),
            amount(r, c.dropped),
            amount(r, c.time_squeeze),
            amount(r, c.received_rps),
            c.backlog_len.map_or("-".into(), |l| l.to_string()),
            c.softirq_share.map_or("-".into(), |s| format!("{:.1}", s * 100.0)),
        ]);
    }
    // The CPUs not shown, summed, so the columns still add up to the host's totals.
    let shown: std::collections::BTreeSet<u32> = rows.iter().map(|c| c.cpu).collect();
    let hidden: Vec<&CpuRow> = r.cpus.iter().filter(|c| !shown.contains(&c.cpu)).collect();
    if !hidden.is_empty() {
        let sum = |f: fn(&CpuRow) -> Option<Amount>| {
            hidden.iter().filter_map(|c| f(c)).reduce(Amount::plus)
        };
        t.row(vec![
            format!("+{}", hidden.len()),
            amount(r, sum(|c| c.irqs)),
            amount(r, sum(|c| c.net_rx)),
            amount(r, sum(|c| c.processed)),
            amount(r, sum(|c| c.dropped)),
            amount(r, sum(|c| c.time_squeeze)),
            amount(r, sum(|c| c.received_rps)),
            String::new(),
            String::new(),
        ]);
    }
    out.extend(t.render(0));
    if !hidden.is_empty() {
        let note = match opt.cpus {
            CpuSelection::List(_) => format!("+{} sums the CPUs not listed.", hidden.len()),
            _ => format!(
                "The {} busiest of {} CPUs by drops, squeezes and packets; +{} sums the rest \
                 (--cpus all).",
                rows.len(),
                r.cpus.len(),
                hidden.len()
            ),
        };
        out.extend(wrap(0, &note));
    }
}

fn queue_table(r: &Report, opt: &TextOptions, out: &mut Vec<String>) {
    let with_irq: Vec<_> =
        r.queues.iter().filter(|q| q.irq.is_some() || q.packets.is_some()).collect();
    if with_irq.is_empty() {
        return;
    }
    let mut rows = with_irq.clone();
    if !opt.all_queues && rows.len() > TOP_ROWS * 2 {
        rows.sort_by_key(|q| {
            let n = |a: Option<Amount>| a.map_or(0, |a| a.count);
            std::cmp::Reverse((n(q.drops), n(q.packets)))
        });
        rows.truncate(TOP_ROWS);
    }
    out.push(String::new());
    out.push(rule("Per receive queue"));
    let mut t = Table::new(&["queue", "irq", "cpus", "node", "packets", "drops"]);
    for q in &rows {
        t.row(vec![
            format!("{} rx-{}", q.interface, q.queue),
            q.irq.clone().unwrap_or("-".into()),
            if q.cpus.is_empty() {
                "-".into()
            } else {
                crate::source::cpuset::format_list(&q.cpus)
            },
            q.numa_node.map_or("-".into(), |n| n.to_string()),
            amount(r, q.packets),
            amount(r, q.drops),
        ]);
    }
    out.extend(t.render(0));
    if rows.len() < with_irq.len() {
        out.extend(wrap(
            0,
            &format!(
                "{} of {} queues shown, the busiest by drops and packets (--queues all).",
                rows.len(),
                with_irq.len()
            ),
        ));
    }
}

fn socket_table(r: &Report, out: &mut Vec<String>) {
    if r.sockets.is_empty() {
        return;
    }
    out.push(String::new());
    out.push(rule("UDP sockets that dropped"));
    let mut t = Table::new(&["local", "drops", "rx_queue", "rcvbuf", "owner"]);
    for s in r.sockets.iter().take(TOP_ROWS * 2) {
        let owner = match s.owners.value().and_then(|o| o.first()) {
            Some(o) => format!("{} {}", o.pid, o.comm),
            None => "?".into(),
        };
        t.row(vec![
            s.local.clone(),
            amount(r, Some(s.drops)),
            count(s.rx_queue),
            s.rcvbuf.map_or("-".into(), |b| count(u64::from(b))),
            owner,
        ]);
    }
    out.extend(t.render(0));
}
