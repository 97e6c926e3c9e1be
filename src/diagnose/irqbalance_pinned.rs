//! irqbalance running while NIC IRQs are pinned by hand.
//!
//! irqbalance itself narrows NIC IRQs to one core each (ethernet IRQs balance at core level), so
//! a narrow affinity alone does not tell a hand placement from irqbalance's own. What does: an
//! affinity that includes a CPU irqbalance bans — it never places an IRQ there — on an IRQ its
//! command line does not ban. Such a placement was made by hand or by a tuning script, and
//! irqbalance rewrites it when it next places that IRQ (a rescan, a restart, a rebalance).

use super::nic;
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::source::irq::QueueKind;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let Some(b) = ctx.sample.environment.irqbalance.value().filter(|b| b.running) else {
        return vec![];
    };
    let Some(banned_cpus) = b.banned_cpus.as_ref().filter(|c| !c.is_empty()) else {
        return vec![];
    };
    // A policy script can ban any IRQ (`ban=true`) in ways its command line does not show.
    if b.args.iter().any(|a| a.starts_with("--policyscript") || a.starts_with("-l")) {
        return vec![];
    }
    let online = nic::online(ctx);
    let (banned_irqs, banned_mods) = bans(&b.args);
    let mut pinned = Vec::new();
    for i in nic::interfaces(ctx) {
        for q in i.irqs.value().into_iter().flatten() {
            if q.queue.as_ref().is_none_or(|r| r.kind == QueueKind::Other)
                || banned_irqs.contains(&q.irq)
                || q.actions
                    .value()
                    .into_iter()
                    .flatten()
                    .any(|a| banned_mods.iter().any(|m| a.contains(m.as_str())))
            {
                continue;
            }
            let Some(asked) = q.smp_affinity_list.value() else { continue };
            let narrow = !asked.is_empty() && asked.len() < online.len();
            let on_banned: Vec<u32> =
                asked.iter().copied().filter(|c| banned_cpus.contains(c)).collect();
            let fired = nic::irq_fired(ctx, q.irq).filter(|a| ctx.moved(*a));
            if let (true, false, Some(fired)) = (narrow, on_banned.is_empty(), fired) {
                pinned.push((i.name.as_str(), q, on_banned, fired));
            }
        }
    }
    if pinned.is_empty() {
        return vec![];
    }
    let mut evidence = vec![
        Evidence {
            what: "irqbalance".into(),
            value: format!(
                "running (pid {}), keeps IRQs off CPUs {} ({})",
                b.pid.map_or("?".into(), |p| p.to_string()),
                nic::list(banned_cpus),
                b.banned_from.as_deref().unwrap_or("source unknown")
            ),
        },
        Evidence {
            what: "irqbalance command line".into(),
            value: if b.args.is_empty() { "no arguments".into() } else { b.args.join(" ") },
        },
    ];
    for (name, q, on_banned, fired) in &pinned {
        let label = q.queue.as_ref().map_or(String::new(), |r| format!(" ({})", r.label()));
        evidence.push(Evidence {
            what: format!("{name} IRQ {}{label}", q.irq),
            value: format!(
                "smp_affinity_list {}, which irqbalance would never choose (CPU {} banned); \
                 fired {}",
                nic::list(q.smp_affinity_list.value().map_or(&[][..], |v| v.as_slice())),
                nic::list(on_banned),
                ctx.amount_text(*fired)
            ),
        });
    }
    let irqs: Vec<u32> = pinned.iter().map(|(_, q, _, _)| q.irq).collect();
    let remedies = vec![
        nic::irqbalance_remedy(ctx, &irqs),
        Remedy {
            knob: "irqbalance".into(),
            current: Some("running".into()),
            proposed: Some("stopped".into()),
            why: "when every IRQ that matters is placed by hand or by a tuning profile, \
                  irqbalance has nothing left to do but undo it"
                .into(),
            command: Some("systemctl disable --now irqbalance".into()),
        },
    ];
    vec![Finding {
        rule: "irqbalance_pinned".into(),
        stage: StageId::Irq,
        severity: Severity::Info,
        title: format!(
            "{} NIC IRQs are pinned by hand while irqbalance runs: it may move them",
            pinned.len()
        ),
        evidence,
        explanation: "irqbalance places every IRQ it is not told to leave alone, writing the \
            CPUs of one core into smp_affinity — at start, when it rescans IRQs, and when it \
            moves load. A NIC IRQ pinned by hand to a CPU irqbalance keeps IRQs away from was \
            not placed by it, and it will move that IRQ back into its own layout the next time \
            it places it, undoing the tuning."
            .into(),
        remedies,
    }]
}

