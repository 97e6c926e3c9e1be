//! The text report: the whole receive path of one Sample in path order, NIC → IRQ → softirq →
//! backlog/RPS → IP → UDP/TCP → sockets, each stage with its settings and counters, on 80 columns.
//! Big hosts get summaries (top CPUs, queue ranges); `--cpus all` and `--queues all` show every row.

use super::layout::{Table, count, pack, rule, wrap};
use crate::avail::Avail;
use crate::counters::{self, is_drop_counter};
use crate::sample::{Interface, Sample};
use crate::source::cpuset;
use std::collections::BTreeMap;

/// Which per-CPU rows to show.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CpuSelection {
    /// Every CPU up to `AUTO_ROWS`, else the busiest and a summary line.
    #[default]
    Auto,
    All,
    List(Vec<u32>),
}

#[derive(Clone, Debug, Default)]
pub struct TextOptions {
    pub cpus: CpuSelection,
    /// Every queue of every interface instead of a summary past `AUTO_ROWS`.
    pub all_queues: bool,
    /// Every driver counter and every unavailable part, not just the drop-related ones.
    pub verbose: bool,
}

/// Rows shown before a table is summarised.
const AUTO_ROWS: usize = 16;

pub fn render(s: &Sample, opt: &TextOptions) -> String {
    let mut out: Vec<String> = Vec::new();
    header(s, &mut out);
    out.push("Counters are totals since boot (or since the device appeared).".into());
    stages(s, opt, false, &mut out);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Every stage's settings and totals, in path order, then what could not be read.
/// `per_cpu_shown`: the caller already showed the per-CPU totals since boot (a snapshot
/// report's Per CPU table), so the softirq stage points there instead of repeating them.
pub fn stages(s: &Sample, opt: &TextOptions, per_cpu_shown: bool, out: &mut Vec<String>) {
    nic_stage(s, opt, out);
    irq_stage(s, opt, out);
    softirq_stage(s, opt, per_cpu_shown, out);
    backlog_stage(s, out);
    ip_stage(s, out);
    transport_stage(s, out);
    socket_stage(s, out);
    unavailable(s, opt, out);
}

pub fn header(s: &Sample, out: &mut Vec<String>) {
    let host = s.host.hostname.value().cloned().unwrap_or_else(|| "?".into());
    let kernel = s.host.kernel.value().map(|k| format!("Linux {k}")).unwrap_or("Linux ?".into());
    let cpus = match s.cpus.online.value() {
        Some(c) => format!("{} CPUs online ({})", c.len(), cpuset::format_list(c)),
        None => "CPUs ?".into(),
    };
    let nodes = match s.cpus.nodes.value() {
        Some(n) if !n.is_empty() => format!("{} NUMA node{}", n.len(), plural(n.len())),
        _ => "no NUMA info".into(),
    };
    out.push(format!("rxpath report · {host} · {kernel}"));
    out.push(format!("{cpus} · {nodes}"));
    let when = s.host.taken_at_ms.map(utc).unwrap_or_else(|| "at an unrecorded time".into());
    let from =
        if s.host.source == "live" { "the live host".to_string() } else { s.host.source.clone() };
    let who = if s.host.privileged { "as root" } else { "without root" };
    out.extend(wrap(0, &format!("read {when} from {from}, {who}")));
}

// ── 1. NIC ────────────────────────────────────────────────────────────────────────────────

fn nic_stage(s: &Sample, opt: &TextOptions, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("1 NIC and driver"));
    let Some(ifaces) = avail_or_note(&s.interfaces, out) else { return };
    if ifaces.is_empty() {
        out.push("no network interfaces".into());
    }
    for i in ifaces {
        nic(s, i, opt, out);
    }
}

