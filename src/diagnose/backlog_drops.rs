//! Packets dropped because a CPU's backlog queue was full (softnet_stat `dropped`).

use super::{Context, Evidence, Finding, Remedy, sysctl_remedy};
use crate::path::{Amount, StageId};

/// Proposed netdev_max_backlog stops here: a longer queue only adds latency.
const MAX_BACKLOG: i64 = 65_536;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let a = ctx.count("softnet.dropped");
    if !ctx.moved(a) {
        return vec![];
    }
    let max_backlog = ctx.sysctl("net.core.netdev_max_backlog");
    let flow = ctx.count("softnet.flow_limit_count");
    let mut evidence = vec![ctx.evidence("softnet.dropped (all CPUs)", a)];
    let mut dropping: Vec<_> =
        ctx.cpus.iter().filter(|c| c.dropped.is_some_and(|d| d.count > 0)).collect();
    dropping.sort_by_key(|c| std::cmp::Reverse(c.dropped.map_or(0, |d| d.count)));
    for c in dropping.iter().take(4) {
        let d = c.dropped.unwrap_or_default();
        let len = c.backlog_len.map_or(String::new(), |l| format!(", backlog now {l}"));
        evidence.push(Evidence {
            what: format!("cpu{} softnet.dropped", c.cpu),
            value: format!("{}{len}", ctx.amount_text(d)),
        });
    }
    if flow.count > 0 {
        evidence.push(ctx.evidence("softnet.flow_limit_count", flow));
    }
    evidence.push(Evidence {
        what: "net.core.netdev_max_backlog".into(),
        value: max_backlog
            .map_or("unreadable (global; read it in the host namespace)".into(), |v| v.to_string()),
    });
    let mut remedies = Vec::new();
    if let Some(cur) = max_backlog.filter(|c| *c < MAX_BACKLOG) {
        let p = proposed(cur, a);
        remedies.push(sysctl_remedy(
            "net.core.netdev_max_backlog",
            Some(cur),
            p,
            &format!(
                "each CPU queues at most netdev_max_backlog packets before net_rx_action drains \
                 them; {p} holds the burst that overflowed (current + the packets dropped in one \
                 second), at least double — longer queues cost latency, not drops"
            ),
        ));
    }
    let online = ctx.sample.cpus.online.value().map_or(0, Vec::len);
    if dropping.len() == 1 && online > 1 {
        remedies.push(Remedy {
            knob: "rps_cpus of the receiving queue".into(),
            current: None,
            proposed: None,
            why: format!(
                "all drops are on cpu{}: spread the packet processing over other CPUs with RPS \
                 (Receive Packet Steering) so one CPU's backlog is not the bottleneck",
                dropping[0].cpu
            ),
            command: Some("echo <cpu-mask> > /sys/class/net/<if>/queues/rx-<n>/rps_cpus".into()),
        });
    }
    if flow.count > 0 {
        remedies.push(Remedy {
            knob: "net.core.flow_limit_cpu_bitmap".into(),
            current: None,
            proposed: None,
            why: "the flow limit is on and dropped packets of a dominant flow: this is it \
                  protecting the other flows; raise netdev_max_backlog or spread the flow if it \
                  matters"
                .into(),
            command: None,
        });
    }
    vec![Finding {
        rule: "backlog_drops".into(),
        stage: StageId::Backlog,
        severity: ctx.severity(a),
        title: format!(
            "{} packets dropped {}: a CPU's backlog queue was full",
            a.count,
            ctx.when()
        ),
        evidence,
        explanation: "Packets that arrive through netif_rx (loopback, veth, tunnels, non-NAPI \
            drivers) or are steered to another CPU by RPS wait in that CPU's backlog queue until \
            its softirq processes them. When more than netdev_max_backlog packets are waiting, \
            the rest are dropped and counted in softnet_stat `dropped` and the device's \
            rx_dropped."
            .into(),
        remedies,
    }]
}

fn proposed(cur: i64, a: Amount) -> i64 {
    let per_sec = a.per_sec.map_or(a.count as f64, |r| r) as i64;
    cur.saturating_mul(2).max(cur.saturating_add(per_sec)).min(MAX_BACKLOG)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn fires_on_softnet_drops_and_proposes_a_larger_backlog() {
        let mut s = Scene::quiet();
        s.softnet(0, "dropped", 1960).softnet(0, "processed", 440);
        s.sysctl("net.core.netdev_max_backlog", SysctlValue::Int(1000));
        let f = s.finding("backlog_drops").expect("fires");
        assert!(f.evidence.iter().any(|e| e.what == "cpu0 softnet.dropped"), "{:?}", f.evidence);
        let r = &f.remedies[0];
        assert_eq!(r.knob, "net.core.netdev_max_backlog");
        assert_eq!(r.proposed.as_deref(), Some("2960"));
        assert!(f.remedies.iter().any(|r| r.knob.starts_with("rps_cpus")), "one CPU drops: RPS");
    }

    #[test]
    fn quiet_when_nothing_dropped() {
        let mut s = Scene::quiet();
        s.softnet(0, "processed", 100_000).softnet(1, "time_squeeze", 3);
        assert_eq!(s.finding("backlog_drops"), None);
    }
}
