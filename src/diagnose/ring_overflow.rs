//! Packets the NIC dropped because its receive ring had no free buffer.

use super::nic::{self, QueueIrq};
use super::{Context, Evidence, Finding, Remedy};
use crate::path::{Amount, StageId};
use crate::sample::Interface;
use crate::source::ethtool::{Coalesce, Ring};

/// The coalescing delay is suspect when the ring fills in no more than this many delays: the NIC
/// holds its interrupt for a quarter of the ring's time or more.
const DELAYS_TO_FILL: f64 = 4.0;

pub fn check(ctx: &Context) -> Vec<Finding> {
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i)).collect()
}

fn finding(ctx: &Context, i: &Interface) -> Option<Finding> {
    let drops = nic::ring_drops(ctx, i);
    let total = nic::ring_total(&drops);
    if !ctx.moved(total) {
        return None;
    }
    let mut evidence: Vec<Evidence> = drops
        .iter()
        .map(|d| {
            let mut e = ctx.evidence(
                &format!("{} {}", i.name, d.counter),
                Amount { count: d.count, per_sec: d.per_sec },
            );
            if !d.counted {
                e.value.push_str(" (the same drops as another counter here)");
            }
            e
        })
        .collect();
    for q in ctx.queues.iter().filter(|q| q.interface == i.name) {
        if let Some(d) = q.drops.filter(|d| d.count > 0) {
            evidence.push(ctx.evidence(&format!("{} rx queue {} drops", i.name, q.queue), d));
        }
    }
    let ring = i.ethtool.ring.value().copied().filter(|r| r.rx_max_pending > 0);
    evidence.push(Evidence {
        what: format!("{} rx ring (ethtool -g)", i.name),
        value: match (ring, i.ethtool.ring.unavailable()) {
            (Some(r), _) => format!("{} of at most {} descriptors", r.rx_pending, r.rx_max_pending),
            (None, Some(u)) => format!("unreadable: {}", u.why),
            (None, None) => "the driver reports no ring maximum".into(),
        },
    });
    if let Some(c) = i.ethtool.channels.value() {
        evidence.push(Evidence {
            what: format!("{} channels (ethtool -l)", i.name),
            value: format!(
                "combined {} of at most {}, rx {} of at most {}",
                c.combined_count, c.max_combined, c.rx_count, c.max_rx
            ),
        });
    }
    let coalesce = i.ethtool.coalesce.value().copied();
    if let Some(c) = coalesce {
        evidence.push(Evidence {
            what: format!("{} coalescing (ethtool -c)", i.name),
            value: format!(
                "rx-usecs {}, rx-frames {}, adaptive-rx {}",
                c.rx_coalesce_usecs,
                c.rx_max_coalesced_frames,
                if c.use_adaptive_rx_coalesce != 0 { "on" } else { "off" }
            ),
        });
    }
    let irqs = nic::rx_irqs(ctx, i);
    Some(Finding {
        rule: "ring_overflow".into(),
        stage: StageId::Nic,
        severity: ctx.severity(total),
        title: format!(
            "{} packets dropped {} by {}: the receive ring was full",
            total.count,
            ctx.when(),
            i.name
        ),
        evidence,
        explanation: "The NIC writes each arriving packet into a buffer the driver has posted in \
            the receive ring. When the CPU serving the queue does not take packets off and refill \
            the ring fast enough — a burst longer than the ring, an interrupt held back by \
            coalescing, or a CPU busy with other work — the NIC has nowhere to put the next \
            packet and drops it: rx_missed_errors, the driver's own counter, or the FIFO/overrun \
            errors of older drivers."
            .into(),
        remedies: remedies(ctx, i, ring, coalesce, &irqs),
    })
}

fn remedies(
    ctx: &Context,
    i: &Interface,
    ring: Option<Ring>,
    coalesce: Option<Coalesce>,
    irqs: &[QueueIrq],
) -> Vec<Remedy> {
    let mut out = Vec::new();
    if let Some(r) = ring.filter(|r| r.rx_pending > 0 && r.rx_pending < r.rx_max_pending) {
        let p = r.rx_pending.saturating_mul(2).min(r.rx_max_pending);
        out.push(Remedy {
            knob: format!("{} rx ring", i.name),
            current: Some(r.rx_pending.to_string()),
            proposed: Some(p.to_string()),
            why: format!(
                "the ring holds what arrives while the CPU is away; doubling it doubles the burst \
                 it rides out, up to the driver's maximum {}. Each descriptor pins a receive \
                 buffer, so memory grows with ring × queues; most drivers reset the link to \
                 resize the ring (a brief outage)",
                r.rx_max_pending
            ),
            command: Some(format!("ethtool -G {} rx {p}", i.name)),
        });
        return out;
    }
    // At the maximum (or no ring to grow): split the load, or shorten the wait.
    out.extend(nic::more_queues(
        ctx,
        i,
        "the ring is at its maximum; each queue has its own ring and interrupt, so more queues \
         split the arriving packets over more rings and CPUs",
    ));
    if let Some((used, queues)) = nic::rss_unused(i) {
        out.push(nic::rss_equal(i, used, queues));
    }
    if let (Some(r), Some(c)) = (ring, coalesce) {
        out.extend(coalescing(ctx, i, r, c, irqs));
    }
    if out.is_empty() {
        out.push(Remedy {
            knob: format!("CPU time of the CPUs serving {}'s queues", i.name),
            current: None,
            proposed: None,
            why: "the ring, the queues and the indirection table are at their limits: the CPUs \
                  that serve the queues do not keep up. Look at the time_squeeze and softirq \
                  findings, and at what else runs on those CPUs"
                .into(),
            command: Some("mpstat -P ALL 1   # %soft and %irq per CPU".into()),
        });
    }
    out
}