fn nic(s: &Sample, i: &Interface, opt: &TextOptions, out: &mut Vec<String>) {
    let sy = &i.sysfs;
    let driver = i
        .ethtool
        .driver
        .value()
        .map(|d| d.driver.clone())
        .or_else(|| sy.device.as_ref().and_then(|d| d.driver.clone()))
        .unwrap_or_else(|| "virtual".into());
    let state = sy.operstate.value().cloned().unwrap_or_else(|| "?".into());
    let mut head = vec![format!("{}  {driver}  {state}", i.name)];
    if let Some(q) = i.queues.value() {
        head.push(format!("{} rx / {} tx queue{}", q.rx.len(), q.tx.len(), plural(q.tx.len())));
    }
    if let Some(m) = sy.mtu.value() {
        head.push(format!("mtu {m}"));
    }
    match sy.speed.value() {
        Some(sp) if *sp > 0 => head.push(format!("{sp} Mb/s")),
        _ => {}
    }
    if let Some(n) = sy.device.as_ref().and_then(|d| d.numa_node.value()) {
        head.push(if *n < 0 { "numa -".into() } else { format!("numa {n}") });
    }
    out.extend(pack(0, &head, "  "));

    let mut settings = Vec::new();
    if let Some(r) = i.ethtool.ring.value() {
        settings.push(format!(
            "ring rx {} of {}, tx {} of {}",
            r.rx_pending, r.rx_max_pending, r.tx_pending, r.tx_max_pending
        ));
    }
    if let Some(c) = i.ethtool.channels.value() {
        let mut parts = Vec::new();
        for (name, cur, max) in [
            ("combined", c.combined_count, c.max_combined),
            ("rx", c.rx_count, c.max_rx),
            ("tx", c.tx_count, c.max_tx),
        ] {
            if max > 0 || cur > 0 {
                parts.push(format!("{name} {cur} of {max}"));
            }
        }
        if !parts.is_empty() {
            settings.push(format!("channels {}", parts.join(", ")));
        }
    }
    if let Some(c) = i.ethtool.coalesce.value() {
        let adaptive = if c.use_adaptive_rx_coalesce != 0 { " adaptive" } else { "" };
        settings.push(format!(
            "coalesce rx-usecs {} rx-frames {}{adaptive}",
            c.rx_coalesce_usecs, c.rx_max_coalesced_frames
        ));
    }
    if let Some(f) = i.ethtool.features.value() {
        let on = |name: &str| f.iter().find(|x| x.name == name).map(|x| x.active);
        let shown: Vec<String> = [
            // The kernel's feature names (ETH_SS_FEATURES), as `ethtool -k` labels them.
            ("rx-gro", "gro"),
            ("rx-lro", "lro"),
            ("rx-gro-hw", "gro-hw"),
            ("rx-hashing", "rxhash"),
            ("rx-ntuple-filter", "ntuple"),
            ("rx-checksum", "rx-csum"),
        ]
        .iter()
        .filter_map(|(k, label)| on(k).map(|a| format!("{label} {}", if a { "on" } else { "off" })))
        .collect();
        if !shown.is_empty() {
            settings.push(format!("offloads {}", shown.join(", ")));
        }
    }
    if let Some(t) = i.ethtool.rss_indir.value().filter(|t| !t.is_empty()) {
        let mut per: BTreeMap<u32, usize> = BTreeMap::new();
        for q in t {
            *per.entry(*q).or_default() += 1;
        }
        settings.push(format!("rss {} entries over {} queues", t.len(), per.len()));
    }
    out.extend(pack(2, &settings, " · "));

    // Standard counters: stats64 (netlink) is the most complete; sysfs otherwise.
    let stats = i.stats64.value().or(sy.statistics.value());
    if let Some(st) = stats {
        let keys = [
            "rx_packets",
            "rx_bytes",
            "rx_dropped",
            "rx_missed_errors",
            "rx_fifo_errors",
            "rx_over_errors",
            "rx_errors",
            "rx_crc_errors",
            "rx_length_errors",
            "rx_nohandler",
            "rx_otherhost_dropped",
        ];
        let items: Vec<String> = keys
            .iter()
            .filter_map(|k| st.get(*k).map(|v| (k, *v)))
            .filter(|(k, v)| {
                opt.verbose
                    || *v != 0
                    || matches!(**k, "rx_packets" | "rx_dropped" | "rx_missed_errors")
            })
            .map(|(k, v)| format!("{k} {}", count(v)))
            .collect();
        out.extend(pack(2, &items, "  "));
    }
    if let Some(st) = i.ethtool.stats.value() {
        let mut drops: Vec<String> = st
            .iter()
            .filter(|(k, v)| opt.verbose || (is_drop_counter(k) && **v != 0))
            .map(|(k, v)| format!("{k} {}", count(*v)))
            .collect();
        let all = st.len();
        if drops.is_empty() {
            drops.push(format!("driver counters: no drops in {all} (ethtool -S)"));
            out.extend(pack(2, &drops, "  "));
        } else {
            out.push(format!(
                "  driver counters (ethtool -S){}:",
                if opt.verbose { "" } else { ", drops" }
            ));
            out.extend(pack(4, &drops, "  "));
        }
    }
    queue_table(s, i, opt, out);
}

