//! The drop path: every drop counter of a Delta placed in its stage of the receive path, in path
//! order, with what entered each stage, what it dropped, and each stage's share of all drops.
//!
//! Counters that overlap are shown but added once: `IpExt.InCsumErrors` is inside
//! `Ip.InHdrErrors`, `Udp.InErrors` is the sum of others and is left out, backlog drops also
//! raise the device's `rx_dropped`, a driver's ring counter can be the netdev's `rx_missed_errors`
//! under another name. Drops no counter names are placed by difference: netfilter is what IP
//! received but neither delivered, forwarded nor counted as an IP error (KERNEL.md §5.2, §9).

use crate::counters;
use crate::delta::{Delta, IfaceRates, Rate, Rates};
use crate::sample::Sample;
use serde::{Deserialize, Serialize};

/// A count over the interval (or since boot) and its rate, when the interval is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    pub count: u64,
    pub per_sec: Option<f64>,
}

impl Amount {
    pub fn plus(mut self, o: Amount) -> Amount {
        self.add(o);
        self
    }

    pub fn add(&mut self, o: Amount) {
        self.count = self.count.saturating_add(o.count);
        self.per_sec = match (self.per_sec, o.per_sec) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    pub fn of(count: u64, secs: Option<f64>) -> Amount {
        Amount { count, per_sec: secs.map(|s| count as f64 / s) }
    }

    /// Adds `o` to a sum that starts empty (None: nothing to add up yet).
    pub fn accumulate(sum: &mut Option<Amount>, o: Amount) {
        match sum {
            Some(s) => s.add(o),
            None => *sum = Some(o),
        }
    }
}

/// A Rate as a count: a restarted counter counts what it saw since the restart (a lower bound);
/// something new, gone or incomparable counts nothing.
pub fn amount(rate: &Rate, secs: Option<f64>) -> Option<Amount> {
    match rate {
        Rate::Value { delta, per_sec } => Some(Amount { count: *delta, per_sec: *per_sec }),
        Rate::Reset { at_least, .. } => Some(Amount::of(*at_least, secs)),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageId {
    Nic,
    Irq,
    Softirq,
    Backlog,
    Ip,
    Netfilter,
    Transport,
    Socket,
}

impl StageId {
    /// In path order, which is also the order of the variants (`Builder` indexes by `id as usize`).
    pub const ALL: [StageId; 8] = [
        StageId::Nic,
        StageId::Irq,
        StageId::Softirq,
        StageId::Backlog,
        StageId::Ip,
        StageId::Netfilter,
        StageId::Transport,
        StageId::Socket,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StageId::Nic => "nic",
            StageId::Irq => "irq",
            StageId::Softirq => "softirq",
            StageId::Backlog => "backlog",
            StageId::Ip => "ip",
            StageId::Netfilter => "netfilter",
            StageId::Transport => "transport",
            StageId::Socket => "socket",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            StageId::Nic => "NIC / driver ring",
            StageId::Irq => "hard IRQ",
            StageId::Softirq => "softirq / NAPI",
            StageId::Backlog => "backlog / RPS",
            StageId::Ip => "IP",
            StageId::Netfilter => "netfilter",
            StageId::Transport => "UDP / TCP",
            StageId::Socket => "socket receive buffers",
        }
    }

    /// What `entered` counts at this stage.
    fn entered_what(self) -> &'static str {
        match self {
            StageId::Nic => "packets received by the interfaces, plus their ring drops",
            StageId::Irq => "interrupts of the NIC queues (not packets)",
            StageId::Softirq | StageId::Backlog => "packets processed by net_rx_action, plus drops",
            StageId::Ip => "Ip.InReceives + Ip6InReceives",
            StageId::Netfilter => "IP packets that passed IP's own checks",
            StageId::Transport => "Ip.InDelivers + Ip6InDelivers",
            StageId::Socket => "not counted by the kernel",
        }
    }
}

// `ALL` lists the variants in declaration order: checked when compiling.
const _: () = {
    let mut i = 0;
    while i < StageId::ALL.len() {
        assert!(StageId::ALL[i] as usize == i, "StageId::ALL out of declaration order");
        i += 1;
    }
};

/// One drop counter in its stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drop {
    /// The kernel's name, MIB counters with their section (`Udp.RcvbufErrors`, `Udp6NoPorts`).
    pub counter: String,
    /// The interface or CPU the counter belongs to; none for a host-wide (netns-wide) MIB.
    #[serde(rename = "where")]
    pub where_: Option<String>,
    pub count: u64,
    pub per_sec: Option<f64>,
    /// Of all counted drops on the path.
    pub share: Option<f64>,
    /// False when the drops are already inside another counter's count (shown for detail) or the
    /// counter is a sign of pressure rather than a drop.
    pub counted: bool,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub stage: StageId,
    pub title: String,
    pub entered: Option<Amount>,
    pub entered_what: String,
    pub dropped: Amount,
    pub share: Option<f64>,
    pub drops: Vec<Drop>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Path {
    pub stages: Vec<Stage>,
    pub total_dropped: Amount,
    /// The stage where most packets died; none when nothing was dropped.
    pub top_stage: Option<StageId>,
}

impl Path {
    pub fn stage(&self, id: StageId) -> &Stage {
        // Always all eight, built in `ALL` order.
        &self.stages[StageId::ALL.iter().position(|s| *s == id).unwrap_or(0)]
    }

