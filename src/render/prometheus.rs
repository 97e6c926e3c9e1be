//! The exporter's numbers as OpenMetrics text (prometheus-client's encoder): the totals since boot
//! that `rxpath report --root` shows — the drop path per stage and per kernel counter, softnet per
//! CPU, netdev rx per interface, packets and drops per receive queue, the UDP sockets that dropped —
//! as counters Prometheus turns into rates. docs/metrics.md names every family.
//!
//! A `Scrape` is built from one Sample (`Delta::since_boot`, `Path::build`, the report's queue and
//! socket rows), so the exporter and the report can never disagree. Nothing here reads the kernel.

use crate::delta::{CpuRates, Delta, IfaceRates, Rate, Rates};
use crate::fxhash::FxBuild;
use crate::path::{Path, amount};
use crate::report::{self, QueueRow, SocketRow};
use crate::sample::Sample;
use indexmap::IndexMap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What `encode` writes: OpenMetrics 1.0 text, which Prometheus asks for first and parses natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The most UDP sockets exported, those with the most drops: a host with thousands of dropping
/// sockets would otherwise create a series per socket on every scrape.
pub const SOCKETS_MAX: usize = 100;

/// The netdev counters exported per interface, by their rtnetlink / sysfs names.
const NETDEV_RX: &[&str] = &[
    "rx_packets",
    "rx_dropped",
    "rx_errors",
    "rx_missed_errors",
    "rx_fifo_errors",
    "rx_over_errors",
    "rx_crc_errors",
    "rx_frame_errors",
    "rx_length_errors",
    "rx_nohandler",
    "rx_otherhost_dropped",
];
/// The same from /proc/net/dev, when neither rtnetlink nor sysfs gave them (`rx_drop` is
/// rx_dropped + rx_missed_errors there).
const PROC_NET_DEV_RX: &[&str] = &["rx_packets", "rx_drop", "rx_errs", "rx_fifo", "rx_frame"];

/// Everything one scrape exports: one Sample's totals since boot.
#[derive(Debug)]
pub struct Scrape {
    pub delta: Delta,
    pub path: Path,
    pub queues: Vec<QueueRow>,
    /// Every UDP socket that dropped since it was created, most drops first (all of them: the
    /// encoder exports the first `SOCKETS_MAX`).
    pub sockets: Vec<SocketRow>,
    pub sample: Sample,
    /// The time to read the kernel and build the path, set by whoever took the sample.
    pub duration: Duration,
}

impl Scrape {
    /// The totals since boot of `sample`, as `rxpath report --root` computes them.
    pub fn since_boot(sample: Sample) -> Scrape {
        let delta = Delta::since_boot(&sample);
        let path = Path::build(&delta, &sample);
        let secs = delta.secs();
        let queues = report::queue_rows(&delta, &sample, secs);
        let sockets = report::socket_rows(&delta, secs);
        Scrape { delta, path, queues, sockets, sample, duration: Duration::ZERO }
    }
}

/// The OpenMetrics text of a scrape, `# EOF` included.
pub fn encode(scrape: &Arc<Scrape>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Arc::clone(scrape)));
    // Roughly what a small host needs, so the buffer rarely grows.
    let mut out = String::with_capacity(32 * 1024);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        // Writing into a String cannot fail, and our collector only fails with the writer.
        unreachable!("encoding into a String failed: {e}");
    }
    out
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        build_info(&mut enc)?;
        gauge(
            &mut enc,
            "rxpath_scrape_duration_seconds",
            "Seconds this scrape took to read the kernel and build the drop path (encoding \
             excluded)",
            self.duration.as_secs_f64(),
        )?;
        self.sources(&mut enc)?;
        self.stages(&mut enc)?;
        self.drops(&mut enc)?;
        self.softnet(&mut enc)?;
        self.netdev(&mut enc)?;
        self.queues(&mut enc)?;
        self.sockets(&mut enc)
    }
}