/// Per-queue rows: IRQ, CPU, NUMA node, RPS and packets where the kernel or the driver says.
fn queue_table(s: &Sample, i: &Interface, opt: &TextOptions, out: &mut Vec<String>) {
    let Some(q) = i.queues.value() else { return };
    if q.rx.len() <= 1 && !opt.all_queues {
        // One queue: its settings fit on a line.
        if let Some(rx) = q.rx.first() {
            let rps = match rx.rps_cpus.value() {
                Some(c) if !c.is_empty() => cpuset::format_list(c),
                Some(_) => "off".into(),
                None => "?".into(),
            };
            out.push(format!("  rx-0: rps_cpus {rps}{}", queue_packets_note(s, i, 0)));
        }
        return;
    }
    let mut t = Table::new(&["rx queue", "irq", "cpu", "rps_cpus", "packets", "drops"]);
    let n = q.rx.len();
    let shown = if opt.all_queues || n <= AUTO_ROWS { n } else { 8 };
    for rx in q.rx.iter().take(shown) {
        let irq = irq_of_queue(i, rx.index);
        let (packets, drops) = queue_counters(s, i, rx.index);
        t.row(vec![
            format!("rx-{}", rx.index),
            irq.as_ref().map(|(n, _)| n.to_string()).unwrap_or("-".into()),
            irq.map(|(_, c)| c).unwrap_or("-".into()),
            match rx.rps_cpus.value() {
                Some(c) if !c.is_empty() => cpuset::format_list(c),
                Some(_) => "off".into(),
                None => "?".into(),
            },
            packets.map(count).unwrap_or("-".into()),
            drops.map(count).unwrap_or("-".into()),
        ]);
    }
    out.extend(t.render(2));
    if shown < n {
        out.push(format!("  … {} more rx queues (--queues all)", n - shown));
    }
}

fn queue_packets_note(s: &Sample, i: &Interface, index: u32) -> String {
    let (p, d) = queue_counters(s, i, index);
    match (p, d) {
        (Some(p), Some(d)) => format!(" · packets {} · drops {}", count(p), count(d)),
        (Some(p), None) => format!(" · packets {}", count(p)),
        _ => String::new(),
    }
}

/// The IRQ serving rx queue `index` and the CPU(s) it really targets (effective affinity).
fn irq_of_queue(i: &Interface, index: u32) -> Option<(u32, String)> {
    let irq = i.rx_queue_irq(index)?;
    Some((irq.irq, irq_cpus(irq)))
}

fn irq_cpus(irq: &crate::source::irq::NicIrq) -> String {
    match irq.target_cpus() {
        [] => "?".into(),
        c => cpuset::format_list(c),
    }
}

/// Per-queue packets and drops: the kernel's netdev qstats first (`rx-packets`, and the drop
/// counters `rx-hw-drops`, `rx-hw-drop-overruns`, `rx-alloc-fail`, ...), else the driver's `-S`
/// per-queue names (virtio `rx0_packets`, veth `rx_queue_0_packets`, others `rx-0.packets`).
fn queue_counters(s: &Sample, i: &Interface, index: u32) -> (Option<u64>, Option<u64>) {
    use crate::source::netlink::QueueType;
    let ifindex = i.sysfs.ifindex.value().copied();
    let qstats = s.netdev_genl.value().and_then(|g| g.qstats.value()).and_then(|qs| {
        qs.iter().find(|q| {
            Some(q.ifindex) == ifindex
                && q.queue_type == Some(QueueType::Rx)
                && q.queue_id == Some(index)
        })
    });
    let sum = |v: Vec<&u64>| v.into_iter().copied().reduce(u64::saturating_add);
    let (packets, drops) = counters::split_rx_queue(
        qstats.map(|q| &q.counters),
        i.ethtool.stats.value().into_iter().flatten(),
        index,
    );
    (sum(packets), sum(drops))
}

// ── 2. Hard IRQ ──────────────────────────────────────────────────────────────────────────

