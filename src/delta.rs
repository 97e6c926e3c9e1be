//! `Delta`: what happened between two Samples, as per-second rates.
//!
//! Counters on a real host do not simply grow: softnet and IRQ counters are 32-bit and wrap, an
//! interface can be deleted and re-created under the same name, the flow-limit table is freed and
//! its count restarts, a driver reset zeroes `ethtool -S`, CPUs go offline (their rows and columns
//! vanish) and sockets come and go. Every counter is therefore matched by identity (CPU id, interface
//! name and ifindex, IRQ label, socket inode, counter name — never by position) and turned into a
//! [`Rate`] that is either a trustworthy non-negative value or says why there is none.
//!
//! Pure: `Delta::between` does no I/O, so rules and tests feed it crafted Samples.

use crate::avail::{Avail, Unavailable};
use crate::fxhash::FxBuild;
use crate::sample::{Host, Interface, Sample};
use crate::source::CounterMap;
use crate::source::netlink::netdev::{NetdevGenl, QStats, QueueType};
use crate::source::{Name, interrupts, snmp, softirqs, softnet, stat, udp};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

/// Above this a rate is not a measurement but a corrupt read or a sentinel (10^13/s is beyond the
/// byte rate of any link that exists).
pub const ABSURD_PER_SEC: f64 = 1e13;
/// A u64 counter that moves this much in one interval is a sentinel (`-1` written by a driver) or
/// garbage, whatever the interval.
const ABSURD_DELTA: u64 = 1 << 62;

/// The change of one counter between two samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rate {
    /// The counter advanced by `delta` (wraps already undone). `per_sec` is absent when the
    /// interval is unknown (`Delta::interval` says why); it is never negative, NaN or absurd.
    Value {
        delta: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        per_sec: Option<f64>,
    },
    /// A gauge (a queue length, a setting): its value in the later sample, not a rate.
    Gauge { value: i64 },
    /// The counter restarted during the interval. `at_least` is its later value: what it counted
    /// since the restart, so a lower bound of what happened in the interval.
    Reset { why: String, at_least: u64 },
    /// Only in the later sample (a CPU came online, an interface or socket appeared).
    New,
    /// Only in the earlier sample.
    Gone,
    /// Both values exist but cannot be turned into a rate.
    NotComparable { why: String },
}

impl Rate {
    pub fn per_sec(&self) -> Option<f64> {
        match self {
            Rate::Value { per_sec, .. } => *per_sec,
            _ => None,
        }
    }

    pub fn delta(&self) -> Option<u64> {
        match self {
            Rate::Value { delta, .. } => Some(*delta),
            _ => None,
        }
    }
}

/// Whether a keyed thing (CPU, interface, IRQ, socket, queue) is in both samples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Presence {
    Both,
    New,
    Gone,
    /// Same key, different object (an interface with a new ifindex, an IRQ number given to another
    /// device): its counters restarted.
    Recreated {
        why: String,
    },
}

/// The time between the samples and the clock it was measured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub secs: f64,
    pub clock: Clock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// CLOCK_BOOTTIME (`host.boottime_ns`): monotonic.
    Boottime,
    /// `host.taken_at_ms`: the wall clock, used only when a sample has no boottime.
    WallClock,
}

/// Everything that changed between two samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Unavailable when the samples carry no usable time; counters are still compared (`delta`)
    /// but no `per_sec` is given.
    pub interval: Avail<Interval>,
    /// /proc/net/softnet_stat, one entry per CPU id in either sample.
    pub softnet: Avail<Vec<CpuRates>>,
    pub interfaces: Avail<Vec<IfaceRates>>,
    /// /proc/net/snmp: section → counter → rate.
    pub snmp: Avail<SectionRates>,
    /// /proc/net/netstat.
    pub netstat: Avail<SectionRates>,
    /// /proc/net/snmp6.
    pub snmp6: Avail<Rates>,
    /// /proc/net/udp sockets, matched by inode, that dropped in the interval (or whose count
    /// cannot be compared): a socket that kept its count is left out, as most of 10,000 do.
    pub udp: Avail<Vec<SocketRates>>,
    /// /proc/net/udp6 sockets, likewise.
    pub udp6: Avail<Vec<SocketRates>>,
    /// /proc/interrupts rows by label, columns by CPU id.
    pub irqs: Avail<Vec<IrqRates>>,
    /// /proc/softirqs rows of the network softirqs (`NETWORK_SOFTIRQS`) by name, columns by CPU
    /// id; the others are not compared.
    pub softirqs: Avail<Vec<SoftirqRates>>,
    /// /proc/stat: the aggregate line first (`cpu: null`), then one per CPU id.
    pub cpu_time: Avail<Vec<CpuTimeRates>>,
    /// nf_conntrack_count of the later sample (a gauge).
    pub conntrack_count: Avail<u64>,
}

/// Counters by name, as the kernel lists them.
pub type Rates = IndexMap<Name, Rate, FxBuild>;

pub type SectionRates = IndexMap<Name, Rates, FxBuild>;

/// One CPU's softnet counters. Gauges are the later sample's values (`None` when the kernel does
/// not print them or the CPU is gone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuRates {
    pub cpu: u32,
    pub presence: Presence,
    pub processed: Rate,
    pub dropped: Rate,
    pub time_squeeze: Rate,
    pub received_rps: Rate,
    pub flow_limit_count: Rate,
    pub backlog_len: Option<u32>,
    pub input_qlen: Option<u32>,
    pub process_qlen: Option<u32>,
}

/// One interface, matched by name; `presence` is `Recreated` when its ifindex changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IfaceRates {
    pub name: String,
    /// The later sample's ifindex (the earlier one's for a gone interface).
    pub ifindex: Option<u32>,
    pub presence: Presence,
    pub proc_net_dev: Avail<Rates>,
    /// sysfs `statistics/`.
    pub statistics: Avail<Rates>,
    /// rtnetlink IFLA_STATS64.
    pub stats64: Avail<Rates>,
    /// `ethtool -S`.
    pub ethtool_stats: Avail<Rates>,
    /// netdev netlink `qstats-get`, per queue.
    pub qstats: Avail<Vec<QueueRates>>,
    /// netdev netlink `qstats-get`, device scope.
    pub qstats_device: Avail<Rates>,
}

impl IfaceRates {
    /// The netdev counters: rtnetlink stats64, else sysfs statistics (the same names). A live
    /// sample reads only stats64; a tree only sysfs.
    pub fn netdev(&self) -> Option<&Rates> {
        self.stats64.value().or(self.statistics.value())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRates {
    pub queue_type: Option<QueueType>,
    pub queue_id: Option<u32>,
    pub presence: Presence,
    pub counters: Rates,
}

/// One UDP socket, matched by inode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocketRates {
    pub family: udp::Family,
    pub local_address: IpAddr,
    pub local_port: u16,
    pub rem_address: IpAddr,
    pub rem_port: u16,
    pub inode: u64,
    pub presence: Presence,
    /// `sk_drops`.
    pub drops: Rate,
    /// Bytes queued now (later sample; the earlier one's for a gone socket).
    pub rx_queue: u64,
    /// The receive buffer size, when the sample came from sock_diag (same sample as `rx_queue`).
    #[serde(default)]
    pub rcvbuf: Option<u32>,
}

/// A counter on one CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuRate {
    pub cpu: u32,
    #[serde(flatten)]
    pub rate: Rate,
}

/// One /proc/interrupts row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IrqRates {
    /// The label: `38`, `NMI`, `LOC`, `ERR`.
    pub irq: String,
    /// Handler names of the later sample (the earlier one's for a gone IRQ).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    pub presence: Presence,
    /// The CPUs the IRQ fired on in the interval, and any it cannot be told for; a CPU where it
    /// counted 0 is left out (a NIC IRQ lands on one CPU, and 511 zeros a row, for 260 rows a
    /// second, is most of what a 512-CPU host would cost). Empty for the one-value rows (`ERR`,
    /// `MIS`, `Err`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_cpu: Vec<CpuRate>,
    /// Sum over the CPUs present in both samples (a CPU that went offline keeps its count hidden,
    /// so the printed sum would fall); the row's value for one-value rows.
    pub total: Rate,
}

/// One /proc/softirqs row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftirqRates {
    pub name: String,
    pub per_cpu: Vec<CpuRate>,
    /// Sum over the CPUs present in both samples.
    pub total: Rate,
}

/// The share of one CPU's time (or all CPUs', the `cpu` line) in the interval spent in softirq
/// and idle: what the report and the rules read of /proc/stat. The other states' rates were
/// 4,000 rates a refresh on a 512-CPU host that nothing read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuTimeRates {
    /// `None` for the aggregate `cpu` line.
    pub cpu: Option<u32>,
    pub presence: Presence,
    /// Fractions (0..=1) of this CPU's time in the interval; `None` when not computable (no time
    /// passed, a counter the kernel does not print, or idle accounting that stepped back, as it
    /// can under NO_HZ).
    pub softirq_share: Option<f64>,
    pub idle_share: Option<f64>,
}

impl Delta {
    /// Compares two samples of the same host, `earlier` first.
    pub fn between(earlier: &Sample, later: &Sample) -> Delta {
        Delta::compare(&earlier.host, earlier, later, Then::Sample)
    }

    /// `earlier` is the later sample itself when `then` is `Boot`; its host, `eh`, is then the
    /// later one's at boot.
    fn compare(eh: &Host, earlier: &Sample, later: &Sample, then: Then) -> Delta {
        if let Err(why) = same_boot(eh, &later.host) {
            return Delta::incomparable(&why);
        }
        let interval = interval(eh, &later.host);
        let secs = interval.value().map(|i| i.secs);
        let udp_part = |e: &Avail<udp::Sockets>, l: &Avail<udp::Sockets>| {
            both(e, l).map(|(e, l)| socket_rates(e, l, secs, then)).into()
        };
        Delta {
            softnet: softnet_rates(earlier, later, secs, then),
            interfaces: both(&earlier.interfaces, &later.interfaces)
                .map(|(e, l)| interface_rates(e, l, earlier, later, secs, then))
                .into(),
            snmp: both(&earlier.snmp, &later.snmp)
                .map(|(e, l)| section_rates(e, l, secs, then))
                .into(),
            netstat: both(&earlier.netstat, &later.netstat)
                .map(|(e, l)| section_rates(e, l, secs, then))
                .into(),
            snmp6: both(&earlier.snmp6, &later.snmp6)
                .map(|(e, l)| snmp_counters("", e, l, secs, then))
                .into(),
            udp: udp_part(&earlier.udp.udp, &later.udp.udp),
            udp6: udp_part(&earlier.udp.udp6, &later.udp.udp6),
            irqs: both(&earlier.interrupts, &later.interrupts)
                .map(|(e, l)| irq_rates(e, l, secs, then))
                .into(),
            softirqs: both(&earlier.softirqs, &later.softirqs)
                .map(|(e, l)| softirq_rates(e, l, secs, then))
                .into(),
            cpu_time: both(&earlier.stat, &later.stat)
                .map(|(e, l)| cpu_time_rates(e, l, then))
                .into(),
            conntrack_count: later.environment.conntrack.as_ref().map(|c| c.count),
            interval,
        }
    }

    /// Every part unavailable for one reason (another host, another boot).
    fn incomparable(why: &str) -> Delta {
        Delta {
            interval: Avail::missing("interval", why),
            softnet: Avail::missing("/proc/net/softnet_stat", why),
            interfaces: Avail::missing("interfaces", why),
            snmp: Avail::missing("/proc/net/snmp", why),
            netstat: Avail::missing("/proc/net/netstat", why),
            snmp6: Avail::missing("/proc/net/snmp6", why),
            udp: Avail::missing("/proc/net/udp", why),
            udp6: Avail::missing("/proc/net/udp6", why),
            irqs: Avail::missing("/proc/interrupts", why),
            softirqs: Avail::missing("/proc/softirqs", why),
            cpu_time: Avail::missing("/proc/stat", why),
            conntrack_count: Avail::missing("nf_conntrack_count", why),
        }
    }
}

