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

impl Sample {
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
        let interfaces = names.map(|names| {
            names
                .into_iter()
                .map(|name| {
                    let sysfs = iface::read(root, &name);
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
                    let irqs = irq::read(root, &sysfs);
                    Interface { name, sysfs, proc_net_dev, stats64, queues, irqs, ethtool }
                })
                .collect()
        });

        let host = Host {
            hostname: read_line(root, "/proc/sys/kernel/hostname"),
            kernel: read_line(root, "/proc/sys/kernel/osrelease"),
            taken_at_ms: record.taken_at_ms,
            source: if root.is_live() { "live".into() } else { root.base().display().to_string() },
            privileged: record.privileged,
        };

        let sample = Sample {
            format: FORMAT_VERSION,
            host,
            cpus: cpus::read(root),
            interfaces,
            interrupts: interrupts::read(root),
            softirqs: softirqs::read(root),
            stat: stat::read(root),
            softnet: softnet::read(root),
            netdev_genl: record.netdev_genl.clone(),
            sysctls: sysctl::read(root),
            snmp: snmp::read_snmp(root),
            netstat: snmp::read_netstat(root),
            snmp6: snmp::read_snmp6(root),
            udp: udp::read(root),
            packet: packet::read(root),
            environment: environment::read(root),
        };
        (sample, record)
    }

    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.value()?.iter().find(|i| i.name == name)
    }
}

fn read_line(root: &Root, path: &str) -> Avail<String> {
    root.read_trimmed(path).map_err(|e| Unavailable::from_io(path, &e)).into()
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