fn irq_stage(s: &Sample, opt: &TextOptions, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("2 Hard IRQ"));
    let mut any = false;
    if let Some(ifaces) = s.interfaces.value() {
        for i in ifaces {
            let Some(irqs) = i.irqs.value() else { continue };
            if irqs.is_empty() {
                continue;
            }
            any = true;
            let items: Vec<String> = irqs
                .iter()
                .map(|q| {
                    let role = match &q.queue {
                        Some(r) => r.label(),
                        None => q
                            .actions
                            .value()
                            .and_then(|a| a.first().cloned())
                            .unwrap_or_else(|| "?".into()),
                    };
                    let total =
                        irq_total(s, q.irq).map(|t| format!(" ({})", count(t))).unwrap_or_default();
                    format!("{} {role} → cpu {}{total}", q.irq, irq_cpus(q))
                })
                .collect();
            out.push(format!("{}: {} IRQ{}", i.name, irqs.len(), plural(irqs.len())));
            if irqs.len() <= AUTO_ROWS || opt.all_queues {
                out.extend(pack(2, &items, " · "));
            } else {
                out.extend(pack(2, &irq_summary(s, irqs), " · "));
            }
        }
    }
    if !any {
        out.push("no NIC IRQs found (virtual interfaces only, or the bus exposes none)".into());
    }
    match s.environment.irqbalance.value() {
        Some(b) if b.running => {
            let banned = b
                .banned_cpus
                .as_ref()
                .map(|c| format!(", banned CPUs {}", cpuset::format_list(c)))
                .unwrap_or_default();
            out.push(format!("irqbalance running (pid {}){banned}", b.pid.unwrap_or(0)));
        }
        Some(_) => out.push("irqbalance not running".into()),
        None => {}
    }
}

/// Many IRQs in a few facts: how many CPUs they land on, which NUMA nodes, the busiest CPU.
fn irq_summary(s: &Sample, irqs: &[crate::source::irq::NicIrq]) -> Vec<String> {
    let mut per_cpu: BTreeMap<u32, usize> = BTreeMap::new();
    for q in irqs {
        for cpu in q.target_cpus() {
            *per_cpu.entry(*cpu).or_default() += 1;
        }
    }
    let cpus: Vec<u32> = per_cpu.keys().copied().collect();
    let mut nodes: Vec<u32> = cpus.iter().filter_map(|c| s.cpus.node_of(*c)).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut items = vec![format!("on {} CPUs ({})", cpus.len(), cpuset::format_list(&cpus))];
    if !nodes.is_empty() {
        let n: Vec<String> = nodes.iter().map(u32::to_string).collect();
        items.push(format!("NUMA node {}", n.join(",")));
    }
    if let Some((cpu, n)) = per_cpu.iter().max_by_key(|(_, n)| **n) {
        items.push(format!("at most {n} on one CPU (cpu {cpu})"));
    }
    items.push("--queues all lists each".into());
    items
}

fn irq_total(s: &Sample, irq: u32) -> Option<u64> {
    let label = irq.to_string();
    s.interrupts.value()?.rows.iter().find(|r| r.irq == label).map(|r| r.total)
}

// ── 3. Softirq / NAPI ──────────────────────────────────────────────────────────────────────

fn sysctl_items(s: &Sample, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let short = n.rsplit('.').next().unwrap_or(n);
            match s.sysctls.0.get(*n) {
                Some(Avail::Value(v)) => format!("{short} {v}"),
                Some(Avail::Unavailable(_)) | None => format!("{short} ?"),
            }
        })
        .collect()
}

fn softirq_stage(s: &Sample, opt: &TextOptions, per_cpu_shown: bool, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("3 Softirq and NAPI"));
    out.extend(pack(
        0,
        &sysctl_items(
            s,
            &[
                "net.core.netdev_budget",
                "net.core.netdev_budget_usecs",
                "net.core.dev_weight",
                "net.core.busy_poll",
                "net.core.busy_read",
            ],
        ),
        " · ",
    ));
    if let Some(ifaces) = s.interfaces.value() {
        for i in ifaces.iter().filter(|i| i.sysfs.device.is_some()) {
            let sy = &i.sysfs;
            let v = |a: &Avail<u64>| a.value().map(|x| x.to_string()).unwrap_or("?".into());
            out.push(format!(
                "{}: gro_flush_timeout {} · napi_defer_hard_irqs {} · threaded {}",
                i.name,
                v(&sy.gro_flush_timeout),
                v(&sy.napi_defer_hard_irqs),
                sy.threaded.value().map(|x| x.to_string()).unwrap_or("?".into())
            ));
            napi_line(s, i, out);
        }
    }
    if per_cpu_shown {
        out.push("per CPU: the Per CPU table above (the same totals since boot)".into());
    } else {
        cpu_table(s, opt, out);
    }
}

