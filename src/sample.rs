//! `Sample`: every stage of the receive path read at one instant.
//!
//! A Sample is what every later stage (rates, diagnosis, exporter) reads; it knows nothing of rates or
//! rendering. Each part is a value or `Unavailable { what, why }`, so a missing file, a driver without
//! an ioctl or a network namespace without a sysctl never aborts the sample.

use crate::Unavailable;
use crate::avail::Avail;
use crate::capture::KernelRecord;
use crate::root::Root;
use crate::source::CounterMap;
use crate::source::{
    Names, cpus, environment, ethtool, iface, interrupts, irq, netdev, netlink, packet, queues,
    snmp, softirqs, softnet, stat, sysctl, udp,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// Shared with the next sample when a `Sampler` did not need to read it again.
    pub udp: Arc<udp::UdpSockets>,
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
    pub proc_net_dev: Avail<CounterMap>,
    /// rtnetlink IFLA_STATS64: the only source of `rx_otherhost_dropped`.
    pub stats64: Avail<CounterMap>,
    /// Shared with the sampler that keeps it between re-reads (settings).
    pub queues: Arc<Avail<queues::Queues>>,
    /// Shared likewise.
    pub irqs: Arc<Avail<Vec<irq::NicIrq>>>,
    pub ethtool: ethtool::EthtoolInfo,
}

impl Interface {
    /// The IRQ serving receive queue `index`, when the mapping is known.
    pub fn rx_queue_irq(&self, index: u32) -> Option<&irq::NicIrq> {
        self.irqs.value()?.iter().find(|q| q.serves_rx_queue(index))
    }
}

impl Sample {
    /// The numbers of the IRQs that serve NIC queues.
    pub fn nic_irqs(&self) -> std::collections::HashSet<u32, crate::fxhash::FxBuild> {
        let per_iface =
            || self.interfaces.value().into_iter().flatten().filter_map(|i| i.irqs.value());
        // Sized once: a set grown IRQ by IRQ is rehashed at each doubling.
        let mut set = std::collections::HashSet::with_capacity_and_hasher(
            per_iface().map(Vec::len).sum(),
            crate::fxhash::FxBuild,
        );
        set.extend(per_iface().flatten().map(|q| q.irq));
        set
    }

    /// Whether the /proc/interrupts row labelled `label` is one of `nic_irqs` (named rows such as
    /// `NMI` never are).
    pub fn is_nic_irq(
        nic_irqs: &std::collections::HashSet<u32, crate::fxhash::FxBuild>,
        label: &str,
    ) -> bool {
        label.parse().is_ok_and(|n: u32| nic_irqs.contains(&n))
    }

    /// Reads everything through `root`. On a live root the ioctl and netlink parts are asked of the
    /// kernel; on a capture they come from its record; on a plain fixture tree they are Unavailable.
    pub fn take(root: &Root) -> Sample {
        Sample::take_recorded(root).0
    }

    /// Like `take`, also returning what came from ioctls and netlink, which a capture must keep
    /// because it cannot be a file.
    pub fn take_recorded(root: &Root) -> (Sample, KernelRecord) {
        read(root, &mut Kept::default())
    }

    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.value()?.iter().find(|i| i.name == name)
    }
}