impl Delta {
    /// The interval in seconds, when the samples carry a usable clock.
    pub fn secs(&self) -> Option<f64> {
        self.interval.value().map(|i| i.secs)
    }

    /// A MIB counter by the name /proc prints: `Udp.RcvbufErrors` from /proc/net/snmp or
    /// /proc/net/netstat (`section.field`), `Udp6RcvbufErrors` from /proc/net/snmp6.
    pub fn mib(&self, name: &str) -> Option<&Rate> {
        match name.split_once('.') {
            Some((section, field)) => [&self.snmp, &self.netstat]
                .into_iter()
                .filter_map(|p| p.value())
                .find_map(|s| s.get(section).and_then(|c| c.get(field))),
            None => self.snmp6.value()?.get(name),
        }
    }

    /// Totals since boot, as a Delta from the sample's state at boot (every counter 0, every name,
    /// id and setting as now): one view for a static snapshot (a capture, a fixture tree) and for
    /// an interval, so the drop path and the rules have a single code path. `per_sec` is the
    /// average since boot when the sample knows its uptime (CLOCK_BOOTTIME), else absent. A 32-bit
    /// counter (softnet, per-CPU IRQs) shows its total modulo 2^32: since boot it may have wrapped
    /// unseen.
    pub fn since_boot(sample: &Sample) -> Delta {
        let mut boot = sample.host.clone();
        boot.boottime_ns = sample.host.boottime_ns.map(|_| 0);
        // Without CLOCK_BOOTTIME there is no uptime to divide by: no time at all, so no per_sec.
        boot.taken_at_ms = None;
        Delta::compare(&boot, sample, sample, Then::Boot)
    }
}

/// What the earlier side of a comparison counted. `Boot` compares a sample with itself at boot
/// without building that all-zero twin (a copy of the whole sample, 10,000 sockets on a big host,
/// for each scrape): the pairing functions pair the sample with itself and read every earlier
/// counter through `at`, so since boot and between two samples stay one code path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// The earlier sample's counters.
    Sample,
    /// Every counter 0.
    Boot,
}

impl Then {
    /// An earlier counter as it was then.
    fn at<T: Default>(self, v: T) -> T {
        match self {
            Then::Sample => v,
            Then::Boot => T::default(),
        }
    }

    /// An earlier counter the kernel may not print: absent stays absent.
    fn opt<T: Default>(self, v: Option<T>) -> Option<T> {
        v.map(|v| self.at(v))
    }

    /// An earlier row of per-CPU counts; `zeros` is at least as long as any row when `Boot`.
    fn counts<'a>(self, counts: &'a [u64], zeros: &'a [u64]) -> &'a [u64] {
        match self {
            Then::Sample => counts,
            Then::Boot => &zeros[..counts.len()],
        }
    }

    /// An earlier IRQ row's counts (all-zero ones take no room).
    fn irq_counts(self, counts: &interrupts::Counts) -> Cow<'_, interrupts::Counts> {
        match self {
            Then::Sample => Cow::Borrowed(counts),
            Then::Boot => Cow::Owned(interrupts::Counts::zeros(counts.len())),
        }
    }

    /// Enough zeros for `counts` of any of `rows` (none unless `Boot`).
    fn zeros<'a>(self, rows: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
        match self {
            Then::Sample => Vec::new(),
            Then::Boot => vec![0; rows.map(Vec::len).max().unwrap_or(0)],
        }
    }
}

// ---- time and identity of the host ----

/// Counters only compare within one boot of one host; anything else would give resets everywhere
/// or, worse, plausible-looking nonsense.
fn same_boot(e: &Host, l: &Host) -> Result<(), String> {
    if let (Some(a), Some(b)) = (e.hostname.value(), l.hostname.value())
        && a != b
    {
        return Err(format!("the samples are of different hosts ({a:?} and {b:?})"));
    }
    if let (Some(a), Some(b)) = (e.kernel.value(), l.kernel.value())
        && a != b
    {
        return Err(format!(
            "the samples are of different kernels ({a} and {b}): the host rebooted, every counter restarted"
        ));
    }
    if let (Some(a), Some(b), Some(wa), Some(wb)) =
        (e.boottime_ns, l.boottime_ns, e.taken_at_ms, l.taken_at_ms)
        && b < a
        && wb > wa
    {
        return Err(
            "CLOCK_BOOTTIME went back while the wall clock advanced: the host rebooted between \
             the samples, every counter restarted"
                .into(),
        );
    }
    Ok(())
}

fn interval(e: &Host, l: &Host) -> Avail<Interval> {
    const WHAT: &str = "interval between the samples";
    if let (Some(a), Some(b)) = (e.boottime_ns, l.boottime_ns) {
        return match b.checked_sub(a).filter(|&d| d > 0) {
            Some(ns) => Avail::Value(Interval { secs: ns as f64 / 1e9, clock: Clock::Boottime }),
            None => Avail::missing(
                WHAT,
                format!(
                    "CLOCK_BOOTTIME of the later sample ({b} ns) is not after the earlier's ({a} ns): \
                     the samples are swapped or identical"
                ),
            ),
        };
    }
    match (e.taken_at_ms, l.taken_at_ms) {
        (Some(a), Some(b)) => match b.checked_sub(a).filter(|&d| d > 0) {
            Some(ms) => Avail::Value(Interval { secs: ms as f64 / 1e3, clock: Clock::WallClock }),
            None => Avail::missing(
                WHAT,
                format!(
                    "the later sample's time ({b} ms) is not after the earlier's ({a} ms): the \
                     samples are swapped, identical, or the wall clock was stepped back"
                ),
            ),
        },
        (None, _) | (_, None) => Avail::missing(
            WHAT,
            "a sample recorded no time (a fixture tree): counts are compared, rates per second \
             are not",
        ),
    }
}

// ---- one counter ----

/// A counter advance, checked for plausibility.
fn value(delta: u64, secs: Option<f64>) -> Rate {
    if delta > ABSURD_DELTA {
        return Rate::NotComparable {
            why: format!("jumped by {delta} in one interval: a sentinel or corrupt value"),
        };
    }
    let per_sec = secs.filter(|s| s.is_finite() && *s > 0.0).map(|s| delta as f64 / s);
    match per_sec {
        Some(r) if !r.is_finite() || r > ABSURD_PER_SEC => Rate::NotComparable {
            why: format!("{delta} in {} s is not a plausible rate", secs.unwrap_or(0.0)),
        },
        _ => Rate::Value { delta, per_sec },
    }
}

/// A 64-bit counter: it never wraps in practice, so going back means it restarted.
fn counter_u64(e: u64, l: u64, secs: Option<f64>, reset_why: &str) -> Rate {
    match l.checked_sub(e) {
        Some(d) => value(d, secs),
        None => Rate::Reset { why: format!("went from {e} to {l}: {reset_why}"), at_least: l },
    }
}

/// A 32-bit counter that can both wrap and restart. Going back by less than half the range is
/// read as a restart: a wrap that small would mean over 2^31 events in one interval, while a
/// restart to a small value from a moderate one is the common case. (A restart from above 2^31 to
/// near zero is indistinguishable from a wrap and is read as one.)
fn wrap_or_reset_u32(e: u32, l: u32, secs: Option<f64>, reset_why: &str) -> Rate {
    let d = l.wrapping_sub(e);
    if l >= e || d <= u32::MAX / 2 {
        value(u64::from(d), secs)
    } else {
        Rate::Reset { why: format!("went from {e} to {l}: {reset_why}"), at_least: u64::from(l) }
    }
}

/// A per-CPU IRQ count: an `unsigned int` that wraps, and restarts when the IRQ is freed and
/// requested again. 32-bit arithmetic while both values fit, else a 64-bit counter.
fn counter_maybe_u32(e: u64, l: u64, secs: Option<f64>, reset_why: &str) -> Rate {
    match (u32::try_from(e), u32::try_from(l)) {
        (Ok(e), Ok(l)) => wrap_or_reset_u32(e, l, secs, reset_why),
        _ => counter_u64(e, l, secs, reset_why),
    }
}

/// A count the kernel keeps in an unsigned int and never clears (softirq counts, sk_drops, the ERR
/// row): going back can only be a wrap. Values beyond 32 bits (a kernel that widened it) are a
/// 64-bit counter.
fn counter_wrapping_u32(e: u64, l: u64, secs: Option<f64>) -> Rate {
    match (u32::try_from(e), u32::try_from(l)) {
        (Ok(e), Ok(l)) => value(u64::from(l.wrapping_sub(e)), secs),
        _ => counter_u64(e, l, secs, "counter reset"),
    }
}

fn optional(e: Option<u32>, l: Option<u32>, what: &str, f: impl Fn(u32, u32) -> Rate) -> Rate {
    match (e, l) {
        (Some(e), Some(l)) => f(e, l),
        _ => Rate::NotComparable { why: format!("{what} is not printed by this kernel") },
    }
}

/// Sums per-CPU values over the CPUs present in both samples; a CPU whose value restarted or
/// cannot be compared makes the sum unknown.
fn sum(rates: &[CpuRate], secs: Option<f64>) -> Rate {
    let mut total: u64 = 0;
    for r in rates {
        match &r.rate {
            Rate::Value { delta, .. } => total = total.saturating_add(*delta),
            Rate::New | Rate::Gone | Rate::Gauge { .. } => {}
            Rate::Reset { why, .. } | Rate::NotComparable { why } => {
                return Rate::NotComparable { why: format!("CPU {}: {why}", r.cpu) };
            }
        }
    }
    value(total, secs)
}

// ---- matching things by identity ----

enum Pair<'a, T> {
    Both(&'a T, &'a T),
    New(&'a T),
    Gone(&'a T),
}

/// Matches items by key: later order first, then what is gone in earlier order. Duplicate keys
/// pair up in order, so nothing is dropped.
fn pair_by<'a, T, K: Eq + Hash>(
    earlier: &'a [T],
    later: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<Pair<'a, T>> {
    // The usual case, the same things in the same order, pairs without a map (and the same way
    // the map would: duplicate keys in order).
    if earlier.len() == later.len() && earlier.iter().zip(later).all(|(e, l)| key(e) == key(l)) {
        return earlier.iter().zip(later).map(|(e, l)| Pair::Both(e, l)).collect();
    }
    let mut pending: HashMap<K, Vec<usize>> = HashMap::new();
    for (i, e) in earlier.iter().enumerate().rev() {
        pending.entry(key(e)).or_default().push(i);
    }
    let mut used = vec![false; earlier.len()];
    let mut out = Vec::with_capacity(later.len());
    for l in later {
        match pending.get_mut(&key(l)).and_then(Vec::pop) {
            Some(i) => {
                used[i] = true;
                out.push(Pair::Both(&earlier[i], l));
            }
            None => out.push(Pair::New(l)),
        }
    }
    out.extend(earlier.iter().zip(used).filter(|(_, u)| !u).map(|(e, _)| Pair::Gone(e)));
    out
}

/// Both parts, or why not (the later sample's reason first: it is the current state).
fn both<'a, T>(e: &'a Avail<T>, l: &'a Avail<T>) -> Result<(&'a T, &'a T), Unavailable> {
    match (e, l) {
        (Avail::Value(e), Avail::Value(l)) => Ok((e, l)),
        (_, Avail::Unavailable(u)) => {
            Err(Unavailable::new(&u.what, format!("in the later sample: {}", u.why)))
        }
        (Avail::Unavailable(u), _) => {
            Err(Unavailable::new(&u.what, format!("in the earlier sample: {}", u.why)))
        }
    }
}

// ---- softnet ----

