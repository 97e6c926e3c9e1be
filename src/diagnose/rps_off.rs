//! One CPU doing all the receive work of a single-queue interface while other CPUs idle, with
//! RPS off: the packets could be spread over the idle CPUs.

use super::{Context, Evidence, Finding, Remedy, Severity, rate};
use crate::path::StageId;
use crate::report::Basis;
use crate::source::cpuset;

/// Packets per second an interface must receive for its processing to be worth spreading.
const MIN_PPS: f64 = 1000.0;
/// A CPU spending at least half its time in softirq is busy with it: the receive path runs there.
const BUSY: f64 = 0.5;
/// Beyond this share in softirq the CPU has no time left: drops come next.
const SATURATED: f64 = 0.9;
/// The busy CPU processed at least this share of all packets (softnet `processed`): the work is
/// on it, not spread.
const ONE_CPU_SHARE: f64 = 0.8;
/// A CPU at least half idle can take work.
const IDLE: f64 = 0.5;
/// Idle CPUs named in the evidence.
const IDLE_SHOWN: usize = 8;

/// A single-queue interface with RPS off whose packets the busy CPU processes.
struct Target {
    iface: String,
    queue: u32,
    pps: f64,
    irq: Option<String>,
    irq_cpus: Vec<u32>,
    /// No device behind it in sysfs (lo, veth, tunnels): no IRQ, the sender's CPU receives.
    software: bool,
    /// The CPUs proposed for rps_cpus and why those.
    cpus: Vec<u32>,
    why: String,
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    // CPU load is a now-thing: averages since boot say nothing about a CPU being busy.
    if ctx.basis != Basis::Interval {
        return vec![];
    }
    let online = ctx.sample.cpus.online.value().cloned().unwrap_or_default();
    if online.len() < 2 {
        return vec![];
    }
    let Some(hot) =
        ctx.cpus.iter().filter(|c| c.softirq_share.is_some()).max_by(|a, b| {
            a.softirq_share.unwrap_or(0.0).total_cmp(&b.softirq_share.unwrap_or(0.0))
        })
    else {
        return vec![];
    };
    let share = hot.softirq_share.unwrap_or(0.0);
    let all_processed =
        ctx.cpus.iter().filter_map(|c| c.processed).fold(0u64, |a, p| a.saturating_add(p.count));
    let hot_processed = hot.processed.map_or(0, |p| p.count);
    if share < BUSY
        || all_processed == 0
        || (hot_processed as f64) < ONE_CPU_SHARE * all_processed as f64
    {
        return vec![];
    }
    let idle = idle_cpus(ctx, hot.cpu, &online);
    if idle.is_empty() {
        return vec![];
    }
    let targets = targets(ctx, hot.cpu, &online);
    if targets.is_empty() {
        return vec![];
    }

    let mut evidence = vec![Evidence {
        what: format!("cpu{} softirq", hot.cpu),
        value: format!(
            "{:.0}% of its time in softirq; processed {} ({:.0}% of all CPUs'){}",
            share * 100.0,
            hot.processed.map_or("?".into(), |p| ctx.amount_text(p)),
            hot_processed as f64 * 100.0 / all_processed as f64,
            hot.net_rx.map_or(String::new(), |n| format!("; NET_RX {}", ctx.amount_text(n))),
        ),
    }];
    for (what, a) in [("softnet.dropped", hot.dropped), ("softnet.time_squeeze", hot.time_squeeze)]
    {
        if let Some(a) = a.filter(|a| a.count > 0) {
            evidence.push(ctx.evidence(&format!("cpu{} {what}", hot.cpu), a));
        }
    }
    let mut shown: Vec<String> = idle
        .iter()
        .take(IDLE_SHOWN)
        .map(|(c, s)| format!("cpu{c} {:.0}% idle", s * 100.0))
        .collect();
    if idle.len() > IDLE_SHOWN {
        shown.push(format!("and {} more", idle.len() - IDLE_SHOWN));
    }
    evidence.push(Evidence { what: "idle CPUs".into(), value: shown.join(", ") });
    for t in &targets {
        let irq = match (&t.irq, t.software) {
            (Some(irq), _) => format!("IRQ {irq} on cpus {}", cpuset::format_list(&t.irq_cpus)),
            (None, true) => "no IRQ (a software device: packets are processed on the CPU that \
                             sends them)"
                .into(),
            (None, false) => "its IRQ was not found".into(),
        };
        evidence.push(Evidence {
            what: format!("{} rx-{}", t.iface, t.queue),
            value: format!(
                "its only rx queue; rps_cpus empty (RPS off); {} packets/s received; {irq}",
                rate(t.pps)
            ),
        });
    }