/// The interface's NAPI instances (netdev netlink): which IRQ drives each, and whether it polls
/// in a kernel thread.
fn napi_line(s: &Sample, i: &Interface, out: &mut Vec<String>) {
    let Some(napis) = s.netdev_genl.value().and_then(|g| g.napis.value()) else { return };
    let Some(ifindex) = i.sysfs.ifindex.value() else { return };
    let mine: Vec<_> = napis.iter().filter(|n| n.ifindex == *ifindex).collect();
    if mine.is_empty() {
        return;
    }
    let threaded = mine.iter().filter(|n| n.pid.is_some()).count();
    let with_irq = mine.iter().filter(|n| n.irq.is_some()).count();
    out.push(format!(
        "  {} NAPI instance{} (ids {}-{}), {with_irq} with an IRQ, {threaded} threaded",
        mine.len(),
        plural(mine.len()),
        mine.iter().map(|n| n.id).min().unwrap_or(0),
        mine.iter().map(|n| n.id).max().unwrap_or(0),
    ));
}

struct CpuRow {
    cpu: u32,
    processed: Option<u64>,
    dropped: Option<u64>,
    squeeze: Option<u64>,
    rps: Option<u64>,
    flow: Option<u64>,
    backlog: Option<u64>,
    net_rx: Option<u64>,
    si_pct: Option<f64>,
}

fn cpu_rows(s: &Sample) -> Vec<CpuRow> {
    let mut rows: BTreeMap<u32, CpuRow> = BTreeMap::new();
    let blank = |cpu| CpuRow {
        cpu,
        processed: None,
        dropped: None,
        squeeze: None,
        rps: None,
        flow: None,
        backlog: None,
        net_rx: None,
        si_pct: None,
    };
    if let Some(sn) = s.softnet.value() {
        for r in &sn.rows {
            let row = rows.entry(r.cpu).or_insert_with(|| blank(r.cpu));
            row.processed = Some(r.processed as u64);
            row.dropped = Some(r.dropped as u64);
            row.squeeze = Some(r.time_squeeze as u64);
            row.rps = r.received_rps.map(u64::from);
            row.flow = r.flow_limit_count.map(u64::from);
            row.backlog = r.backlog_len.map(u64::from);
        }
    }
    if let Some(si) = s.softirqs.value()
        && let Some(net_rx) = si.rows.get("NET_RX")
    {
        for (cpu, v) in si.cpus.iter().zip(net_rx) {
            // softirqs lists possible CPUs: show only those that are online or already listed.
            let online = s.cpus.online.value().is_none_or(|o| o.contains(cpu));
            if online || rows.contains_key(cpu) {
                rows.entry(*cpu).or_insert_with(|| blank(*cpu)).net_rx = Some(*v);
            }
        }
    }
    if let Some(st) = s.stat.value() {
        for c in &st.cpus {
            let Some(cpu) = c.cpu else { continue };
            if let Some(row) = rows.get_mut(&cpu) {
                let total = c.total();
                if total > 0 {
                    row.si_pct = c.softirq.map(|si| si as f64 * 100.0 / total as f64);
                }
            }
        }
    }
    rows.into_values().collect()
}

fn cpu_table(s: &Sample, opt: &TextOptions, out: &mut Vec<String>) {
    let rows = cpu_rows(s);
    if rows.is_empty() {
        out.push("no per-CPU data (softnet_stat, softirqs and stat unavailable)".into());
        return;
    }
    let selected: Vec<&CpuRow> = match &opt.cpus {
        CpuSelection::All => rows.iter().collect(),
        CpuSelection::List(l) => rows.iter().filter(|r| l.contains(&r.cpu)).collect(),
        CpuSelection::Auto if rows.len() <= AUTO_ROWS => rows.iter().collect(),
        CpuSelection::Auto => {
            let mut by: Vec<&CpuRow> = rows.iter().collect();
            by.sort_by_key(|r| {
                std::cmp::Reverse((
                    r.dropped.unwrap_or(0),
                    r.squeeze.unwrap_or(0),
                    r.processed.unwrap_or(0),
                ))
            });
            by.truncate(8);
            by.sort_by_key(|r| r.cpu);
            by
        }
    };
    let o = |v: Option<u64>| v.map(count).unwrap_or("-".into());
    let mut t = Table::new(&[
        "cpu",
        "processed",
        "dropped",
        "squeezed",
        "rps_ipi",
        "flow_lim",
        "backlog",
        "NET_RX",
        "si%",
    ]);
    for r in &selected {
        t.row(vec![
            r.cpu.to_string(),
            o(r.processed),
            o(r.dropped),
            o(r.squeeze),
            o(r.rps),
            o(r.flow),
            o(r.backlog),
            o(r.net_rx),
            r.si_pct.map(|p| format!("{p:.1}")).unwrap_or("-".into()),
        ]);
    }
    let hidden = rows.len() - selected.len();
    if hidden > 0 {
        let sum = |f: fn(&CpuRow) -> Option<u64>| {
            rows.iter()
                .filter(|r| !selected.iter().any(|x| x.cpu == r.cpu))
                .filter_map(f)
                .sum::<u64>()
        };
        t.row(vec![
            format!("+{hidden}"),
            count(sum(|r| r.processed)),
            count(sum(|r| r.dropped)),
            count(sum(|r| r.squeeze)),
            count(sum(|r| r.rps)),
            count(sum(|r| r.flow)),
            count(sum(|r| r.backlog)),
            count(sum(|r| r.net_rx)),
            String::new(),
        ]);
    }
    out.push("per CPU (softnet_stat, softirqs NET_RX, /proc/stat softirq share):".into());
    out.extend(t.render(2));
    if hidden > 0 {
        let note = match opt.cpus {
            CpuSelection::List(_) => format!("+{hidden} sums the CPUs not listed"),
            _ => format!(
                "the {} busiest of {} CPUs by drops, squeezes and packets; +{hidden} sums the \
                 rest (--cpus all)",
                selected.len(),
                rows.len()
            ),
        };
        out.extend(wrap(2, &note));
    }
}

