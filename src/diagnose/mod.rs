//! Diagnosis: small rules, one per file, each turning the drop path, the rates and the settings of
//! this host into Findings — the stage, the evidence with its values, the mechanism in plain words,
//! and the exact change with the command a person would type.
//!
//! A rule fires only on evidence from this host (a counter that moved, a setting that is read);
//! a healthy host gives no findings. Rules never read the kernel: everything is in the Context.

use crate::delta::{Delta, IrqRates};
use crate::fxhash::FxBuild;
use crate::path::{Amount, Path, StageId};
use crate::report::{Basis, CpuRow, QueueRow, SocketRow};
use crate::sample::Sample;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

mod backlog_drops;
mod busy_poll;
mod coalescing;
mod conntrack_full;
mod gro_off;
mod ip_errors;
mod irq_one_cpu;
mod irq_remote_numa;
mod irqbalance_pinned;
mod netfilter_drops;
mod nic;
mod packet_taps;
mod rfs_off;
mod ring_overflow;
mod rps_off;
mod rss_imbalance;
mod softirq_saturation;
mod tcp_backlog;
mod tcp_listen;
mod time_squeeze;
mod udp_csum;
mod udp_mem;
mod udp_noports;
mod udp_rcvbuf;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod testing_nic;
#[cfg(test)]
mod testing_stack;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A counter or setting that made a rule fire, with its value as read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub what: String,
    pub value: String,
}

/// One change: the knob, its value now, the value proposed and why that value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remedy {
    pub knob: String,
    pub current: Option<String>,
    pub proposed: Option<String>,
    pub why: String,
    /// What a person would type (the standard tool, not rxpath).
    pub command: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub stage: StageId,
    pub severity: Severity,
    pub title: String,
    pub evidence: Vec<Evidence>,
    pub explanation: String,
    pub remedies: Vec<Remedy>,
}

/// Everything a rule may look at.
pub struct Context<'a> {
    pub basis: Basis,
    pub delta: &'a Delta,
    /// The later sample: settings and the state of the host now.
    pub sample: &'a Sample,
    pub path: &'a Path,
    pub cpus: &'a [CpuRow],
    pub queues: &'a [QueueRow],
    pub sockets: &'a [SocketRow],
    /// The delta's numbered IRQ rows by number (`irqs_by_number`): rules look every NIC IRQ up.
    pub irqs: HashMap<u32, &'a IrqRates, FxBuild>,
}

/// The delta's rows of numbered IRQs by number, for `Context::irqs`.
pub fn irqs_by_number(delta: &Delta) -> HashMap<u32, &IrqRates, FxBuild> {
    let rows = delta.irqs.value().map_or(&[][..], Vec::as_slice);
    // Sized once: ~2,000 rows on a big host would rehash at every doubling.
    let mut map = HashMap::with_capacity_and_hasher(rows.len(), FxBuild);
    map.extend(rows.iter().filter_map(|r| Some((r.irq.parse().ok()?, r))));
    map
}

type Rule = fn(&Context) -> Vec<Finding>;

/// Every rule, in path order of the stage it speaks of.
const RULES: &[Rule] = &[
    backlog_drops::check,
    busy_poll::check,
    coalescing::check,
    conntrack_full::check,
    gro_off::check,
    ip_errors::check,
    irq_one_cpu::check,
    irq_remote_numa::check,
    irqbalance_pinned::check,
    netfilter_drops::check,
    packet_taps::check,
    rfs_off::check,
    ring_overflow::check,
    rps_off::check,
    rss_imbalance::check,
    softirq_saturation::check,
    tcp_backlog::check,
    tcp_listen::check,
    time_squeeze::check,
    udp_csum::check,
    udp_mem::check,
    udp_noports::check,
    udp_rcvbuf::check,
];

/// Runs every rule; the most severe first, then in path order.
pub fn run(ctx: &Context) -> Vec<Finding> {
    let mut out: Vec<Finding> = RULES.iter().flat_map(|r| r(ctx)).collect();
    let order = |s: StageId| StageId::ALL.iter().position(|x| *x == s);
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(order(a.stage).cmp(&order(b.stage))));
    out
}