/// IRQs and module names irqbalance's command line bans: `--banirq=N`, `--banirq N`, `-i N`,
/// `-iN`; `--banmod=M`, `--banmod M`, `-m M`.
fn bans(args: &[String]) -> (Vec<u32>, Vec<String>) {
    let (mut irqs, mut mods) = (Vec::new(), Vec::new());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let (irq, module) = match a.as_str() {
            "--banirq" | "-i" => (it.next().cloned(), None),
            "--banmod" | "-m" => (None, it.next().cloned()),
            s => {
                let irq = s.strip_prefix("--banirq=").or_else(|| s.strip_prefix("-i"));
                let module = s.strip_prefix("--banmod=");
                (irq.map(str::to_string), module.map(str::to_string))
            }
        };
        irqs.extend(irq.and_then(|n| n.parse::<u32>().ok()));
        mods.extend(module.filter(|m| !m.is_empty()));
    }
    (irqs, mods)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::diagnose::testing_nic::FIRST_IRQ;

    fn pinned_to_banned_cpu1(s: &mut Scene) {
        s.nic_queues("eth0", 2).irq_affinity(FIRST_IRQ + 1, &[1], &[1]);
        s.irq_fires(FIRST_IRQ + 1, 1, 10);
    }

    #[test]
    fn fires_on_a_firing_irq_pinned_to_a_banned_cpu() {
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        s.irqbalance(Some(vec![1]), &["--foreground", "--banirq=60"]);
        let f = s.finding("irqbalance_pinned").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert!(f.evidence.iter().any(|e| e.what == "eth0 IRQ 61 (rxtx-1)"
            && e.value.starts_with("smp_affinity_list 1, which irqbalance would never choose")));
        let r = &f.remedies[0];
        assert_eq!(r.proposed.as_deref(), Some("--banirq=61"));
        assert_eq!(r.current.as_deref(), Some("--foreground --banirq=60"));
    }

    #[test]
    fn quiet_when_banned_not_running_or_without_evidence() {
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        s.irqbalance(Some(vec![1]), &["-i", "61"]);
        assert_eq!(s.finding("irqbalance_pinned"), None, "the IRQ is banned");
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        s.irqbalance(Some(vec![1]), &["--banmod=eth0-TxRx"]);
        assert_eq!(s.finding("irqbalance_pinned"), None, "its handler is banned");
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        s.irqbalance(Some(vec![1]), &["--policyscript=/etc/irqbalance.d/ban.sh"]);
        assert_eq!(s.finding("irqbalance_pinned"), None, "a policy script may ban it");
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        s.irqbalance(Some(vec![]), &[]);
        assert_eq!(s.finding("irqbalance_pinned"), None, "one CPU is what irqbalance does too");
        let mut s = Scene::quiet();
        pinned_to_banned_cpu1(&mut s);
        assert_eq!(s.finding("irqbalance_pinned"), None, "irqbalance not running");
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 2).irq_affinity(FIRST_IRQ + 1, &[1], &[1]);
        s.irqbalance(Some(vec![1]), &[]);
        assert_eq!(s.finding("irqbalance_pinned"), None, "the IRQ did not fire");
    }

    #[test]
    fn command_line_bans() {
        let args: Vec<String> =
            ["--banirq=5", "-i", "6", "-i7", "--banmod", "mlx5", "--banmod=ixgbe", "-f"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(super::bans(&args), (vec![5, 6, 7], vec!["mlx5".into(), "ixgbe".into()]));
    }
}