/// Takes sample after sample of one root, cheaply. `Sample::take` is the one-shot form; a
/// sampler's samples differ from it in four documented ways, each because a 512-CPU host would
/// otherwise cost tens of milliseconds per sample:
///
/// - **Open files**: kernel files stay open and are re-read from offset 0 into one reused buffer
///   (`Root::keep_open`); files the samples no longer read (a removed interface) are closed within
///   two settings periods.
///   Likewise the rtnetlink and generic-netlink sockets (the netdev family resolved once) and the
///   ethtool ioctl socket are opened once and kept, a netlink socket anew after an error.
/// - **Settings are re-read in turn**, each at least every `SETTINGS_EVERY` samples and every
///   `SETTINGS_MAX_AGE`, whichever comes first: an interface's sysfs attributes, queues (RPS/XPS
///   masks), IRQs and their affinities, ethtool rings/channels/coalescing/features; sysctls;
///   CPUs and NUMA nodes; the environment; the netdev netlink family's queues and NAPI instances
///   (`queue-get`, `napi-get`), which are also read again whenever an interface's settings are,
///   as its IRQs are mapped to queues through them (its queue statistics, `qstats-get`, are
///   counters). An interface's TX queue settings (XPS, BQL, tx_maxrate), which nothing on the
///   receive path reads, only with every `TX_QUEUES_EVERY`th re-read of its settings, or at
///   once when its TX queues are other ones. Counters are read every sample, and so is what a
///   setting's age could make
///   wrong: the interface list, each ifindex (a re-created or renamed interface is read anew at
///   once; live, the ifindex the rtnetlink dump gives for the name, as kept files follow their
///   device through renames) and the link state (flags, operstate, carrier; live, read again
///   only when the link dump made every sample shows a change, see `rtnl::LinkSignal`). Each
///   part starts at a different age, so the re-reads are spread over the samples rather than all
///   falling on one.
/// - **Only the NIC IRQs' per-CPU counts** are read, from `/sys/kernel/irq/N/per_cpu_count`
///   (`Interrupts::partial` says so), instead of all of /proc/interrupts, when every one of them
///   can be read whole; else /proc/interrupts as in `Sample::take`. A quiet IRQ, whose count in
///   the `intr` line of /proc/stat (read first) has not moved since its file was last read, keeps
///   that row instead, as it cannot have changed; without an `intr` line every file is read.
/// - **The UDP socket table is re-read only when it can have changed what counts**: when a UDP
///   error counter (`Udp`/`UdpLite` `InErrors`, v4 or v6) moved, as the kernel raises one of them
///   with every `sk_drops` it raises; else at the settings pace. Sockets opened and closed in
///   between without dropping are not seen, and queue lengths are as of the last read. Read
///   from /proc, only the rows whose text changed since the last read are parsed
///   (`udp::ParsedText`): the sockets are those a full parse gives. A table re-read with its rows
///   in place names the rows that changed (`udp::Sockets::changed_since`): the delta then looks
///   at those alone, and the table two reads old, once no sample holds it, becomes the new one
///   by those rows instead of a copy of the whole table.
///
/// Open files belong to the network namespace they were opened in: use a sampler on one thread
/// that stays in one namespace. On a big host it holds thousands of descriptors, so `new` raises
/// the soft RLIMIT_NOFILE towards the hard limit.
pub struct Sampler {
    root: Root,
    kept: Kept,
}

/// A sampler re-reads each setting at least once in this many samples...
pub const SETTINGS_EVERY: u64 = 30;

/// ...and once it is this old, for long intervals (a scrape every 15 s, a report every minute).
pub const SETTINGS_MAX_AGE: Duration = Duration::from_secs(30);

/// An interface's TX queue settings (XPS, BQL, tx_maxrate) are read again with every this many
/// re-reads of its settings (2 minutes at the settings pace), or at once when its TX queues
/// changed: nothing on the receive path depends on them, and on a host with 64 TX queues a NIC
/// they are half the files of its settings.
pub const TX_QUEUES_EVERY: u32 = 4;

impl Sampler {
    /// A sampler that re-reads each setting every `SETTINGS_EVERY` samples or `SETTINGS_MAX_AGE`.
    pub fn new(root: Root) -> Sampler {
        Sampler::every(root, SETTINGS_EVERY)
    }

    /// A sampler that re-reads each setting every `every` samples (1: every sample), or once it is
    /// `SETTINGS_MAX_AGE` old.
    pub fn every(root: Root, every: u64) -> Sampler {
        let _ = crate::root::raise_nofile_limit(65_536);
        let clock = Clock {
            taken: 0,
            every: every.max(1),
            parts: 0,
            max_age: SETTINGS_MAX_AGE,
            now: Instant::now(),
        };
        Sampler { root: root.keep_open(), kept: Kept { clock: Some(clock), ..Kept::default() } }
    }

    pub fn take(&mut self) -> Sample {
        if let Some(c) = &mut self.kept.clock {
            c.now = Instant::now();
        }
        let (s, _) = read(&self.root, &mut self.kept);
        // A setting is read at least once a period: its files stay open that long.
        let period = self.kept.clock.as_ref().map_or(1, |c| c.every);
        self.root.close_unused(period.saturating_add(1));
        if let Some(c) = &mut self.kept.clock {
            c.taken += 1;
        }
        s
    }

    pub fn root(&self) -> &Root {
        &self.root
    }
}

