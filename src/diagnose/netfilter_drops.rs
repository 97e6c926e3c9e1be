//! Packets IP received but never delivered, forwarded or counted as an IP error: netfilter drops.

use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;

/// Fewer than this in an interval is within what packets in flight between the counters explain.
const MIN_PACKETS: u64 = 10;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let v4 = ctx.count("Ip.undelivered");
    let v6 = ctx.count("Ip6.undelivered");
    let a = v4.plus(v6);
    if a.count < MIN_PACKETS || !ctx.moved(a) {
        return vec![];
    }
    let mut evidence =
        vec![ctx.evidence("Ip.undelivered", v4), ctx.evidence("Ip6.undelivered", v6)];
    for n in ["Ip.InReceives", "Ip.InDelivers", "Ip.ForwDatagrams"] {
        if let Some(x) = ctx.delta_mib(n) {
            evidence.push(ctx.evidence(n, x));
        }
    }
    if let Some(c) = ctx.sample.environment.conntrack.value() {
        evidence.push(Evidence {
            what: "nf_conntrack_count / nf_conntrack_max".into(),
            value: format!("{} / {}", c.count, c.max),
        });
    }
    vec![Finding {
        rule: "netfilter_drops".into(),
        stage: StageId::Netfilter,
        severity: if a.per_sec.is_some_and(|r| r >= 1000.0) {
            Severity::Critical
        } else {
            ctx.severity(a).min(Severity::Warning)
        },
        title: format!(
            "{} IP packets {} dropped between IP and UDP/TCP: netfilter rules",
            a.count,
            ctx.when()
        ),
        evidence,
        explanation: "IP counted these packets as received (InReceives) but never delivered them \
            to UDP/TCP (InDelivers), forwarded them, or counted them as an IP error. What drops \
            packets there is a netfilter rule (nftables or iptables: a DROP or REJECT in \
            prerouting or input, or a full conntrack table), or an IPsec policy. No kernel \
            counter names these drops; the rule's own counter does. Multicast for groups no \
            socket joined also lands here, so small numbers on a busy LAN can be that."
            .into(),
        remedies: vec![Remedy {
            knob: "the netfilter ruleset".into(),
            current: None,
            proposed: None,
            why: "find the rule whose counter grows with these drops and change or remove it if \
                  the traffic is wanted"
                .into(),
            command: Some(
                "nft list ruleset | grep -E 'drop|reject'   # or: iptables -L -v -n".into(),
            ),
        }],
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_when_ip_receives_more_than_it_delivers() {
        let mut s = Scene::quiet();
        s.snmp("Ip", "InReceives", 185);
        let f = s.finding("netfilter_drops").expect("fires");
        assert!(f.title.starts_with("185 IP packets"), "{}", f.title);
        let r = s.report();
        assert_eq!(r.path.top_stage, Some(crate::path::StageId::Netfilter));
    }

    #[test]
    fn quiet_when_the_gap_is_explained() {
        let mut s = Scene::quiet();
        // Delivered, forwarded, or counted as a header error: none of it is netfilter.
        s.snmp("Ip", "InReceives", 300).snmp("Ip", "InDelivers", 200);
        s.snmp("Ip", "ForwDatagrams", 80).snmp("Ip", "InHdrErrors", 20);
        assert_eq!(s.finding("netfilter_drops"), None);
        assert_eq!(s.report().path.drop("Ip.undelivered", None).map(|d| d.count), Some(0));
    }
}
