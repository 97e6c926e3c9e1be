//! net_rx_action running out of budget (softnet `time_squeeze`).

use super::nic;
use super::{Context, Evidence, Finding, Remedy, Severity, sysctl_remedy};
use crate::path::{Amount, StageId};
use crate::report::Basis;

/// Squeezes alone fire from this rate: a squeeze is a softirq run that used its whole budget
/// (300 packets or 2 jiffies by default), so 100/s is a CPU doing little but packet work. Fewer,
/// with nothing dropped, are busy moments the next run absorbed.
const SQUEEZES_PER_SEC: f64 = 100.0;
/// Proposed netdev_budget stops here (8× the default): a larger run holds the CPU for
/// milliseconds and the time limit ends it first anyway.
const MAX_BUDGET: i64 = 2400;
/// Proposed netdev_budget_usecs stops at 2 jiffies at HZ=250, the default of most distributions.
const MAX_BUDGET_USECS: i64 = 8000;
/// CPUs named in the evidence.
const CPUS_SHOWN: usize = 4;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let squeeze = ctx.count("softnet.time_squeeze");
    if !ctx.moved(squeeze) {
        return vec![];
    }
    let ring = nic::interfaces(ctx)
        .iter()
        .map(|i| nic::ring_total(&nic::ring_drops(ctx, i)))
        .fold(Amount::default(), Amount::plus);
    let backlog = ctx.count("softnet.dropped");
    let drops = ring.plus(backlog);
    let steady = squeeze.per_sec.is_some_and(|r| r >= SQUEEZES_PER_SEC);
    if drops.count == 0 && !steady {
        return vec![];
    }
    let mut evidence = vec![ctx.evidence("softnet.time_squeeze (all CPUs)", squeeze)];
    let mut rows: Vec<_> =
        ctx.cpus.iter().filter(|c| c.time_squeeze.is_some_and(|t| t.count > 0)).collect();
    rows.sort_by_key(|c| std::cmp::Reverse(c.time_squeeze.map_or(0, |t| t.count)));
    for c in rows.iter().take(CPUS_SHOWN) {
        let mut e =
            ctx.evidence(&format!("cpu{} time_squeeze", c.cpu), c.time_squeeze.unwrap_or_default());
        if let Some(p) = c.processed {
            e.value.push_str(&format!(", processed {}", ctx.amount_text(p)));
        }
        evidence.push(e);
    }
    if ring.count > 0 {
        evidence.push(ctx.evidence("ring-full drops (all interfaces)", ring));
    }
    if backlog.count > 0 {
        evidence.push(ctx.evidence("softnet.dropped (backlog full)", backlog));
    }
    let budget = ctx.sysctl("net.core.netdev_budget");
    let usecs = ctx.sysctl("net.core.netdev_budget_usecs");
    for (k, v) in [("net.core.netdev_budget", budget), ("net.core.netdev_budget_usecs", usecs)] {
        evidence.push(Evidence {
            what: k.into(),
            value: v.map_or("unreadable (global; read it in the host namespace)".into(), |v| {
                v.to_string()
            }),
        });
    }
    let severity = match ctx.basis {
        Basis::Interval if drops.count > 0 => ctx.severity(drops).max(Severity::Warning),
        _ => Severity::Info,
    };
    let with = if drops.count > 0 { ", and packets were dropped" } else { "" };
    vec![Finding {
        rule: "time_squeeze".into(),
        stage: StageId::Softirq,
        severity,
        title: format!(
            "net_rx_action ran out of budget {} times {}{with}",
            squeeze.count,
            ctx.when()
        ),
        evidence,
        explanation: "Each NET_RX softirq run (net_rx_action) polls the NIC queues and the \
            backlog until it has handled netdev_budget packets or spent netdev_budget_usecs, \
            then yields the CPU and counts a time_squeeze; the rest waits in the rings and \
            backlog for the next run. Occasional squeezes are normal; many mean the CPU gets \
            more packets than one run may take, and when rings or backlogs fill meanwhile \
            packets are dropped. If the squeezes sit on one CPU while others idle, spreading \
            the load beats a larger budget."
            .into(),
        remedies: remedies(budget, usecs),
    }]
}

fn remedies(budget: Option<i64>, usecs: Option<i64>) -> Vec<Remedy> {
    let mut out = Vec::new();
    if let Some(b) = budget.filter(|b| *b > 0 && *b < MAX_BUDGET) {
        let p = b.saturating_mul(2).min(MAX_BUDGET);
        out.push(sysctl_remedy(
            "net.core.netdev_budget",
            Some(b),
            p,
            &format!(
                "packets one softirq run may handle over all queues; {p} (double, at most \
                 {MAX_BUDGET}) lets a run finish twice the burst before yielding, at the cost of \
                 longer runs for other work on that CPU"
            ),
        ));
    }
    if let Some(u) = usecs.filter(|u| *u > 0 && *u < MAX_BUDGET_USECS) {
        let p = u.saturating_mul(2).min(MAX_BUDGET_USECS);
        out.push(sysctl_remedy(
            "net.core.netdev_budget_usecs",
            Some(u),
            p,
            &format!(
                "the time limit of one softirq run; when packets are slow to process it ends \
                 runs before the packet budget does. {p} µs (double, at most {MAX_BUDGET_USECS})"
            ),
        ));
    }
    if budget.is_none() || usecs.is_none() {
        out.push(Remedy {
            knob: "net.core.netdev_budget, net.core.netdev_budget_usecs".into(),
            current: None,
            proposed: None,
            why: "not readable here (global sysctls are absent in a network namespace): read \
                  them on the host before changing them"
                .into(),
            command: Some("sysctl net.core.netdev_budget net.core.netdev_budget_usecs".into()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn steady_squeezes_propose_a_larger_budget() {
        let mut s = Scene::quiet();
        s.softnet(0, "time_squeeze", 150).softnet(0, "processed", 90_000);
        let f = s.finding("time_squeeze").expect("fires");
        assert_eq!(f.severity, Severity::Info, "nothing lost");
        assert!(f.evidence.iter().any(|e| e.what == "cpu0 time_squeeze"
            && e.value == "150 (150/s), processed 90000 (90000/s)"));
        // The capture: netdev_budget 300, netdev_budget_usecs 8000.
        assert_eq!(f.remedies.len(), 1, "{:?}", f.remedies);
        assert_eq!(f.remedies[0].knob, "net.core.netdev_budget");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("600"));
    }

    #[test]
    fn few_squeezes_with_ring_drops_are_a_warning() {
        let mut s = Scene::quiet();
        s.softnet(1, "time_squeeze", 3).iface("eth0", "rx_missed_errors", 50);
        s.sysctl("net.core.netdev_budget_usecs", SysctlValue::Int(2000));
        let f = s.finding("time_squeeze").expect("fires with drops");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.title.ends_with(", and packets were dropped"), "{}", f.title);
        let u = f.remedies.iter().find(|r| r.knob == "net.core.netdev_budget_usecs").unwrap();
        assert_eq!(u.proposed.as_deref(), Some("4000"));
    }

    #[test]
    fn quiet_on_a_few_squeezes_without_drops() {
        let mut s = Scene::quiet();
        s.softnet(0, "time_squeeze", 20).softnet(1, "time_squeeze", 20);
        assert_eq!(s.finding("time_squeeze"), None);
    }
}