fn build_info(enc: &mut DescriptorEncoder) -> fmt::Result {
    let info =
        prometheus_client::metrics::info::Info::new([("version", env!("CARGO_PKG_VERSION"))]);
    info.encode(enc.encode_descriptor(
        "rxpath_build",
        "The rxpath that answers this scrape",
        None,
        info.metric_type(),
    )?)
}

/// One counter family (`name` without `_total`: the encoder appends it).
fn counters<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in series {
        ConstCounter::new(v).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge without labels.
fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> fmt::Result {
    ConstGauge::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn gauges<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, f64)>,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in series {
        ConstGauge::new(v).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

/// The count of a since-boot Rate (None when the counter is unknown or incomparable).
fn count(r: &Rate) -> Option<u64> {
    amount(r, None).map(|a| a.count)
}

/// An interface's receive counters and the names to export: rtnetlink / sysfs, else /proc/net/dev.
fn rx(i: &IfaceRates) -> Option<(&Rates, &'static [&'static str])> {
    match i.netdev() {
        Some(m) => Some((m, NETDEV_RX)),
        None => i.proc_net_dev.value().map(|m| (m, PROC_NET_DEV_RX)),
    }
}

impl Scrape {
    fn sources(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let d = &self.delta;
        let parts = [
            ("/proc/net/softnet_stat", d.softnet.is_available()),
            ("interfaces", d.interfaces.is_available()),
            ("/proc/interrupts", d.irqs.is_available()),
            ("/proc/net/snmp", d.snmp.is_available()),
            ("/proc/net/netstat", d.netstat.is_available()),
            ("/proc/net/snmp6", d.snmp6.is_available()),
            ("/proc/net/udp", d.udp.is_available()),
            ("/proc/net/udp6", d.udp6.is_available()),
        ];
        gauges(
            enc,
            "rxpath_source_available",
            "1 when this scrape could read the source, 0 when it could not (its series are then \
             absent; rxpath report --verbose says why)",
            parts.map(|(what, ok)| ([("source", what)], if ok { 1.0 } else { 0.0 })),
        )
    }

    fn stages(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let stages = &self.path.stages;
        counters(
            enc,
            "rxpath_stage_entered_packets",
            "What entered each stage of the receive path since boot, in path order (for stage irq: \
             interrupts of the NIC queues); absent when the kernel does not count it",
            stages.iter().filter_map(|s| Some(([("stage", s.stage.name())], s.entered?.count))),
        )?;
        counters(
            enc,
            "rxpath_stage_dropped_packets",
            "Packets each stage of the receive path dropped since boot: the sum of its counted \
             drop counters (rxpath_drops_total with counted=\"true\")",
            stages.iter().map(|s| ([("stage", s.stage.name())], s.dropped.count)),
        )
    }

    fn drops(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        // The path never lists one counter twice in one place, but a series must be unique even if
        // a driver ever names a counter like a netdev one: such twins are added up.
        let mut series: IndexMap<(&str, &str, &str, bool), u64, FxBuild> = IndexMap::default();
        for s in &self.path.stages {
            for d in &s.drops {
                let key = (
                    s.stage.name(),
                    d.counter.as_str(),
                    d.where_.as_deref().unwrap_or(""),
                    d.counted,
                );
                let v = series.entry(key).or_insert(0);
                *v = v.saturating_add(d.count);
            }
        }
        counters(
            enc,
            "rxpath_drops",
            "Every drop counter on the receive path since boot, by stage and kernel name; where is \
             the interface or CPU (empty for a MIB counter of the network namespace); \
             counted=\"false\" when the drops are already inside another counter or are a sign of \
             pressure, not a drop",
            series.into_iter().map(|((stage, counter, where_, counted), v)| {
                let counted = if counted { "true" } else { "false" };
                (
                    [
                        ("stage", stage),
                        ("counter", counter),
                        ("where", where_),
                        ("counted", counted),
                    ],
                    v,
                )
            }),
        )
    }

    fn softnet(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let Some(cpus) = self.delta.softnet.value() else {
            return Ok(());
        };
        type Field = fn(&CpuRates) -> &Rate;
        let families: [(&str, &str, Field); 5] = [
            (
                "rxpath_softnet_processed",
                "Packets net_rx_action processed on this CPU since boot (softnet_stat column 1, \
                 32 bits: wraps)",
                |c| &c.processed,
            ),
            (
                "rxpath_softnet_dropped",
                "Packets dropped because this CPU's backlog was full (softnet_stat `dropped`)",
                |c| &c.dropped,
            ),
            (
                "rxpath_softnet_time_squeeze",
                "Times net_rx_action ran out of budget or time with work left (softnet_stat \
                 `time_squeeze`)",
                |c| &c.time_squeeze,
            ),
            (
                "rxpath_softnet_received_rps",
                "Times this CPU was woken by an inter-processor interrupt to process its backlog \
                 (softnet_stat `received_rps`)",
                |c| &c.received_rps,
            ),
            (
                "rxpath_softnet_flow_limit_count",
                "Packets the flow limit dropped on this CPU (softnet_stat `flow_limit_count`, \
                 inside `dropped`)",
                |c| &c.flow_limit_count,
            ),
        ];
        for (name, help, field) in families {
            counters(
                enc,
                name,
                help,
                cpus.iter().filter_map(|c| Some(([("cpu", c.cpu)], count(field(c))?))),
            )?;
        }
        Ok(())
    }

    fn netdev(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let ifaces = self.delta.interfaces.value().map(Vec::as_slice).unwrap_or_default();
        counters(
            enc,
            "rxpath_netdev_rx_packets",
            "An interface's receive counters since boot by their kernel names (rtnetlink \
             IFLA_STATS64 or sysfs statistics/, else /proc/net/dev)",
            ifaces.iter().filter_map(|i| rx(i).map(|r| (i, r))).flat_map(|(i, (m, names))| {
                names.iter().filter_map(move |&n| {
                    let v = count(m.get(n)?)?;
                    Some(([("interface", i.name.as_str()), ("counter", n)], v))
                })
            }),
        )?;
        counters(
            enc,
            "rxpath_netdev_rx_bytes",
            "Bytes an interface received since boot (rx_bytes)",
            ifaces.iter().filter_map(|i| {
                let (m, _) = rx(i)?;
                Some(([("interface", i.name.as_str())], count(m.get("rx_bytes")?)?))
            }),
        )
    }

    fn queues(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let q = &self.queues;
        let labels =
            |r: &QueueRow| [("interface", r.interface.clone()), ("queue", r.queue.to_string())];
        counters(
            enc,
            "rxpath_rx_queue_packets",
            "Packets a receive queue received since boot (netdev netlink qstats, else the driver's \
             per-queue ethtool -S counters)",
            q.iter().filter_map(|r| Some((labels(r), r.packets?.count))),
        )?;
        counters(
            enc,
            "rxpath_rx_queue_drops",
            "Packets a receive queue dropped since boot (qstats hardware drops and allocation \
             failures, else the driver's per-queue drop counters)",
            q.iter().filter_map(|r| Some((labels(r), r.drops?.count))),
        )
    }

    fn sockets(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let dropping = self.sockets.len();
        gauge(
            enc,
            "rxpath_udp_sockets_dropping",
            "UDP sockets open now that dropped packets since they were created (all of them; \
             rxpath_udp_socket_drops_total shows the worst ones)",
            dropping as f64,
        )?;
        counters(
            enc,
            "rxpath_udp_socket_drops",
            "Packets an open UDP socket dropped since it was created (sk_drops: full receive \
             buffer, bad checksum, filter), for the sockets with the most drops only",
            self.sockets.iter().take(SOCKETS_MAX).map(|s| {
                let inode = s.inode.to_string();
                (
                    [("local", s.local.clone()), ("remote", s.remote.clone()), ("inode", inode)],
                    s.drops.count,
                )
            }),
        )
    }
}