fn softnet_rates(
    earlier: &Sample,
    later: &Sample,
    secs: Option<f64>,
    then: Then,
) -> Avail<Vec<CpuRates>> {
    let (e, l) = match both(&earlier.softnet, &later.softnet) {
        Ok(p) => p,
        Err(u) => return Avail::Unavailable(u),
    };
    // Rows without a printed CPU id were numbered by position; if the set of online CPUs changed,
    // the same position is another CPU and matching would mix them up.
    let guessed = |s: &softnet::Softnet| s.cpu_id_source == softnet::CpuIdSource::RowIndex;
    if (guessed(e) || guessed(l))
        && (e.rows.len() != l.rows.len() || earlier.cpus.online != later.cpus.online)
    {
        return Avail::missing(
            "/proc/net/softnet_stat",
            "this kernel prints no CPU id and the online CPUs changed between the samples: rows \
             cannot be matched to CPUs",
        );
    }
    let rows = pair_by(&e.rows, &l.rows, |r| r.cpu)
        .into_iter()
        .map(|p| match p {
            Pair::Both(e, l) => softnet_row(e, l, secs, then),
            Pair::New(l) => softnet_presence(l, Presence::New, Rate::New),
            Pair::Gone(e) => softnet_presence(e, Presence::Gone, Rate::Gone),
        })
        .collect();
    Avail::Value(rows)
}

fn softnet_row(
    e: &softnet::SoftnetRow,
    l: &softnet::SoftnetRow,
    secs: Option<f64>,
    then: Then,
) -> CpuRates {
    // processed, dropped, time_squeeze and received_rps live in the per-CPU softnet_data, which is
    // never cleared (not even when the CPU goes offline): going back can only be a 32-bit wrap.
    let wrap = |e: u32, l: u32| value(u64::from(l.wrapping_sub(e)), secs);
    let flow_limit = |e: u32, l: u32| {
        wrap_or_reset_u32(
            e,
            l,
            secs,
            "the flow-limit table of this CPU was freed (net.core.flow_limit_cpu_bitmap \
             cleared), which restarts flow_limit_count",
        )
    };
    CpuRates {
        cpu: l.cpu,
        presence: Presence::Both,
        processed: wrap(then.at(e.processed), l.processed),
        dropped: wrap(then.at(e.dropped), l.dropped),
        time_squeeze: wrap(then.at(e.time_squeeze), l.time_squeeze),
        received_rps: optional(then.opt(e.received_rps), l.received_rps, "received_rps", wrap),
        flow_limit_count: optional(
            then.opt(e.flow_limit_count),
            l.flow_limit_count,
            "flow_limit_count",
            flow_limit,
        ),
        backlog_len: l.backlog_len,
        input_qlen: l.input_qlen,
        process_qlen: l.process_qlen,
    }
}

fn softnet_presence(r: &softnet::SoftnetRow, presence: Presence, rate: Rate) -> CpuRates {
    let new = presence == Presence::New;
    CpuRates {
        cpu: r.cpu,
        presence,
        processed: rate.clone(),
        dropped: rate.clone(),
        time_squeeze: rate.clone(),
        received_rps: rate.clone(),
        flow_limit_count: rate,
        backlog_len: r.backlog_len.filter(|_| new),
        input_qlen: r.input_qlen.filter(|_| new),
        process_qlen: r.process_qlen.filter(|_| new),
    }
}

// ---- interfaces ----

fn interface_rates(
    e: &[Interface],
    l: &[Interface],
    earlier: &Sample,
    later: &Sample,
    secs: Option<f64>,
    then: Then,
) -> Vec<IfaceRates> {
    pair_by(e, l, |i| i.name.as_str())
        .into_iter()
        .map(|p| match p {
            Pair::Both(e, l) => {
                iface_pair(e, l, &earlier.netdev_genl, &later.netdev_genl, secs, then)
            }
            Pair::New(l) => iface_alone(l, Presence::New, Rate::New),
            Pair::Gone(e) => iface_alone(e, Presence::Gone, Rate::Gone),
        })
        .collect()
}

fn iface_pair(
    e: &Interface,
    l: &Interface,
    eg: &Avail<NetdevGenl>,
    lg: &Avail<NetdevGenl>,
    secs: Option<f64>,
    then: Then,
) -> IfaceRates {
    let (ei, li) = (e.sysfs.ifindex.value().copied(), l.sysfs.ifindex.value().copied());
    // A new ifindex under the same name is another device: `ip link del` + `add`, a driver
    // reload, a container re-creating its veth. Its counters started from zero in the interval.
    let recreated = match (ei, li) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "{} was deleted and re-created (ifindex {a} → {b}): its counters restarted",
            l.name
        )),
        _ => None,
    };
    let (qstats, qstats_device) = match &recreated {
        Some(why) => {
            let what = "netdev netlink qstats-get";
            (Avail::missing(what, why.clone()), Avail::missing(what, why.clone()))
        }
        None => qstats_rates(ei, li, eg, lg, secs, then),
    };
    IfaceRates {
        name: l.name.clone(),
        ifindex: li,
        presence: recreated.clone().map_or(Presence::Both, |why| Presence::Recreated { why }),
        proc_net_dev: iface_map(&e.proc_net_dev, &l.proc_net_dev, &recreated, secs, false, then),
        statistics: iface_map(
            &e.sysfs.statistics,
            &l.sysfs.statistics,
            &recreated,
            secs,
            false,
            then,
        ),
        stats64: iface_map(&e.stats64, &l.stats64, &recreated, secs, false, then),
        ethtool_stats: iface_map(&e.ethtool.stats, &l.ethtool.stats, &recreated, secs, true, then),
        qstats,
        qstats_device,
    }
}

/// One of an interface's counter maps; every counter restarted when the interface was re-created.
fn iface_map(
    e: &Avail<CounterMap>,
    l: &Avail<CounterMap>,
    recreated: &Option<String>,
    secs: Option<f64>,
    driver: bool,
    then: Then,
) -> Avail<Rates> {
    both(e, l)
        .map(|(e, l)| match recreated {
            Some(why) => all_reset(l, why),
            None => counter_map(e, l, secs, driver, then),
        })
        .into()
}

/// Every counter of `m` with the same rate (an interface or queue that came or went).
fn all_as(m: &CounterMap, rate: &Rate) -> Rates {
    m.keys().map(|k| (k.clone(), rate.clone())).collect()
}

fn iface_alone(i: &Interface, presence: Presence, rate: Rate) -> IfaceRates {
    let why = match presence {
        Presence::New => "the interface appeared during the interval",
        _ => "the interface vanished during the interval",
    };
    IfaceRates {
        name: i.name.clone(),
        ifindex: i.sysfs.ifindex.value().copied(),
        presence,
        proc_net_dev: i.proc_net_dev.as_ref().map(|m| all_as(m, &rate)),
        statistics: i.sysfs.statistics.as_ref().map(|m| all_as(m, &rate)),
        stats64: i.stats64.as_ref().map(|m| all_as(m, &rate)),
        ethtool_stats: i.ethtool.stats.as_ref().map(|m| all_as(m, &rate)),
        qstats: Avail::missing("netdev netlink qstats-get", why),
        qstats_device: Avail::missing("netdev netlink qstats-get", why),
    }
}

fn all_reset(l: &CounterMap, why: &str) -> Rates {
    l.iter().map(|(k, &v)| (k.clone(), Rate::Reset { why: why.into(), at_least: v })).collect()
}

/// u64 counters by name. For a driver (`ethtool -S`) a changed set of names, or most counters
/// going back at once, means the driver reset or was reconfigured (channels, reload): then every
/// counter restarted, including those that already climbed back above their old value.
fn counter_map(
    e: &CounterMap,
    l: &CounterMap,
    secs: Option<f64>,
    driver: bool,
    then: Then,
) -> Rates {
    let mut next = 0;
    let earlier: Vec<Option<u64>> =
        l.keys().map(|k| seek(e, &mut next, k).map(|i| then.at(e[i]))).collect();
    let added = earlier.iter().filter(|ev| ev.is_none()).count();
    // Names are unique in each map: what the later one did not find is gone.
    let removed = e.len() - (l.len() - added);
    let went_back =
        l.values().zip(&earlier).filter(|(lv, ev)| ev.is_some_and(|ev| **lv < ev)).count();
    let were_nonzero = earlier.iter().filter(|ev| ev.is_some_and(|ev| ev > 0)).count();
    let whole_reset = if driver && (added > 0 || removed > 0) {
        Some(format!(
            "the driver's stat names changed ({added} added, {removed} removed): the driver was \
             reset or reconfigured and its counters restarted"
        ))
    } else if went_back > 0 && went_back * 2 >= were_nonzero {
        Some(format!(
            "{went_back} of {were_nonzero} non-zero counters went back at once: the device's \
             counters were reset"
        ))
    } else {
        None
    };
    let mut out = Rates::with_capacity_and_hasher(l.len() + removed, FxBuild);
    out.extend(l.iter().zip(earlier).map(|((k, &lv), ev)| {
        let rate = match (ev, &whole_reset) {
            (None, _) => Rate::New,
            (Some(_), Some(why)) => Rate::Reset { why: why.clone(), at_least: lv },
            (Some(ev), None) => counter_u64(ev, lv, secs, "counter reset"),
        };
        (k.clone(), rate)
    }));
    if removed > 0 {
        out.extend(e.keys().filter(|k| !l.contains_key(*k)).map(|k| (k.clone(), Rate::Gone)));
    }
    out
}

/// Where `key` is in `earlier`. Two reads of a kernel file list the same names in the same order,
/// so the entry after the last one found (`next`) is tried first and the map is searched only when
/// its name differs (as `socket_rates` pairs sockets).
fn seek<K: Hash + Eq, V, S: std::hash::BuildHasher>(
    earlier: &IndexMap<K, V, S>,
    next: &mut usize,
    key: &K,
) -> Option<usize> {
    let i = match earlier.get_index(*next) {
        Some((k, _)) if k == key => *next,
        _ => earlier.get_index_of(key)?,
    };
    *next = i + 1;
    Some(i)
}

type QStatsPair = (Avail<Vec<QueueRates>>, Avail<Rates>);

fn qstats_rates<'a>(
    ei: Option<u32>,
    li: Option<u32>,
    eg: &'a Avail<NetdevGenl>,
    lg: &'a Avail<NetdevGenl>,
    secs: Option<f64>,
    then: Then,
) -> QStatsPair {
    let (eg, lg) = match both(eg, lg) {
        Ok(p) => p,
        Err(u) => return (Avail::Unavailable(u.clone()), Avail::Unavailable(u)),
    };
    let Some(ifindex) = li.or(ei) else {
        let u = Unavailable::new("netdev netlink qstats-get", "the interface's ifindex is unknown");
        return (Avail::Unavailable(u.clone()), Avail::Unavailable(u));
    };
    let of = |v: &'a Vec<QStats>| -> Vec<&'a QStats> {
        v.iter().filter(|q| q.ifindex == ifindex).collect()
    };
    let queues = both(&eg.qstats, &lg.qstats).map(|(e, l)| {
        pair_by(&of(e), &of(l), |q| (q.queue_type, q.queue_id))
            .into_iter()
            .map(|p| match p {
                Pair::Both(e, l) => queue_rates(l, Presence::Both, |_| {
                    counter_map(&e.counters, &l.counters, secs, true, then)
                }),
                Pair::New(l) => queue_rates(l, Presence::New, |q| all_as(&q.counters, &Rate::New)),
                Pair::Gone(e) => {
                    queue_rates(e, Presence::Gone, |q| all_as(&q.counters, &Rate::Gone))
                }
            })
            .collect()
    });
    let device = both(&eg.qstats_device, &lg.qstats_device).map(|(e, l)| {
        let (e, l) = (of(e), of(l));
        match (e.first(), l.first()) {
            (Some(e), Some(l)) => counter_map(&e.counters, &l.counters, secs, false, then),
            (None, Some(l)) => all_as(&l.counters, &Rate::New),
            (Some(e), None) => all_as(&e.counters, &Rate::Gone),
            (None, None) => Rates::default(),
        }
    });
    (queues.into(), device.into())
}

