//! TCP segments dropped at an established socket: its backlog or receive memory was full, or
//! its window was closed because the application does not read.

use super::{Context, Evidence, Finding, Remedy};
use crate::path::StageId;

const TCP_RMEM: &str = "net.ipv4.tcp_rmem";
/// Largest tcp_rmem max proposed: a reader that needs more than this falls behind for good.
const MAX_RMEM: i64 = 128 << 20;
/// The drop counters, what each means.
const DROPS: &[(&str, &str)] = &[
    (
        "TcpExt.TCPBacklogDrop",
        "the socket's backlog (packets that arrive while the application holds the socket) \
         exceeded its receive + send buffer",
    ),
    (
        "TcpExt.TCPRcvQDrop",
        "the receive queue could not get memory (its buffer, or TCP's global tcp_mem) even \
         after pruning",
    ),
    (
        "TcpExt.TCPZeroWindowDrop",
        "data arrived while the advertised window was zero: the buffer was full because the \
         application did not read",
    ),
];
/// Signs of memory pressure shown when they move.
const PRESSURE: &[&str] = &["TcpExt.PruneCalled", "TcpExt.RcvPruned", "TcpExt.TCPMemoryPressures"];

pub fn check(ctx: &Context) -> Vec<Finding> {
    let moved: Vec<_> = DROPS
        .iter()
        .map(|(c, what)| (*c, *what, ctx.count(c)))
        .filter(|(_, _, a)| a.count > 0)
        .collect();
    let total = moved.iter().fold(crate::path::Amount::default(), |t, (_, _, a)| t.plus(*a));
    if moved.is_empty() || !ctx.moved(total) {
        return vec![];
    }
    let mut evidence: Vec<Evidence> = moved.iter().map(|(c, _, a)| ctx.evidence(c, *a)).collect();
    for n in PRESSURE {
        if let Some(x) = ctx.delta_mib(n).filter(|x| x.count > 0) {
            evidence.push(ctx.evidence(n, x));
        }
    }
    let rmem = ctx.sample.sysctls.ints(TCP_RMEM).filter(|v| v.len() == 3);
    evidence.push(Evidence {
        what: format!("{TCP_RMEM} (min default max, bytes)"),
        value: rmem.map_or("unreadable".into(), |v| format!("{} {} {}", v[0], v[1], v[2])),
    });
    let buffers_full = moved.iter().any(|(c, ..)| *c != "TcpExt.TCPZeroWindowDrop");
    let mut remedies = Vec::new();
    if buffers_full && let Some(v) = rmem.filter(|v| v[2] < MAX_RMEM) {
        let max = (v[2].saturating_mul(2).max(1) as u64).next_power_of_two().min(MAX_RMEM as u64);
        let p = format!("{} {} {max}", v[0], v[1]);
        remedies.push(Remedy {
            knob: TCP_RMEM.into(),
            current: Some(format!("{} {} {}", v[0], v[1], v[2])),
            proposed: Some(p.clone()),
            why: format!(
                "receive autotuning grows a socket's buffer up to the third value; {max} bytes \
                 (double, to a power of 2) lets a reader that falls behind briefly ride it out. \
                 Per network namespace; sockets that set SO_RCVBUF opt out of autotuning and \
                 are capped by net.core.rmem_max instead"
            ),
            command: Some(format!(
                "sysctl -w {TCP_RMEM}=\"{p}\"   # persist in /etc/sysctl.d/90-rxpath.conf"
            )),
        });
    }
    remedies.push(Remedy {
        knob: "the application reading the sockets".into(),
        current: None,
        proposed: None,
        why: "TCP drops these segments and the sender retransmits them, so the cost is \
              throughput and latency; a larger buffer only delays the drops if the \
              application reads more slowly than data arrives, or holds the socket lock long \
              (large sends and reads on one socket from several threads)"
            .into(),
        command: Some("ss -tmn   # per socket: Recv-Q and skmem r (queued) vs rb (buffer)".into()),
    });
    let explanation = moved.iter().map(|(c, what, _)| format!("{c}: {what}.")).collect::<Vec<_>>();
    vec![Finding {
        rule: "tcp_backlog".into(),
        stage: StageId::Socket,
        severity: ctx.severity(total),
        title: format!(
            "{} TCP segments dropped {} at full sockets: {}",
            total.count,
            ctx.when(),
            moved.iter().map(|(c, ..)| *c).collect::<Vec<_>>().join(", ")
        ),
        evidence,
        explanation: format!(
            "Established TCP sockets dropped segments they had no room for; the sender will \
             retransmit them. {}",
            explanation.join(" ")
        ),
        remedies,
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn backlog_drops_propose_a_larger_tcp_rmem() {
        let mut s = Scene::quiet();
        s.snmp("TcpExt", "TCPBacklogDrop", 1500).snmp("TcpExt", "PruneCalled", 3);
        s.sysctl("net.ipv4.tcp_rmem", SysctlValue::Ints(vec![4096, 131_072, 6_291_456]));
        let f = s.finding("tcp_backlog").expect("fires");
        assert_eq!(f.severity, Severity::Critical, "1500/s");
        assert_eq!(
            f.title,
            "1500 TCP segments dropped in the last 1.0 s at full sockets: TcpExt.TCPBacklogDrop"
        );
        assert!(f.evidence.iter().any(|e| e.what == "TcpExt.PruneCalled"));
        let r = &f.remedies[0];
        assert_eq!(r.current.as_deref(), Some("4096 131072 6291456"));
        assert_eq!(r.proposed.as_deref(), Some("4096 131072 16777216"));
    }

    #[test]
    fn a_closed_window_is_the_application_not_the_buffer() {
        let mut s = Scene::quiet();
        s.snmp("TcpExt", "TCPZeroWindowDrop", 12);
        let f = s.finding("tcp_backlog").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.remedies.len(), 1);
        assert_eq!(f.remedies[0].knob, "the application reading the sockets");
        // The capture's tcp_rmem, with the receive queue dropping too: 32 MiB doubled.
        s.snmp("TcpExt", "TCPRcvQDrop", 4);
        let f = s.finding("tcp_backlog").expect("fires");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("4096 131072 67108864"));
        assert!(f.title.ends_with("TcpExt.TCPRcvQDrop, TcpExt.TCPZeroWindowDrop"), "{}", f.title);
    }

    #[test]
    fn quiet_on_healthy_tcp() {
        let mut s = Scene::quiet();
        s.snmp("TcpExt", "TCPBacklogCoalesce", 500).snmp("TcpExt", "TCPToZeroWindowAdv", 2);
        assert_eq!(s.finding("tcp_backlog"), None);
    }
}
