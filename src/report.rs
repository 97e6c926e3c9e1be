//! `Report`: what `rxpath report` and `watch` show, as data — the drop path, the findings, and
//! compact per-CPU, per-queue and per-socket rows — built from two Samples (or one, since boot).
//!
//! Building a report reads nothing from the kernel except the owners of sockets that dropped
//! (a /proc/*/fd scan, done only when some socket did).

use crate::avail::Avail;
use crate::delta::{CpuRate, Delta, IfaceRates, Interval, Rate, SocketRates};
use crate::diagnose::{self, Finding};
use crate::fxhash::FxBuild;
use crate::path::{Amount, Path, amount};
use crate::root::Root;
use crate::sample::{Interface, Sample};
use crate::source::netlink::QueueType;
use crate::source::owners::{self, Owner};
use crate::{counters, source::udp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Bumped when a key of the report JSON changes meaning or disappears.
pub const REPORT_FORMAT: u32 = 1;

/// What the counts cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Between two live samples.
    Interval,
    /// One snapshot (a capture or a tree): totals since boot; rates are averages over the uptime.
    SinceBoot,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: u32,
    pub basis: Basis,
    pub interval: Avail<Interval>,
    pub path: Path,
    pub findings: Vec<Finding>,
    pub cpus: Vec<CpuRow>,
    pub queues: Vec<QueueRow>,
    /// UDP sockets that dropped, most drops first.
    pub sockets: Vec<SocketRow>,
    /// The later sample: every setting and total the report was built from. Shared, so a sampling
    /// loop keeps it as the next baseline without copying it.
    pub sample: Arc<Sample>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuRow {
    pub cpu: u32,
    /// Hard interrupts of NIC queues on this CPU.
    pub irqs: Option<Amount>,
    /// NET_RX softirqs (/proc/softirqs).
    pub net_rx: Option<Amount>,
    pub processed: Option<Amount>,
    pub dropped: Option<Amount>,
    pub time_squeeze: Option<Amount>,
    pub received_rps: Option<Amount>,
    pub flow_limit_count: Option<Amount>,
    pub backlog_len: Option<u32>,
    /// Share of this CPU's time spent in softirq (all softirqs, /proc/stat).
    pub softirq_share: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub interface: String,
    pub queue: u32,
    pub irq: Option<String>,
    /// The CPUs the queue's IRQ really targets (effective affinity, else the one asked for).
    pub cpus: Vec<u32>,
    pub numa_node: Option<i32>,
    pub packets: Option<Amount>,
    pub drops: Option<Amount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocketRow {
    pub family: udp::Family,
    pub local: String,
    pub remote: String,
    pub inode: u64,
    /// Bytes charged to the receive queue (truesize, not payload).
    pub rx_queue: u64,
    /// The socket's receive buffer (SO_RCVBUF as the kernel doubled it), when sock_diag told it.
    pub rcvbuf: Option<u32>,
    pub drops: Amount,
    /// The processes holding the socket (/proc/*/fd), lowest pid first.
    pub owners: Avail<Vec<Owner>>,
}

impl Report {
    /// The report over the interval between two live samples. The owners of sockets that
    /// dropped are looked up through `root` (none without one).
    pub fn over(earlier: &Sample, later: Sample, root: Option<&Root>) -> Report {
        let delta = Delta::between(earlier, &later);
        Report::build(Basis::Interval, &delta, later, root)
    }

    /// The static report of one snapshot: totals since boot.
    pub fn since_boot(sample: Sample, root: Option<&Root>) -> Report {
        let delta = Delta::since_boot(&sample);
        Report::build(Basis::SinceBoot, &delta, sample, root)
    }

    fn build(basis: Basis, delta: &Delta, sample: Sample, root: Option<&Root>) -> Report {
        let path = Path::build(delta, &sample);
        let secs = delta.secs();
        let cpus = cpu_rows(delta, &sample, secs);
        let queues = queue_rows(delta, &sample, secs);
        let mut sockets = socket_rows(delta, secs);
        find_owners(&mut sockets, root);
        let findings = diagnose::run(&diagnose::Context {
            basis,
            delta,
            sample: &sample,
            path: &path,
            cpus: &cpus,
            queues: &queues,
            sockets: &sockets,
            irqs: diagnose::irqs_by_number(delta),
        });
        Report {
            format: REPORT_FORMAT,
            basis,
            interval: delta.interval.clone(),
            path,
            findings,
            cpus,
            queues,
            sockets,
            sample: Arc::new(sample),
        }
    }
}

/// Each CPU's sum of `rows` (rates by CPU), in one pass: looking every CPU up in every row is
/// 512 CPUs × 260 NIC IRQs on a big host. `cpus`, the number of CPUs, sizes the map once.
fn per_cpu_sums<'a>(
    rows: impl IntoIterator<Item = &'a [CpuRate]>,
    secs: Option<f64>,
    cpus: usize,
) -> HashMap<u32, Amount, FxBuild> {
    let mut sums: HashMap<u32, Amount, FxBuild> = HashMap::with_capacity_and_hasher(cpus, FxBuild);
    for r in rows.into_iter().flatten() {
        if let Some(a) = amount(&r.rate, secs) {
            sums.entry(r.cpu).and_modify(|s| s.add(a)).or_insert(a);
        }
    }
    sums
}

fn cpu_rows(delta: &Delta, sample: &Sample, secs: Option<f64>) -> Vec<CpuRow> {
    let softnet = delta.softnet.value().map_or(&[][..], Vec::as_slice);
    let nic_irqs = sample.nic_irqs();
    let irq_rows: Vec<&[CpuRate]> = delta
        .irqs
        .value()
        .into_iter()
        .flatten()
        .filter(|r| Sample::is_nic_irq(&nic_irqs, &r.irq))
        .map(|r| r.per_cpu.as_slice())
        .collect();
    let any_irq = !irq_rows.is_empty();
    let irqs = per_cpu_sums(irq_rows, secs, softnet.len());
    let net_rx = delta
        .softirqs
        .value()
        .and_then(|s| s.iter().find(|r| r.name == "NET_RX"))
        .map(|r| per_cpu_sums([r.per_cpu.as_slice()], secs, softnet.len()));
    let mut shares: HashMap<u32, f64, FxBuild> =
        HashMap::with_capacity_and_hasher(softnet.len(), FxBuild);
    shares.extend(
        delta
            .cpu_time
            .value()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t.cpu?, t.softirq_share?))),
    );
    softnet
        .iter()
        .map(|c| {
            // A CPU a NIC IRQ did not fire on has no entry in its row: 0, when there are rows.
            let mut irq = any_irq.then(|| Amount::of(0, secs));
            if let Some(&a) = irqs.get(&c.cpu) {
                Amount::accumulate(&mut irq, a);
            }
            CpuRow {
                cpu: c.cpu,
                irqs: irq,
                net_rx: net_rx.as_ref().and_then(|m| m.get(&c.cpu).copied()),
                processed: amount(&c.processed, secs),
                dropped: amount(&c.dropped, secs),
                time_squeeze: amount(&c.time_squeeze, secs),
                received_rps: amount(&c.received_rps, secs),
                flow_limit_count: amount(&c.flow_limit_count, secs),
                backlog_len: c.backlog_len,
                softirq_share: shares.get(&c.cpu).copied(),
            }
        })
        .collect()
}