// ── 4. Backlog / RPS / RFS ────────────────────────────────────────────────────────────────

fn backlog_stage(s: &Sample, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("4 Backlog, RPS and RFS"));
    out.extend(pack(
        0,
        &sysctl_items(
            s,
            &[
                "net.core.netdev_max_backlog",
                "net.core.flow_limit_cpu_bitmap",
                "net.core.flow_limit_table_len",
                "net.core.rps_sock_flow_entries",
                "net.core.netdev_tstamp_prequeue",
            ],
        ),
        " · ",
    ));
    if let Some(sn) = s.softnet.value() {
        let sum =
            |f: fn(&crate::source::softnet::SoftnetRow) -> u64| sn.rows.iter().map(f).sum::<u64>();
        // Packed: with big sums (1011804, 254M) the four do not fit one 80-column line.
        let items = [
            format!("all CPUs: dropped {}", count(sum(|r| r.dropped as u64))),
            format!("flow_limit_count {}", count(sum(|r| r.flow_limit_count.unwrap_or(0) as u64))),
            format!("received_rps {}", count(sum(|r| r.received_rps.unwrap_or(0) as u64))),
            format!("backlog_len now {}", count(sum(|r| r.backlog_len.unwrap_or(0) as u64))),
        ];
        out.extend(pack(0, &items, " · "));
    }
    let mut rps = Vec::new();
    if let Some(ifaces) = s.interfaces.value() {
        for i in ifaces {
            let Some(q) = i.queues.value() else { continue };
            let on: Vec<String> = q
                .rx
                .iter()
                .filter_map(|rx| {
                    let c = rx.rps_cpus.value()?;
                    (!c.is_empty()).then(|| {
                        let flows = rx.rps_flow_cnt.value().copied().unwrap_or(0);
                        format!("rx-{} → {} (flow_cnt {flows})", rx.index, cpuset::format_list(c))
                    })
                })
                .collect();
            if !on.is_empty() {
                rps.push(format!("{}: {}", i.name, on.join(", ")));
            }
        }
    }
    if rps.is_empty() {
        out.push("RPS: off on every interface".into());
    } else {
        out.push("RPS on:".into());
        out.extend(pack(2, &rps, " · "));
    }
}

// ── 5. IP ─────────────────────────────────────────────────────────────────────────────────

fn snmp_items(
    snmp: &Avail<crate::source::snmp::Snmp>,
    section: &str,
    fields: &[&str],
) -> Vec<String> {
    let Some(sn) = snmp.value() else { return Vec::new() };
    fields.iter().filter_map(|f| sn.get(section, f).map(|v| format!("{f} {}", signed(v)))).collect()
}

fn signed(v: i64) -> String {
    if v < 0 { v.to_string() } else { count(v as u64) }
}