    /// A drop counter by name (and place), wherever it is on the path.
    pub fn drop(&self, counter: &str, where_: Option<&str>) -> Option<&Drop> {
        self.stages
            .iter()
            .flat_map(|s| &s.drops)
            .find(|d| d.counter == counter && d.where_.as_deref() == where_)
    }

    /// Builds the path of `delta`; `later` is the sample the delta ends at (for settings and the
    /// IRQ → queue mapping).
    pub fn build(delta: &Delta, later: &Sample) -> Path {
        let secs = delta.secs();
        let mut b = Builder { secs, stages: Default::default() };
        let mib = Mib(delta);
        nic(&mut b, delta, later);
        irq(&mut b, delta, later);
        softnet(&mut b, delta);
        ip(&mut b, &mib);
        netfilter(&mut b, &mib);
        transport(&mut b, &mib);
        socket(&mut b, &mib);
        b.finish()
    }
}

struct Builder {
    secs: Option<f64>,
    /// What entered each stage and its drops, in `StageId::ALL` order: an array, as a map would
    /// hash the stage for each of the thousands of counters a big host adds.
    stages: [(Option<Amount>, Vec<Drop>); StageId::ALL.len()],
}

impl Builder {
    fn stage(&mut self, id: StageId) -> &mut (Option<Amount>, Vec<Drop>) {
        &mut self.stages[id as usize]
    }

    fn entered(&mut self, id: StageId, a: Amount) {
        self.stage(id).0.get_or_insert_with(Amount::default).add(a);
    }

    fn push(&mut self, id: StageId, d: Drop) {
        self.stage(id).1.push(d);
    }

    fn drop(&mut self, id: StageId, counter: &str, where_: Option<&str>, a: Amount, counted: bool) {
        self.push(
            id,
            Drop {
                counter: counter.into(),
                where_: where_.map(Into::into),
                count: a.count,
                per_sec: a.per_sec,
                share: None,
                counted,
                note: None,
            },
        );
    }

    fn note(&mut self, id: StageId, note: &str) {
        if let Some(d) = self.stage(id).1.last_mut() {
            d.note = Some(note.into());
        }
    }

    fn finish(self) -> Path {
        let mut stages: Vec<Stage> = StageId::ALL
            .into_iter()
            .zip(self.stages)
            .map(|(id, (entered, drops))| {
                let mut dropped = Amount { count: 0, per_sec: self.secs.map(|_| 0.0) };
                for d in drops.iter().filter(|d| d.counted) {
                    dropped.add(Amount { count: d.count, per_sec: d.per_sec });
                }
                Stage {
                    stage: id,
                    title: id.title().into(),
                    entered,
                    entered_what: id.entered_what().into(),
                    dropped,
                    share: None,
                    drops,
                }
            })
            .collect();
        let mut total = Amount { count: 0, per_sec: self.secs.map(|_| 0.0) };
        for s in &stages {
            total.add(s.dropped);
        }
        let share = |c: u64| (total.count > 0).then(|| c as f64 / total.count as f64);
        for s in &mut stages {
            s.share = share(s.dropped.count);
            for d in s.drops.iter_mut().filter(|d| d.counted) {
                d.share = share(d.count);
            }
        }
        let top_stage = stages
            .iter()
            .filter(|s| s.dropped.count > 0)
            // The first of equals in path order: where the packets died first.
            .fold(None::<&Stage>, |best, s| match best {
                Some(b) if b.dropped.count >= s.dropped.count => Some(b),
                _ => Some(s),
            })
            .map(|s| s.stage);
        Path { stages, total_dropped: total, top_stage }
    }
}

/// The MIB counters of a delta, as Amounts.
struct Mib<'a>(&'a Delta);

