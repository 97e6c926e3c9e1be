//! Every receive-queue IRQ of an interface on the same CPU while other CPUs are online: the
//! queues exist to be served in parallel, and one CPU serves them all.

use super::nic::{self, BUSY_IRQS_PER_SEC, LOADED_SOFTIRQ_SHARE};
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::report::Basis;
use crate::sample::Interface;

pub fn check(ctx: &Context) -> Vec<Finding> {
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i)).collect()
}

fn finding(ctx: &Context, i: &Interface) -> Option<Finding> {
    let irqs = nic::rx_irqs(ctx, i);
    if irqs.len() < 2 {
        return None;
    }
    let cpu = match irqs[0].cpus.as_slice() {
        [c] if irqs.iter().all(|q| q.cpus == [*c]) => *c,
        _ => return None,
    };
    let online = nic::online(ctx);
    if online.len() < 2 {
        return None;
    }
    let fired = nic::fired_total(&irqs);
    if fired.per_sec.unwrap_or(0.0) < BUSY_IRQS_PER_SEC {
        return None;
    }
    // The placement costs only when that CPU is working for it: quiet on a host the one CPU
    // serves with ease.
    let row = nic::cpu_row(ctx, cpu);
    let squeezed = nic::squeezed(row);
    let share = nic::softirq_share(row);
    let ring = nic::ring_total(&nic::ring_drops(ctx, i));
    if !(squeezed || ring.count > 0 || share.is_some_and(|s| s >= LOADED_SOFTIRQ_SHARE)) {
        return None;
    }
    let mut evidence: Vec<Evidence> = irqs.iter().map(|q| nic::irq_evidence(ctx, q)).collect();
    evidence.push(Evidence {
        what: "online CPUs".into(),
        value: format!("{} ({})", online.len(), nic::list(&online)),
    });
    if let Some(s) = share {
        evidence.push(Evidence {
            what: format!("cpu{cpu} softirq share"),
            value: format!("{} of its time", nic::percent(s)),
        });
    }
    if let Some(t) = row.and_then(|r| r.time_squeeze).filter(|t| t.count > 0) {
        evidence.push(ctx.evidence(&format!("cpu{cpu} softnet.time_squeeze"), t));
    }
    if ring.count > 0 {
        evidence.push(ctx.evidence(&format!("{} ring-full drops", i.name), ring));
    }
    let severity = match ctx.basis {
        Basis::Interval if squeezed || ring.count > 0 => Severity::Warning,
        _ => Severity::Info,
    };
    let mut cpus = nic::candidate_cpus(ctx, i);
    if cpus.len() < 2 {
        cpus = online;
    }
    let pairs = nic::spread(&irqs, &cpus);
    let irq_numbers: Vec<u32> = irqs.iter().map(|q| q.irq.irq).collect();
    let mut why = format!(
        "one CPU per queue lets the CPUs serve the queues in parallel; CPUs {} are the online \
         CPUs of the device's NUMA node that irqbalance does not ban. Kernel-managed IRQs \
         refuse the write (EIO): their driver places them",
        nic::list(&cpus)
    );
    if nic::irqbalance_running(ctx) {
        why.push_str("; irqbalance is running and may move them again unless they are banned");
    }
    let remedies = vec![
        Remedy {
            knob: format!("smp_affinity_list of {}'s queue IRQs", i.name),
            current: Some(format!("all on CPU {cpu}")),
            proposed: Some(
                pairs.iter().map(|(n, c)| format!("IRQ {n} → {c}")).collect::<Vec<_>>().join(", "),
            ),
            why,
            command: Some(nic::affinity_commands(&pairs)),
        },
        nic::irqbalance_remedy(ctx, &irq_numbers),
    ];
    Some(Finding {
        rule: "irq_one_cpu".into(),
        stage: StageId::Irq,
        severity,
        title: format!(
            "all {} receive-queue IRQs of {} land on CPU {cpu} ({}/s)",
            irqs.len(),
            i.name,
            super::rate(fired.per_sec.unwrap_or(0.0))
        ),
        evidence,
        explanation: "A NIC with several receive queues hashes flows over them so that several \
            CPUs can take packets off the rings at once: each queue's interrupt starts NAPI on \
            the CPU it lands on, and that CPU does the softirq work for the queue. With every \
            queue's IRQ on one CPU, that CPU does all of it while the others idle, and the \
            rings fill when it falls behind."
            .into(),
        remedies,
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::diagnose::testing_nic::FIRST_IRQ;

    fn all_on_cpu0(s: &mut Scene) {
        s.nic_queues("eth0", 4);
        for q in 0..4 {
            s.irq_affinity(FIRST_IRQ + q, &[0, 1], &[0]).irq_fires(FIRST_IRQ + q, 0, 3000);
        }
    }

    #[test]
    fn fires_when_the_one_cpu_is_loaded() {
        let mut s = Scene::quiet();
        all_on_cpu0(&mut s);
        s.cpu_time(0, 40, 60, 0).cpu_time(1, 0, 100, 0);
        let f = s.finding("irq_one_cpu").expect("fires");
        assert_eq!(f.severity, Severity::Info, "loaded, nothing lost yet");
        assert_eq!(f.title, "all 4 receive-queue IRQs of eth0 land on CPU 0 (12000/s)");
        assert!(f.evidence.iter().any(|e| e.what == "IRQ 61 (rxtx-1)"
            && e.value == "on CPU 0 (asked for 0-1), fired 3000 (3000/s)"));
        assert!(
            f.evidence
                .iter()
                .any(|e| e.what == "cpu0 softirq share" && e.value == "40% of its time")
        );
        let r = &f.remedies[0];
        assert_eq!(
            r.command.as_deref(),
            Some(
                "echo 0 > /proc/irq/60/smp_affinity_list; echo 1 > /proc/irq/61/smp_affinity_list; \
                 echo 0 > /proc/irq/62/smp_affinity_list; echo 1 > /proc/irq/63/smp_affinity_list"
            )
        );
        assert_eq!(f.remedies[1].command.as_deref(), Some("systemctl enable --now irqbalance"));
    }

    #[test]
    fn squeezes_make_it_a_warning_and_irqbalance_is_told_to_keep_off() {
        let mut s = Scene::quiet();
        all_on_cpu0(&mut s);
        s.softnet(0, "time_squeeze", 30).irqbalance(Some(vec![]), &["--foreground"]);
        let f = s.finding("irq_one_cpu").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        let r = &f.remedies[1];
        assert_eq!(r.proposed.as_deref(), Some("--banirq=60 --banirq=61 --banirq=62 --banirq=63"));
        assert_eq!(r.current.as_deref(), Some("--foreground"));
    }

    #[test]
    fn quiet_when_spread_idle_or_unloaded() {
        // Spread (the kernel's own placement in nic_queues), busy and loaded.
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 4).softnet(0, "time_squeeze", 30);
        for q in 0..4 {
            s.irq_fires(FIRST_IRQ + q, q % 2, 3000);
        }
        assert_eq!(s.finding("irq_one_cpu"), None);
        // On one CPU but firing 4 × 200/s.
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 4).softnet(0, "time_squeeze", 30);
        for q in 0..4 {
            s.irq_affinity(FIRST_IRQ + q, &[0], &[0]).irq_fires(FIRST_IRQ + q, 0, 200);
        }
        assert_eq!(s.finding("irq_one_cpu"), None);
        // On one CPU, busy, but the CPU spends 20% in softirq and loses nothing.
        let mut s = Scene::quiet();
        all_on_cpu0(&mut s);
        s.cpu_time(0, 20, 80, 0).cpu_time(1, 0, 100, 0);
        assert_eq!(s.finding("irq_one_cpu"), None);
    }
}