/// What a `Sampler` carries from one sample to the next. `Default` is the one-shot form: no
/// clock, so every part is read and nothing is kept.
#[derive(Default)]
struct Kept {
    clock: Option<Clock>,
    host: Option<Aged<(Avail<String>, Avail<String>)>>,
    cpus: Option<Aged<cpus::Cpus>>,
    sysctls: Option<Aged<sysctl::Sysctls>>,
    environment: Option<Aged<environment::Environment>>,
    interfaces: HashMap<String, Aged<Settings>>,
    udp: Option<KeptUdp>,
    /// The NIC IRQs' per_cpu_count rows, reused while /proc/stat says an IRQ did not fire.
    irq_counts: irq::KeptCounts,
    /// The last text of /proc/net/udp{,6}, so a re-read parses only the rows that changed.
    udp_text: udp::ParsedFiles,
    /// One ioctl socket for every ethtool read of the run (opened on first use).
    ethtool: Option<Result<ethtool::EthtoolSocket, String>>,
    /// The guarded GSTATS buffer of every interface's `ethtool -S` (grown to the largest).
    ethtool_stats: Option<ethtool::ioctl::IoBuf>,
    /// The rtnetlink socket of the link dump (live), opened on first use and kept; closed after
    /// an error that can leave a reply queued in it, and opened anew at the next sample.
    rtnl: Option<netlink::socket::NlSocket>,
    /// Likewise the generic-netlink socket with the netdev family resolved; `Err` when this
    /// kernel has no such family.
    netdev: Option<Result<netlink::netdev::NetdevSocket, Unavailable>>,
    /// The netdev family's queues and NAPI instances: settings (`queue-get`, `napi-get`).
    netdev_settings: Option<Aged<NetdevSettings>>,
    /// The record of a capture (not live), loaded on the first sample.
    record: Option<KernelRecord>,
    /// The counter names of the last read of each counter file, shared by the next.
    names: KeptNames,
}

#[derive(Default)]
struct KeptNames {
    netdev: Names,
    snmp: Names,
    netstat: Names,
    snmp6: Names,
}

struct Clock {
    /// Samples taken before this one.
    taken: u64,
    every: u64,
    /// Parts kept so far: each new part starts at another age (see `due_after_read`).
    parts: u64,
    max_age: Duration,
    /// When this sample began.
    now: Instant,
}

impl Clock {
    /// When a part read now is read again: `every` samples or `max_age` on, except that a part
    /// read for the first time comes due sooner by its turn among all parts, which spreads the
    /// re-reads of a whole host over the period instead of stacking them on one sample.
    fn due_after_read(&mut self, first: bool) -> Due {
        let mut turns = self.every;
        if first {
            turns -= self.parts % self.every;
            self.parts += 1;
        }
        let age = self.max_age.mul_f64(turns as f64 / self.every as f64);
        Due { sample: self.taken + turns, at: self.now + age }
    }

    fn is_due(&self, d: &Due) -> bool {
        self.taken >= d.sample || self.now >= d.at
    }
}

/// When a kept part is read again: at this sample or this time, whichever comes first.
struct Due {
    sample: u64,
    at: Instant,
}

struct Aged<T> {
    due: Due,
    value: T,
}

/// An interface's settings, as a sampler keeps them (the IRQs already mapped to queues).
#[derive(Clone)]
struct Settings {
    sysfs: iface::SysfsIface,
    queues: Arc<Avail<queues::Queues>>,
    irqs: Arc<Avail<Vec<irq::NicIrq>>>,
    ethtool: ethtool::EthtoolInfo,
    /// What the live link dump said of the link's state when `sysfs`' link state was read; the
    /// link state is read again when a dump says otherwise. None off the running kernel: then
    /// it is read every sample.
    signal: Option<netlink::rtnl::LinkSignal>,
    /// Settings reads since `queues`' TX queues were read (0: by this one).
    tx_reads_ago: u32,
}

type NetdevSettings = (Avail<Vec<netlink::Queue>>, Avail<Vec<netlink::Napi>>);

struct KeptUdp {
    due: Due,
    /// The UDP error counters when the table was read.
    errors: u64,
    sockets: Arc<udp::UdpSockets>,
}

impl Kept {
    /// The kept value of a part, or a fresh read when there is none or it is due.
    fn part<T: Clone>(
        clock: &mut Option<Clock>,
        slot: &mut Option<Aged<T>>,
        read: impl FnOnce() -> T,
    ) -> T {
        Kept::part_unless_stale(clock, slot, false, read)
    }