fn queue_rates(
    q: &QStats,
    presence: Presence,
    counters: impl FnOnce(&QStats) -> Rates,
) -> QueueRates {
    QueueRates { queue_type: q.queue_type, queue_id: q.queue_id, presence, counters: counters(q) }
}

// ---- SNMP ----

/// Fields of /proc/net/snmp that are settings or gauges, not counters (RFC 1213/2012 define them
/// so: the RTO bounds, MaxConn, the current number of established connections, forwarding, TTL).
fn is_snmp_gauge(section: &str, name: &str) -> bool {
    matches!(
        (section, name),
        ("Tcp", "RtoAlgorithm" | "RtoMin" | "RtoMax" | "MaxConn" | "CurrEstab")
            | ("Ip", "Forwarding" | "DefaultTTL")
    )
}

fn section_rates(e: &snmp::Snmp, l: &snmp::Snmp, secs: Option<f64>, then: Then) -> SectionRates {
    let empty = snmp::Counters::default();
    let (mut next, mut found) = (0, 0);
    let mut out = SectionRates::with_capacity_and_hasher(l.sections.len(), FxBuild);
    for (name, lc) in &l.sections {
        let ec = match seek(&e.sections, &mut next, name) {
            Some(i) => {
                found += 1;
                &e.sections[i]
            }
            None => &empty,
        };
        out.insert(name.clone(), snmp_counters(name, ec, lc, secs, then));
    }
    if found < e.sections.len() {
        for (name, ec) in e.sections.iter().filter(|(n, _)| !l.sections.contains_key(*n)) {
            out.insert(name.clone(), snmp_counters(name, ec, &empty, secs, then));
        }
    }
    out
}

fn snmp_counters(
    section: &str,
    e: &snmp::Counters,
    l: &snmp::Counters,
    secs: Option<f64>,
    then: Then,
) -> Rates {
    let (mut next, mut found) = (0, 0);
    let mut out = Rates::with_capacity_and_hasher(l.len(), FxBuild);
    out.extend(l.iter().map(|(k, &lv)| {
        let ev = seek(e, &mut next, k).map(|i| {
            found += 1;
            then.at(e[i])
        });
        let rate = if is_snmp_gauge(section, k) {
            Rate::Gauge { value: lv }
        } else {
            match ev {
                Some(ev) => snmp_counter(ev, lv, secs),
                None => Rate::New,
            }
        };
        (k.clone(), rate)
    }));
    if found < e.len() {
        out.extend(e.keys().filter(|k| !l.contains_key(*k)).map(|k| (k.clone(), Rate::Gone)));
    }
    out
}

fn snmp_counter(e: i64, l: i64, secs: Option<f64>) -> Rate {
    // The parser saturates a value beyond i64 to i64::MAX: its true value is unknown.
    if e == i64::MAX || l == i64::MAX {
        return Rate::NotComparable {
            why: "a value beyond i64 was saturated by the parser".into(),
        };
    }
    match (u64::try_from(e), u64::try_from(l)) {
        (Ok(e), Ok(l)) => counter_u64(
            e,
            l,
            secs,
            "reset, or the unsigned long of a 32-bit kernel wrapped (the true count is this \
             much or more)",
        ),
        _ => Rate::NotComparable { why: format!("negative value ({e} → {l}) in a counter") },
    }
}

// ---- UDP sockets ----

/// The inode names a socket for its whole life. Kernel sockets (a tunnel's encapsulation socket)
/// have none, so those fall back to their addresses.
type SocketKey = (u64, Option<(IpAddr, u16, IpAddr, u16)>);

fn socket_key(s: &udp::UdpSocket) -> SocketKey {
    if s.inode != 0 {
        (s.inode, None)
    } else {
        (0, Some((s.local_address, s.local_port, s.rem_address, s.rem_port)))
    }
}

fn socket_rates(
    e: &udp::Sockets,
    l: &udp::Sockets,
    secs: Option<f64>,
    then: Then,
) -> Vec<SocketRates> {
    // A sampler's list made from the earlier one says which rows changed: the others hold the
    // same sockets, which dropped nothing in between.
    if then == Then::Sample
        && let Some(rows) = l.changed_since(e)
        && let Some(out) = changed_socket_rates(l, rows, secs)
    {
        return out;
    }
    // The kernel lists sockets in its hash order, which holds from one read to the next, so most
    // pair by position; a map of the earlier table is built only when the order breaks.
    let mut by_key: Option<HashMap<SocketKey, usize>> = None;
    let mut next = 0;
    let mut out = Vec::new();
    for ls in l.iter() {
        let k = socket_key(ls);
        let earlier = if e.get(next).is_some_and(|es| socket_key(es) == k) {
            next += 1;
            Some(&e[next - 1])
        } else {
            let map = by_key.get_or_insert_with(|| {
                let mut m = HashMap::with_capacity(e.len());
                for (i, es) in e.iter().enumerate() {
                    m.entry(socket_key(es)).or_insert(i);
                }
                m
            });
            map.get(&k).map(|&i| {
                next = i + 1;
                &e[i]
            })
        };
        out.extend(socket_change(earlier.map(|es| then.opt(es.drops)), ls, secs));
    }
    out
}

/// `socket_rates` over the rows a sampler says changed (`Sockets::changed_since`), each paired
/// with the socket the earlier list held there; `None` when one of them holds another socket than
/// it did, which the full pairing must place.
fn changed_socket_rates(
    l: &[udp::UdpSocket],
    rows: &[udp::Changed],
    secs: Option<f64>,
) -> Option<Vec<SocketRates>> {
    let mut out = Vec::new();
    for c in rows {
        let ls = &l[c.row as usize];
        if socket_key(&c.was) != socket_key(ls) {
            return None;
        }
        out.extend(socket_change(Some(c.was.drops), ls, secs));
    }
    Some(out)
}

/// The drops of socket `ls` since its earlier count `ed` (`None`: the socket is new; `Some(None)`:
/// the earlier sample printed no drops), or `None` when it dropped nothing.
fn socket_change(
    ed: Option<Option<u64>>,
    ls: &udp::UdpSocket,
    secs: Option<f64>,
) -> Option<SocketRates> {
    // Kernels before 2.6.34 print no per-socket drops: nothing to tell per socket.
    let ld = ls.drops?;
    // Most sockets dropped nothing: told apart before any rate is made for them.
    if ed == Some(Some(ld)) {
        return None;
    }
    let (presence, drops) = match ed {
        // sk_drops: an atomic_t printed with %u, never cleared while the socket lives.
        Some(Some(ed)) => (Presence::Both, counter_wrapping_u32(ed, ld, secs)),
        Some(None) => (Presence::Both, not_printed()),
        // sk_drops starts at 0 with the socket, so what a socket that appeared has dropped,
        // it dropped in the interval (a short-lived client socket that overflowed counts).
        None => (Presence::New, value(ld, secs)),
    };
    (drops.delta() != Some(0)).then(|| socket(ls, presence, drops))
}

fn not_printed() -> Rate {
    Rate::NotComparable { why: "the earlier sample has no per-socket drops".into() }
}

fn socket(s: &udp::UdpSocket, presence: Presence, drops: Rate) -> SocketRates {
    SocketRates {
        family: s.family,
        local_address: s.local_address,
        local_port: s.local_port,
        rem_address: s.rem_address,
        rem_port: s.rem_port,
        inode: s.inode,
        presence,
        drops,
        rx_queue: s.rx_queue,
        rcvbuf: s.rcvbuf,
    }
}

// ---- /proc/interrupts ----

fn irq_rates(
    e: &interrupts::Interrupts,
    l: &interrupts::Interrupts,
    secs: Option<f64>,
    then: Then,
) -> Vec<IrqRates> {
    let cols = CpuColumns::new(&e.cpus, &l.cpus);
    pair_by(&e.rows, &l.rows, |r: &interrupts::IrqRow| r.irq.as_str())
        .into_iter()
        .map(|p| match p {
            Pair::Both(er, lr) => irq_pair(&cols, er, l, lr, secs, then),
            Pair::New(r) => irq_alone(l, r, Presence::New, Rate::New),
            Pair::Gone(r) => irq_alone(e, r, Presence::Gone, Rate::Gone),
        })
        .collect()
}

fn irq_pair(
    cols: &CpuColumns,
    er: &interrupts::IrqRow,
    l: &interrupts::Interrupts,
    lr: &interrupts::IrqRow,
    secs: Option<f64>,
    then: Then,
) -> IrqRates {
    // An IRQ number freed and given to another device (a driver reload) shows other handlers or
    // another chip/hwirq; its per-CPU counts were freed with the old descriptor.
    // Rows read from per_cpu_count carry no names to compare.
    let named = |r: &interrupts::IrqRow| !r.actions.is_empty() || r.chip.is_some();
    let recreated = er.is_numbered()
        && named(er)
        && named(lr)
        && (er.actions != lr.actions || er.chip != lr.chip || er.hwirq != lr.hwirq);
    // Built for every row, needed for the odd one: no allocation unless the IRQ was recreated.
    let reset_why: Cow<str> = if recreated {
        format!("IRQ {} now belongs to {:?} (was {:?})", lr.irq, lr.actions, er.actions).into()
    } else {
        "the IRQ was freed and requested again (driver reload), which restarts its counts".into()
    };
    let per_cpu: Vec<CpuRate> = if recreated {
        per_cpu_alone(&l.cpus, lr.counts.iter(), |v| Rate::Reset {
            why: reset_why.to_string(),
            at_least: v,
        })
    } else {
        irq_per_cpu(cols, &then.irq_counts(&er.counts), &lr.counts, |a, b| {
            counter_maybe_u32(a, b, secs, &reset_why)
        })
    };
    let one_value = er.counts.is_empty() && lr.counts.is_empty();
    let total = if recreated {
        Rate::Reset { why: reset_why.into_owned(), at_least: lr.total }
    } else if one_value {
        // ERR/MIS: a global atomic_t, never cleared.
        counter_wrapping_u32(then.at(er.total), lr.total, secs)
    } else {
        sum(&per_cpu, secs)
    };
    IrqRates {
        irq: lr.irq.clone(),
        actions: lr.actions.clone(),
        presence: if recreated {
            Presence::Recreated { why: "the IRQ number was given to another handler".into() }
        } else {
            Presence::Both
        },
        per_cpu,
        total,
    }
}

fn irq_alone(
    t: &interrupts::Interrupts,
    r: &interrupts::IrqRow,
    presence: Presence,
    rate: Rate,
) -> IrqRates {
    IrqRates {
        irq: r.irq.clone(),
        actions: r.actions.clone(),
        presence,
        per_cpu: per_cpu_alone(&t.cpus, r.counts.iter(), |_| rate.clone()),
        total: rate,
    }
}

/// How the later sample's per-CPU columns map to the earlier's, by CPU id: the header lists only
/// online CPUs (interrupts) or possible ones (softirqs), so a column's position means nothing
/// across samples. Worked out once per file, not per row: /proc/interrupts has thousands of rows of
/// hundreds of CPUs each.
struct CpuColumns {
    /// Each later column's CPU, its column in the earlier sample (None: the CPU is new) and in the
    /// later one (the first column of that CPU).
    later: Vec<(u32, Option<usize>, usize)>,
    /// CPUs of the earlier sample that the later one lacks, in earlier order.
    gone: Vec<u32>,
    /// Both samples list the same CPUs in the same order, each once.
    same: bool,
}