/// One row per receive queue of every interface (the report's queue table; the exporter's too).
pub(crate) fn queue_rows(delta: &Delta, sample: &Sample, secs: Option<f64>) -> Vec<QueueRow> {
    let interfaces = sample.interfaces.value().map_or(&[][..], Vec::as_slice);
    let mut out = Vec::with_capacity(
        interfaces.iter().filter_map(|i| i.queues.value()).map(|q| q.rx.len()).sum(),
    );
    for i in interfaces {
        let rates = delta.interfaces.value().and_then(|r| r.iter().find(|r| r.name == i.name));
        let node = i.sysfs.device.as_ref().and_then(|d| d.numa_node.value().copied());
        for index in rx_queue_indexes(i) {
            let irq = i.rx_queue_irq(index);
            let (packets, drops) = rates.map_or((None, None), |r| queue_amounts(r, index, secs));
            out.push(QueueRow {
                interface: i.name.clone(),
                queue: index,
                irq: irq.map(|q| q.irq.to_string()),
                cpus: irq.map(|q| q.target_cpus().to_vec()).unwrap_or_default(),
                numa_node: irq.and_then(|q| q.node.value().copied()).or(node),
                packets,
                drops,
            });
        }
    }
    out
}

fn rx_queue_indexes(i: &Interface) -> Vec<u32> {
    i.queues.value().map(|q| q.rx.iter().map(|r| r.index).collect()).unwrap_or_default()
}