    /// As `part`, read afresh also when `stale` (something read now depends on it).
    fn part_unless_stale<T: Clone>(
        clock: &mut Option<Clock>,
        slot: &mut Option<Aged<T>>,
        stale: bool,
        read: impl FnOnce() -> T,
    ) -> T {
        let Some(c) = clock else { return read() };
        if let Some(a) = slot.as_ref().filter(|a| !stale && !c.is_due(&a.due)) {
            return a.value.clone();
        }
        let value = read();
        *slot = Some(Aged { due: c.due_after_read(slot.is_none()), value: value.clone() });
        value
    }
}

impl Kept {
    /// Every link's stats64, on the kept rtnetlink socket.
    fn links(&mut self) -> Avail<Vec<netlink::Link>> {
        use netlink::rtnl::LINKS_WHAT;
        let sock = match &mut self.rtnl {
            Some(s) => s,
            None => match netlink::socket::NlSocket::open(libc::NETLINK_ROUTE) {
                Ok(s) => self.rtnl.insert(s),
                Err(e) => return Avail::Unavailable(Unavailable::from_io(LINKS_WHAT, &e)),
            },
        };
        let links = netlink::read_links_on(sock);
        if links.as_ref().is_err_and(netlink::NlError::spoils_socket) {
            self.rtnl = None;
        }
        links.map_err(|e| e.to_unavailable(LINKS_WHAT)).into()
    }

    /// The netdev family's parts, on the kept generic-netlink socket: the queue statistics every
    /// sample, the queues and NAPI instances as settings, read afresh also when `map_irqs` (an
    /// interface's settings are read now, and its IRQs are mapped to queues through them).
    fn netdev_genl(&mut self, map_irqs: bool) -> Avail<netlink::NetdevGenl> {
        use netlink::netdev::NetdevSocket;
        let sock = match &mut self.netdev {
            Some(Ok(s)) => s,
            Some(Err(u)) => return Avail::Unavailable(u.clone()),
            None => match NetdevSocket::open() {
                Ok(Some(s)) => self.netdev.insert(Ok(s)).as_mut().expect("just inserted"),
                Ok(None) => {
                    let u = NetdevSocket::no_family();
                    self.netdev = Some(Err(u.clone()));
                    return Avail::Unavailable(u);
                }
                Err(u) => return Avail::Unavailable(u),
            },
        };
        let (queues, napis) =
            Kept::part_unless_stale(&mut self.clock, &mut self.netdev_settings, map_irqs, || {
                sock.queues_and_napis()
            });
        let (qstats, qstats_device) = sock.qstats();
        if !sock.is_usable() {
            self.netdev = None;
            // What the failed socket answered is not kept either.
            self.netdev_settings = None;
        }
        Avail::Value(netlink::NetdevGenl { queues, napis, qstats, qstats_device })
    }
}

/// The kept ethtool ioctl socket, opened on first use.
fn ethtool_socket(
    slot: &mut Option<Result<ethtool::EthtoolSocket, String>>,
) -> Result<&ethtool::EthtoolSocket, &String> {
    slot.get_or_insert_with(|| {
        ethtool::EthtoolSocket::new().map_err(|e| format!("cannot open a socket: {e}"))
    })
    .as_ref()
}

/// The sum of the UDP error counters that move with every per-socket drop; `None` when one of
/// the files cannot be read, which makes every sample read the sockets.
fn udp_errors(snmp: &Avail<snmp::Snmp>, snmp6: &Avail<snmp::Counters>) -> Option<u64> {
    let (snmp, snmp6) = (snmp.value()?, snmp6.value()?);
    let v4 = ["Udp", "UdpLite"].iter().filter_map(|sec| snmp.get(sec, "InErrors"));
    let v6 = ["Udp6InErrors", "UdpLite6InErrors"].iter().filter_map(|k| snmp6.get(*k).copied());
    Some(v4.chain(v6).fold(0u64, |t, v| t.wrapping_add(v as u64)))
}

