//! `Sample`: every stage of the receive path read at one instant.
//!
//! A Sample is what every later stage (rates, diagnosis, exporter) reads; it knows nothing of rates or
//! rendering. Each part is a value or `Unavailable { what, why }`, so a missing file, a driver without
//! an ioctl or a network namespace without a sysctl never aborts the sample.

use crate::Unavailable;
use crate::avail::Avail;
use crate::capture::KernelRecord;
use crate::root::Root;
use crate::source::{
    cpus, environment, ethtool, iface, interrupts, irq, netdev, netlink, packet, queues, snmp,
    softirqs, softnet, stat, sysctl, udp,
};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bumped when a key of the JSON format changes meaning or disappears (docs/sample-format.md).
pub const FORMAT_VERSION: u32 = 1;

/// Why a live sample has no `sysfs.statistics`.
pub const STATS_FROM_NETLINK: &str = "not read: rtnetlink IFLA_STATS64 (`stats64`) has the same \
     counters, and more, for every interface in one call";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub format: u32,
    pub host: Host,
    pub cpus: cpus::Cpus,
    /// Network interfaces in /sys/class/net order (sorted by name), each with every layer rxpath
    /// reads for it: sysfs, /proc/net/dev, rtnetlink stats64, queues, IRQs and ethtool.
    pub interfaces: Avail<Vec<Interface>>,
    pub interrupts: Avail<interrupts::Interrupts>,
    pub softirqs: Avail<softirqs::Softirqs>,
    pub stat: Avail<stat::Stat>,
    pub softnet: Avail<softnet::Softnet>,
    pub netdev_genl: Avail<netlink::netdev::NetdevGenl>,
    pub sysctls: sysctl::Sysctls,
    /// /proc/net/snmp: `Ip`, `Icmp`, `IcmpMsg`, `Tcp`, `Udp`, `UdpLite`.
    pub snmp: Avail<snmp::Snmp>,
    /// /proc/net/netstat: `TcpExt`, `IpExt`, `MPTcpExt`.
    pub netstat: Avail<snmp::Snmp>,
    /// /proc/net/snmp6, flat.
    pub snmp6: Avail<snmp::Counters>,
    /// From sock_diag on a live host (or a capture of one) when it answers, else /proc/net/udp{,6}.
    pub udp: udp::UdpSockets,
    /// AF_PACKET sockets (taps such as tcpdump that see every packet).
    pub packet: Avail<Vec<packet::PacketSocket>>,
    pub environment: environment::Environment,
}

/// Where and when the sample was taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: Avail<String>,
    /// /proc/sys/kernel/osrelease.
    pub kernel: Avail<String>,
    /// Milliseconds since the Unix epoch; absent for a fixture tree that recorded no time.
    pub taken_at_ms: Option<u64>,
    /// CLOCK_BOOTTIME in nanoseconds when the sample was taken (live samples only). The interval
    /// between two samples comes from it when both have it: the wall clock can be stepped by NTP or
    /// an operator, which would make rates wrong or negative, and a value that goes backwards tells
    /// a reboot apart from a late sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boottime_ns: Option<u64>,
    /// "live" for the running host, else the directory the sample was read from.
    pub source: String,
    /// Whether the reader had root: parts that need it say so when it did not.
    pub privileged: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub sysfs: iface::SysfsIface,
    /// The /proc/net/dev row (per network namespace).
    pub proc_net_dev: Avail<indexmap::IndexMap<String, u64>>,
    /// rtnetlink IFLA_STATS64: the only source of `rx_otherhost_dropped`.
    pub stats64: Avail<indexmap::IndexMap<String, u64>>,
    pub queues: Avail<queues::Queues>,
    pub irqs: Avail<Vec<irq::NicIrq>>,
    pub ethtool: ethtool::EthtoolInfo,
}

impl Interface {
    /// The IRQ serving receive queue `index`, when the mapping is known.
    pub fn rx_queue_irq(&self, index: u32) -> Option<&irq::NicIrq> {
        self.irqs.value()?.iter().find(|q| q.serves_rx_queue(index))
    }
}

