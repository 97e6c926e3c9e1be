//! What the NIC, IRQ and softirq rules share: an interface's queue IRQs with the CPUs they really
//! target and how often they fired, the ring-full drops of an interface, and the CPUs and NUMA
//! nodes of the host. Not a rule.

use super::Context;
use crate::counters;
use crate::path::{Amount, Drop, StageId, amount};
use crate::report::CpuRow;
use crate::sample::Interface;
use crate::source::cpuset;
use crate::source::irq::{NicIrq, QueueKind};

/// A queue IRQ firing this often serves real traffic: with NAPI each interrupt starts a poll of up
/// to 64 packets, so 1000/s is thousands to tens of thousands of packets a second. Below it, where
/// an IRQ lands costs nothing measurable, so placement rules stay quiet.
pub const BUSY_IRQS_PER_SEC: f64 = 1000.0;

/// A CPU spending this share of its time in softirq is working hard for the network: placement
/// that piles queues onto it matters.
pub const LOADED_SOFTIRQ_SHARE: f64 = 0.25;

/// Netdev counters that mean "no room in the receive ring or the NIC's buffer" (KERNEL.md §1.1,
/// §1.4): `rx_missed_errors` is the standard one; `rx_fifo_errors` and `rx_over_errors` are the
/// older FIFO-overflow names some drivers still fill; `rx-hw-drop-overruns` is netdev qstats'.
const RING_COUNTERS: &[&str] =
    &["rx_missed_errors", "rx_fifo_errors", "rx_over_errors", "rx-hw-drop-overruns"];

/// A receive queue's IRQ: where it points and how often it fired.
pub struct QueueIrq<'a> {
    pub irq: &'a NicIrq,
    pub queue: Option<u32>,
    /// The CPUs it really targets: the effective affinity, else the one asked for.
    pub cpus: Vec<u32>,
    pub fired: Option<Amount>,
}

impl QueueIrq<'_> {
    pub fn per_sec(&self) -> f64 {
        self.fired.and_then(|a| a.per_sec).unwrap_or(0.0)
    }

    /// `IRQ 61 (rx-1)`.
    pub fn label(&self) -> String {
        match self.irq.queue.as_ref() {
            Some(q) => format!("IRQ {} ({})", self.irq.irq, q.label()),
            None => format!("IRQ {}", self.irq.irq),
        }
    }
}

pub fn interfaces<'a>(ctx: &Context<'a>) -> &'a [Interface] {
    ctx.sample.interfaces.value().map_or(&[], Vec::as_slice)
}

pub fn driver(i: &Interface) -> &str {
    i.ethtool.driver.value().map_or("", |d| d.driver.as_str())
}

/// How often IRQ `irq` fired (all CPUs), from /proc/interrupts.
pub fn irq_fired(ctx: &Context, irq: u32) -> Option<Amount> {
    amount(&ctx.irqs.get(&irq)?.total, ctx.delta.secs())
}

/// The IRQs of an interface's receive queues (rx or combined), in queue order.
pub fn rx_irqs<'a>(ctx: &Context, i: &'a Interface) -> Vec<QueueIrq<'a>> {
    let mut out: Vec<QueueIrq> = i
        .irqs
        .value()
        .into_iter()
        .flatten()
        .filter(|q| {
            q.queue.as_ref().is_some_and(|r| matches!(r.kind, QueueKind::Rx | QueueKind::Combined))
        })
        .map(|q| QueueIrq {
            irq: q,
            queue: q.queue.as_ref().and_then(|r| r.index),
            cpus: q.target_cpus().to_vec(),
            fired: irq_fired(ctx, q.irq),
        })
        .collect();
    out.sort_by_key(|q| (q.queue, q.irq.irq));
    out
}

/// The sum of what the IRQs fired.
pub fn fired_total(irqs: &[QueueIrq]) -> Amount {
    irqs.iter().filter_map(|q| q.fired).fold(Amount::default(), Amount::plus)
}

/// Whether the interface's driver calls this counter a ring-full drop.
pub fn is_ring_counter(driver: &str, counter: &str) -> bool {
    RING_COUNTERS.contains(&counter)
        || counters::driver_drop(driver, counter).is_some_and(|d| d.ring_full)
}

/// The ring-full drops of interface `i` that moved, as the drop path placed them.
pub fn ring_drops<'a>(ctx: &Context<'a>, i: &Interface) -> Vec<&'a Drop> {
    let driver = driver(i);
    ctx.path
        .stage(StageId::Nic)
        .drops
        .iter()
        .filter(|d| d.where_.as_deref() == Some(i.name.as_str()) && d.count > 0)
        .filter(|d| is_ring_counter(driver, &d.counter))
        .collect()
}