impl Mib<'_> {
    /// `Udp.RcvbufErrors` from /proc/net/snmp or /proc/net/netstat; `Udp6RcvbufErrors` from snmp6.
    fn get(&self, name: &str, secs: Option<f64>) -> Option<Amount> {
        amount(self.0.mib(name)?, secs)
    }

    fn sum(&self, names: &[&str], secs: Option<f64>) -> Amount {
        let mut a = Amount::of(0, secs);
        for n in names {
            if let Some(x) = self.get(n, secs) {
                a.add(x);
            }
        }
        a
    }
}

/// A MIB drop counter, listed even at zero so scripts find every counter the stage watches.
fn mib_drop(b: &mut Builder, m: &Mib, id: StageId, name: &str, counted: bool) -> Option<Amount> {
    let a = m.get(name, b.secs)?;
    b.drop(id, name, None, a, counted);
    Some(a)
}

// ── NIC ──────────────────────────────────────────────────────────────────────────────────

fn softnet_total(delta: &Delta, secs: Option<f64>) -> Amount {
    let mut a = Amount::of(0, secs);
    for c in delta.softnet.value().into_iter().flatten() {
        if let Some(x) = amount(&c.dropped, secs) {
            a.add(x);
        }
    }
    a
}

fn nic(b: &mut Builder, delta: &Delta, later: &Sample) {
    let secs = b.secs;
    let backlog = softnet_total(delta, secs);
    let mut rx_dropped_all = Amount::of(0, secs);
    for i in delta.interfaces.value().into_iter().flatten() {
        let driver = later
            .interface(&i.name)
            .and_then(|s| s.ethtool.driver.value())
            .map(|d| d.driver.as_str())
            .unwrap_or("");
        let name = Some(i.name.as_str());
        let get = |m: &Rates, k: &str| m.get(k).and_then(|r| amount(r, secs));
        let mut missed_moved = false;
        if let Some(m) = i.netdev() {
            if let Some(p) = get(m, "rx_packets") {
                b.entered(StageId::Nic, p);
            }
            if let Some(a) = get(m, "rx_missed_errors") {
                missed_moved = a.count > 0;
                push_if(b, StageId::Nic, "rx_missed_errors", name, a, true);
                b.entered(StageId::Nic, a);
            }
            for k in ["rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_length_errors"] {
                if let Some(a) = get(m, k) {
                    push_if(b, StageId::Nic, k, name, a, true);
                }
            }
            if let Some(a) = get(m, "rx_fifo_errors") {
                // igb folds MPC (rx_missed_errors) into rx_fifo_errors (KERNEL.md §1.5).
                let inside = driver == "igb" && missed_moved;
                if push_if(b, StageId::Nic, "rx_fifo_errors", name, a, !inside) && inside {
                    b.note(StageId::Nic, "igb: includes rx_missed_errors");
                }
            }
            if let Some(a) = get(m, "rx_nohandler")
                && push_if(b, StageId::Nic, "rx_nohandler", name, a, true)
            {
                b.note(StageId::Nic, "no protocol handler: an inactive bond slave or team port");
            }
            if let Some(a) = get(m, "rx_dropped") {
                rx_dropped_all.add(a);
                if push_if(b, StageId::Nic, "rx_dropped", name, a, false) {
                    b.note(StageId::Nic, "includes backlog drops (softnet.dropped)");
                }
            }
            if let Some(a) = get(m, "rx_otherhost_dropped")
                && push_if(b, StageId::Ip, "rx_otherhost_dropped", name, a, true)
            {
                b.note(StageId::Ip, "frames for another MAC address: no MIB counts them");
            }
        } else if let Some(m) = i.proc_net_dev.value() {
            if let Some(p) = get(m, "rx_packets") {
                b.entered(StageId::Nic, p);
            }
            if let Some(a) = get(m, "rx_drop") {
                rx_dropped_all.add(a);
                if push_if(b, StageId::Nic, "rx_drop", name, a, false) {
                    b.note(StageId::Nic, "/proc/net/dev: rx_dropped + rx_missed_errors");
                }
            }
        }
        driver_drops(b, i, driver, missed_moved);
        qstat_drops(b, i, missed_moved);
    }
    // Backlog drops raise both softnet's `dropped` and the device's `rx_dropped`; what the devices
    // dropped beyond that is the protocol dispatch (unknown ethertype) or the driver itself.
    let other = Amount::of(rx_dropped_all.count.saturating_sub(backlog.count), secs);
    if other.count > 0 {
        b.drop(StageId::Nic, "rx_dropped", Some("beyond the backlog"), other, true);
        b.note(
            StageId::Nic,
            "rx_dropped of all interfaces less softnet.dropped: frames of a protocol nothing \
             handles (unknown ethertype), or the driver's own drops",
        );
    }
}