impl Sample {
    /// /proc/interrupts labels of the IRQs that serve NIC queues.
    pub fn nic_irq_labels(&self) -> std::collections::HashSet<String> {
        self.interfaces
            .value()
            .into_iter()
            .flatten()
            .flat_map(|i| i.irqs.value().into_iter().flatten())
            .map(|q| q.irq.to_string())
            .collect()
    }

    /// Reads everything through `root`. On a live root the ioctl and netlink parts are asked of the
    /// kernel; on a capture they come from its record; on a plain fixture tree they are Unavailable.
    pub fn take(root: &Root) -> Sample {
        Sample::take_recorded(root).0
    }

    /// Like `take`, also returning what came from ioctls and netlink, which a capture must keep
    /// because it cannot be a file.
    pub fn take_recorded(root: &Root) -> (Sample, KernelRecord) {
        let names = iface::list(root);
        let record = KernelRecord::obtain(root, names.value().map(Vec::as_slice).unwrap_or(&[]));
        let proc_dev = netdev::read(root);
        let interrupts = interrupts::read(root);
        let interfaces = names.map(|names| {
            names
                .into_iter()
                .map(|name| {
                    let link =
                        record.links.value().and_then(|ls| ls.iter().find(|l| l.ifname == name));
                    // rtnetlink gave every counter of statistics/ for all interfaces in one call;
                    // a capture still records the files, so its replay reads them like a host.
                    let sysfs = match link {
                        Some(_) if root.is_live() && !root.is_recording() => {
                            let why = Unavailable::new(
                                format!("{}/{name}/statistics", iface::CLASS_NET),
                                STATS_FROM_NETLINK,
                            );
                            iface::read_but_statistics(root, &name, Some(why))
                        }
                        _ => iface::read(root, &name),
                    };
                    let proc_net_dev = match &proc_dev {
                        Avail::Value(d) => match d.interfaces.iter().find(|r| r.name == name) {
                            Some(r) => Avail::Value(r.counters.clone()),
                            None => Avail::missing(
                                "/proc/net/dev",
                                "no row for this interface (it lives in another network namespace)",
                            ),
                        },
                        Avail::Unavailable(u) => Avail::Unavailable(u.clone()),
                    };
                    let stats64 = record.links.as_ref().and_then(|ls| {
                        match ls.iter().find(|l| l.ifname == name) {
                            Some(l) => Avail::Value(l.stats64.clone()),
                            None => Avail::missing(
                                "rtnetlink IFLA_STATS64",
                                "no link of this name in the reader's network namespace",
                            ),
                        }
                    });
                    let ethtool = record.ethtool_of(&name);
                    let queues = queues::read(root, &name);
                    let mut irqs = irq::read(root, &sysfs);
                    if let Avail::Value(list) = &mut irqs {
                        let ifindex = sysfs.ifindex.value().copied();
                        map_irq_queues(list, &name, ifindex, &interrupts, &record.netdev_genl);
                    }
                    Interface { name, sysfs, proc_net_dev, stats64, queues, irqs, ethtool }
                })
                .collect()
        });

        let host = Host {
            hostname: read_line(root, "/proc/sys/kernel/hostname"),
            kernel: read_line(root, "/proc/sys/kernel/osrelease"),
            taken_at_ms: record.taken_at_ms,
            boottime_ns: record.boottime_ns,
            source: if root.is_live() { "live".into() } else { root.base().display().to_string() },
            privileged: record.privileged,
        };

        let sample = Sample {
            format: FORMAT_VERSION,
            host,
            cpus: cpus::read(root),
            interfaces,
            interrupts,
            softirqs: softirqs::read(root),
            stat: stat::read(root),
            softnet: softnet::read(root),
            netdev_genl: record.netdev_genl.clone(),
            sysctls: sysctl::read(root),
            snmp: snmp::read_snmp(root),
            netstat: snmp::read_netstat(root),
            snmp6: snmp::read_snmp6(root),
            udp: udp::read_with_sock_diag(root, record.udp_sock_diag.as_ref()),
            packet: packet::read(root),
            environment: environment::read(root),
        };
        (sample, record)
    }

    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.value()?.iter().find(|i| i.name == name)
    }
}