impl Context<'_> {
    /// The count of a drop counter on the path, summed over every place it appears
    /// (`softnet.dropped` over CPUs, `rx_dropped` over interfaces).
    pub fn count(&self, counter: &str) -> Amount {
        let mut a = Amount::default();
        for d in self.path.stages.iter().flat_map(|s| &s.drops).filter(|d| d.counter == counter) {
            a.add(Amount { count: d.count, per_sec: d.per_sec });
        }
        a
    }

    /// Whether drops are worth a finding: any drop in a live interval; since boot, only a steady
    /// average (0.1/s, or 1000 when the uptime is unknown), since old incidents say nothing of now.
    pub fn moved(&self, a: Amount) -> bool {
        match self.basis {
            Basis::Interval => a.count > 0,
            Basis::SinceBoot => a.per_sec.map_or(a.count >= 1000, |r| r >= 0.1),
        }
    }

    /// A MIB counter of the delta (`Ip.InReceives`, `Udp6InDatagrams`), on the path or not.
    pub fn delta_mib(&self, name: &str) -> Option<Amount> {
        crate::path::amount(self.delta.mib(name)?, self.delta.secs())
    }

    /// A netdev counter of `iface` over the interval (stats64 or sysfs statistics).
    pub fn netdev_amount(&self, iface: &str, counter: &str) -> Option<Amount> {
        let i = self.delta.interfaces.value()?.iter().find(|i| i.name == iface)?;
        crate::path::amount(i.netdev()?.get(counter)?, self.delta.secs())
    }

    /// Packets `iface` received: its netdev counters, else /proc/net/dev (same name there).
    pub fn rx_packets(&self, iface: &str) -> Option<Amount> {
        self.netdev_amount(iface, "rx_packets").or_else(|| {
            let i = self.delta.interfaces.value()?.iter().find(|i| i.name == iface)?;
            crate::path::amount(i.proc_net_dev.value()?.get("rx_packets")?, self.delta.secs())
        })
    }

    /// CPUs idle at least `min_share` of the interval (/proc/stat) with their idle share, by CPU id:
    /// where work could move to.
    pub fn idle_cpus(&self, min_share: f64) -> Vec<(u32, f64)> {
        let mut idle: Vec<(u32, f64)> = self
            .delta
            .cpu_time
            .value()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t.cpu?, t.idle_share?)))
            .filter(|(_, share)| *share >= min_share)
            .collect();
        idle.sort_by_key(|(c, _)| *c);
        idle
    }

    /// A numeric sysctl as read in the later sample.
    pub fn sysctl(&self, name: &str) -> Option<i64> {
        self.sample.sysctls.int(name)
    }

    /// How a count reads in evidence: `1997 in 1.0 s (1997/s)` or `1997 since boot`.
    pub fn amount_text(&self, a: Amount) -> String {
        match (self.basis, a.per_sec) {
            (Basis::Interval, Some(r)) => format!("{} ({}/s)", a.count, rate(r)),
            (Basis::Interval, None) => format!("{} in the interval", a.count),
            (Basis::SinceBoot, Some(r)) => {
                format!("{} since boot (average {}/s)", a.count, rate(r))
            }
            (Basis::SinceBoot, None) => format!("{} since boot", a.count),
        }
    }

    /// The evidence line of a counter.
    pub fn evidence(&self, counter: &str, a: Amount) -> Evidence {
        Evidence { what: counter.into(), value: self.amount_text(a) }
    }

    /// Severity of drops at rate `a`: anything lost now is a warning, a flood is critical; drops
    /// seen only as totals since boot may be old, so they inform.
    pub fn severity(&self, a: Amount) -> Severity {
        match (self.basis, a.per_sec) {
            (Basis::SinceBoot, _) => Severity::Info,
            (Basis::Interval, Some(r)) if r >= 1000.0 => Severity::Critical,
            _ => Severity::Warning,
        }
    }

    /// "in the last 1.0 s" or "since boot", for titles.
    pub fn when(&self) -> String {
        match (self.basis, self.delta.interval.value()) {
            (Basis::SinceBoot, _) => "since boot".into(),
            (Basis::Interval, Some(i)) => format!("in the last {:.1} s", i.secs),
            (Basis::Interval, None) => "in the interval".into(),
        }
    }
}

/// `1997`, `12.5`, `0.25`: rates with the digits that matter.
pub fn rate(r: f64) -> String {
    if r == 0.0 {
        "0".into()
    } else if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// A sysctl remedy: `sysctl -w name=value`, and how to keep it.
pub fn sysctl_remedy(name: &str, current: Option<i64>, proposed: i64, why: &str) -> Remedy {
    Remedy {
        knob: name.into(),
        current: current.map(|c| c.to_string()),
        proposed: Some(proposed.to_string()),
        why: why.into(),
        command: Some(format!(
            "sysctl -w {name}={proposed}   # persist in /etc/sysctl.d/90-rxpath.conf"
        )),
    }
}
