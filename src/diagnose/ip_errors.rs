//! Packets IP itself refused: bad headers and checksums, truncation, wrong address, no route,
//! unknown protocol, reverse-path filter.

use super::{Context, Evidence, Finding, Remedy};
use crate::path::{Amount, StageId};

/// Each counter, what it means, and what to do about it.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "Ip.InHdrErrors",
        "malformed IPv4 headers (bad version, length, TTL, or checksum)",
        "corrupt or hand-built frames: check the sender, the link's rx_crc_errors, and checksum offload (ethtool -k <if> | grep rx-checksumming)",
    ),
    (
        "IpExt.InCsumErrors",
        "bad IPv4 header checksums (inside InHdrErrors)",
        "corruption on the path or a faulty sender/NIC checksum offload",
    ),
    (
        "IpExt.InTruncatedPkts",
        "IPv4 packets shorter than their header's total length",
        "frames cut in transit: an MTU mismatch on the path or a broken sender",
    ),
    (
        "Ip.InAddrErrors",
        "IPv4 packets for an address this host does not have, with forwarding off",
        "misrouted traffic; if this host should route, enable forwarding (net.ipv4.ip_forward=1)",
    ),
    (
        "IpExt.InNoRoutes",
        "IPv4 packets with no route to forward them",
        "add the missing route or fix the sender's destination",
    ),
    (
        "Ip.InUnknownProtos",
        "IPv4 packets of a protocol nothing handles",
        "a tunnel or protocol module is not loaded, or the sender is wrong",
    ),
    (
        "Ip.InDiscards",
        "IPv4 packets discarded for lack of resources",
        "memory pressure on the host",
    ),
    (
        "TcpExt.IPReversePathFilter",
        "IPv4 packets failing the reverse-path filter (rp_filter)",
        "asymmetric routing: use loose mode (net.ipv4.conf.<if>.rp_filter=2) if the paths are legitimate",
    ),
    ("Ip6InHdrErrors", "malformed IPv6 headers", "corrupt frames or a broken sender"),
    (
        "Ip6InAddrErrors",
        "IPv6 packets for an address this host does not have",
        "misrouted traffic, or forwarding off on a router",
    ),
    ("Ip6InNoRoutes", "IPv6 packets with no route", "add the route or fix the sender"),
    ("Ip6InTruncatedPkts", "truncated IPv6 packets", "an MTU mismatch or a broken sender"),
    ("Ip6InUnknownProtos", "IPv6 packets of an unhandled next header", "a module is not loaded"),
    ("Ip6InDiscards", "IPv6 packets discarded for lack of resources", "memory pressure"),
];

pub fn check(ctx: &Context) -> Vec<Finding> {
    let moved: Vec<(&str, &str, &str, Amount)> = ERRORS
        .iter()
        .filter_map(|(c, what, fix)| {
            let a =
                ctx.path.drop(c, None).map(|d| Amount { count: d.count, per_sec: d.per_sec })?;
            ctx.moved(a).then_some((*c, *what, *fix, a))
        })
        .collect();
    if moved.is_empty() {
        return vec![];
    }
    let total = ctx.path.stage(StageId::Ip).dropped;
    let evidence: Vec<Evidence> = moved.iter().map(|(c, _, _, a)| ctx.evidence(c, *a)).collect();
    let explanation =
        moved.iter().map(|(c, what, _, _)| format!("{c}: {what}.")).collect::<Vec<_>>().join(" ");
    let remedies = moved
        .iter()
        .filter(|(c, ..)| *c != "IpExt.InCsumErrors" || moved.len() == 1)
        .map(|(c, _, fix, _)| Remedy {
            knob: format!("what sends the packets counted in {c}"),
            current: None,
            proposed: None,
            why: (*fix).into(),
            command: None,
        })
        .collect();
    let names: Vec<&str> = moved.iter().map(|(c, ..)| *c).collect();
    vec![Finding {
        rule: "ip_errors".into(),
        stage: StageId::Ip,
        severity: ctx.severity(total.plus(moved[0].3)),
        title: format!(
            "IP refused {} packets {}: {}",
            total.count.max(moved[0].3.count),
            ctx.when(),
            names.join(", ")
        ),
        evidence,
        explanation: format!(
            "IP checks every packet before routing it; these failed and were dropped. {explanation}"
        ),
        remedies,
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testing::Scene;

    #[test]
    fn bad_checksums_name_both_counters_and_count_once() {
        let mut s = Scene::quiet();
        s.snmp("Ip", "InReceives", 20).snmp("Ip", "InHdrErrors", 20).snmp(
            "IpExt",
            "InCsumErrors",
            20,
        );
        let f = s.finding("ip_errors").expect("fires");
        assert!(f.title.starts_with("IP refused 20 packets"), "{}", f.title);
        let names: Vec<&str> = f.evidence.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(names, ["Ip.InHdrErrors", "IpExt.InCsumErrors"]);
        let r = s.report();
        assert_eq!(r.path.total_dropped.count, 20, "InCsumErrors is inside InHdrErrors");
        assert_eq!(s.finding("netfilter_drops"), None, "header errors are not netfilter");
    }

    #[test]
    fn truncated_packets() {
        let mut s = Scene::quiet();
        s.snmp("Ip", "InReceives", 20).snmp("IpExt", "InTruncatedPkts", 20);
        let f = s.finding("ip_errors").expect("fires");
        assert_eq!(f.evidence[0].what, "IpExt.InTruncatedPkts");
    }

    #[test]
    fn quiet_on_a_clean_ip_layer() {
        let mut s = Scene::quiet();
        s.snmp("Ip", "InReceives", 1000).snmp("Ip", "InDelivers", 1000);
        assert_eq!(s.finding("ip_errors"), None);
    }
}