/// Reads a sample through `root`: everything when `kept` has no clock (`Sample::take`), else what
/// is due (`Sampler`).
fn read(root: &Root, kept: &mut Kept) -> (Sample, KernelRecord) {
    let sampler = kept.clock.is_some();
    // A live sampler asks netlink on its kept sockets, and ethtool and sock_diag itself, as far
    // as they are due; the link dump comes first, as it tells which device has each name now.
    let live_sampler = sampler && root.is_live() && !root.is_recording();
    let links = live_sampler.then(|| kept.links());
    let (names, dirs) = match iface::list_dirs(root) {
        Avail::Value(l) => {
            let (names, dirs): (Vec<_>, Vec<_>) = l.into_iter().unzip();
            (Avail::Value(names), dirs)
        }
        Avail::Unavailable(u) => (Avail::Unavailable(u), Vec::new()),
    };
    let name_list = names.value().map(Vec::as_slice).unwrap_or(&[]);
    // Each name's link in the live dump: found once, by hash (a container host has thousands).
    let live_links = links.as_ref().and_then(|l| l.value()).map(Vec::as_slice).unwrap_or(&[]);
    let live_at = positions(name_list, live_links.iter().map(|l| l.ifname.as_str()));
    // Each interface whose kept settings still hold, with its directory (as listing it found);
    // `None` for one read afresh now.
    let kept_dirs: Vec<Option<String>> = name_list
        .iter()
        .zip(dirs)
        .zip(&live_at)
        .map(|((name, dir), at)| {
            let (c, k) = (kept.clock.as_ref()?, kept.interfaces.get(name)?);
            // The device behind the name, by its ifindex: from the link dump when it has the name
            // (in the sampler's own network namespace sysfs and rtnetlink agree), else from sysfs.
            let ifindex = match at {
                Some(i) => Avail::Value(live_links[*i].ifindex),
                None => iface::read_ifindex(root, &dir),
            };
            if ifindex != k.value.sysfs.ifindex {
                // Another device has the name (a rename, a re-created device): files kept open
                // under it follow the old device.
                root.forget_under(&dir);
                return None;
            }
            (!c.is_due(&k.due)).then_some(dir)
        })
        .collect();
    let mut record = if let Some(links) = links {
        let map_irqs = kept_dirs.iter().any(Option::is_none);
        KernelRecord::live(links, kept.netdev_genl(map_irqs))
    } else if sampler && !root.is_live() {
        // A capture's record does not change: loaded (and its JSON parsed) once per sampler.
        kept.record.get_or_insert_with(|| KernelRecord::obtain(root, name_list)).clone()
    } else {
        KernelRecord::obtain(root, name_list)
    };
    let mut proc_dev = netdev::read(root, &mut kept.names.netdev);
    let snmp = snmp::read_snmp(root, &mut kept.names.snmp);
    let snmp6 = snmp::read_snmp6(root, &mut kept.names.snmp6);
    let cpus = Kept::part(&mut kept.clock, &mut kept.cpus, || cpus::read(root));

    // Each interface's settings, fresh or kept; the fresh ones get their IRQs mapped to queues
    // once the IRQ counts are read (the mapping may fall back to /proc/interrupts).
    let mut fresh = Vec::new();
    let mut settings = Vec::new();
    // The record's links are the live dump's (the same positions), or a capture's.
    let link_at = match live_sampler {
        true => live_at,
        false => {
            let recorded = record.links.value().map(Vec::as_slice).unwrap_or(&[]);
            positions(name_list, recorded.iter().map(|l| l.ifname.as_str()))
        }
    };
    let record_links = record.links.value().map(Vec::as_slice).unwrap_or(&[]);
    for ((name, dir), at) in name_list.iter().zip(kept_dirs).zip(&link_at) {
        let link = at.map(|i| &record_links[i]);
        let kept_one = dir.and_then(|dir| Some((kept.interfaces.get_mut(name)?, dir)));
        let s = match kept_one {
            Some((k, dir)) => {
                // The link state is read again unless the live link dump shows it as it was
                // when it was last read (the dump is made every sample anyway): a dozen reads
                // fewer a sample on a quiet host. The kept copy holds what was read last.
                let signal = link.filter(|_| live_sampler).map(|l| l.signal);
                if signal.is_none() || signal != k.value.signal {
                    iface::refresh(root, &dir, &mut k.value.sysfs);
                    k.value.signal = signal;
                }
                let mut s = k.value.clone();
                // A driver without `ethtool -S` stays without it: only asked at the next re-read.
                if root.is_live() && s.ethtool.stats.is_available() {
                    match ethtool_socket(&mut kept.ethtool) {
                        Ok(sock) => {
                            let buf = &mut kept.ethtool_stats;
                            if ethtool::read_stats_again(sock, name, &mut s.ethtool.stats, buf)
                                && let Some(k) = kept.interfaces.get_mut(name)
                            {
                                // The names changed (a channel count, a reset): the next
                                // samples go by the new ones.
                                k.value.ethtool.stats = s.ethtool.stats.clone();
                            }
                        }
                        Err(why) => {
                            let why = why.clone();
                            s.ethtool.stats = Avail::missing(format!("{name}: SIOCETHTOOL"), why);
                        }
                    }
                } else if !root.is_live() {
                    s.ethtool = record.ethtool_of(name);
                }
                s
            }
            None => {
                fresh.push(settings.len());
                read_settings(root, name, link, &record, sampler.then_some(&mut *kept))
            }
        };
        settings.push(s);
    }

    // Before the IRQ counts: a kept per_cpu_count row is reused only when its IRQ's `intr` count is
    // what it was before that row was read, which proves no interrupt in between.
    let (stat, intr) = stat::read_with_intr(root);
    let interrupts = match (&kept.clock, cpus.possible.value()) {
        (Some(_), Some(possible)) => {
            let nic: Vec<u32> = settings
                .iter()
                .flat_map(|s| s.irqs.value().into_iter().flatten().map(|q| q.irq))
                .collect();
            irq::read_counts(root, &nic, possible, intr.as_ref(), &mut kept.irq_counts)
                .map(Avail::Value)
        }
        _ => None,
    }
    .unwrap_or_else(|| interrupts::read(root));

    for &i in &fresh {
        let s = &mut settings[i];
        if let Avail::Value(list) = Arc::make_mut(&mut s.irqs) {
            let ifindex = s.sysfs.ifindex.value().copied();
            map_irq_queues(list, &s.sysfs.name, ifindex, &interrupts, &record.netdev_genl);
        }
        if let Some(c) = &mut kept.clock {
            let first = !kept.interfaces.contains_key(&s.sysfs.name);
            let aged = Aged { due: c.due_after_read(first), value: s.clone() };
            kept.interfaces.insert(s.sysfs.name.clone(), aged);
        }
    }
    kept.interfaces.retain(|name, _| name_list.contains(name));

    let dev_at = match &proc_dev {
        Avail::Value(d) => positions(name_list, d.interfaces.iter().map(|r| r.name.as_str())),
        Avail::Unavailable(_) => Vec::new(),
    };
    let interfaces = names.map(|names| {
        names
            .into_iter()
            .zip(settings)
            .enumerate()
            .map(|(i, (name, s))| {
                // Names are unique: each row's counters move into their one interface.
                let proc_net_dev = match &mut proc_dev {
                    Avail::Value(d) => match dev_at[i].map(|at| &mut d.interfaces[at]) {
                        Some(r) => Avail::Value(std::mem::take(&mut r.counters)),
                        None => Avail::missing(
                            "/proc/net/dev",
                            "no row for this interface (it lives in another network namespace)",
                        ),
                    },
                    Avail::Unavailable(u) => Avail::Unavailable(u.clone()),
                };
                // A sampler's record ends with this sample: its counters move, not copied.
                let stats64 = match &mut record.links {
                    Avail::Value(ls) => match link_at[i].map(|at| &mut ls[at]) {
                        Some(l) if sampler => Avail::Value(std::mem::take(&mut l.stats64)),
                        Some(l) => Avail::Value(l.stats64.clone()),
                        None => Avail::missing(
                            "rtnetlink IFLA_STATS64",
                            "no link of this name in the reader's network namespace",
                        ),
                    },
                    Avail::Unavailable(u) => Avail::Unavailable(u.clone()),
                };
                let Settings { sysfs, queues, irqs, ethtool, .. } = s;
                Interface { name, sysfs, proc_net_dev, stats64, queues, irqs, ethtool }
            })
            .collect()
    });

    let udp = read_udp(root, kept, &mut record, udp_errors(&snmp, &snmp6));
    let (hostname, kernel) = Kept::part(&mut kept.clock, &mut kept.host, || {
        (
            read_line(root, "/proc/sys/kernel/hostname"),
            read_line(root, "/proc/sys/kernel/osrelease"),
        )
    });
    let host = Host {
        hostname,
        kernel,
        taken_at_ms: record.taken_at_ms,
        boottime_ns: record.boottime_ns,
        source: if root.is_live() { "live".into() } else { root.base().display().to_string() },
        privileged: record.privileged,
    };

    let sample = Sample {
        format: FORMAT_VERSION,
        host,
        cpus,
        interfaces,
        interrupts,
        softirqs: softirqs::read(root),
        stat,
        softnet: softnet::read(root),
        netdev_genl: record.netdev_genl.clone(),
        sysctls: Kept::part(&mut kept.clock, &mut kept.sysctls, || sysctl::read(root)),
        snmp,
        netstat: snmp::read_netstat(root, &mut kept.names.netstat),
        snmp6,
        udp,
        packet: packet::read(root),
        environment: Kept::part(&mut kept.clock, &mut kept.environment, || environment::read(root)),
    };
    (sample, record)
}