/// Takes sample after sample of one root, cheaply: kernel files stay open and are re-read from
/// offset 0 into one reused buffer (`Root::keep_open`), and files a sample no longer reads (a
/// removed interface, an exited process) are closed after it. `Sample::take` is the one-shot form;
/// both give the same `Sample`.
///
/// Open files belong to the network namespace they were opened in: use a sampler on one thread
/// that stays in one namespace. On a big host it holds thousands of descriptors, so `new` raises
/// the soft RLIMIT_NOFILE towards the hard limit.
pub struct Sampler {
    root: Root,
}

impl Sampler {
    pub fn new(root: Root) -> Sampler {
        let _ = crate::root::raise_nofile_limit(65_536);
        Sampler { root: root.keep_open() }
    }

    pub fn take(&mut self) -> Sample {
        let s = Sample::take(&self.root);
        self.root.close_unused();
        s
    }

    pub fn root(&self) -> &Root {
        &self.root
    }
}

/// Maps each NIC IRQ to its queue from the most authoritative source there is: the kernel's own
/// queue → NAPI → IRQ map (netdev netlink `queue-get` and `napi-get`), else the action name the
/// driver gave the IRQ (sysfs, or /proc/interrupts when sysfs has none).
fn map_irq_queues(
    irqs: &mut [irq::NicIrq],
    ifname: &str,
    ifindex: Option<u32>,
    interrupts: &Avail<interrupts::Interrupts>,
    genl: &Avail<netlink::netdev::NetdevGenl>,
) {
    for nic_irq in irqs.iter_mut() {
        if let Some(q) = ifindex.and_then(|i| queue_from_netlink(nic_irq.irq, i, genl)) {
            nic_irq.queue = Some(q);
            continue;
        }
        if nic_irq.queue.is_some() || nic_irq.actions.is_available() {
            continue;
        }
        let label = nic_irq.irq.to_string();
        let row = interrupts.value().and_then(|i| i.rows.iter().find(|r| r.irq == label));
        if let Some(row) = row {
            nic_irq.queue = row.actions.iter().find_map(|a| {
                irq::queue_from_action(a, ifname).map(|mut q| {
                    q.from = "action name in /proc/interrupts".into();
                    q
                })
            });
        }
    }
}

fn queue_from_netlink(
    irq_no: u32,
    ifindex: u32,
    genl: &Avail<netlink::netdev::NetdevGenl>,
) -> Option<irq::QueueRef> {
    use netlink::netdev::QueueType;
    let genl = genl.value()?;
    let napi =
        genl.napis.value()?.iter().find(|n| n.ifindex == ifindex && n.irq == Some(irq_no))?;
    let queues: Vec<_> = genl
        .queues
        .value()?
        .iter()
        .filter(|q| q.ifindex == ifindex && q.napi_id == Some(napi.id))
        .collect();
    let rx: Vec<u32> = queues.iter().filter(|q| q.type_ == QueueType::Rx).map(|q| q.id).collect();
    let tx: Vec<u32> = queues.iter().filter(|q| q.type_ == QueueType::Tx).map(|q| q.id).collect();
    let (kind, index) = match (rx.as_slice(), tx.as_slice()) {
        ([r], [t]) if r == t => (irq::QueueKind::Combined, Some(*r)),
        ([r], []) => (irq::QueueKind::Rx, Some(*r)),
        ([], [t]) => (irq::QueueKind::Tx, Some(*t)),
        ([], []) => return None,
        _ => (irq::QueueKind::Combined, None),
    };
    Some(irq::QueueRef { kind, index, from: "netdev netlink (napi-get, queue-get)".into() })
}

