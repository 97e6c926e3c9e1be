//! Receive queues interrupting at a very high rate with interrupt coalescing off.

use super::nic::{self, QueueIrq};
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::sample::Interface;

/// Per queue IRQ. At about 1–2 µs per interrupt (entry, exit, NAPI scheduling, re-arming the
/// device), 50000/s is 5–10% of a CPU spent on interrupt overhead alone, and each poll finds
/// only a packet or two so nothing batches.
const HIGH_PER_SEC: f64 = 50_000.0;
/// rx-usecs below this waits too little to gather a second packet at most rates: effectively off.
const LOW_USECS: u32 = 10;
/// Proposed fixed delay: caps a queue at 20000 interrupts/s, adding up to 50 µs per packet.
const PROPOSED_USECS: u32 = 50;

pub fn check(ctx: &Context) -> Vec<Finding> {
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i)).collect()
}

fn finding(ctx: &Context, i: &Interface) -> Option<Finding> {
    let c = i.ethtool.coalesce.value()?;
    let off = c.use_adaptive_rx_coalesce == 0
        && c.rx_coalesce_usecs < LOW_USECS
        && c.rx_max_coalesced_frames <= 1;
    if !off {
        return None;
    }
    let hot: Vec<QueueIrq> =
        nic::rx_irqs(ctx, i).into_iter().filter(|q| q.per_sec() > HIGH_PER_SEC).collect();
    if hot.is_empty() {
        return None;
    }
    let mut evidence: Vec<Evidence> = hot.iter().map(|q| nic::irq_evidence(ctx, q)).collect();
    evidence.push(Evidence {
        what: format!("{} coalescing (ethtool -c)", i.name),
        value: format!(
            "adaptive-rx off, rx-usecs {}, rx-frames {}",
            c.rx_coalesce_usecs, c.rx_max_coalesced_frames
        ),
    });
    let top = hot.iter().map(QueueIrq::per_sec).fold(0.0, f64::max);
    Some(Finding {
        rule: "coalescing".into(),
        stage: StageId::Irq,
        severity: Severity::Info,
        title: format!(
            "{} of {}'s queue IRQs fire over {}/s (up to {}/s) with coalescing off",
            hot.len(),
            i.name,
            super::rate(HIGH_PER_SEC),
            super::rate(top)
        ),
        evidence,
        explanation: "Without interrupt coalescing the NIC raises an interrupt for (nearly) every \
            packet once NAPI re-arms it. Each interrupt costs entry, exit and a NAPI schedule, \
            and each poll then finds only a packet or two, so GRO and batching gain little. \
            Coalescing holds the interrupt a few microseconds so that one poll takes many \
            packets; adaptive coalescing lets the driver choose the delay by load."
            .into(),
        remedies: vec![
            Remedy {
                knob: format!("{} adaptive-rx", i.name),
                current: Some("off".into()),
                proposed: Some("on".into()),
                why: "the driver lengthens the delay under load and shortens it when idle, so \
                      latency stays low at low rates; drivers without it answer \"Operation not \
                      supported\""
                    .into(),
                command: Some(format!("ethtool -C {} adaptive-rx on", i.name)),
            },
            Remedy {
                knob: format!("{} rx-usecs", i.name),
                current: Some(c.rx_coalesce_usecs.to_string()),
                proposed: Some(PROPOSED_USECS.to_string()),
                why: format!(
                    "a fixed delay caps each queue at {} interrupts/s and adds at most \
                     {PROPOSED_USECS} µs to a packet's latency; lower it if latency matters more \
                     than CPU",
                    1_000_000 / PROPOSED_USECS
                ),
                command: Some(format!("ethtool -C {} rx-usecs {PROPOSED_USECS}", i.name)),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_on_a_hot_queue_irq_without_coalescing() {
        let mut s = Scene::quiet();
        // The capture's virtio eth0: rx-usecs 0, rx-frames 1, adaptive off; rx IRQ 38.
        s.irq_fires(38, 1, 80_000);
        let f = s.finding("coalescing").expect("fires");
        assert_eq!(
            f.title,
            "1 of eth0's queue IRQs fire over 50000/s (up to 80000/s) with coalescing off"
        );
        assert!(f.evidence.iter().any(|e| e.value == "adaptive-rx off, rx-usecs 0, rx-frames 1"));
        assert_eq!(f.remedies[0].command.as_deref(), Some("ethtool -C eth0 adaptive-rx on"));
        assert_eq!(f.remedies[1].command.as_deref(), Some("ethtool -C eth0 rx-usecs 50"));
    }

    #[test]
    fn quiet_with_coalescing_on_or_a_moderate_rate() {
        let mut s = Scene::quiet();
        s.irq_fires(38, 1, 40_000);
        assert_eq!(s.finding("coalescing"), None, "40000/s");
        let mut s = Scene::quiet();
        s.irq_fires(38, 1, 80_000).coalesce("eth0", |c| c.use_adaptive_rx_coalesce = 1);
        assert_eq!(s.finding("coalescing"), None, "adaptive");
        let mut s = Scene::quiet();
        s.irq_fires(38, 1, 80_000).coalesce("eth0", |c| c.rx_max_coalesced_frames = 32);
        assert_eq!(s.finding("coalescing"), None, "frame coalescing");
        let mut s = Scene::quiet();
        s.irq_fires(39, 0, 80_000);
        assert_eq!(s.finding("coalescing"), None, "a transmit IRQ");
    }
}