/// Pushes a drop entry when it moved (interfaces have many counters; zeros would drown the path).
fn push_if(
    b: &mut Builder,
    id: StageId,
    k: &str,
    w: Option<&str>,
    a: Amount,
    counted: bool,
) -> bool {
    if a.count == 0 {
        return false;
    }
    b.drop(id, k, w, a, counted);
    true
}

fn driver_drops(b: &mut Builder, i: &IfaceRates, driver: &str, missed_moved: bool) {
    let Some(stats) = i.ethtool_stats.value() else { return };
    for (k, r) in stats {
        let Some(e) = counters::driver_drop(driver, k) else { continue };
        if e.name == "rx_missed_errors" {
            continue; // the netdev counter of the same name is already on the path
        }
        let Some(a) = amount(r, b.secs) else { continue };
        if push_if(b, StageId::Nic, k, Some(&i.name), a, !(e.same_as_missed && missed_moved)) {
            b.note(StageId::Nic, e.meaning);
        }
    }
}

/// netdev-genl per-device qstats: hardware drops the netdev counters may not show.
fn qstat_drops(b: &mut Builder, i: &IfaceRates, missed_moved: bool) {
    let Some(q) = i.qstats_device.value() else { return };
    for k in ["rx-hw-drop-overruns", "rx-hw-drops", "rx-hw-drop-ratelimits", "rx-alloc-fail"] {
        if let Some(a) = q.get(k).and_then(|r| amount(r, b.secs)) {
            // Overruns are the ring-full drops that rx_missed_errors reports when the driver fills it.
            let counted = !(k == "rx-hw-drop-overruns" && missed_moved);
            push_if(b, StageId::Nic, k, Some(&i.name), a, counted);
        }
    }
}

// ── IRQ, softirq, backlog ────────────────────────────────────────────────────────────────

fn irq(b: &mut Builder, delta: &Delta, later: &Sample) {
    let nic_irqs = later.nic_irqs();
    for r in delta.irqs.value().into_iter().flatten() {
        if Sample::is_nic_irq(&nic_irqs, &r.irq)
            && let Some(a) = amount(&r.total, b.secs)
        {
            b.entered(StageId::Irq, a);
        }
    }
}

fn softnet(b: &mut Builder, delta: &Delta) {
    let secs = b.secs;
    let mut squeeze = Amount::of(0, secs);
    for c in delta.softnet.value().into_iter().flatten() {
        // Named only when it dropped: 512 names a second otherwise.
        let cpu = || format!("cpu{}", c.cpu);
        let (p, d) = (amount(&c.processed, secs), amount(&c.dropped, secs));
        for a in [p, d].into_iter().flatten() {
            b.entered(StageId::Softirq, a);
            b.entered(StageId::Backlog, a);
        }
        if let Some(d) = d.filter(|d| d.count > 0) {
            push_if(b, StageId::Backlog, "softnet.dropped", Some(&cpu()), d, true);
        }
        if let Some(f) = amount(&c.flow_limit_count, secs).filter(|f| f.count > 0)
            && push_if(b, StageId::Backlog, "softnet.flow_limit_count", Some(&cpu()), f, false)
        {
            b.note(StageId::Backlog, "inside softnet.dropped: the flow limit dropped these");
        }
        if let Some(t) = amount(&c.time_squeeze, secs) {
            squeeze.add(t);
        }
    }
    if squeeze.count > 0 {
        b.drop(StageId::Softirq, "softnet.time_squeeze", None, squeeze, false);
        b.note(
            StageId::Softirq,
            "not a drop: net_rx_action ran out of budget and left work for later; packets wait in \
             the ring, which can then overflow",
        );
    }
}

// ── IP, netfilter, UDP/TCP, sockets ───────────────────────────────────────────────────────