/// Per-queue packets and drops: the kernel's netdev qstats first, else the driver's per-queue
/// `ethtool -S` names.
fn queue_amounts(
    r: &IfaceRates,
    index: u32,
    secs: Option<f64>,
) -> (Option<Amount>, Option<Amount>) {
    let sum = |rates: Vec<&Rate>| {
        let mut acc = None;
        for a in rates.into_iter().filter_map(|r| amount(r, secs)) {
            Amount::accumulate(&mut acc, a);
        }
        acc
    };
    let q = r.qstats.value().and_then(|qs| {
        qs.iter().find(|q| q.queue_type == Some(QueueType::Rx) && q.queue_id == Some(index))
    });
    let (packets, drops) = counters::split_rx_queue(
        q.map(|q| &q.counters),
        r.ethtool_stats.value().into_iter().flatten(),
        index,
    );
    (sum(packets), sum(drops))
}

/// Fills `owners` of the sockets that dropped: one /proc/*/fd scan for all of them, and none when
/// no socket dropped (the scan costs a readlink per open file on the host).
fn find_owners(sockets: &mut [SocketRow], root: Option<&Root>) {
    if sockets.is_empty() {
        return;
    }
    let found = match root {
        Some(root) => {
            let inodes: Vec<u64> = sockets.iter().map(|s| s.inode).collect();
            owners::find(root, &inodes)
        }
        None => Avail::missing("socket owners", "not looked up (no root to read /proc from)"),
    };
    for s in sockets {
        s.owners = found.as_ref().map(|m| m.get(&s.inode).cloned().unwrap_or_default());
    }
}

/// The UDP sockets that dropped, most drops first, owners not looked up yet (the report's socket
/// table; the exporter's too).
pub(crate) fn socket_rows(delta: &Delta, secs: Option<f64>) -> Vec<SocketRow> {
    // Sorted before the rows are built: moving a pair is cheaper than moving a row.
    let mut dropped: Vec<(Amount, &SocketRates)> = [&delta.udp, &delta.udp6]
        .into_iter()
        .filter_map(|p| p.value())
        .flatten()
        .filter_map(|s| Some((amount(&s.drops, secs).filter(|a| a.count > 0)?, s)))
        .collect();
    dropped.sort_by(|(a, x), (b, y)| b.count.cmp(&a.count).then(x.inode.cmp(&y.inode)));
    dropped
        .into_iter()
        .map(|(drops, s)| SocketRow {
            family: s.family,
            local: endpoint(&s.local_address, s.local_port),
            remote: endpoint(&s.rem_address, s.rem_port),
            inode: s.inode,
            rx_queue: s.rx_queue,
            rcvbuf: s.rcvbuf,
            drops,
            owners: Avail::missing("socket owners", "not looked up yet"),
        })
        .collect()
}

/// `198.18.0.1:5000`, `[::1]:5000`.
pub fn endpoint(ip: &IpAddr, port: u16) -> String {
    use std::fmt::Write;
    // Sized once for the longest; IPv4 digits by hand: through `Display` an address is five
    // formatted integers, and a busy host has hundreds of sockets that dropped each refresh.
    let mut s = String::with_capacity(48);
    match ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_decimal(&mut s, o.into());
            }
        }
        IpAddr::V6(a) => {
            let _ = write!(s, "[{a}]");
        }
    }
    s.push(':');
    push_decimal(&mut s, port);
    s
}

fn push_decimal(s: &mut String, n: u16) {
    if n >= 10 {
        push_decimal(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn endpoints_are_written_as_display_writes_them(
            ip in prop_oneof![
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u16; 8]>().prop_map(IpAddr::from),
            ],
            port in any::<u16>(),
        ) {
            let want = match ip {
                IpAddr::V4(a) => format!("{a}:{port}"),
                IpAddr::V6(a) => format!("[{a}]:{port}"),
            };
            prop_assert_eq!(endpoint(&ip, port), want);
        }
    }
}