/// Where each of `names` stands among `keys` (names are unique in both), by one hash of `keys`
/// rather than a search per name.
fn positions<'a>(names: &[String], keys: impl Iterator<Item = &'a str>) -> Vec<Option<usize>> {
    let at: HashMap<&str, usize, crate::fxhash::FxBuild> =
        keys.enumerate().map(|(i, k)| (k, i)).collect();
    names.iter().map(|n| at.get(n.as_str()).copied()).collect()
}

/// One interface's settings read now; `link` is its link in the record. `kept` (a live sampler)
/// lends its ethtool socket.
fn read_settings(
    root: &Root,
    name: &str,
    link: Option<&netlink::Link>,
    record: &KernelRecord,
    kept: Option<&mut Kept>,
) -> Settings {
    let live = root.is_live() && !root.is_recording();
    // rtnetlink gave every counter of statistics/ for all interfaces in one call; a capture
    // still records the files, so its replay reads them like a host.
    let sysfs = match link {
        Some(_) if live => {
            let why = Unavailable::new(
                format!("{}/{name}/statistics", iface::CLASS_NET),
                STATS_FROM_NETLINK,
            );
            iface::read_but_statistics(root, name, Some(why))
        }
        _ => iface::read(root, name),
    };
    // The TX queues of the last read of this device, while they are younger than
    // `TX_QUEUES_EVERY` settings reads.
    let earlier = kept.as_deref().and_then(|k| k.interfaces.get(name)).map(|a| &a.value);
    let earlier = earlier
        .filter(|e| e.tx_reads_ago + 1 < TX_QUEUES_EVERY)
        .filter(|e| e.sysfs.ifindex.is_available() && e.sysfs.ifindex == sysfs.ifindex);
    let earlier_tx = earlier.and_then(|e| Some(e.queues.value()?.tx.as_slice()));
    let (queues, kept_tx) = queues::read_keeping_tx(root, name, earlier_tx);
    let tx_reads_ago = match (kept_tx, earlier) {
        (true, Some(e)) => e.tx_reads_ago + 1,
        _ => 0,
    };
    let queues = Arc::new(queues);
    let ethtool = match kept {
        Some(k) if root.is_live() && !root.is_recording() => match ethtool_socket(&mut k.ethtool) {
            Ok(sock) => ethtool::read_with(sock, name),
            Err(why) => ethtool::EthtoolInfo::all_missing(Unavailable::new(
                format!("{name}: SIOCETHTOOL"),
                why.clone(),
            )),
        },
        _ => record.ethtool_of(name),
    };
    let irqs = Arc::new(irq::read(root, &sysfs));
    let signal = link.filter(|_| live).map(|l| l.signal);
    Settings { sysfs, queues, irqs, ethtool, signal, tx_reads_ago }
}

