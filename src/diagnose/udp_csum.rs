//! UDP datagrams dropped for a bad checksum: corruption on the way, or a broken checksum
//! offload at the sender or in the receiving NIC.

use super::{Context, Evidence, Finding, Remedy};
use crate::path::StageId;

/// Other checksum counters that, moving too, point at the link rather than one sender.
const OTHER_CSUM: &[&str] = &["IpExt.InCsumErrors", "Tcp.InCsumErrors"];

pub fn check(ctx: &Context) -> Vec<Finding> {
    let v4 = ctx.count("Udp.InCsumErrors");
    let v6 = ctx.count("Udp6InCsumErrors");
    let a = v4.plus(v6);
    if !ctx.moved(a) {
        return vec![];
    }
    let mut evidence =
        vec![ctx.evidence("Udp.InCsumErrors", v4), ctx.evidence("Udp6InCsumErrors", v6)];
    for n in OTHER_CSUM {
        if let Some(x) = ctx.delta_mib(n).filter(|x| x.count > 0) {
            evidence.push(ctx.evidence(n, x));
        }
    }
    // The interfaces that received in the interval, with what their NIC says of the frames.
    let mut receiving = Vec::new();
    for i in ctx.sample.interfaces.value().into_iter().flatten() {
        let Some(rx) = ctx.rx_packets(&i.name).filter(|r| r.count > 0) else { continue };
        receiving.push(i.name.as_str());
        let crc = ctx.path.drop("rx_crc_errors", Some(&i.name)).map_or(0, |d| d.count);
        let rxcsum = i
            .ethtool
            .features
            .value()
            .and_then(|f| f.iter().find(|f| f.name == "rx-checksum"))
            .map_or("rx-checksumming unknown".into(), |f| {
                format!("rx-checksumming {}", if f.active { "on" } else { "off" })
            });
        evidence.push(Evidence {
            what: i.name.clone(),
            value: format!("received {}; rx_crc_errors {crc}; {rxcsum}", ctx.amount_text(rx)),
        });
    }
    let iface = match receiving.as_slice() {
        [one] => (*one).to_string(),
        _ => "<if>".to_string(),
    };
    vec![Finding {
        rule: "udp_csum".into(),
        stage: StageId::Transport,
        severity: ctx.severity(a),
        title: format!("{} UDP datagrams {} dropped for a bad checksum", a.count, ctx.when()),
        evidence,
        explanation: "UDP verified these datagrams' checksums and they did not match, so it \
            dropped them (InCsumErrors, also in InErrors). The data changed between the \
            sender's checksum and this host: corruption on a link or in a middlebox (then \
            rx_crc_errors or IP and TCP checksum errors often move too), a sender whose \
            checksum offload or raw-socket code writes wrong checksums, or a receiving NIC \
            that hands the stack a wrong hardware checksum (the kernel then logs 'hw csum \
            failure')."
            .into(),
        remedies: vec![
            Remedy {
                knob: "the senders".into(),
                current: None,
                proposed: None,
                why: "capture a few of the datagrams to see who sends them; tcpdump marks each \
                      bad one, and a single source points at that sender's checksum offload or \
                      software, many sources at the path"
                    .into(),
                command: Some(format!(
                    "tcpdump -ni {iface} -vv udp 2>&1 | grep -i 'bad udp cksum'"
                )),
            },
            Remedy {
                knob: format!("rx-checksumming of {iface}"),
                current: None,
                proposed: None,
                why: "if the kernel logs 'hw csum failure' the NIC's checksum is wrong: update \
                      its driver and firmware; turning its receive checksum offload off for a \
                      test tells the NIC's fault apart from the wire's (costs CPU)"
                    .into(),
                command: Some(format!(
                    "dmesg | grep -i 'hw csum failure'; ethtool -K {iface} rx off   # test only"
                )),
            },
        ],
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_with_the_receiving_interface_and_its_offload() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "InCsumErrors", 20).snmp("Udp", "InErrors", 20);
        s.iface("eth0", "rx_packets", 20);
        let f = s.finding("udp_csum").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.title, "20 UDP datagrams in the last 1.0 s dropped for a bad checksum");
        let eth0 = f.evidence.iter().find(|e| e.what == "eth0").expect("eth0 received");
        // The capture's virtio eth0 has rx-checksum active.
        assert_eq!(eth0.value, "received 20 (20.0/s); rx_crc_errors 0; rx-checksumming on");
        assert!(f.remedies[1].command.as_deref().unwrap().contains("ethtool -K eth0 rx off"));
        assert_eq!(s.finding("udp_rcvbuf"), None);
    }

    #[test]
    fn ipv6_and_link_corruption() {
        let mut s = Scene::quiet();
        s.snmp6("Udp6InCsumErrors", 4).snmp("Tcp", "InCsumErrors", 3);
        let f = s.finding("udp_csum").expect("fires on Udp6InCsumErrors");
        assert!(f.evidence.iter().any(|e| e.what == "Tcp.InCsumErrors" && e.value == "3 (3.0/s)"));
        assert!(
            f.remedies[0].command.as_deref().unwrap().contains("-ni <if>"),
            "no interface known"
        );
    }

    #[test]
    fn quiet_without_checksum_errors() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "RcvbufErrors", 20).snmp("Udp", "InErrors", 20).snmp("Udp", "NoPorts", 5);
        assert_eq!(s.finding("udp_csum"), None);
    }
}