const IP_ERRORS: &[&str] = &[
    "Ip.InHdrErrors",
    "Ip.InAddrErrors",
    "Ip.InUnknownProtos",
    "Ip.InDiscards",
    "IpExt.InNoRoutes",
    "IpExt.InTruncatedPkts",
    "TcpExt.IPReversePathFilter",
    "Ip.ReasmFails",
];
const IP6_ERRORS: &[&str] = &[
    "Ip6InHdrErrors",
    "Ip6InAddrErrors",
    "Ip6InUnknownProtos",
    "Ip6InDiscards",
    "Ip6InNoRoutes",
    "Ip6InTruncatedPkts",
    "Ip6InTooBigErrors",
    "Ip6ReasmFails",
];

fn ip(b: &mut Builder, m: &Mib) {
    for n in ["Ip.InReceives", "Ip6InReceives"] {
        if let Some(a) = m.get(n, b.secs) {
            b.entered(StageId::Ip, a);
        }
    }
    for n in IP_ERRORS.iter().chain(IP6_ERRORS) {
        mib_drop(b, m, StageId::Ip, n, true);
    }
    if mib_drop(b, m, StageId::Ip, "IpExt.InCsumErrors", false).is_some() {
        b.note(StageId::Ip, "inside Ip.InHdrErrors: bad IP header checksum");
    }
}

/// The counters of one IP family that account for what IP received.
struct IpFamily {
    gap: &'static str,
    received: &'static str,
    delivered: &'static str,
    forwarded: &'static str,
    reasm_reqds: &'static str,
    reasm_oks: &'static str,
    errors: &'static [&'static str],
}

const IP_FAMILIES: [IpFamily; 2] = [
    IpFamily {
        gap: "Ip.undelivered",
        received: "Ip.InReceives",
        delivered: "Ip.InDelivers",
        forwarded: "Ip.ForwDatagrams",
        reasm_reqds: "Ip.ReasmReqds",
        reasm_oks: "Ip.ReasmOKs",
        errors: IP_ERRORS,
    },
    IpFamily {
        gap: "Ip6.undelivered",
        received: "Ip6InReceives",
        delivered: "Ip6InDelivers",
        forwarded: "Ip6OutForwDatagrams",
        reasm_reqds: "Ip6ReasmReqds",
        reasm_oks: "Ip6ReasmOKs",
        errors: IP6_ERRORS,
    },
];

/// InReceives − InDelivers − forwarded − IP's own errors − fragments waiting for reassembly.
fn netfilter(b: &mut Builder, m: &Mib) {
    let secs = b.secs;
    for f in &IP_FAMILIES {
        let Some(received) = m.get(f.received, secs) else { continue };
        let count = |n: &str| m.get(n, secs).map_or(0, |a| a.count);
        let passed = received.count.saturating_sub(m.sum(f.errors, secs).count);
        b.entered(StageId::Netfilter, Amount::of(passed, secs));
        // Fragments count one InReceives each but are delivered once, reassembled.
        let fragments = count(f.reasm_reqds).saturating_sub(count(f.reasm_oks));
        let gap = passed
            .saturating_sub(count(f.delivered))
            .saturating_sub(count(f.forwarded))
            .saturating_sub(fragments);
        b.drop(StageId::Netfilter, f.gap, None, Amount::of(gap, secs), true);
        b.note(
            StageId::Netfilter,
            "estimate: received by IP but neither delivered, forwarded nor counted as an IP error \
             — dropped by netfilter (or an IPsec policy); no kernel counter names it",
        );
    }
}

fn transport(b: &mut Builder, m: &Mib) {
    for n in ["Ip.InDelivers", "Ip6InDelivers"] {
        if let Some(a) = m.get(n, b.secs) {
            b.entered(StageId::Transport, a);
        }
    }
    for n in [
        "Udp.NoPorts",
        "Udp.InCsumErrors",
        "Udp6NoPorts",
        "Udp6InCsumErrors",
        "UdpLite.NoPorts",
        "UdpLite.InCsumErrors",
        "Tcp.InErrs",
        "TcpExt.ListenDrops",
    ] {
        mib_drop(b, m, StageId::Transport, n, true);
    }
    for (n, note) in [
        ("Udp.IgnoredMulti", "broadcast or multicast no socket wanted: usually harmless"),
        ("Udp6IgnoredMulti", "multicast no socket wanted: usually harmless"),
    ] {
        if mib_drop(b, m, StageId::Transport, n, true).is_some() {
            b.note(StageId::Transport, note);
        }
    }
    for (n, note) in [
        ("Tcp.InCsumErrors", "inside Tcp.InErrs"),
        ("TcpExt.ListenOverflows", "inside TcpExt.ListenDrops: the accept queue was full"),
    ] {
        if mib_drop(b, m, StageId::Transport, n, false).is_some() {
            b.note(StageId::Transport, note);
        }
    }
}