fn read_line(root: &Root, path: &str) -> Avail<String> {
    root.read_trimmed(path).map_err(|e| Unavailable::from_io(path, &e)).into()
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// CLOCK_BOOTTIME in nanoseconds: monotonic, and it keeps counting while the host is suspended, so
/// a rate over a suspend is averaged over the real time that passed.
pub fn boottime_ns() -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink::netdev::{Napi, NetdevGenl, Queue, QueueType};

    fn nic_irq(n: u32, actions: Avail<Vec<String>>) -> irq::NicIrq {
        irq::NicIrq {
            irq: n,
            actions,
            chip_name: Avail::missing("x", "y"),
            hwirq: Avail::missing("x", "y"),
            type_: Avail::missing("x", "y"),
            smp_affinity_list: Avail::missing("x", "y"),
            effective_affinity_list: Avail::missing("x", "y"),
            node: Avail::missing("x", "y"),
            queue: None,
        }
    }

    fn genl(napis: Vec<Napi>, queues: Vec<Queue>) -> Avail<NetdevGenl> {
        Avail::Value(NetdevGenl {
            queues: Avail::Value(queues),
            napis: Avail::Value(napis),
            qstats: Avail::Value(vec![]),
            qstats_device: Avail::Value(vec![]),
        })
    }

    fn napi(id: u32, irq: u32) -> Napi {
        Napi {
            ifindex: 2,
            id,
            irq: Some(irq),
            pid: None,
            defer_hard_irqs: None,
            gro_flush_timeout: None,
            irq_suspend_timeout: None,
        }
    }

    fn queue(id: u32, type_: QueueType, napi_id: u32) -> Queue {
        Queue { ifindex: 2, id, type_, napi_id: Some(napi_id) }
    }

    #[test]
    fn netlink_map_wins_over_action_names() {
        let mut irqs = vec![nic_irq(40, Avail::Value(vec!["eth0-TxRx-7".into()]))];
        irqs[0].queue = irq::queue_from_action("eth0-TxRx-7", "eth0");
        let g = genl(
            vec![napi(300, 40)],
            vec![queue(3, QueueType::Rx, 300), queue(3, QueueType::Tx, 300)],
        );
        map_irq_queues(&mut irqs, "eth0", Some(2), &Avail::missing("i", "j"), &g);
        let q = irqs[0].queue.as_ref().unwrap();
        assert_eq!((q.kind, q.index), (irq::QueueKind::Combined, Some(3)));
        assert!(q.from.contains("netlink"));
    }

    #[test]
    fn rx_only_napi_and_other_interfaces_are_told_apart() {
        let mut irqs = vec![nic_irq(41, Avail::missing("a", "b"))];
        let mut other_if = queue(0, QueueType::Rx, 301);
        other_if.ifindex = 9;
        let g = genl(vec![napi(301, 41)], vec![queue(1, QueueType::Rx, 301), other_if]);
        map_irq_queues(&mut irqs, "eth0", Some(2), &Avail::missing("i", "j"), &g);
        let q = irqs[0].queue.as_ref().unwrap();
        assert_eq!((q.kind, q.index), (irq::QueueKind::Rx, Some(1)));
    }

    #[test]
    fn proc_interrupts_actions_are_the_fallback() {
        let text = "           CPU0       CPU1\n 38:          0       4932 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n";
        let ints = Avail::Value(interrupts::parse(text).unwrap());
        let mut irqs =
            vec![nic_irq(38, Avail::missing("a", "b")), nic_irq(39, Avail::missing("a", "b"))];
        map_irq_queues(&mut irqs, "eth0", Some(2), &ints, &Avail::missing("g", "h"));
        let q = irqs[0].queue.as_ref().unwrap();
        assert_eq!((q.kind, q.index), (irq::QueueKind::Rx, Some(0)));
        assert_eq!(q.from, "action name in /proc/interrupts");
        assert!(irqs[1].queue.is_none(), "IRQ 39 has no row: no guess");
    }
}
