//! One CPU spending most of its time in softirq, doing packet work, while other CPUs idle.

use super::nic::{self, QueueIrq};
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::report::{Basis, CpuRow};
use crate::source::cpuset;

/// A CPU at this softirq share has little time left for anything else, and a little more
/// traffic leaves packets waiting (time_squeeze) or dropped.
const SATURATED: f64 = 0.5;
/// A CPU idle this much of the time could take a share of the work.
const IDLE: f64 = 0.5;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let busy: Vec<&CpuRow> = ctx
        .cpus
        .iter()
        .filter(|c| c.softirq_share.is_some_and(|s| s >= SATURATED))
        // Network work, not block or timer softirqs.
        .filter(|c| {
            c.processed.is_some_and(|p| p.count > 0) || c.net_rx.is_some_and(|n| n.count > 0)
        })
        .collect();
    if busy.is_empty() {
        return vec![];
    }
    let busy_ids: Vec<u32> = busy.iter().map(|c| c.cpu).collect();
    let mut idle = ctx.idle_cpus(IDLE);
    idle.retain(|(c, _)| !busy_ids.contains(c));
    if idle.is_empty() {
        return vec![];
    }
    let idle_ids: Vec<u32> = idle.iter().map(|(c, _)| *c).collect();
    let mut evidence = Vec::new();
    for c in &busy {
        let mut value = format!("{} of its time", nic::percent(c.softirq_share.unwrap_or(0.0)));
        if let Some(p) = c.processed {
            value.push_str(&format!(", processed {}", ctx.amount_text(p)));
        }
        if let Some(t) = c.time_squeeze.filter(|t| t.count > 0) {
            value.push_str(&format!(", time_squeeze {}", ctx.amount_text(t)));
        }
        evidence.push(Evidence { what: format!("cpu{} softirq share", c.cpu), value });
    }
    evidence.push(Evidence {
        what: format!("CPUs at least {} idle", nic::percent(IDLE)),
        value: idle
            .iter()
            .map(|(c, s)| format!("cpu{c} {}", nic::percent(*s)))
            .collect::<Vec<_>>()
            .join(", "),
    });
    let mut remedies = Vec::new();
    for i in nic::interfaces(ctx) {
        let irqs = nic::rx_irqs(ctx, i);
        let here: Vec<&QueueIrq> =
            irqs.iter().filter(|q| q.cpus.iter().any(|c| busy_ids.contains(c))).collect();
        if here.is_empty() {
            continue;
        }
        for q in &here {
            evidence.push(nic::irq_evidence(ctx, q));
        }
        remedies.extend(nic::more_queues(
            ctx,
            i,
            "each queue brings its own interrupt and so its own CPU for the softirq work",
        ));
        // Several queues on a busy CPU: move all but one to idle CPUs.
        let movable: Vec<(u32, u32)> = here
            .iter()
            .skip(1)
            .zip(idle_ids.iter().cycle())
            .map(|(q, c)| (q.irq.irq, *c))
            .collect();
        if !movable.is_empty() {
            remedies.push(Remedy {
                knob: format!("smp_affinity_list of {}'s queue IRQs", i.name),
                current: Some(format!("{} queue IRQs on CPU {}", here.len(), nic::list(&busy_ids))),
                proposed: Some(
                    movable
                        .iter()
                        .map(|(n, c)| format!("IRQ {n} → {c}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                why: "the busy CPU serves several queues; moving the others to idle CPUs \
                      splits the softirq work"
                    .into(),
                command: Some(nic::affinity_commands(&movable)),
            });
        }
        for index in here.iter().filter_map(|q| q.queue) {
            let rps_off = i
                .queues
                .value()
                .and_then(|qs| qs.rx.iter().find(|r| r.index == index))
                .and_then(|r| r.rps_cpus.value())
                .is_some_and(|c| c.is_empty());
            if rps_off {
                let mask = cpuset::format_mask(&idle_ids);
                remedies.push(Remedy {
                    knob: format!("{} rx-{index} rps_cpus", i.name),
                    current: Some("0 (RPS off)".into()),
                    proposed: Some(format!("{mask} (CPUs {})", nic::list(&idle_ids))),
                    why: "RPS hands each flow's protocol work to another CPU by hash, so the \
                          interrupted CPU only takes packets off the ring; useful when the \
                          queues are fewer than the CPUs"
                        .into(),
                    command: Some(format!(
                        "echo {mask} > /sys/class/net/{}/queues/rx-{index}/rps_cpus",
                        i.name
                    )),
                });
            }
        }
    }
    if remedies.is_empty() {
        remedies.push(Remedy {
            knob: "rps_cpus of the queues that feed these CPUs".into(),
            current: None,
            proposed: Some(format!(
                "{} (CPUs {})",
                cpuset::format_mask(&idle_ids),
                nic::list(&idle_ids)
            )),
            why: "no NIC queue IRQ lands on the busy CPU: its packets come through the backlog \
                  (veth, tunnels, RPS); steer them to idle CPUs with RPS on the device that \
                  receives them"
                .into(),
            command: Some(format!(
                "echo {} > /sys/class/net/<if>/queues/rx-<n>/rps_cpus",
                cpuset::format_mask(&idle_ids)
            )),
        });
    }
    let lossy = busy.iter().any(|c| {
        c.time_squeeze.is_some_and(|t| t.count > 0) || c.dropped.is_some_and(|d| d.count > 0)
    });
    let severity = match ctx.basis {
        Basis::Interval if lossy => Severity::Warning,
        _ => Severity::Info,
    };
    vec![Finding {
        rule: "softirq_saturation".into(),
        stage: StageId::Softirq,
        severity,
        title: format!(
            "CPU {} spends {} or more of its time in softirq while CPU {} idle",
            nic::list(&busy_ids),
            nic::percent(SATURATED),
            nic::list(&idle_ids)
        ),
        evidence,
        explanation: "Receive processing runs in the NET_RX softirq on the CPU that took the \
            queue's interrupt (or the CPU RPS chose). When one CPU does it for most of the \
            traffic it saturates while others idle: packets wait in its rings and backlog, and \
            any other work on it stalls. The fix is to spread the work — more queues, IRQs on \
            more CPUs, or RPS."
            .into(),
        remedies,
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::diagnose::testing_nic::FIRST_IRQ;

    #[test]
    fn fires_on_a_busy_queue_cpu_and_proposes_rps_to_the_idle_one() {
        let mut s = Scene::quiet();
        // The capture's virtio rx IRQ 38 is effective on CPU 1; one queue of at most 1.
        s.cpu_time(1, 70, 20, 10).cpu_time(0, 2, 90, 8);
        s.softnet(1, "processed", 200_000).irq_fires(38, 1, 4000);
        let f = s.finding("softirq_saturation").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.title, "CPU 1 spends 50% or more of its time in softirq while CPU 0 idle");
        assert!(f.evidence.iter().any(|e| e.what == "cpu1 softirq share"
            && e.value == "70% of its time, processed 200000 (200000/s)"));
        let rps = f.remedies.iter().find(|r| r.knob == "eth0 rx-0 rps_cpus").expect("RPS");
        assert_eq!(
            rps.command.as_deref(),
            Some("echo 1 > /sys/class/net/eth0/queues/rx-0/rps_cpus")
        );
    }

    #[test]
    fn several_queues_on_the_busy_cpu_are_moved() {
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 2).irq_affinity(FIRST_IRQ + 1, &[0, 1], &[0]);
        s.cpu_time(0, 80, 10, 10).cpu_time(1, 0, 100, 0);
        s.softnet(0, "processed", 100_000).softnet(0, "time_squeeze", 40);
        let f = s.finding("softirq_saturation").expect("fires");
        assert_eq!(f.severity, Severity::Warning, "squeezed");
        let m = f.remedies.iter().find(|r| r.knob.starts_with("smp_affinity_list")).unwrap();
        assert_eq!(m.command.as_deref(), Some("echo 1 > /proc/irq/61/smp_affinity_list"));
    }

    #[test]
    fn quiet_when_all_cpus_are_busy_or_the_softirqs_are_not_network() {
        let mut s = Scene::quiet();
        s.cpu_time(1, 70, 20, 10).cpu_time(0, 10, 30, 60).softnet(1, "processed", 1000);
        assert_eq!(s.finding("softirq_saturation"), None, "no idle CPU to spread to");
        let mut s = Scene::quiet();
        s.cpu_time(1, 70, 20, 10).cpu_time(0, 0, 100, 0);
        assert_eq!(s.finding("softirq_saturation"), None, "no packets: block or timer softirqs");
        let mut s = Scene::quiet();
        s.cpu_time(1, 40, 50, 10).cpu_time(0, 0, 100, 0).softnet(1, "processed", 1000);
        assert_eq!(s.finding("softirq_saturation"), None, "40%");
    }
}
