//! Connection attempts a listening TCP socket refused: its accept queue (or SYN queue) was full.

use super::{Context, Evidence, Finding, Remedy, sysctl_remedy};
use crate::path::StageId;

const SOMAXCONN: &str = "net.core.somaxconn";
/// The kernel's default somaxconn since 5.4. Below it somaxconn itself may be what caps the
/// queues; at or above it, without the listeners' own backlogs (rxpath does not read TCP
/// sockets), the application's listen() backlog is the likelier cap and no raise is proposed.
const DEFAULT_SOMAXCONN: i64 = 4096;
/// SYN-queue counters shown when they move: ListenDrops beyond ListenOverflows.
const SYN_QUEUE: &[&str] =
    &["TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies", "TcpExt.SyncookiesSent"];

pub fn check(ctx: &Context) -> Vec<Finding> {
    let drops = ctx.count("TcpExt.ListenDrops");
    let overflows = ctx.count("TcpExt.ListenOverflows");
    // ListenDrops includes ListenOverflows; take the larger in case a kernel counts only one.
    let a = if overflows.count > drops.count { overflows } else { drops };
    if !ctx.moved(a) {
        return vec![];
    }
    let mut evidence = vec![
        ctx.evidence("TcpExt.ListenOverflows", overflows),
        ctx.evidence("TcpExt.ListenDrops", drops),
    ];
    let mut syn_queue_full = false;
    for n in SYN_QUEUE {
        if let Some(x) = ctx.delta_mib(n).filter(|x| x.count > 0) {
            syn_queue_full |= *n == "TcpExt.TCPReqQFullDrop";
            evidence.push(ctx.evidence(n, x));
        }
    }
    let somaxconn = ctx.sysctl(SOMAXCONN);
    evidence.push(Evidence {
        what: SOMAXCONN.into(),
        value: somaxconn.map_or("unreadable".into(), |v| v.to_string()),
    });

    let mut remedies = Vec::new();
    if overflows.count > 0
        && let Some(cur) = somaxconn.filter(|c| *c < DEFAULT_SOMAXCONN)
    {
        let p = cur.saturating_mul(2).max(DEFAULT_SOMAXCONN);
        remedies.push(sysctl_remedy(
            SOMAXCONN,
            Some(cur),
            p,
            &format!(
                "every listener's accept queue is min(its listen() backlog, somaxconn); {p} lets \
                 a burst of connections wait for accept() instead of being refused (the \
                 kernel's default since 5.4, or double). Per network namespace; takes effect \
                 when the application calls listen() again (a restart)"
            ),
        ));
    }
    // ListenDrops with neither counter behind it: show the accept side too, the likelier cause.
    let accept_queue = overflows.count > 0 || !syn_queue_full;
    if accept_queue {
        remedies.push(Remedy {
            knob: "the application's listen() backlog".into(),
            current: None,
            proposed: None,
            why: format!(
                "the accept queue is as long as the application asked in listen() (often 128 or \
                 511 in its configuration), capped by somaxconn ({}): raise it there; if ss \
                 shows a listener's Send-Q equal to somaxconn, it asked for more and somaxconn \
                 is the cap to raise",
                somaxconn.map_or("unreadable".into(), |v| v.to_string())
            ),
            command: Some(
                "ss -ltn   # per listener: Send-Q = its backlog, Recv-Q = connections waiting now"
                    .into(),
            ),
        });
        remedies.push(Remedy {
            knob: "how fast the application accepts".into(),
            current: None,
            proposed: None,
            why: "a full accept queue means accept() is called less often than connections \
                  arrive: more acceptor threads or processes, SO_REUSEPORT listeners, or an \
                  event loop that is not blocked elsewhere"
                .into(),
            command: None,
        });
    }
    if syn_queue_full {
        remedies.push(Remedy {
            knob: "net.ipv4.tcp_syncookies / net.ipv4.tcp_max_syn_backlog".into(),
            current: None,
            proposed: Some("tcp_syncookies=1".into()),
            why: "the SYN queue (half-open connections) was full and SYN cookies are off, so \
                  SYNs were dropped (TCPReqQFullDrop); cookies answer them without queue space. \
                  rxpath does not read these two sysctls"
                .into(),
            command: Some("sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog".into()),
        });
    }
    vec![Finding {
        rule: "tcp_listen".into(),
        stage: StageId::Transport,
        severity: ctx.severity(a),
        title: format!(
            "{} TCP connection attempts {} refused by a listener: {}",
            a.count,
            ctx.when(),
            match (overflows.count > 0, syn_queue_full) {
                (true, _) => "accept queue full",
                (false, true) => "SYN queue full",
                (false, false) => "listen queue drops",
            }
        ),
        evidence,
        explanation: "A listening socket holds connections that completed the handshake in its \
            accept queue until the application calls accept(). When the queue is full the \
            kernel drops the SYN or the handshake's final ACK (ListenOverflows, inside \
            ListenDrops; ListenDrops also counts SYNs dropped for a full SYN queue). The client \
            retransmits after a second or more, so connections are slow rather than lost — \
            until they time out. These drops are freed with consume_skb, so drop monitors \
            (kfree_skb, dropwatch) do not see them; only these counters do."
            .into(),
        remedies,
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn fires_on_listen_overflows_and_proposes_a_larger_somaxconn() {
        let mut s = Scene::quiet();
        // KERNEL.md §10: listen(1), never accept, 20 connects → both +36.
        s.snmp("TcpExt", "ListenOverflows", 36).snmp("TcpExt", "ListenDrops", 36);
        s.sysctl("net.core.somaxconn", SysctlValue::Int(128));
        let f = s.finding("tcp_listen").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.title.starts_with("36 TCP connection attempts in the last 1.0 s"), "{}", f.title);
        let r = &f.remedies[0];
        assert_eq!(r.knob, "net.core.somaxconn");
        assert_eq!((r.current.as_deref(), r.proposed.as_deref()), (Some("128"), Some("4096")));
        assert!(f.remedies.iter().any(|r| r.knob == "the application's listen() backlog"));
        assert!(f.explanation.contains("consume_skb"));
        let r = s.report();
        assert_eq!(r.path.drop("TcpExt.ListenDrops", None).map(|d| d.count), Some(36));
    }

    #[test]
    fn at_the_default_somaxconn_the_application_backlog_is_the_suspect() {
        let mut s = Scene::quiet();
        s.snmp("TcpExt", "ListenOverflows", 2).snmp("TcpExt", "ListenDrops", 2);
        let f = s.finding("tcp_listen").expect("fires");
        assert_eq!(f.remedies[0].knob, "the application's listen() backlog", "capture: 4096");
        assert!(f.remedies[0].why.contains("capped by somaxconn (4096)"), "{}", f.remedies[0].why);
        assert!(f.remedies.iter().all(|r| r.proposed.is_none()));
        s.sysctl("net.core.somaxconn", SysctlValue::Int(3000));
        let f = s.finding("tcp_listen").expect("fires");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("6000"), "below the default: double");
    }

    #[test]
    fn a_full_syn_queue_without_cookies() {
        let mut s = Scene::quiet();
        s.snmp("TcpExt", "ListenDrops", 50).snmp("TcpExt", "TCPReqQFullDrop", 50);
        let f = s.finding("tcp_listen").expect("fires");
        assert!(f.evidence.iter().any(|e| e.what == "TcpExt.TCPReqQFullDrop"));
        assert!(f.title.ends_with("refused by a listener: SYN queue full"), "{}", f.title);
        assert_eq!(f.remedies.len(), 1, "no accept-queue remedy: {:?}", f.remedies);
        assert!(f.remedies[0].knob.contains("tcp_syncookies"));
    }

    #[test]
    fn quiet_when_listeners_keep_up() {
        let mut s = Scene::quiet();
        s.snmp("Tcp", "PassiveOpens", 5000).snmp("TcpExt", "TCPBacklogCoalesce", 10);
        assert_eq!(s.finding("tcp_listen"), None);
    }
}
