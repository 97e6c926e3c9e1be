//! AF_PACKET taps (tcpdump left running, a monitoring agent) on a host receiving heavy traffic:
//! each one is handed every packet its binding matches, on the receiving CPU.

use super::{Context, Evidence, Finding, Remedy, Severity, rate};
use crate::path::StageId;
use crate::report::Basis;
use crate::source::packet::PacketSocket;

/// Packets per second a tap must see to be worth a finding: below that its copies are noise.
const BUSY_PPS: f64 = 10_000.0;
/// Ethertypes that match every packet or every IP packet (host order, as /proc/net/packet
/// prints them). Sockets bound to others (LLDP 0x88cc, ARP, EAPOL) see little.
const WIDE: &[(u16, &str)] = &[
    (0x0003, "ETH_P_ALL (every frame)"),
    (0x0800, "ETH_P_IP (every IPv4 packet)"),
    (0x86dd, "ETH_P_IPV6 (every IPv6 packet)"),
];
/// Taps named in the evidence.
const SHOWN: usize = 5;

struct Tap<'a> {
    sock: &'a PacketSocket,
    proto: &'static str,
    iface: String,
    pps: f64,
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    let Some(sockets) = ctx.sample.packet.value() else { return vec![] };
    let taps: Vec<Tap> = sockets.iter().filter_map(|s| tap(ctx, s)).collect();
    if taps.is_empty() {
        return vec![];
    }
    let mut evidence: Vec<Evidence> = taps
        .iter()
        .take(SHOWN)
        .map(|t| Evidence {
            what: format!("AF_PACKET socket inode {}", t.sock.inode),
            value: format!(
                "{} on {} ({} packets/s received there), {}, user {}, {} bytes queued",
                t.proto,
                t.iface,
                rate(t.pps),
                if t.sock.type_ == 2 { "SOCK_DGRAM" } else { "SOCK_RAW" },
                t.sock.user,
                t.sock.rmem
            ),
        })
        .collect();
    if taps.len() > SHOWN {
        evidence.push(Evidence {
            what: "more taps".into(),
            value: format!("{} not shown", taps.len() - SHOWN),
        });
    }
    // Drops where the taps' copies are paid for (the receiving CPU) make this more than a cost.
    let early = [StageId::Nic, StageId::Backlog]
        .into_iter()
        .map(|s| ctx.path.stage(s).dropped)
        .fold(crate::path::Amount::default(), |a, b| a.plus(b));
    let dropping = ctx.basis == Basis::Interval && early.count > 0;
    if dropping {
        evidence.push(ctx.evidence("drops at the NIC and backlog", early));
    }
    let inodes: Vec<String> = taps.iter().map(|t| t.sock.inode.to_string()).collect();
    vec![Finding {
        rule: "packet_taps".into(),
        stage: StageId::Socket,
        severity: if dropping { Severity::Warning } else { Severity::Info },
        title: format!(
            "{} packet tap{} on a busy host: every packet is also handed to {}",
            taps.len(),
            if taps.len() == 1 { "" } else { "s" },
            if taps.len() == 1 { "it" } else { "them" }
        ),
        evidence,
        explanation: "An AF_PACKET socket bound to ETH_P_ALL (or to IPv4/IPv6) sees every \
            packet its interface receives and sends, on the receiving CPU in softirq, before IP: \
            its filter runs on each packet and each packet it keeps is cloned and queued to it. \
            On a busy host that is CPU time taken from the receive path, and a tap that reads \
            slowly drops its own copies. Such sockets are usually a tcpdump left running or a \
            monitoring agent. /proc/net/packet does not say whether a socket has a BPF filter \
            (a filtered tcpdump copies only what matches)."
            .into(),
        remedies: vec![
            Remedy {
                knob: "the process holding the tap".into(),
                current: None,
                proposed: None,
                why: format!(
                    "find the owner of socket inode {} and stop it if nobody needs it",
                    inodes.join(", ")
                ),
                command: Some("ss -0 -p   # AF_PACKET sockets with their processes".into()),
            },
            Remedy {
                knob: "what the tap captures".into(),
                current: None,
                proposed: None,
                why:
                    "if it is needed: give it a BPF filter (a tcpdump expression is compiled into \
                      one, so packets that do not match are not copied), bind it to one \
                      interface rather than all, and spread a monitoring agent over CPUs with \
                      PACKET_FANOUT"
                        .into(),
                command: None,
            },
        ],
    }]
}

/// A running socket bound to a wide ethertype on an interface (or all) receiving heavy traffic.
fn tap<'a>(ctx: &Context, s: &'a PacketSocket) -> Option<Tap<'a>> {
    if !s.running {
        return None;
    }
    let proto = WIDE.iter().find(|(p, _)| *p == s.proto)?.1;
    let interfaces = ctx.sample.interfaces.value()?;
    let (iface, pps) = if s.iface == 0 {
        let pps = interfaces.iter().filter_map(|i| ctx.rx_packets(&i.name)?.per_sec).sum::<f64>();
        ("all interfaces".to_string(), pps)
    } else {
        let i = interfaces.iter().find(|i| i.sysfs.ifindex.value() == Some(&s.iface));
        match i {
            Some(i) => (i.name.clone(), ctx.rx_packets(&i.name)?.per_sec?),
            None => return None,
        }
    };
    (pps >= BUSY_PPS).then_some(Tap { sock: s, proto, iface, pps })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn a_tap_on_all_interfaces_of_a_busy_host() {
        let mut s = Scene::quiet();
        s.packet_socket(0x0003, 0, 0, 8575).traffic("eth0", 1, 30_000);
        let f = s.finding("packet_taps").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.title, "1 packet tap on a busy host: every packet is also handed to it");
        assert_eq!(f.evidence[0].what, "AF_PACKET socket inode 8575");
        assert_eq!(
            f.evidence[0].value,
            "ETH_P_ALL (every frame) on all interfaces (30000 packets/s received there), \
             SOCK_RAW, user 0, 0 bytes queued"
        );
        assert!(f.remedies[0].why.contains("8575"));
    }

    #[test]
    fn a_tap_bound_to_a_busy_interface_while_the_ring_drops_is_a_warning() {
        let mut s = Scene::quiet();
        // eth0 is ifindex 4 in the capture.
        s.packet_socket(0x0800, 4, 1000, 9001).traffic("eth0", 1, 30_000);
        s.iface("eth0", "rx_missed_errors", 40);
        let f = s.finding("packet_taps").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.evidence[0].value.starts_with("ETH_P_IP (every IPv4 packet) on eth0"));
    }

    #[test]
    fn quiet_on_light_traffic_narrow_taps_and_other_interfaces() {
        let mut s = Scene::quiet();
        s.packet_socket(0x0003, 0, 0, 1).traffic("eth0", 1, 2_000);
        assert_eq!(s.finding("packet_taps"), None, "2000 packets/s");
        let mut s = Scene::quiet();
        s.packet_socket(0x88cc, 4, 0, 2).traffic("eth0", 1, 30_000);
        assert_eq!(s.finding("packet_taps"), None, "an LLDP socket sees only LLDP");
        let mut s = Scene::quiet();
        s.packet_socket(0x0003, 1, 0, 3).traffic("eth0", 1, 30_000);
        assert_eq!(s.finding("packet_taps"), None, "bound to lo, which is quiet");
    }
}