/// The ring drops that count (a driver alias of `rx_missed_errors` is shown but added once).
pub fn ring_total(drops: &[&Drop]) -> Amount {
    drops
        .iter()
        .filter(|d| d.counted)
        .map(|d| Amount { count: d.count, per_sec: d.per_sec })
        .fold(Amount::default(), Amount::plus)
}

pub fn online(ctx: &Context) -> Vec<u32> {
    ctx.sample.cpus.online.value().cloned().unwrap_or_default()
}

/// NUMA nodes that have online CPUs, with those CPUs.
pub fn nodes(ctx: &Context) -> Vec<(u32, Vec<u32>)> {
    // Sorted for binary search: a scan per CPU is 512 × 512 steps per call on a big host.
    let mut online = online(ctx);
    online.sort_unstable();
    let is_online = |c: &u32| online.binary_search(c).is_ok();
    ctx.sample
        .cpus
        .nodes
        .value()
        .into_iter()
        .flatten()
        .map(|n| (n.node, n.cpus.iter().copied().filter(is_online).collect()))
        .filter(|(_, cpus): &(u32, Vec<u32>)| !cpus.is_empty())
        .collect()
}

/// The device's NUMA node, when the kernel knows it (`-1` means it does not).
pub fn device_node(i: &Interface) -> Option<u32> {
    let n = *i.sysfs.device.as_ref()?.numa_node.value()?;
    u32::try_from(n).ok()
}

/// The CPUs to spread an interface's IRQs over: online CPUs of the device's own NUMA node when
/// known (or its `local_cpus`), minus those irqbalance is told to keep IRQs away from.
pub fn candidate_cpus(ctx: &Context, i: &Interface) -> Vec<u32> {
    let online = online(ctx);
    let nodes = nodes(ctx);
    let local: Option<Vec<u32>> = device_node(i)
        .and_then(|n| nodes.iter().find(|(x, _)| *x == n).map(|(_, c)| c.clone()))
        .or_else(|| {
            let l = i.sysfs.device.as_ref()?.local_cpus.value()?;
            let l: Vec<u32> = l.iter().copied().filter(|c| online.contains(c)).collect();
            (!l.is_empty() && l.len() < online.len()).then_some(l)
        });
    let banned: Vec<u32> = ctx
        .sample
        .environment
        .irqbalance
        .value()
        .and_then(|b| b.banned_cpus.clone())
        .unwrap_or_default();
    let mut cpus: Vec<u32> =
        local.unwrap_or(online).into_iter().filter(|c| !banned.contains(c)).collect();
    cpus.sort_unstable();
    cpus
}

/// One CPU per IRQ, round robin over `cpus`: the layout a person pinning queues by hand writes.
pub fn spread(irqs: &[QueueIrq], cpus: &[u32]) -> Vec<(u32, u32)> {
    if cpus.is_empty() {
        return vec![];
    }
    irqs.iter().enumerate().map(|(k, q)| (q.irq.irq, cpus[k % cpus.len()])).collect()
}