fn socket(b: &mut Builder, m: &Mib) {
    for n in [
        "Udp.RcvbufErrors",
        "Udp.MemErrors",
        "Udp6RcvbufErrors",
        "Udp6MemErrors",
        "UdpLite.RcvbufErrors",
        "TcpExt.TCPBacklogDrop",
        "TcpExt.TCPRcvQDrop",
        "TcpExt.TCPZeroWindowDrop",
    ] {
        mib_drop(b, m, StageId::Socket, n, true);
    }
}

#[cfg(test)]
mod tests {
    use super::StageId;
    use crate::diagnose::testing::Scene;

    #[test]
    fn ring_and_driver_drops_are_nic_drops() {
        let mut s = Scene::quiet();
        s.iface("eth0", "rx_packets", 1000).iface("eth0", "rx_missed_errors", 5);
        s.ethtool("eth0", "rx0_drops", 7);
        let p = s.report().path;
        let nic = p.stage(StageId::Nic);
        assert_eq!(nic.dropped.count, 12);
        assert_eq!(nic.entered.map(|a| a.count), Some(1005), "received + missed");
        assert_eq!(p.drop("rx0_drops", Some("eth0")).map(|d| d.count), Some(7));
        assert_eq!(p.top_stage, Some(StageId::Nic));
    }

    #[test]
    fn backlog_drops_are_not_counted_twice_through_rx_dropped() {
        let mut s = Scene::quiet();
        s.iface("lo", "rx_dropped", 100).softnet(1, "dropped", 100);
        let p = s.report().path;
        assert_eq!(p.total_dropped.count, 100);
        assert_eq!(p.top_stage, Some(StageId::Backlog));
        assert!(!p.drop("rx_dropped", Some("lo")).unwrap().counted);
        assert_eq!(p.drop("rx_dropped", Some("beyond the backlog")), None);
    }

    #[test]
    fn rx_dropped_beyond_the_backlog_is_placed_at_the_nic() {
        let mut s = Scene::quiet();
        s.iface("eth0", "rx_dropped", 20);
        let p = s.report().path;
        assert_eq!(p.drop("rx_dropped", Some("beyond the backlog")).map(|d| d.count), Some(20));
        assert_eq!(p.stage(StageId::Nic).share, Some(1.0));
    }

    #[test]
    fn a_driver_alias_of_rx_missed_errors_is_added_once() {
        let mut s = Scene::quiet();
        s.iface("eth0", "rx_missed_errors", 9).ethtool("eth0", "rx_out_of_buffer", 9);
        if let crate::avail::Avail::Value(d) =
            std::sync::Arc::make_mut(&mut s.iface_mut("eth0").ethtool.driver)
        {
            d.driver = "mlx5_core".into();
        }
        let p = s.report().path;
        assert_eq!(p.stage(StageId::Nic).dropped.count, 9);
        assert!(!p.drop("rx_out_of_buffer", Some("eth0")).unwrap().counted);
    }

    #[test]
    fn shares_add_up_and_the_top_stage_is_the_largest() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "NoPorts", 30).snmp("Udp", "RcvbufErrors", 70);
        let p = s.report().path;
        assert_eq!(p.total_dropped.count, 100);
        assert_eq!(p.stage(StageId::Socket).share, Some(0.7));
        assert_eq!(p.stage(StageId::Transport).share, Some(0.3));
        assert_eq!(p.top_stage, Some(StageId::Socket));
        let per_sec = p.total_dropped.per_sec.unwrap();
        assert!((per_sec - 100.0).abs() < 1e-9, "{per_sec}");
    }

    #[test]
    fn since_boot_counts_totals() {
        let s = Scene::quiet();
        let r = crate::report::Report::since_boot(s.later.clone(), None);
        // The capture's own total in its /proc/net/snmp: `Udp: 39 0 44 90 44 ...`.
        let d = r.path.drop("Udp.RcvbufErrors", None).unwrap();
        assert_eq!(d.count, 44);
        // Scene::quiet puts the later sample 1001 s after boot.
        assert!((d.per_sec.unwrap() - 44.0 / 1001.0).abs() < 1e-9);
    }
}