fn ip_stage(s: &Sample, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("5 IP (with netfilter)"));
    if let Some(u) = s.snmp.unavailable() {
        out.extend(wrap(0, &format!("IPv4 counters unavailable: {u}")));
    }
    let ip = snmp_items(
        &s.snmp,
        "Ip",
        &[
            "InReceives",
            "InDelivers",
            "ForwDatagrams",
            "InHdrErrors",
            "InAddrErrors",
            "InUnknownProtos",
            "InDiscards",
        ],
    );
    if !ip.is_empty() {
        out.push("Ip:".into());
        out.extend(pack(2, &ip, "  "));
    }
    let ext = snmp_items(&s.netstat, "IpExt", &["InNoRoutes", "InTruncatedPkts", "InCsumErrors"]);
    let rpf = snmp_items(&s.netstat, "TcpExt", &["IPReversePathFilter"]);
    if !ext.is_empty() || !rpf.is_empty() {
        out.push("IpExt / rp_filter:".into());
        out.extend(pack(2, &[ext, rpf].concat(), "  "));
    }
    if let Some(sn) = s.snmp.value() {
        // Netfilter drops have no counter of their own: they are what InReceives has and nothing else
        // accounts for (KERNEL.md §5.2). A since-boot total mixes forwarded and errored packets, so it
        // is only a hint here; rates over two samples place it exactly.
        let g = |f: &str| sn.get("Ip", f).unwrap_or(0);
        let accounted = g("InDelivers")
            + g("ForwDatagrams")
            + g("InHdrErrors")
            + g("InAddrErrors")
            + g("InUnknownProtos")
            + g("InDiscards");
        let gap = g("InReceives") - accounted;
        if gap > 0 {
            out.extend(wrap(
                2,
                &format!(
                    "not delivered and not counted as an IP error: {} (netfilter drops, \
                     reassembly, multicast)",
                    signed(gap)
                ),
            ));
        }
    }
    if let Some(v6) = s.snmp6.value() {
        let items: Vec<String> = [
            "Ip6InReceives",
            "Ip6InDelivers",
            "Ip6InHdrErrors",
            "Ip6InAddrErrors",
            "Ip6InNoRoutes",
            "Ip6InDiscards",
            "Ip6InTruncatedPkts",
        ]
        .iter()
        .filter_map(|k| v6.get(*k).map(|v| format!("{k} {}", signed(*v))))
        .collect();
        if !items.is_empty() {
            out.push("Ip6:".into());
            out.extend(pack(2, &items, "  "));
        }
    }
    match s.environment.conntrack.value() {
        Some(c) => {
            let pct = if c.max > 0 { c.count as f64 * 100.0 / c.max as f64 } else { 0.0 };
            out.push(format!("conntrack: {} of {} entries ({pct:.1}%)", c.count, c.max));
        }
        None => out.push("conntrack: not loaded".into()),
    }
}

// ── 6. UDP / TCP ──────────────────────────────────────────────────────────────────────────

fn transport_stage(s: &Sample, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("6 UDP and TCP"));
    let udp = snmp_items(
        &s.snmp,
        "Udp",
        &[
            "InDatagrams",
            "NoPorts",
            "InErrors",
            "RcvbufErrors",
            "InCsumErrors",
            "MemErrors",
            "IgnoredMulti",
        ],
    );
    if !udp.is_empty() {
        out.push("Udp:".into());
        out.extend(pack(2, &udp, "  "));
    }
    if let Some(v6) = s.snmp6.value() {
        let items: Vec<String> = [
            "Udp6InDatagrams",
            "Udp6NoPorts",
            "Udp6InErrors",
            "Udp6RcvbufErrors",
            "Udp6InCsumErrors",
            "Udp6MemErrors",
        ]
        .iter()
        .filter_map(|k| {
            v6.get(*k).map(|v| format!("{} {}", k.trim_start_matches("Udp6"), signed(*v)))
        })
        .collect();
        if !items.is_empty() {
            out.push("Udp6:".into());
            out.extend(pack(2, &items, "  "));
        }
    }
    let tcp = snmp_items(
        &s.netstat,
        "TcpExt",
        &[
            "ListenOverflows",
            "ListenDrops",
            "TCPBacklogDrop",
            "PFMemallocDrop",
            "TCPRcvQDrop",
            "TCPZeroWindowDrop",
        ],
    );
    if !tcp.is_empty() {
        out.push("TcpExt:".into());
        out.extend(pack(2, &tcp, "  "));
    }
    out.extend(pack(
        0,
        &sysctl_items(
            s,
            &[
                "net.core.rmem_default",
                "net.core.rmem_max",
                "net.ipv4.udp_mem",
                "net.ipv4.udp_rmem_min",
            ],
        ),
        " · ",
    ));
}