/// `echo 2 > /proc/irq/61/smp_affinity_list; …`
pub fn affinity_commands(pairs: &[(u32, u32)]) -> String {
    pairs
        .iter()
        .map(|(irq, cpu)| format!("echo {cpu} > /proc/irq/{irq}/smp_affinity_list"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn cpu_row<'a>(ctx: &Context<'a>, cpu: u32) -> Option<&'a CpuRow> {
    ctx.cpus.iter().find(|c| c.cpu == cpu)
}

/// Whether net_rx_action ran out of budget on this CPU in the interval.
pub fn squeezed(row: Option<&CpuRow>) -> bool {
    row.and_then(|r| r.time_squeeze).is_some_and(|a| a.count > 0)
}

pub fn softirq_share(row: Option<&CpuRow>) -> Option<f64> {
    row.and_then(|r| r.softirq_share)
}

pub fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

pub fn list(cpus: &[u32]) -> String {
    cpuset::format_list(cpus)
}

/// Whether irqbalance is running now.
pub fn irqbalance_running(ctx: &Context) -> bool {
    ctx.sample.environment.irqbalance.value().is_some_and(|b| b.running)
}

/// How many receive queues the driver runs: its channels, else the queues in sysfs.
pub fn rx_queue_count(i: &Interface) -> u32 {
    let channels = i.ethtool.channels.value().map_or(0, |c| c.combined_count + c.rx_count);
    if channels > 0 {
        return channels;
    }
    i.queues.value().map_or(0, |q| u32::try_from(q.rx.len()).unwrap_or(u32::MAX))
}

/// More queues when the driver allows more than it runs: up to its maximum or the online CPUs,
/// whichever is smaller (queues beyond the CPUs share CPUs and only add rings).
pub fn more_queues(ctx: &Context, i: &Interface, why: &str) -> Option<super::Remedy> {
    let c = i.ethtool.channels.value()?;
    let cpus = u32::try_from(online(ctx).len()).unwrap_or(u32::MAX).max(1);
    let (kind, cur, max) = if c.combined_count > 0 || c.rx_count == 0 {
        ("combined", c.combined_count, c.max_combined)
    } else {
        ("rx", c.rx_count, c.max_rx)
    };
    let proposed = max.min(cpus);
    (proposed > cur).then(|| super::Remedy {
        knob: format!("{} {kind} channels", i.name),
        current: Some(cur.to_string()),
        proposed: Some(proposed.to_string()),
        why: format!(
            "{why}; {proposed} is the driver's maximum ({max}) or the online CPUs ({cpus}), \
             whichever is smaller — more queues than CPUs would share CPUs"
        ),
        command: Some(format!("ethtool -L {} {kind} {proposed}", i.name)),
    })
}

/// The queues the RSS indirection table sends packets to, when it leaves some of the driver's
/// queues out: (queues used, queues there are).
pub fn rss_unused(i: &Interface) -> Option<(usize, u32)> {
    let table = i.ethtool.rss_indir.value().filter(|t| !t.is_empty())?;
    let queues = rx_queue_count(i);
    let mut used: Vec<u32> = table.iter().copied().filter(|q| *q < queues).collect();
    used.sort_unstable();
    used.dedup();
    (queues > 1 && used.len() < queues as usize).then_some((used.len(), queues))
}

/// Resetting the RSS indirection table to spread over every queue.
pub fn rss_equal(i: &Interface, used: usize, queues: u32) -> super::Remedy {
    super::Remedy {
        knob: format!("{} RSS indirection table", i.name),
        current: Some(format!("{used} of {queues} queues")),
        proposed: Some(format!("all {queues} queues")),
        why: format!(
            "the table hashes flows to {used} of the {queues} receive queues, so the others \
             take no share of the load"
        ),
        command: Some(format!("ethtool -X {} equal {queues}", i.name)),
    }
}

/// irqbalance's answer to hand placement: ban the IRQs (it then leaves their affinity alone),
/// or, when it does not run, let it place them.
pub fn irqbalance_remedy(ctx: &Context, irqs: &[u32]) -> super::Remedy {
    let bans: Vec<String> = irqs.iter().map(|n| format!("--banirq={n}")).collect();
    if irqbalance_running(ctx) {
        super::Remedy {
            knob: "irqbalance IRQBALANCE_ARGS".into(),
            current: Some(
                ctx.sample
                    .environment
                    .irqbalance
                    .value()
                    .map_or(String::new(), |b| b.args.join(" ")),
            ),
            proposed: Some(bans.join(" ")),
            why: "irqbalance rewrites the affinity of every IRQ it balances (at start, on a \
                  rescan, when it rebalances load); banned IRQs it leaves as they are set. It \
                  reads no variable for banned IRQs: they go on its command line"
                .into(),
            command: Some(format!(
                "add {} to IRQBALANCE_ARGS in /etc/default/irqbalance (Debian) or \
                 /etc/sysconfig/irqbalance (Red Hat); systemctl restart irqbalance",
                bans.join(" ")
            )),
        }
    } else {
        super::Remedy {
            knob: "irqbalance".into(),
            current: Some("not running".into()),
            proposed: Some("running".into()),
            why: "instead of placing IRQs by hand: irqbalance spreads NIC IRQs one core each, \
                  within the device's NUMA node, and follows load"
                .into(),
            command: Some("systemctl enable --now irqbalance".into()),
        }
    }
}

/// `IRQ 60 (rxtx-0)`: `effective CPU 0 (asked 0-1), fired 5000 (5000/s)`.
pub fn irq_evidence(ctx: &Context, q: &QueueIrq) -> super::Evidence {
    let asked = q.irq.smp_affinity_list.value().map_or("?".into(), |c| list(c));
    let fired = q.fired.map_or("no count".into(), |a| ctx.amount_text(a));
    super::Evidence {
        what: q.label(),
        value: format!("on CPU {} (asked for {asked}), fired {fired}", list(&q.cpus)),
    }
}