    let saturated =
        share >= SATURATED || [hot.dropped, hot.time_squeeze].iter().flatten().any(|a| a.count > 0);
    let names: Vec<&str> = targets.iter().map(|t| t.iface.as_str()).collect();
    vec![Finding {
        rule: "rps_off".into(),
        stage: StageId::Backlog,
        severity: if saturated { Severity::Warning } else { Severity::Info },
        title: format!(
            "cpu{} does the receive work of {} alone ({:.0}% in softirq) while {} CPU{} idle: \
             RPS is off",
            hot.cpu,
            names.join(", "),
            share * 100.0,
            idle.len(),
            if idle.len() == 1 { " is" } else { "s are" }
        ),
        evidence,
        explanation: "A device with one receive queue interrupts one CPU, and that CPU runs the \
            whole receive path of every packet in softirq: the driver's poll, GRO, IP, netfilter \
            and UDP/TCP. Receive Packet Steering (RPS) hashes each flow to one of the CPUs in the \
            queue's rps_cpus and queues the packet on that CPU's backlog, so the protocol work \
            spreads while each flow stays in order. With rps_cpus empty RPS is off: once the one \
            CPU is saturated, the ring or the backlog overflows while other CPUs have time to \
            spare. Software devices (lo, veth, tunnels) behave the same on the CPU that sends."
            .into(),
        remedies: targets.iter().map(remedy).collect(),
    }]
}

fn remedy(t: &Target) -> Remedy {
    let file = format!("/sys/class/net/{}/queues/rx-{}/rps_cpus", t.iface, t.queue);
    let mask = cpuset::format_mask(&t.cpus);
    Remedy {
        knob: file.clone(),
        current: Some("0".into()),
        proposed: Some(mask.clone()),
        why: format!(
            "cpus {}: {}; not kept across reboots — set it from a udev rule or a boot script",
            cpuset::format_list(&t.cpus),
            t.why
        ),
        command: Some(format!("echo {mask} > {file}")),
    }
}

/// Online CPUs other than `hot` that were mostly idle, most idle first.
fn idle_cpus(ctx: &Context, hot: u32, online: &[u32]) -> Vec<(u32, f64)> {
    let mut idle = ctx.idle_cpus(IDLE);
    idle.retain(|(c, _)| *c != hot && online.contains(c));
    idle.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    idle
}

/// Single-queue interfaces with RPS off, receiving real traffic, whose queue IRQ (if any) is on
/// the busy CPU.
fn targets(ctx: &Context, hot: u32, online: &[u32]) -> Vec<Target> {
    let mut out = Vec::new();
    for i in ctx.sample.interfaces.value().into_iter().flatten() {
        let Some(queues) = i.queues.value() else { continue };
        let [q] = queues.rx.as_slice() else { continue };
        if !q.rps_cpus.value().is_some_and(Vec::is_empty) {
            continue;
        }
        let Some(pps) = ctx.rx_packets(&i.name).and_then(|a| a.per_sec).filter(|r| *r >= MIN_PPS)
        else {
            continue;
        };
        let row = ctx.queues.iter().find(|r| r.interface == i.name && r.queue == q.index);
        let irq_cpus = row.map(|r| r.cpus.clone()).unwrap_or_default();
        if !irq_cpus.is_empty() && !irq_cpus.contains(&hot) {
            continue; // another CPU takes this queue's interrupts: not what keeps `hot` busy
        }
        let device_node = row.and_then(|r| r.numa_node).and_then(|n| u32::try_from(n).ok());
        let (cpus, why) = proposed(ctx, online, hot, device_node);
        out.push(Target {
            iface: i.name.clone(),
            queue: q.index,
            pps,
            irq: row.and_then(|r| r.irq.clone()),
            irq_cpus,
            software: i.sysfs.device.is_none(),
            cpus,
            why,
        });
    }
    out
}