impl CpuColumns {
    fn new(ecpus: &[u32], lcpus: &[u32]) -> CpuColumns {
        // The usual case: the same CPUs, ascending, in both.
        if ecpus == lcpus && lcpus.windows(2).all(|w| w[0] < w[1]) {
            return CpuColumns {
                later: lcpus.iter().enumerate().map(|(i, &c)| (c, Some(i), i)).collect(),
                gone: Vec::new(),
                same: true,
            };
        }
        let first = |cpus: &[u32]| {
            let mut at: HashMap<u32, usize> = HashMap::with_capacity(cpus.len());
            for (i, &c) in cpus.iter().enumerate() {
                at.entry(c).or_insert(i);
            }
            at
        };
        let (e_at, l_at) = (first(ecpus), first(lcpus));
        CpuColumns {
            later: lcpus.iter().map(|c| (*c, e_at.get(c).copied(), l_at[c])).collect(),
            gone: ecpus.iter().filter(|c| !l_at.contains_key(c)).copied().collect(),
            same: ecpus == lcpus && l_at.len() == lcpus.len(),
        }
    }
}

/// Per-CPU rates of one IRQ row: the CPUs where the count moved, in column order.
fn irq_per_cpu(
    cols: &CpuColumns,
    e: &interrupts::Counts,
    l: &interrupts::Counts,
    f: impl Fn(u64, u64) -> Rate,
) -> Vec<CpuRate> {
    // Same CPUs in the same columns, rows whole (the usual case): only the columns that moved
    // need a look.
    if !(cols.same && e.len() == cols.later.len() && l.len() == e.len()) {
        return per_cpu_pair(cols, |i| e.get(i), |i| l.get(i), true, f);
    }
    let mut out = Vec::with_capacity(4);
    let moved = |i: usize, a, b| out.push(CpuRate { cpu: cols.later[i].0, rate: f(a, b) });
    match (e.dense(), l.dense()) {
        (Some(e), Some(l)) => moved_in_blocks(e, l, moved),
        // A row held as its nonzero counts (a NIC IRQ on a big host), or since boot (all zero
        // then): a CPU whose count is zero in both did not move, so the nonzero counts are all
        // there is to compare.
        _ => moved_nonzero(e.nonzero(), l.nonzero(), moved),
    }
    out
}

/// Calls `moved(column, earlier, later)` for each column where two same-length rows differ.
fn moved_in_blocks(e: &[u64], l: &[u64], mut moved: impl FnMut(usize, u64, u64)) {
    // A row of 512 CPUs where one moved: blocks of 8 compared at once (vector compares) skip the
    // quiet CPUs 8 at a time, where a per-CPU loop with a push in it does not vectorise.
    const BLOCK: usize = 8;
    let (eb, lb) = (e.chunks_exact(BLOCK), l.chunks_exact(BLOCK));
    let tail = eb.remainder().iter().zip(lb.remainder()).enumerate();
    let tail = tail.map(|(j, pair)| (e.len() - e.len() % BLOCK + j, pair));
    for (k, (ea, la)) in eb.zip(lb).enumerate() {
        // OR of XORs, not `==`, which calls memcmp for a block this size.
        if ea.iter().zip(la).fold(0, |moved, (a, b)| moved | (a ^ b)) == 0 {
            continue;
        }
        for (j, (&a, &b)) in ea.iter().zip(la).enumerate() {
            if a != b {
                moved(k * BLOCK + j, a, b);
            }
        }
    }
    for (i, (&a, &b)) in tail {
        if a != b {
            moved(i, a, b);
        }
    }
}

/// `moved_in_blocks` for two rows given as their nonzero counts by column, ascending: a merge. A
/// column nonzero on one side only moved (from zero, or back to zero: a reset).
fn moved_nonzero(
    e: impl Iterator<Item = (usize, u64)>,
    l: impl Iterator<Item = (usize, u64)>,
    mut moved: impl FnMut(usize, u64, u64),
) {
    let (mut e, mut l) = (e.peekable(), l.peekable());
    loop {
        let (i, a, b) = match (e.peek().copied(), l.peek().copied()) {
            (None, None) => return,
            (Some((i, a)), Some((j, b))) if i == j => {
                e.next();
                l.next();
                (i, a, b)
            }
            (Some((i, a)), Some((j, _))) if i < j => {
                e.next();
                (i, a, 0)
            }
            (Some((i, a)), None) => {
                e.next();
                (i, a, 0)
            }
            (_, Some((j, b))) => {
                l.next();
                (j, 0, b)
            }
        };
        if a != b {
            moved(i, a, b);
        }
    }
}

/// Per-CPU rates of one row by CPU id, whatever the columns (CPUs that came or went, rows cut
/// short), each side's count of a column given by `ecount`/`lcount`; with `sparse`, CPUs where
/// the counter did not move are left out.
fn per_cpu_pair(
    cols: &CpuColumns,
    ecount: impl Fn(usize) -> Option<u64>,
    lcount: impl Fn(usize) -> Option<u64>,
    sparse: bool,
    f: impl Fn(u64, u64) -> Rate,
) -> Vec<CpuRate> {
    let cut = || Rate::NotComparable { why: "the row was cut short in a sample".into() };
    let mut out = Vec::with_capacity(if sparse { 4 } else { cols.later.len() + cols.gone.len() });
    for &(cpu, e, l) in &cols.later {
        let rate = match e {
            None => Rate::New,
            Some(e) => match (ecount(e), lcount(l)) {
                (Some(a), Some(b)) if sparse && a == b => continue,
                (Some(a), Some(b)) => f(a, b),
                _ => cut(),
            },
        };
        out.push(CpuRate { cpu, rate });
    }
    out.extend(cols.gone.iter().map(|&cpu| CpuRate { cpu, rate: Rate::Gone }));
    out
}

fn per_cpu_alone(
    cpus: &[u32],
    counts: impl IntoIterator<Item = u64>,
    f: impl Fn(u64) -> Rate,
) -> Vec<CpuRate> {
    cpus.iter().zip(counts).map(|(&cpu, v)| CpuRate { cpu, rate: f(v) }).collect()
}

// ---- /proc/softirqs ----

/// The softirqs whose rates are compared. Timers, block, RCU and the rest are not: on a 512-CPU
/// host they were 4,608 per-CPU rates a refresh that nothing read.
pub const NETWORK_SOFTIRQS: [&str; 2] = ["NET_TX", "NET_RX"];

fn softirq_rates(
    e: &softirqs::Softirqs,
    l: &softirqs::Softirqs,
    secs: Option<f64>,
    then: Then,
) -> Vec<SoftirqRates> {
    let cols = CpuColumns::new(&e.cpus, &l.cpus);
    let zeros = then.zeros(e.rows.values());
    let (mut next, mut found) = (0, 0);
    let network = |name: &String| NETWORK_SOFTIRQS.contains(&name.as_str());
    let mut out: Vec<SoftirqRates> = l
        .rows
        .iter()
        .filter(|(name, _)| network(name))
        .map(|(name, lcounts)| {
            let per_cpu = match seek(&e.rows, &mut next, name) {
                Some(i) => {
                    found += 1;
                    let ecounts = then.counts(&e.rows[i], &zeros);
                    let count = |row: &[u64], i: usize| row.get(i).copied();
                    per_cpu_pair(
                        &cols,
                        |i| count(ecounts, i),
                        |i| count(lcounts, i),
                        false,
                        |a, b| counter_wrapping_u32(a, b, secs),
                    )
                }
                None => per_cpu_alone(&l.cpus, lcounts.iter().copied(), |_| Rate::New),
            };
            let total = sum(&per_cpu, secs);
            SoftirqRates { name: name.clone(), per_cpu, total }
        })
        .collect();
    if found < e.rows.keys().filter(|n| network(n)).count() {
        out.extend(e.rows.iter().filter(|(n, _)| network(n) && !l.rows.contains_key(*n)).map(
            |(name, counts)| SoftirqRates {
                name: name.clone(),
                per_cpu: per_cpu_alone(&e.cpus, counts.iter().copied(), |_| Rate::Gone),
                total: Rate::Gone,
            },
        ));
    }
    out
}

// ---- /proc/stat ----

fn cpu_time_rates(e: &stat::Stat, l: &stat::Stat, then: Then) -> Vec<CpuTimeRates> {
    let mut out = vec![cpu_time_pair(&e.total, &l.total, then)];
    out.extend(pair_by(&e.cpus, &l.cpus, |c| c.cpu).into_iter().map(|p| match p {
        Pair::Both(e, l) => cpu_time_pair(e, l, then),
        Pair::New(l) => cpu_time_alone(l, Presence::New),
        Pair::Gone(e) => cpu_time_alone(e, Presence::Gone),
    }));
    out
}

fn cpu_time_pair(e: &stat::CpuTime, l: &stat::CpuTime, then: Then) -> CpuTimeRates {
    let total = l.total().checked_sub(then.at(e.total())).filter(|&t| t > 0);
    let share = |a: Option<u64>, b: Option<u64>| -> Option<f64> {
        let d = b?.checked_sub(a?)?;
        let t = total?;
        Some((d as f64 / t as f64).min(1.0))
    };
    CpuTimeRates {
        cpu: l.cpu,
        presence: Presence::Both,
        softirq_share: share(then.opt(e.softirq), l.softirq),
        idle_share: share(Some(then.at(e.idle)), Some(l.idle)),
    }
}