/// The UDP socket table: read when due (always for a one-shot sample), else the kept one.
fn read_udp(
    root: &Root,
    kept: &mut Kept,
    record: &mut KernelRecord,
    errors: Option<u64>,
) -> Arc<udp::UdpSockets> {
    let Some(c) = &mut kept.clock else {
        return Arc::new(udp::read_with_sock_diag(root, record.udp_sock_diag.as_ref(), None));
    };
    if let Some(k) = &kept.udp
        && !c.is_due(&k.due)
        && Some(k.errors) == errors
    {
        return Arc::clone(&k.sockets);
    }
    if root.is_live() && !root.is_recording() {
        record.udp_sock_diag = Some(netlink::sockdiag::read_udp());
    }
    let parsed = Some(&mut kept.udp_text);
    let sockets = Arc::new(udp::read_with_sock_diag(root, record.udp_sock_diag.as_ref(), parsed));
    kept.udp_text.keep(Arc::clone(&sockets));
    kept.udp = errors.map(|errors| KeptUdp {
        due: c.due_after_read(kept.udp.is_none()),
        errors,
        sockets: Arc::clone(&sockets),
    });
    sockets
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
    fn parts_come_due_by_count_or_by_age_and_start_staggered() {
        let mut c = Clock {
            taken: 0,
            every: 4,
            parts: 0,
            max_age: Duration::from_secs(3600),
            now: Instant::now(),
        };
        // Four new parts: due after 4, 3, 2 and 1 samples, so one re-read per sample.
        let dues: Vec<Due> = (0..4).map(|_| c.due_after_read(true)).collect();
        assert_eq!(dues.iter().map(|d| d.sample).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
        c.taken = 2;
        let due_now: Vec<bool> = dues.iter().map(|d| c.is_due(d)).collect();
        assert_eq!(due_now, vec![false, false, true, true]);
        // Read again: a full period on, whatever its first turn was.
        assert_eq!(c.due_after_read(false).sample, 6);
        // By age: a long interval reaches max_age before the count.
        c.max_age = Duration::from_millis(1);
        let d = c.due_after_read(false);
        assert!(!c.is_due(&d));
        c.now += Duration::from_millis(2);
        assert!(c.is_due(&d), "older than max_age");
    }

    /// Points descriptor `fd` at /dev/null, so the next netlink request on it fails (ENOTSOCK)
    /// the way a socket error would.
    fn spoil(fd: std::os::fd::RawFd) {
        use std::os::fd::AsRawFd;
        let null = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: both descriptors are open; `fd` now names /dev/null until its owner closes it.
        assert!(unsafe { libc::dup2(null.as_raw_fd(), fd) } >= 0);
    }

    fn lo_stats64(s: &Sample) -> Avail<u64> {
        s.interface("lo").expect("lo").stats64.as_ref().map(|m| m["rx_packets"])
    }

    #[test]
    fn kept_netlink_sockets_are_reused_and_opened_anew_after_an_error() {
        use std::os::fd::AsRawFd;
        let qstats = |s: &Sample| s.netdev_genl.value().is_some_and(|g| g.qstats.is_available());
        let mut sampler = Sampler::new(Root::live());
        let first = sampler.take();
        assert!(lo_stats64(&first).is_available());
        let rtnl = sampler.kept.rtnl.as_ref().map(AsRawFd::as_raw_fd).expect("kept rtnl socket");
        let netdev = match &sampler.kept.netdev {
            Some(Ok(s)) => Some(s.as_raw_fd()),
            _ => None, // a kernel without the netdev family
        }
        .filter(|_| qstats(&first));
        assert!(lo_stats64(&sampler.take()).is_available());
        assert_eq!(sampler.kept.rtnl.as_ref().map(AsRawFd::as_raw_fd), Some(rtnl), "reused");

        spoil(rtnl);
        let failed = sampler.take();
        assert!(!lo_stats64(&failed).is_available(), "the dump failed on the spoiled socket");
        assert!(sampler.kept.rtnl.is_none(), "a failed socket is not kept");
        assert!(lo_stats64(&sampler.take()).is_available(), "a new socket at the next sample");

        let Some(netdev) = netdev else { return };
        spoil(netdev);
        let failed = sampler.take();
        assert!(!qstats(&failed));
        assert!(sampler.kept.netdev.is_none(), "a failed socket is not kept");
        assert!(qstats(&sampler.take()), "a new socket at the next sample");
    }

    #[test]
    fn netdev_queues_and_napis_are_settings_read_again_with_an_interface() {
        let mut sampler = Sampler::every(Root::live(), 1000);
        let first = sampler.take();
        if !first.netdev_genl.is_available() {
            return; // a kernel without the netdev family
        }
        // A value no read gives: seen in a sample only if the kept settings are used.
        fn marker<T>() -> Avail<T> {
            Avail::missing("kept", "marker")
        }
        let kept = sampler.kept.netdev_settings.as_mut().expect("netdev settings kept");
        kept.value = (marker(), marker());
        let genl = sampler.take().netdev_genl.into_value().expect("netdev genl");
        assert_eq!((genl.queues, genl.napis), (marker(), marker()), "kept, not read again");
        assert_eq!(
            genl.qstats.is_available(),
            first.netdev_genl.value().unwrap().qstats.is_available()
        );

        // An interface read afresh (new, or re-created) maps its IRQs through the queues and
        // NAPIs: they are read again with it.
        sampler.kept.interfaces.remove("lo");
        let genl = sampler.take().netdev_genl.into_value().expect("netdev genl");
        assert_ne!(genl.queues, marker(), "read again with the interface");
        assert_ne!(genl.napis, marker());
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