/// The CPUs to steer to: those of the device's NUMA node (else the busy CPU's node) other than
/// the busy CPU, so packet data stays in local memory; all other online CPUs when the node is
/// unknown or has no other CPU.
fn proposed(
    ctx: &Context,
    online: &[u32],
    hot: u32,
    device_node: Option<u32>,
) -> (Vec<u32>, String) {
    let others = |set: &[u32]| -> Vec<u32> {
        set.iter().copied().filter(|c| *c != hot && online.contains(c)).collect()
    };
    let keep = format!(
        "cpu{hot} keeps the interrupt and the hashing, the protocol work moves to the others"
    );
    let (node, whose) = match device_node {
        Some(n) => (Some(n), "the device's"),
        None => (ctx.sample.cpus.node_of(hot), "the busy CPU's"),
    };
    let node_cpus = node.and_then(|n| {
        let nodes = ctx.sample.cpus.nodes.value()?;
        nodes.iter().find(|x| x.node == n).map(|x| others(&x.cpus))
    });
    let several_nodes = ctx.sample.cpus.nodes.value().is_some_and(|n| n.len() > 1);
    match (node, node_cpus) {
        (Some(n), Some(cpus)) if !cpus.is_empty() && several_nodes => (
            cpus,
            format!(
                "the CPUs of NUMA node {n} ({whose} node) other than cpu{hot}, so packet data \
                 stays in that node's memory; {keep}"
            ),
        ),
        _ => (others(online), format!("every online CPU but cpu{hot}; {keep}")),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    /// eth0 (one queue, IRQ 38 on cpu1 in the capture) floods cpu1 while cpu0 idles.
    fn busy_eth0() -> Scene {
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 50_000).net_rx(1, 900);
        s.cpu_second(1, 95, 0).cpu_second(0, 3, 90);
        s
    }

    #[test]
    fn fires_when_one_cpu_does_the_work_of_a_single_queue_nic() {
        let s = busy_eth0();
        let f = s.finding("rps_off").expect("fires");
        assert_eq!(f.severity, Severity::Warning, "95% softirq is saturation");
        assert!(f.title.starts_with("cpu1 does the receive work of eth0 alone (95% in softirq)"));
        let ev = |w: &str| f.evidence.iter().find(|e| e.what == w).map(|e| e.value.clone());
        assert_eq!(
            ev("cpu1 softirq").as_deref(),
            Some(
                "95% of its time in softirq; processed 50000 (50000/s) (100% of all CPUs'); \
                 NET_RX 900 (900/s)"
            )
        );
        assert_eq!(ev("idle CPUs").as_deref(), Some("cpu0 90% idle"));
        assert!(ev("eth0 rx-0").unwrap().contains("50000 packets/s received; IRQ 38 on cpus 1"));
        let r = &f.remedies[0];
        assert_eq!(r.knob, "/sys/class/net/eth0/queues/rx-0/rps_cpus");
        assert_eq!((r.current.as_deref(), r.proposed.as_deref()), (Some("0"), Some("1")));
        assert_eq!(r.command.as_deref(), Some("echo 1 > /sys/class/net/eth0/queues/rx-0/rps_cpus"));
    }

    #[test]
    fn busy_but_not_saturated_is_info() {
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 20_000);
        s.cpu_second(1, 60, 10).cpu_second(0, 2, 95);
        assert_eq!(s.finding("rps_off").map(|f| f.severity), Some(Severity::Info));
    }

    #[test]
    fn quiet_on_a_healthy_busy_host_and_near_misses() {
        // Ordinary traffic: the CPU has time to spare.
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 50_000).cpu_second(1, 40, 30).cpu_second(0, 3, 90);
        assert_eq!(s.finding("rps_off"), None, "40% softirq is not busy");
        // Both CPUs busy: nothing idle to spread to.
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 50_000).cpu_second(1, 95, 0).cpu_second(0, 10, 30);
        assert_eq!(s.finding("rps_off"), None, "no idle CPU");
        // RPS already on.
        let mut s = busy_eth0();
        s.rps_cpus("eth0", 0, &[0]);
        assert_eq!(s.finding("rps_off"), None, "RPS is on");
        // A trickle of packets: the softirq load is something else.
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 500).cpu_second(1, 95, 0).cpu_second(0, 3, 90);
        assert_eq!(s.finding("rps_off"), None, "500 packets/s");
        // The work is already spread over both CPUs.
        let mut s = busy_eth0();
        s.softnet(0, "processed", 30_000);
        assert_eq!(s.finding("rps_off"), None, "cpu1 processed 62%");
        // Several queues: RSS spreads them; IRQ placement is another rule's business.
        let mut s = busy_eth0();
        s.rx_queues("eth0", 2);
        assert_eq!(s.finding("rps_off"), None, "multi-queue");
    }

    #[test]
    fn the_busy_cpu_must_be_the_one_taking_the_nic_interrupt() {
        // eth0's IRQ is on cpu1; a busy cpu0 is not eth0's doing.
        let mut s = Scene::quiet();
        s.traffic("eth0", 0, 50_000).cpu_second(0, 95, 0).cpu_second(1, 3, 90);
        assert_eq!(s.finding("rps_off"), None);
        // lo has no IRQ: the sending CPU is the busy one.
        let mut s = Scene::quiet();
        s.traffic("lo", 0, 50_000).cpu_second(0, 95, 0).cpu_second(1, 3, 90);
        let f = s.finding("rps_off").expect("fires for lo");
        let lo = f.evidence.iter().find(|e| e.what == "lo rx-0").unwrap();
        assert!(
            lo.value.ends_with(
                "; no IRQ (a software device: packets are processed on the \
             CPU that sends them)"
            ),
            "{}",
            lo.value
        );
        assert_eq!(f.remedies.len(), 1);
        assert_eq!(f.remedies[0].knob, "/sys/class/net/lo/queues/rx-0/rps_cpus");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("2"), "cpu1");
    }

    #[test]
    fn proposes_the_cpus_of_the_devices_numa_node() {
        use crate::avail::Avail;
        use crate::source::cpus::NumaNode;
        let mut s = busy_eth0();
        let nodes = Avail::Value(vec![
            NumaNode { node: 0, cpus: vec![0] },
            NumaNode { node: 1, cpus: vec![1] },
        ]);
        s.later.cpus.nodes = nodes.clone();
        // Node 1 holds only the busy CPU: fall back to every other CPU.
        let f = s.finding("rps_off").expect("fires");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("1"));
        assert!(f.remedies[0].why.starts_with("cpus 0: every online CPU but cpu1"));
        // Four CPUs on two nodes, the NIC on node 0 with its IRQ on cpu1.
        s.later.cpus.online = Avail::Value(vec![0, 1, 2, 3]);
        s.later.cpus.nodes = Avail::Value(vec![
            NumaNode { node: 0, cpus: vec![0, 1] },
            NumaNode { node: 1, cpus: vec![2, 3] },
        ]);
        if let Some(d) = s.iface_mut("eth0").sysfs.device.as_mut() {
            d.numa_node = Avail::Value(0);
        }
        if let Avail::Value(irqs) = std::sync::Arc::make_mut(&mut s.iface_mut("eth0").irqs) {
            irqs.iter_mut().for_each(|q| q.node = Avail::Value(0));
        }
        let f = s.finding("rps_off").expect("fires");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("1"), "cpu0: node 0 but cpu1");
        assert!(
            f.remedies[0].why.contains("NUMA node 0 (the device's node)"),
            "{}",
            f.remedies[0].why
        );
    }

    #[test]
    fn a_one_cpu_host_has_nowhere_to_spread() {
        use crate::avail::Avail;
        let mut s = busy_eth0();
        s.later.cpus.online = Avail::Value(vec![1]);
        assert_eq!(s.finding("rps_off"), None);
    }
}