/// A shorter interrupt delay when, at this packet rate, the ring fills within a few delays.
fn coalescing(
    ctx: &Context,
    i: &Interface,
    r: Ring,
    c: Coalesce,
    irqs: &[QueueIrq],
) -> Option<Remedy> {
    if c.use_adaptive_rx_coalesce != 0 || c.rx_coalesce_usecs == 0 || r.rx_pending == 0 {
        return None;
    }
    let queues = irqs.len().max(nic::rx_queue_count(i) as usize).max(1) as f64;
    let pps = ctx.netdev_amount(&i.name, "rx_packets")?.per_sec? / queues;
    if pps <= 0.0 {
        return None;
    }
    let fill_usecs = f64::from(r.rx_pending) / pps * 1e6;
    let usecs = f64::from(c.rx_coalesce_usecs);
    if usecs * DELAYS_TO_FILL < fill_usecs {
        return None;
    }
    let p = ((fill_usecs / (2.0 * DELAYS_TO_FILL)).floor() as u32).max(1);
    Some(Remedy {
        knob: format!("{} rx-usecs", i.name),
        current: Some(c.rx_coalesce_usecs.to_string()),
        proposed: Some(p.to_string()),
        why: format!(
            "at {} packets/s per queue the {}-descriptor ring fills in {:.0} µs, and the NIC holds \
             its interrupt up to {} µs; {p} µs keeps the wait under an eighth of the ring",
            super::rate(pps),
            r.rx_pending,
            fill_usecs,
            c.rx_coalesce_usecs
        ),
        command: Some(format!("ethtool -C {} rx-usecs {p}", i.name)),
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn ring_below_its_maximum_is_doubled() {
        let mut s = Scene::quiet();
        s.ring("eth0", 512, 4096);
        s.iface("eth0", "rx_packets", 90_000).iface("eth0", "rx_missed_errors", 1200);
        let f = s.finding("ring_overflow").expect("fires");
        assert_eq!(f.severity, Severity::Critical, "1200/s");
        assert!(
            f.title.starts_with("1200 packets dropped in the last 1.0 s by eth0"),
            "{}",
            f.title
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.what == "eth0 rx_missed_errors" && e.value == "1200 (1200/s)")
        );
        assert!(f.evidence.iter().any(|e| e.value == "512 of at most 4096 descriptors"));
        let r = &f.remedies[0];
        assert_eq!((r.current.as_deref(), r.proposed.as_deref()), (Some("512"), Some("1024")));
        assert_eq!(r.command.as_deref(), Some("ethtool -G eth0 rx 1024"));
        assert_eq!(f.remedies.len(), 1, "growing the ring comes first");
    }

    #[test]
    fn the_doubling_stops_at_the_maximum() {
        let mut s = Scene::quiet();
        s.ring("eth0", 3000, 4096).iface("eth0", "rx_fifo_errors", 3);
        let f = s.finding("ring_overflow").expect("rx_fifo_errors are ring drops");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("4096"));
    }

    #[test]
    fn at_the_maximum_more_queues_and_a_shorter_interrupt_delay() {
        let mut s = Scene::quiet();
        // The capture's virtio ring: 256 of 256. One queue of at most 2.
        s.channels("eth0", 1, 2);
        s.coalesce("eth0", |c| c.rx_coalesce_usecs = 1000);
        s.iface("eth0", "rx_packets", 200_000);
        s.ethtool("eth0", "rx0_hw_drop_overruns", 40);
        let f = s.finding("ring_overflow").expect("virtio's ring-full counter");
        assert!(f.evidence.iter().any(|e| e.what == "eth0 rx0_hw_drop_overruns"));
        assert!(f.evidence.iter().any(|e| e.value == "256 of at most 256 descriptors"));
        let q = f.remedies.iter().find(|r| r.knob == "eth0 combined channels").expect("queues");
        assert_eq!(q.proposed.as_deref(), Some("2"));
        assert_eq!(q.command.as_deref(), Some("ethtool -L eth0 combined 2"));
        // 200000 pkt/s on one queue fills 256 descriptors in 1280 µs; 1000 µs is most of it.
        let c = f.remedies.iter().find(|r| r.knob == "eth0 rx-usecs").expect("coalescing");
        assert_eq!(c.proposed.as_deref(), Some("160"));
    }

    #[test]
    fn rss_table_that_skips_queues_is_reset() {
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 4).rss_indir("eth0", vec![0, 1, 0, 1, 0, 1, 0, 1]);
        s.iface("eth0", "rx_missed_errors", 10);
        let f = s.finding("ring_overflow").expect("fires");
        let r = f.remedies.iter().find(|r| r.command.as_deref() == Some("ethtool -X eth0 equal 4"));
        assert!(r.is_some(), "{:?}", f.remedies);
    }

    #[test]
    fn quiet_on_other_nic_errors_and_on_software_drops() {
        let mut s = Scene::quiet();
        s.ring("eth0", 256, 4096);
        s.iface("eth0", "rx_crc_errors", 5).iface("eth0", "rx_dropped", 9);
        s.ethtool("eth0", "rx0_drops", 7);
        assert_eq!(s.finding("ring_overflow"), None);
    }
}
