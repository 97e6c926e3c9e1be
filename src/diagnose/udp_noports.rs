//! UDP datagrams to ports no socket listens on.

use super::{Context, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::report::Basis;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let v4 = ctx.count("Udp.NoPorts");
    let v6 = ctx.count("Udp6NoPorts");
    let both = v4.plus(v6);
    // A few strays (late DNS replies, traceroute) are normal on any host.
    let steady = both.per_sec.map_or(both.count >= 100, |r| r >= 1.0);
    if !steady || !ctx.moved(both) {
        return vec![];
    }
    let severity = match (ctx.basis, both.per_sec) {
        (Basis::Interval, Some(r)) if r >= 100.0 => Severity::Warning,
        _ => Severity::Info,
    };
    vec![Finding {
        rule: "udp_noports".into(),
        stage: StageId::Transport,
        severity,
        title: format!("{} UDP datagrams {} to ports nothing listens on", both.count, ctx.when()),
        evidence: vec![ctx.evidence("Udp.NoPorts", v4), ctx.evidence("Udp6NoPorts", v6)],
        explanation:
            "Datagrams reached UDP for a port no socket is bound to, so the kernel dropped \
            them and answered with ICMP port unreachable (rate-limited). A service is down or \
            not started, it listens on another address or port than its senders use, or \
            someone is scanning the host."
                .into(),
        remedies: vec![Remedy {
            knob: "the service that should listen, or its senders".into(),
            current: None,
            proposed: None,
            why: "no kernel setting helps: start the service, or point the senders at the port \
                  and address it listens on"
                .into(),
            command: Some("ss -ulpn   # what listens now".into()),
        }],
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_on_a_stream_of_noports() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "NoPorts", 100).snmp6("Udp6NoPorts", 100);
        let f = s.finding("udp_noports").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.title.starts_with("200 UDP datagrams"), "{}", f.title);
    }

    #[test]
    fn a_stray_datagram_is_not_a_finding() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "NoPorts", 0);
        assert_eq!(s.finding("udp_noports"), None);
        // Below 1/s over a 1 s interval: nothing (a late DNS reply).
        let mut s = Scene::quiet();
        s.later.host.boottime_ns = s.earlier.host.boottime_ns.map(|t| t + 10_000_000_000);
        s.snmp("Udp", "NoPorts", 3);
        assert_eq!(s.finding("udp_noports"), None);
    }
}