// ── 7. Sockets ────────────────────────────────────────────────────────────────────────────

fn socket_stage(s: &Sample, out: &mut Vec<String>) {
    out.push(String::new());
    out.push(rule("7 Sockets"));
    let all: Vec<_> = s.udp.iter().collect();
    let with_drops = all.iter().filter(|u| u.drops.unwrap_or(0) > 0).count();
    out.push(format!(
        "UDP sockets: {} ({} IPv4, {} IPv6), {with_drops} with drops",
        all.len(),
        s.udp.udp.value().map_or(0, |v| v.len()),
        s.udp.udp6.value().map_or(0, |v| v.len()),
    ));
    let mut top: Vec<_> =
        all.iter().filter(|u| u.drops.unwrap_or(0) > 0 || u.rx_queue > 0).collect();
    top.sort_by_key(|u| std::cmp::Reverse((u.drops.unwrap_or(0), u.rx_queue)));
    if !top.is_empty() {
        let mut t = Table::new(&["local address", "rx_queue", "drops", "uid", "inode"]);
        for u in top.iter().take(10) {
            t.row(vec![
                addr(&u.local_address, u.local_port),
                count(u.rx_queue),
                u.drops.map(count).unwrap_or("-".into()),
                u.uid.to_string(),
                u.inode.to_string(),
            ]);
        }
        out.extend(t.render(2));
        if top.len() > 10 {
            out.push(format!(
                "  … {} more with queued data or drops (--json lists all)",
                top.len() - 10
            ));
        }
    }
    match s.packet.value() {
        Some(p) if !p.is_empty() => out.push(format!(
            "AF_PACKET sockets: {} (each copies the packets it taps; a busy tap costs CPU)",
            p.len()
        )),
        Some(_) => out.push("AF_PACKET sockets: none".into()),
        None => {}
    }
}

fn addr(ip: &std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

// ── Unavailable ───────────────────────────────────────────────────────────────────────────

/// Every part that could not be read, grouped by reason, so a gap is never silent.
fn unavailable(s: &Sample, opt: &TextOptions, out: &mut Vec<String>) {
    let Ok(v) = serde_json::to_value(s) else { return };
    let mut found: Vec<(String, String, String)> = Vec::new();
    collect_unavailable(&v, String::new(), &mut found);
    if found.is_empty() {
        return;
    }
    let mut by_why: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, what, why) in found {
        by_why.entry(why).or_default().push((what, path));
    }
    out.push(String::new());
    out.push(rule("Not available"));
    for (why, mut parts) in by_why {
        parts.sort();
        out.extend(wrap(0, &format!("{why}:")));
        if opt.verbose {
            // One part per entry: the kernel interface, then where it sits in --json.
            for (what, path) in parts {
                out.push(format!("  {what}"));
                out.push(format!("    at {path}"));
            }
            continue;
        }
        // One interface can stand behind several parts (an ioctl answering for many fields).
        let mut whats: Vec<String> = parts.into_iter().map(|(what, _)| what).collect();
        whats.dedup();
        let n = whats.len();
        let mut shown: Vec<String> = whats.into_iter().take(3).collect();
        if n > 3 {
            shown.push(format!("and {} more", n - 3));
        }
        out.extend(pack(2, &shown, ", "));
    }
    if !opt.verbose {
        out.push("(--verbose lists every part)".into());
    }
}

fn collect_unavailable(
    v: &serde_json::Value,
    path: String,
    found: &mut Vec<(String, String, String)>,
) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(u) = m.get("unavailable").filter(|_| m.len() == 1) {
                let what = u.get("what").and_then(|x| x.as_str()).unwrap_or("?").to_string();
                let why = u.get("why").and_then(|x| x.as_str()).unwrap_or("?").to_string();
                found.push((path, what, why));
                return;
            }
            for (k, x) in m {
                collect_unavailable(x, format!("{path}.{k}"), found);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let key = x
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map(String::from)
                    .unwrap_or(i.to_string());
                collect_unavailable(x, format!("{path}[{key}]"), found);
            }
        }
        _ => {}
    }
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────

fn avail_or_note<'a, T>(a: &'a Avail<T>, out: &mut Vec<String>) -> Option<&'a T> {
    match a {
        Avail::Value(v) => Some(v),
        Avail::Unavailable(u) => {
            out.extend(wrap(0, &format!("unavailable: {u}")));
            None
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `2026-11-22 03:40:12 UTC` from Unix milliseconds, without a time crate.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_318_812_000), "2026-11-22 03:40:12 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