fn cpu_time_alone(c: &stat::CpuTime, presence: Presence) -> CpuTimeRates {
    CpuTimeRates { cpu: c.cpu, presence, softirq_share: None, idle_share: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Root;
    use crate::source::interrupts::Counts;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;
    use std::sync::{Arc, OnceLock};

    /// The capture of a 2-CPU 6.18 VM, with a boottime so the pair below is one second apart.
    fn base() -> Sample {
        static BASE: OnceLock<Sample> = OnceLock::new();
        BASE.get_or_init(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/capture-6.18-vm");
            let mut s = Sample::take(&Root::at(dir));
            s.host.boottime_ns = Some(5_000_000_000);
            s
        })
        .clone()
    }

    /// Two copies of the base sample, the later one second after the earlier.
    fn pair() -> (Sample, Sample) {
        let e = base();
        let mut l = base();
        l.host.boottime_ns = Some(6_000_000_000);
        l.host.taken_at_ms = l.host.taken_at_ms.map(|t| t + 1000);
        (e, l)
    }

    fn softnet_mut(s: &mut Sample) -> &mut softnet::Softnet {
        match &mut s.softnet {
            Avail::Value(v) => v,
            Avail::Unavailable(u) => panic!("fixture has no softnet: {u}"),
        }
    }

    fn eth0_mut(s: &mut Sample) -> &mut Interface {
        match &mut s.interfaces {
            Avail::Value(v) => v.iter_mut().find(|i| i.name == "eth0").unwrap(),
            Avail::Unavailable(u) => panic!("fixture has no interfaces: {u}"),
        }
    }

    fn map_mut(m: &mut Avail<CounterMap>) -> &mut CounterMap {
        match m {
            Avail::Value(v) => v,
            Avail::Unavailable(u) => panic!("{u}"),
        }
    }

    fn cpu(d: &Delta, cpu: u32) -> &CpuRates {
        d.softnet.value().unwrap().iter().find(|r| r.cpu == cpu).unwrap()
    }

    fn iface<'a>(d: &'a Delta, name: &str) -> &'a IfaceRates {
        d.interfaces.value().unwrap().iter().find(|i| i.name == name).unwrap()
    }

    fn irq<'a>(d: &'a Delta, label: &str) -> &'a IrqRates {
        d.irqs.value().unwrap().iter().find(|r| r.irq == label).unwrap()
    }

    fn rate_of(rates: &[CpuRate], cpu: u32) -> &Rate {
        &rates.iter().find(|r| r.cpu == cpu).unwrap().rate
    }

    fn val(delta: u64, per_sec: f64) -> Rate {
        Rate::Value { delta, per_sec: Some(per_sec) }
    }

    /// Both fixture trees, as one-shot samples.
    fn fixture_samples() -> Vec<Sample> {
        ["capture-6.18-vm", "linux-6.18-virtio"]
            .iter()
            .map(|t| {
                let dir = format!("{}/tests/fixtures/trees/{t}", env!("CARGO_MANIFEST_DIR"));
                Sample::take(&Root::at(dir))
            })
            .collect()
    }

    /// `sample` with every counter at zero and its clock at boot; gauges and settings are kept: what
    /// `since_boot` compared with before `Then::Boot`, kept as the meaning it must keep.
    fn zeroed(sample: &Sample) -> Sample {
        fn zero_map<K, V: Default, S>(m: &mut Avail<IndexMap<K, V, S>>) {
            if let Avail::Value(m) = m {
                m.values_mut().for_each(|v| *v = V::default());
            }
        }
        let mut z = sample.clone();
        z.host.boottime_ns = sample.host.boottime_ns.map(|_| 0);
        // Without CLOCK_BOOTTIME there is no uptime to divide by: no time at all, so no per_sec.
        z.host.taken_at_ms = None;
        if let Avail::Value(sn) = &mut z.softnet {
            for r in &mut sn.rows {
                (r.processed, r.dropped, r.time_squeeze) = (0, 0, 0);
                for c in [&mut r.cpu_collision, &mut r.received_rps, &mut r.flow_limit_count] {
                    *c = c.map(|_| 0);
                }
            }
        }
        if let Avail::Value(ifs) = &mut z.interfaces {
            for i in ifs {
                zero_map(&mut i.proc_net_dev);
                zero_map(&mut i.sysfs.statistics);
                zero_map(&mut i.stats64);
                zero_map(&mut i.ethtool.stats);
            }
        }
        if let Avail::Value(g) = &mut z.netdev_genl {
            for qs in [&mut g.qstats, &mut g.qstats_device] {
                if let Avail::Value(qs) = qs {
                    qs.iter_mut().for_each(|q| q.counters.values_mut().for_each(|v| *v = 0));
                }
            }
        }
        for part in [&mut z.snmp, &mut z.netstat] {
            if let Avail::Value(s) = part {
                s.sections.values_mut().flat_map(|c| c.values_mut()).for_each(|v| *v = 0);
            }
        }
        zero_map(&mut z.snmp6);
        let udp = Arc::make_mut(&mut z.udp);
        for socks in [&mut udp.udp, &mut udp.udp6] {
            if let Avail::Value(socks) = socks {
                socks.make_mut().iter_mut().for_each(|s| s.drops = s.drops.map(|_| 0));
            }
        }
        if let Avail::Value(i) = &mut z.interrupts {
            for r in &mut i.rows {
                r.counts = Counts::zeros(r.counts.len());
                r.extra_counts.iter_mut().for_each(|c| *c = 0);
                r.total = 0;
            }
        }
        if let Avail::Value(s) = &mut z.softirqs {
            s.rows.values_mut().flatten().for_each(|c| *c = 0);
        }
        if let Avail::Value(st) = &mut z.stat {
            for t in std::iter::once(&mut st.total).chain(st.cpus.iter_mut()) {
                (t.user, t.nice, t.system, t.idle) = (0, 0, 0, 0);
                for f in [
                    &mut t.iowait,
                    &mut t.irq,
                    &mut t.softirq,
                    &mut t.steal,
                    &mut t.guest,
                    &mut t.guest_nice,
                ] {
                    *f = f.map(|_| 0);
                }
            }
            if let Some(s) = &mut st.softirq {
                s.iter_mut().for_each(|c| *c = 0);
            }
        }
        z
    }

    #[test]
    fn since_boot_is_the_delta_from_an_all_zero_twin() {
        for mut s in fixture_samples() {
            for boottime in [None, Some(5_000_000_000)] {
                s.host.boottime_ns = boottime;
                let d = Delta::since_boot(&s);
                assert_eq!(d, Delta::between(&zeroed(&s), &s));
                // Totals, not zeros: the pairing read the counters as they were at boot.
                let eth0 = d.interfaces.value().unwrap().iter().find(|i| i.name == "eth0");
                let rx = &eth0.unwrap().proc_net_dev.value().unwrap()["rx_packets"];
                assert!(rx.delta().is_some_and(|d| d > 0), "{rx:?}");
            }
        }
    }

    #[test]
    fn same_sample_one_second_later_is_all_zero_rates() {
        let (e, l) = pair();
        let d = Delta::between(&e, &l);
        assert_eq!(d.interval.value().unwrap(), &Interval { secs: 1.0, clock: Clock::Boottime });
        assert_eq!(cpu(&d, 1).processed, val(0, 0.0));
        assert_eq!(cpu(&d, 0).backlog_len, Some(0));
        let eth0 = iface(&d, "eth0");
        assert_eq!(eth0.presence, Presence::Both);
        assert_eq!(eth0.proc_net_dev.value().unwrap()["rx_packets"], val(0, 0.0));
        assert_eq!(eth0.ethtool_stats.value().unwrap()["rx_kicks"], val(0, 0.0));
        assert_eq!(eth0.qstats.value().unwrap()[0].counters["rx-packets"], val(0, 0.0));
        assert_eq!(d.snmp.value().unwrap()["Tcp"]["InSegs"], val(0, 0.0));
        // Settings and gauges are values, not rates.
        assert_eq!(d.snmp.value().unwrap()["Tcp"]["MaxConn"], Rate::Gauge { value: -1 });
        assert_eq!(d.snmp.value().unwrap()["Tcp"]["RtoMax"], Rate::Gauge { value: 120000 });
        assert_eq!(irq(&d, "38").total, val(0, 0.0));
        assert_eq!(irq(&d, "ERR").total, val(0, 0.0));
        assert_eq!(d.conntrack_count, Avail::Value(0));
        // Nothing moved, so no share of time can be computed.
        assert_eq!(d.cpu_time.value().unwrap()[0].softirq_share, None);
    }

    #[test]
    fn counters_advance_into_per_second_rates() {
        let (e, mut l) = pair();
        l.host.boottime_ns = Some(7_000_000_000); // two seconds
        softnet_mut(&mut l).rows[1].processed += 400;
        *map_mut(&mut eth0_mut(&mut l).proc_net_dev).get_mut("rx_packets").unwrap() += 1000;
        if let Avail::Value(s) = &mut l.stat {
            s.cpus[1].softirq = s.cpus[1].softirq.map(|v| v + 10);
            s.cpus[1].idle += 90;
        }
        let d = Delta::between(&e, &l);
        assert_eq!(cpu(&d, 1).processed, val(400, 200.0));
        assert_eq!(iface(&d, "eth0").proc_net_dev.value().unwrap()["rx_packets"], val(1000, 500.0));
        let cpu1 = d.cpu_time.value().unwrap().iter().find(|c| c.cpu == Some(1)).unwrap();
        assert_eq!(cpu1.softirq_share, Some(0.1));
        assert_eq!(cpu1.idle_share, Some(0.9));
    }

    #[test]
    fn idle_time_that_steps_back_has_no_share() {
        let (e, mut l) = pair();
        if let Avail::Value(s) = &mut l.stat {
            s.cpus[1].softirq = s.cpus[1].softirq.map(|v| v + 50);
            s.cpus[1].idle -= 5;
        }
        let d = Delta::between(&e, &l);
        let cpu1 = d.cpu_time.value().unwrap().iter().find(|c| c.cpu == Some(1)).unwrap();
        assert_eq!(cpu1.idle_share, None);
        // The time that did pass still divides: 50 ticks of softirq out of 45.
        assert_eq!(cpu1.softirq_share, Some(1.0));
    }

    #[test]
    fn softnet_u32_counters_wrap() {
        let (mut e, mut l) = pair();
        softnet_mut(&mut e).rows[0].processed = 0xffff_fff0;
        softnet_mut(&mut l).rows[0].processed = 0x10;
        softnet_mut(&mut e).rows[0].dropped = u32::MAX;
        softnet_mut(&mut l).rows[0].dropped = 4;
        // Even far below half the range: these counters are never cleared, so back is a wrap.
        softnet_mut(&mut e).rows[0].time_squeeze = 0x8000_0000;
        softnet_mut(&mut l).rows[0].time_squeeze = 0x10;
        let d = Delta::between(&e, &l);
        assert_eq!(cpu(&d, 0).processed, val(0x20, 32.0));
        assert_eq!(cpu(&d, 0).dropped, val(5, 5.0));
        assert_eq!(cpu(&d, 0).time_squeeze, val(0x8000_0010, f64::from(0x8000_0010u32)));
    }

    #[test]
    fn flow_limit_count_reset_is_not_a_wrap() {
        let (mut e, mut l) = pair();
        softnet_mut(&mut e).rows[1].flow_limit_count = Some(500);
        softnet_mut(&mut l).rows[1].flow_limit_count = Some(3);
        softnet_mut(&mut e).rows[0].flow_limit_count = Some(0xffff_ff00);
        softnet_mut(&mut l).rows[0].flow_limit_count = Some(0x10);
        let d = Delta::between(&e, &l);
        match &cpu(&d, 1).flow_limit_count {
            Rate::Reset { why, at_least } => {
                assert_eq!(*at_least, 3);
                assert!(why.contains("flow_limit_cpu_bitmap"), "{why}");
            }
            other => panic!("expected a reset, got {other:?}"),
        }
        assert_eq!(cpu(&d, 0).flow_limit_count, val(0x110, 272.0));
    }

    #[test]
    fn a_u64_counter_going_back_is_a_reset_with_a_lower_bound() {
        let (e, mut l) = pair();
        *map_mut(&mut eth0_mut(&mut l).sysfs.statistics).get_mut("rx_packets").unwrap() = 10;
        let d = Delta::between(&e, &l);
        let stats = iface(&d, "eth0").statistics.value().unwrap();
        assert!(matches!(stats["rx_packets"], Rate::Reset { at_least: 10, .. }));
        // One counter back among four that moved is that counter's reset, not the device's.
        assert_eq!(stats["tx_packets"], val(0, 0.0));
    }

    #[test]
    fn most_counters_going_back_is_a_device_reset() {
        let (e, mut l) = pair();
        let eth0 = eth0_mut(&mut l);
        for v in map_mut(&mut eth0.ethtool.stats).values_mut() {
            *v /= 2;
        }
        *map_mut(&mut eth0.ethtool.stats).get_mut("tx_kicks").unwrap() = 5000; // climbed past
        let d = Delta::between(&e, &l);
        let stats = iface(&d, "eth0").ethtool_stats.value().unwrap();
        assert!(matches!(stats["rx_kicks"], Rate::Reset { at_least: 149, .. }));
        assert!(
            matches!(&stats["tx_kicks"], Rate::Reset { at_least: 5000, why } if why.contains("reset")),
            "a counter that climbed above its old value after a reset is no rate: {:?}",
            stats["tx_kicks"]
        );
    }

    #[test]
    fn ethtool_stat_names_changing_restarts_the_set() {
        let (e, mut l) = pair();
        let stats = map_mut(&mut eth0_mut(&mut l).ethtool.stats);
        stats.insert("rx1_kicks".into(), 7);
        stats.shift_remove("tx0_kicks");
        *stats.get_mut("rx_kicks").unwrap() += 100;
        let d = Delta::between(&e, &l);
        let rates = iface(&d, "eth0").ethtool_stats.value().unwrap();
        assert_eq!(rates["rx1_kicks"], Rate::New);
        assert_eq!(rates["tx0_kicks"], Rate::Gone);
        match &rates["rx_kicks"] {
            Rate::Reset { why, at_least } => {
                assert_eq!(*at_least, 399);
                assert!(why.contains("1 added, 1 removed"), "{why}");
            }
            other => panic!("expected a reset, got {other:?}"),
        }
    }

    #[test]
    fn counters_pair_by_name_whatever_their_order() {
        let (mut e, mut l) = pair();
        // The earlier map in another order, a name gone from the middle of the later one and a
        // new one in its place: names still pair, the gone one comes last.
        map_mut(&mut eth0_mut(&mut e).proc_net_dev).reverse();
        let dev = map_mut(&mut eth0_mut(&mut l).proc_net_dev);
        *dev.get_mut("rx_packets").unwrap() += 5;
        *dev.get_mut("tx_bytes").unwrap() += 9;
        let at = dev.get_index_of("rx_errs").unwrap();
        dev.shift_remove("rx_errs");
        dev.shift_insert(at, "rx_new".into(), 1);
        let Avail::Value(snmp) = &mut l.snmp else { panic!("no /proc/net/snmp") };
        snmp.sections.swap_indices(0, 1);
        *snmp.sections["Tcp"].get_mut("InSegs").unwrap() += 4;
        let d = Delta::between(&e, &l);
        let rates = iface(&d, "eth0").proc_net_dev.value().unwrap();
        assert_eq!(rates["rx_packets"], val(5, 5.0));
        assert_eq!(rates["tx_bytes"], val(9, 9.0));
        assert_eq!(rates["rx_new"], Rate::New);
        assert_eq!(rates.get_index(rates.len() - 1), Some((&"rx_errs".into(), &Rate::Gone)));
        assert_eq!(rates.values().filter(|r| **r == val(0, 0.0)).count(), rates.len() - 4);
        assert_eq!(d.snmp.value().unwrap()["Tcp"]["InSegs"], val(4, 4.0));
    }

    #[test]
    fn interface_recreated_with_a_new_ifindex() {
        let (e, mut l) = pair();
        let eth0 = eth0_mut(&mut l);
        eth0.sysfs.ifindex = Avail::Value(9);
        // Bigger than before: without the ifindex check this would pass as a rate.
        *map_mut(&mut eth0.proc_net_dev).get_mut("rx_packets").unwrap() = 3000;
        let d = Delta::between(&e, &l);
        let r = iface(&d, "eth0");
        assert!(matches!(&r.presence, Presence::Recreated { why } if why.contains("4 → 9")));
        assert_eq!(r.ifindex, Some(9));
        assert!(matches!(
            r.proc_net_dev.value().unwrap()["rx_packets"],
            Rate::Reset { at_least: 3000, .. }
        ));
        assert!(r.qstats.unavailable().is_some());
        assert_eq!(iface(&d, "lo").presence, Presence::Both);
    }

    #[test]
    fn interfaces_appearing_and_vanishing() {
        let (mut e, l) = pair();
        if let Avail::Value(v) = &mut e.interfaces {
            v.retain(|i| i.name != "ifb1");
            let mut gone = v[0].clone();
            gone.name = "veth7".into();
            v.push(gone);
        }
        let d = Delta::between(&e, &l);
        let ifb1 = iface(&d, "ifb1");
        assert_eq!(ifb1.presence, Presence::New);
        assert_eq!(ifb1.statistics.value().unwrap()["rx_packets"], Rate::New);
        let veth = iface(&d, "veth7");
        assert_eq!(veth.presence, Presence::Gone);
        assert_eq!(veth.proc_net_dev.value().unwrap()["rx_packets"], Rate::Gone);
    }

    /// Changes a row's counts as a Vec.
    fn edit(counts: &mut Counts, f: impl FnOnce(&mut Vec<u64>)) {
        let mut v = counts.to_vec();
        f(&mut v);
        *counts = v.into();
    }

    /// Takes CPU 1 offline in a sample: gone from softnet_stat, /proc/interrupts and /proc/stat.
    fn offline_cpu1(s: &mut Sample) {
        softnet_mut(s).rows.retain(|r| r.cpu != 1);
        if let Avail::Value(i) = &mut s.interrupts {
            i.cpus = vec![0];
            for r in &mut i.rows {
                edit(&mut r.counts, |c| c.truncate(1));
            }
        }
        if let Avail::Value(st) = &mut s.stat {
            st.cpus.retain(|c| c.cpu != Some(1));
        }
    }

    #[test]
    fn cpu_going_offline_and_coming_back() {
        let (e, mut l) = pair();
        offline_cpu1(&mut l);
        if let Avail::Value(i) = &mut l.interrupts {
            let r = i.rows.iter_mut().find(|r| r.irq == "LOC").unwrap();
            edit(&mut r.counts, |c| c[0] += 100);
        }
        let d = Delta::between(&e, &l);
        assert_eq!(cpu(&d, 1).presence, Presence::Gone);
        assert_eq!(cpu(&d, 1).processed, Rate::Gone);
        assert_eq!(cpu(&d, 1).backlog_len, None);
        assert_eq!(cpu(&d, 0).processed, val(0, 0.0));
        let loc = irq(&d, "LOC");
        assert_eq!(rate_of(&loc.per_cpu, 0), &val(100, 100.0));
        assert_eq!(rate_of(&loc.per_cpu, 1), &Rate::Gone);
        // The hidden CPU's count does not turn the total into a fall.
        assert_eq!(loc.total, val(100, 100.0));

        // Back online: the later sample has CPU 1 again, the earlier one did not.
        let (mut e, mut l) = pair();
        offline_cpu1(&mut e);
        if let Avail::Value(i) = &mut l.interrupts {
            let r = i.rows.iter_mut().find(|r| r.irq == "38").unwrap();
            edit(&mut r.counts, |c| c[1] += 50);
        }
        let d = Delta::between(&e, &l);
        assert_eq!(cpu(&d, 1).presence, Presence::New);
        assert_eq!(cpu(&d, 1).dropped, Rate::New);
        assert_eq!(cpu(&d, 1).backlog_len, Some(0));
        assert_eq!(rate_of(&irq(&d, "38").per_cpu, 1), &Rate::New);
        assert_eq!(irq(&d, "38").total, val(0, 0.0));
        let cpus = d.cpu_time.value().unwrap();
        assert_eq!(cpus.iter().find(|c| c.cpu == Some(1)).unwrap().presence, Presence::New);
    }

    #[test]
    fn interrupt_columns_are_matched_by_cpu_id_not_position() {
        let (mut e, mut l) = pair();
        // Earlier: CPUs 0 and 1 online. Later: CPU 0 offline, so CPU 1 is the first column.
        if let Avail::Value(i) = &mut e.interrupts {
            let r = i.rows.iter_mut().find(|r| r.irq == "36").unwrap();
            r.counts = vec![7, 25242].into();
        }
        if let Avail::Value(i) = &mut l.interrupts {
            i.cpus = vec![1];
            for r in &mut i.rows {
                r.counts = r.counts.get(1).into_iter().collect::<Vec<_>>().into();
            }
            let r = i.rows.iter_mut().find(|r| r.irq == "36").unwrap();
            r.counts = vec![25250].into();
        }
        let d = Delta::between(&e, &l);
        let r = irq(&d, "36");
        assert_eq!(rate_of(&r.per_cpu, 1), &val(8, 8.0));
        assert_eq!(rate_of(&r.per_cpu, 0), &Rate::Gone);
    }

    /// Column pairs (earlier, later) of a row: mostly zeros with a CPU or few that moved, as a
    /// NIC IRQ on a big host, or dense, as LOC; any column may go back (a reset).
    fn row_pairs() -> impl Strategy<Value = Vec<(u64, u64)>> {
        let small = (0u64..3, 0u64..3);
        prop_oneof![
            proptest::collection::vec(prop_oneof![20 => Just((0, 0)), 1 => small.clone()], 0..600),
            proptest::collection::vec(small, 0..80),
        ]
    }

    proptest! {
        /// The same-CPU fast paths (blocks of 8 for whole rows, a merge of the nonzero counts
        /// when either row is held sparse or the earlier one is all zero since boot) and the
        /// by-CPU-id path over the same rows find exactly the CPUs a per-CPU look finds, in
        /// order, wherever they fall (whole blocks or the tail), however each row is held.
        #[test]
        fn same_cpu_rows_find_every_moved_cpu(
            row in row_pairs(),
            (e_sparse, l_sparse, boot) in (any::<bool>(), any::<bool>(), any::<bool>()),
        ) {
            let cpus: Vec<u32> = (0..row.len() as u32).map(|c| c * 2 + 1).collect();
            let cols = CpuColumns::new(&cpus, &cpus);
            let row: Vec<(u64, u64)> =
                row.into_iter().map(|(a, b)| (if boot { 0 } else { a }, b)).collect();
            let (e, l): (Vec<u64>, Vec<u64>) = row.iter().copied().unzip();
            let e = if boot { Counts::zeros(e.len()) } else { Counts::held(e, e_sparse) };
            let l = Counts::held(l, l_sparse);
            let f = |a: u64, b: u64| Rate::Gauge { value: (b * 10 + a) as i64 };
            let want: Vec<CpuRate> = cpus
                .iter()
                .zip(&row)
                .filter(|(_, (a, b))| a != b)
                .map(|(&cpu, &(a, b))| CpuRate { cpu, rate: f(a, b) })
                .collect();
            prop_assert_eq!(irq_per_cpu(&cols, &e, &l, f), want.clone());
            prop_assert_eq!(per_cpu_pair(&cols, |i| e.get(i), |i| l.get(i), true, f), want);
        }
    }

    #[test]
    fn irq_counts_wrap_and_a_reassigned_irq_restarts() {
        let (mut e, mut l) = pair();
        if let (Avail::Value(ei), Avail::Value(li)) = (&mut e.interrupts, &mut l.interrupts) {
            let er = ei.rows.iter_mut().find(|r| r.irq == "38").unwrap();
            edit(&mut er.counts, |c| c[1] = u64::from(u32::MAX) - 1);
            let lr = li.rows.iter_mut().find(|r| r.irq == "38").unwrap();
            edit(&mut lr.counts, |c| c[1] = 3);
            let lr = li.rows.iter_mut().find(|r| r.irq == "41").unwrap();
            lr.actions = vec!["eth1-rx-0".into()];
            edit(&mut lr.counts, |c| c[0] = 9000);
        }
        let d = Delta::between(&e, &l);
        assert_eq!(rate_of(&irq(&d, "38").per_cpu, 1), &val(5, 5.0));
        let r41 = irq(&d, "41");
        assert!(matches!(r41.presence, Presence::Recreated { .. }));
        assert!(matches!(rate_of(&r41.per_cpu, 0), Rate::Reset { at_least: 9000, .. }));
    }

    #[test]
    fn softirq_counts_wrap_per_cpu_id() {
        let (mut e, mut l) = pair();
        if let (Avail::Value(es), Avail::Value(ls)) = (&mut e.softirqs, &mut l.softirqs) {
            es.rows["NET_RX"][1] = u64::from(u32::MAX);
            ls.rows["NET_RX"][1] = 9;
            ls.rows["NET_RX"][0] += 1;
        }
        let d = Delta::between(&e, &l);
        let net_rx = d.softirqs.value().unwrap().iter().find(|r| r.name == "NET_RX").unwrap();
        assert_eq!(rate_of(&net_rx.per_cpu, 1), &val(10, 10.0));
        assert_eq!(net_rx.total, val(11, 11.0));
    }

    #[test]
    fn only_the_network_softirqs_are_compared() {
        let (e, l) = pair();
        let names =
            |s: &Sample| s.softirqs.value().unwrap().rows.keys().cloned().collect::<Vec<_>>();
        assert!(names(&l).len() > 2, "{:?}", names(&l));
        for d in [Delta::between(&e, &l), Delta::since_boot(&l)] {
            let rates: Vec<&str> =
                d.softirqs.value().unwrap().iter().map(|r| r.name.as_str()).collect();
            assert_eq!(rates, NETWORK_SOFTIRQS);
        }
    }

    fn sock(inode: u64, port: u16, drops: u64) -> udp::UdpSocket {
        udp::UdpSocket {
            family: udp::Family::Inet,
            sl: Some(0),
            local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_port: port,
            rem_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            rem_port: 0,
            st: 7,
            tx_queue: 0,
            rx_queue: 2048,
            rcvbuf: None,
            uid: 0,
            inode,
            ref_count: Some(2),
            pointer: None,
            drops: Some(drops),
        }
    }

    #[test]
    fn sockets_by_inode_appearing_and_vanishing() {
        let (mut e, mut l) = pair();
        Arc::make_mut(&mut e.udp).udp = Avail::Value(udp::Sockets::from(vec![
            sock(100, 53, 10),
            sock(200, 5353, 0),
            sock(400, 123, 0xffff_fffe),
            sock(500, 123, 7),
        ]));
        // Same port, other inode: a restarted daemon's new socket, not the old one.
        Arc::make_mut(&mut l.udp).udp = Avail::Value(udp::Sockets::from(vec![
            sock(300, 5353, 0),
            sock(100, 53, 2010),
            sock(400, 123, 1),
            sock(600, 9, 4),
            sock(500, 123, 7),
        ]));
        let d = Delta::between(&e, &l);
        let socks = d.udp.value().unwrap();
        let by = |inode| socks.iter().find(|s| s.inode == inode);
        assert_eq!(by(100).unwrap().drops, val(2000, 2000.0));
        assert_eq!(by(100).unwrap().rx_queue, 2048);
        assert_eq!(by(400).unwrap().drops, val(3, 3.0), "sk_drops wraps at 2^32");
        // sk_drops starts at 0 with the socket: all of a new socket's drops are the interval's.
        let new = by(600).unwrap();
        assert_eq!((new.presence.clone(), new.drops.clone()), (Presence::New, val(4, 4.0)));
        // Only sockets that dropped are listed: not the quiet new one, the gone one, or 500.
        assert!(by(300).is_none() && by(200).is_none() && by(500).is_none());
        assert_eq!(socks.len(), 3);
        assert_eq!(d.udp6.value().unwrap(), &vec![]);
    }

    #[test]
    fn sockets_pair_by_inode_whatever_the_order() {
        let (mut e, mut l) = pair();
        let many: Vec<_> = (0..50).map(|i| sock(1000 + i, 2000 + i as u16, i)).collect();
        Arc::make_mut(&mut e.udp).udp = Avail::Value(many.clone().into());
        // The kernel's order broken: reversed, one socket gone, one moved on by 5.
        let mut later: Vec<_> = many.into_iter().rev().filter(|s| s.inode != 1010).collect();
        later.iter_mut().find(|s| s.inode == 1020).unwrap().drops = Some(25);
        Arc::make_mut(&mut l.udp).udp = Avail::Value(later.into());
        let d = Delta::between(&e, &l);
        let socks = d.udp.value().unwrap();
        assert_eq!(socks.len(), 1, "{socks:?}");
        assert_eq!((socks[0].inode, socks[0].drops.clone()), (1020, val(5, 5.0)));
    }

    #[test]
    fn zero_or_negative_interval_gives_deltas_without_rates() {
        let (e, mut l) = pair();
        l.host.boottime_ns = e.host.boottime_ns;
        softnet_mut(&mut l).rows[0].processed += 5;
        let d = Delta::between(&e, &l);
        assert!(d.interval.unavailable().unwrap().why.contains("not after"));
        assert_eq!(cpu(&d, 0).processed, Rate::Value { delta: 5, per_sec: None });

        // Wall clock only, stepped back.
        let (mut e, mut l) = pair();
        e.host.boottime_ns = None;
        l.host.boottime_ns = None;
        l.host.taken_at_ms = e.host.taken_at_ms.map(|t| t - 1);
        let d = Delta::between(&e, &l);
        assert!(d.interval.unavailable().unwrap().why.contains("stepped back"));

        // Wall clock fallback when it advances.
        l.host.taken_at_ms = e.host.taken_at_ms.map(|t| t + 250);
        let d = Delta::between(&e, &l);
        assert_eq!(d.interval.value().unwrap(), &Interval { secs: 0.25, clock: Clock::WallClock });

        // A fixture tree records no time.
        let (mut e, l) = pair();
        e.host.boottime_ns = None;
        e.host.taken_at_ms = None;
        let d = Delta::between(&e, &l);
        assert!(d.interval.unavailable().unwrap().why.contains("recorded no time"));
    }

    #[test]
    fn other_boot_or_host_is_not_compared_at_all() {
        let (e, mut l) = pair();
        l.host.boottime_ns = Some(1_000);
        let d = Delta::between(&e, &l);
        assert!(d.softnet.unavailable().unwrap().why.contains("rebooted"));
        let (e, mut l) = pair();
        l.host.kernel = Avail::Value("6.19.0".into());
        assert!(Delta::between(&e, &l).snmp.unavailable().unwrap().why.contains("kernels"));
        let (e, mut l) = pair();
        l.host.hostname = Avail::Value("other".into());
        assert!(Delta::between(&e, &l).irqs.unavailable().unwrap().why.contains("hosts"));
    }

    #[test]
    fn absurd_jumps_are_not_rates() {
        let (e, mut l) = pair();
        *map_mut(&mut eth0_mut(&mut l).stats64).get_mut("rx_bytes").unwrap() = u64::MAX;
        let d = Delta::between(&e, &l);
        let r = &iface(&d, "eth0").stats64.value().unwrap()["rx_bytes"];
        assert!(matches!(r, Rate::NotComparable { why } if why.contains("sentinel")), "{r:?}");
        // A plausible delta over a tiny interval is still absurd as a rate.
        assert!(matches!(value(1 << 40, Some(1e-3)), Rate::NotComparable { .. }));
    }

    #[test]
    fn delta_serialises_readably_and_round_trips() {
        let (e, mut l) = pair();
        softnet_mut(&mut l).rows[0].processed += 3;
        let Avail::Value(ints) = &mut l.interrupts else { panic!("no /proc/interrupts") };
        let row = &mut ints.rows[0];
        edit(&mut row.counts, |c| c[1] += 2);
        row.total += 2;
        let d = Delta::between(&e, &l);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(
            json["softnet"][0]["processed"],
            serde_json::json!({"kind": "value", "delta": 3, "per_sec": 3.0})
        );
        // Only the CPU the IRQ fired on: the row is sparse.
        assert_eq!(
            json["irqs"][0]["per_cpu"],
            serde_json::json!([{"cpu": 1, "kind": "value", "delta": 2, "per_sec": 2.0}])
        );
        let back: Delta = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
    }

    // ---- no pair of samples gives a negative, NaN or absurd rate ----

    /// Replaces numbers of a sample's JSON with ones drawn from `pool`, kept within the original's
    /// width so the JSON still fits the Sample types (u8 ports, u32 counters, i64 SNMP values).
    /// A pool value divisible by 3 keeps the original, so two scrambled samples share many values
    /// and compare; the rest brings wraps, resets, zeros and huge values.
    fn scramble(v: &mut serde_json::Value, pool: &[u64], at: &mut usize) {
        use serde_json::Value;
        match v {
            Value::Number(n) => {
                let r = pool[*at % pool.len()];
                *at += 1;
                if r.is_multiple_of(3) && r != 0 {
                    return;
                }
                if let Some(orig) = n.as_u64() {
                    let bound = orig.saturating_add(1).checked_next_power_of_two().unwrap_or(0);
                    let bound = bound.max(256);
                    let x = if r == u64::MAX { bound.wrapping_sub(1) } else { r % bound };
                    // i64 fields hold at most i64::MAX; any u64 field takes these too.
                    *n = x.min(i64::MAX as u64).into();
                } else if n.as_i64().is_some() {
                    *n = (-((r % 1000) as i64)).into();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| scramble(x, pool, at)),
            Value::Object(o) => o.values_mut().for_each(|x| scramble(x, pool, at)),
            _ => {}
        }
    }

    fn check_rates(v: &serde_json::Value, path: &str) -> Result<(), String> {
        use serde_json::Value;
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    let here = format!("{path}.{k}");
                    if k == "per_sec" || k.ends_with("_share") || k == "secs" {
                        if x.is_null() && k.ends_with("_share") {
                            continue;
                        }
                        let f = x.as_f64().ok_or(format!("{here} = {x} (NaN or infinite)"))?;
                        if !(0.0..=ABSURD_PER_SEC).contains(&f) {
                            return Err(format!("{here} = {f}"));
                        }
                        if k.ends_with("_share") && f > 1.0 {
                            return Err(format!("{here} = {f} > 1"));
                        }
                    }
                    check_rates(x, &here)?;
                }
                Ok(())
            }
            Value::Array(a) => {
                a.iter().enumerate().try_for_each(|(i, x)| check_rates(x, &format!("{path}[{i}]")))
            }
            _ => Ok(()),
        }
    }

    fn pool() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(
            prop_oneof![Just(0u64), Just(u64::MAX), 0..10u64, any::<u64>()],
            1..64,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn no_pair_of_samples_gives_a_bad_rate(
            a in pool(), b in pool(), skip in 0..40usize,
            gap_ns in prop_oneof![Just(0u64), Just(1u64), 1..3_000_000_000u64],
            wall_clock in any::<bool>(),
        ) {
            let base = serde_json::to_value(base()).unwrap();
            let (mut ej, mut lj) = (base.clone(), base);
            scramble(&mut ej, &a, &mut 0);
            scramble(&mut lj, &b, &mut skip.clone());
            let mut e: Sample = serde_json::from_value(ej).unwrap();
            let mut l: Sample = serde_json::from_value(lj).unwrap();
            for s in [&mut e, &mut l] {
                s.host.boottime_ns = (!wall_clock).then_some(5_000_000_000);
                s.host.taken_at_ms = Some(1_000_000);
            }
            l.host.boottime_ns = l.host.boottime_ns.map(|t| t + gap_ns);
            l.host.taken_at_ms = Some(1_000_000 + gap_ns / 1_000_000);
            for d in [Delta::between(&e, &l), Delta::between(&l, &e), Delta::between(&e, &e)] {
                let json = serde_json::to_value(&d).unwrap();
                if let Err(msg) = check_rates(&json, "") {
                    return Err(TestCaseError::fail(msg));
                }
            }
        }

        #[test]
        fn since_boot_of_any_sample_is_the_delta_from_its_zero_twin(
            a in pool(), wall_clock in any::<bool>(),
        ) {
            let mut j = serde_json::to_value(base()).unwrap();
            scramble(&mut j, &a, &mut 0);
            let mut s: Sample = serde_json::from_value(j).unwrap();
            s.host.boottime_ns = (!wall_clock).then_some(5_000_000_000);
            prop_assert_eq!(Delta::since_boot(&s), Delta::between(&zeroed(&s), &s));
        }

        #[test]
        fn counters_never_give_a_negative_or_nan_rate(
            e in any::<u64>(), l in any::<u64>(), e32 in any::<u32>(), l32 in any::<u32>(),
            secs in prop_oneof![Just(0.0), Just(-1.0), Just(f64::NAN), Just(1e-9), 1e-6..1e6f64],
        ) {
            let secs = Some(secs);
            for r in [
                counter_u64(e, l, secs, "x"),
                wrap_or_reset_u32(e32, l32, secs, "x"),
                counter_maybe_u32(e, l, secs, "x"),
                counter_wrapping_u32(e, l, secs),
                snmp_counter(e as i64, l as i64, secs),
            ] {
                if let Some(p) = r.per_sec() {
                    prop_assert!(p.is_finite() && (0.0..=ABSURD_PER_SEC).contains(&p), "{r:?}");
                }
            }
        }
    }
}
