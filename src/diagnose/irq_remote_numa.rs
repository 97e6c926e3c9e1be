//! Receive-queue IRQs served on a NUMA node other than the NIC's own.

use super::nic::{self, BUSY_IRQS_PER_SEC, QueueIrq};
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::report::Basis;
use crate::sample::Interface;
use crate::source::cpus::GroupOf;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let nodes = nic::nodes(ctx);
    if nodes.len() < 2 {
        return vec![];
    }
    let in_node = GroupOf::new(nodes.iter().map(|(_, cpus)| cpus.as_slice()));
    let node_of = |cpu: u32| in_node.get(cpu).map(|g| nodes[g].0);
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i, &nodes, &node_of)).collect()
}

fn finding(
    ctx: &Context,
    i: &Interface,
    nodes: &[(u32, Vec<u32>)],
    node_of: &impl Fn(u32) -> Option<u32>,
) -> Option<Finding> {
    let node = nic::device_node(i)?;
    let local = nodes.iter().find(|(n, _)| *n == node).map(|(_, c)| c.clone())?;
    // Remote: every CPU it targets sits on a known node that is not the device's.
    let remote: Vec<QueueIrq> = nic::rx_irqs(ctx, i)
        .into_iter()
        .filter(|q| {
            !q.cpus.is_empty() && q.cpus.iter().all(|c| node_of(*c).is_some_and(|n| n != node))
        })
        .collect();
    let fired = nic::fired_total(&remote);
    if remote.is_empty() || fired.per_sec.unwrap_or(0.0) < BUSY_IRQS_PER_SEC {
        return None;
    }
    let mut evidence = vec![Evidence {
        what: format!("{} device NUMA node", i.name),
        value: format!("{node} (its CPUs: {})", nic::list(&local)),
    }];
    for q in &remote {
        let mut e = nic::irq_evidence(ctx, q);
        let on: Vec<String> =
            q.cpus.iter().filter_map(|c| node_of(*c)).map(|n| n.to_string()).collect();
        e.value.push_str(&format!(", node {}", on.join(",")));
        evidence.push(e);
    }
    let ring = nic::ring_total(&nic::ring_drops(ctx, i));
    if ring.count > 0 {
        evidence.push(ctx.evidence(&format!("{} ring-full drops", i.name), ring));
    }
    let severity = match ctx.basis {
        Basis::Interval if ring.count > 0 => Severity::Warning,
        _ => Severity::Info,
    };
    let cpus = nic::candidate_cpus(ctx, i);
    let pairs = nic::spread(&remote, &cpus);
    let mut remedies = Vec::new();
    if !pairs.is_empty() {
        remedies.push(Remedy {
            knob: format!("smp_affinity_list of {}'s remote queue IRQs", i.name),
            current: Some(
                remote
                    .iter()
                    .map(|q| format!("IRQ {} → {}", q.irq.irq, nic::list(&q.cpus)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            proposed: Some(
                pairs.iter().map(|(n, c)| format!("IRQ {n} → {c}")).collect::<Vec<_>>().join(", "),
            ),
            why: format!(
                "CPUs {} are on node {node} with the device and the memory its driver allocated \
                 the rings from; kernel-managed IRQs refuse the write (EIO)",
                nic::list(&cpus)
            ),
            command: Some(nic::affinity_commands(&pairs)),
        });
    }
    let numbers: Vec<u32> = remote.iter().map(|q| q.irq.irq).collect();
    if nic::irqbalance_running(ctx) {
        remedies.push(nic::irqbalance_remedy(ctx, &numbers));
    }
    Some(Finding {
        rule: "irq_remote_numa".into(),
        stage: StageId::Irq,
        severity,
        title: format!(
            "{} of {}'s receive-queue IRQs are served off its NUMA node {node} ({}/s)",
            remote.len(),
            i.name,
            super::rate(fired.per_sec.unwrap_or(0.0))
        ),
        evidence,
        explanation: "The NIC sits on one NUMA node; its driver allocates the rings and packet \
            buffers there, and the NIC writes packets into that node's memory. A queue whose IRQ \
            (and so its NAPI softirq) runs on a CPU of another node reads every descriptor and \
            packet across the interconnect, which costs latency and memory bandwidth per packet \
            and lowers the rate one CPU can drain a ring."
            .into(),
        remedies,
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::diagnose::testing_nic::FIRST_IRQ;

    fn two_nodes(s: &mut Scene) {
        s.nic_queues("eth0", 2).numa(&[&[0], &[1]], "eth0", 0);
    }

    #[test]
    fn fires_on_a_busy_queue_irq_on_the_other_node() {
        let mut s = Scene::quiet();
        two_nodes(&mut s);
        // nic_queues puts queue 1's IRQ on CPU 1: node 1.
        s.irq_fires(FIRST_IRQ + 1, 1, 5000).irq_fires(FIRST_IRQ, 0, 5000);
        let f = s.finding("irq_remote_numa").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            f.title,
            "1 of eth0's receive-queue IRQs are served off its NUMA node 0 (5000/s)"
        );
        assert!(f.evidence.iter().any(|e| e.what == "IRQ 61 (rxtx-1)"
            && e.value == "on CPU 1 (asked for 0-1), fired 5000 (5000/s), node 1"));
        assert_eq!(
            f.remedies[0].command.as_deref(),
            Some("echo 0 > /proc/irq/61/smp_affinity_list")
        );
    }

    #[test]
    fn ring_drops_make_it_a_warning() {
        let mut s = Scene::quiet();
        two_nodes(&mut s);
        s.irq_fires(FIRST_IRQ + 1, 1, 5000).iface("eth0", "rx_missed_errors", 4);
        assert_eq!(s.finding("irq_remote_numa").expect("fires").severity, Severity::Warning);
    }

    #[test]
    fn quiet_when_local_idle_single_node_or_node_unknown() {
        let mut s = Scene::quiet();
        two_nodes(&mut s);
        s.irq_fires(FIRST_IRQ, 0, 50_000).irq_fires(FIRST_IRQ + 1, 1, 500);
        assert_eq!(s.finding("irq_remote_numa"), None, "the remote IRQ fires 500/s");
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 2).numa(&[&[0, 1]], "eth0", 0).irq_fires(FIRST_IRQ + 1, 1, 5000);
        assert_eq!(s.finding("irq_remote_numa"), None, "one node");
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 2).numa(&[&[0], &[1]], "eth0", -1).irq_fires(FIRST_IRQ + 1, 1, 5000);
        assert_eq!(s.finding("irq_remote_numa"), None, "numa_node -1");
    }
}
