//! UDP datagrams dropped because a socket's receive buffer was full.

use super::{Context, Evidence, Finding, Remedy, sysctl_remedy};
use crate::avail::Avail;
use crate::path::{Amount, StageId};
use crate::report::SocketRow;

/// The most sockets named in the evidence.
pub(super) const SOCKETS_SHOWN: usize = 5;
/// Largest buffer proposed: beyond this a reader that cannot keep up needs fixing, not memory.
const MAX_PROPOSED: i64 = 256 << 20;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let a = ctx.count("Udp.RcvbufErrors").plus(ctx.count("Udp6RcvbufErrors"));
    if !ctx.moved(a) {
        return vec![];
    }
    let mut evidence = vec![ctx.evidence("Udp.RcvbufErrors + Udp6RcvbufErrors", a)];
    evidence.extend(ctx.sockets.iter().take(SOCKETS_SHOWN).map(|s| socket_evidence(ctx, s)));
    let rmem_max = ctx.sysctl("net.core.rmem_max");
    let rmem_default = ctx.sysctl("net.core.rmem_default");
    for (k, v) in [("net.core.rmem_max", rmem_max), ("net.core.rmem_default", rmem_default)] {
        evidence.push(Evidence {
            what: k.into(),
            value: v.map_or("unreadable".into(), |v| v.to_string()),
        });
    }
    vec![Finding {
        rule: "udp_rcvbuf".into(),
        stage: StageId::Socket,
        severity: ctx.severity(a),
        title: format!(
            "{} UDP datagrams dropped {}: socket receive buffers full",
            a.count,
            ctx.when()
        ),
        evidence,
        explanation: "A UDP socket queues datagrams until its application reads them; once the \
            memory charged to the queue reaches the socket's receive buffer (SO_RCVBUF, doubled \
            by the kernel), every further datagram is dropped and counted in RcvbufErrors and in \
            the socket's own drops. The application reads too slowly for the bursts it gets, or \
            its buffer is too small to ride them out."
            .into(),
        remedies: remedies(ctx, a, rmem_max, rmem_default),
    }]
}

/// A socket that dropped: its drops, queue, buffer and owners. Also used by udp_mem: a socket
/// refused for want of global UDP memory counts the datagram in its own drops too.
pub(super) fn socket_evidence(ctx: &Context, s: &SocketRow) -> Evidence {
    let rcvbuf = s.rcvbuf.map_or("rcvbuf ?".into(), |b| format!("rcvbuf {b}"));
    let owner = match &s.owners {
        Avail::Value(o) if !o.is_empty() => {
            o.iter().map(|o| format!("pid {} ({})", o.pid, o.comm)).collect::<Vec<_>>().join(", ")
        }
        Avail::Value(_) => "owner not found (a process of another user, or gone)".into(),
        Avail::Unavailable(u) => format!("owner unknown: {}", u.why),
    };
    Evidence {
        what: format!("socket {} (inode {})", s.local, s.inode),
        value: format!(
            "drops {}, receive queue {} bytes, {rcvbuf}, {owner}",
            ctx.amount_text(s.drops),
            s.rx_queue
        ),
    }
}

/// Enough buffer for 100 ms of the lost datagrams at ~2 KiB of truesize each, at least double,
/// rounded up to a power of two.
fn proposed(current: i64, a: Amount) -> i64 {
    let burst = a.per_sec.map_or(0.0, |r| r * 0.1 * 2048.0) as i64;
    let want = current.saturating_mul(2).max(current.saturating_add(burst)).max(1);
    (want as u64).next_power_of_two().min(MAX_PROPOSED as u64) as i64
}

fn remedies(
    ctx: &Context,
    a: Amount,
    rmem_max: Option<i64>,
    rmem_default: Option<i64>,
) -> Vec<Remedy> {
    let mut out = Vec::new();
    // The kernel doubles SO_RCVBUF and caps the request at rmem_max: a buffer of 2 × rmem_max is
    // an application that asked for more than the host allows.
    let capped = ctx
        .sockets
        .iter()
        .any(|s| s.rcvbuf.zip(rmem_max).is_some_and(|(b, m)| i64::from(b) >= m.saturating_mul(2)));
    let defaulted = ctx.sockets.iter().any(|s| {
        s.rcvbuf.zip(rmem_default).is_some_and(|(b, d)| i64::from(b) == d.saturating_mul(2))
    });
    if let Some(max) = rmem_max.filter(|m| *m < MAX_PROPOSED) {
        let p = proposed(max, a);
        let why = if capped {
            "the sockets asked for a larger SO_RCVBUF than rmem_max allows and were capped"
        } else {
            "the largest SO_RCVBUF an application may ask for; raising it lets the \
             application's own setting take effect"
        };
        out.push(sysctl_remedy(
            "net.core.rmem_max",
            Some(max),
            p,
            &format!(
                "{why}; {p} bytes holds about 100 ms of the datagrams now lost (at ~2 KiB \
                      of kernel memory each), at least double the current value"
            ),
        ));
    }
    if let Some(def) = rmem_default.filter(|d| defaulted && *d < MAX_PROPOSED) {
        let p = proposed(def, a);
        out.push(sysctl_remedy(
            "net.core.rmem_default",
            Some(def),
            p,
            "the dropping sockets never set SO_RCVBUF and got this default; it applies to every \
             new socket of every application, so prefer setting SO_RCVBUF in the application",
        ));
    }
    out.push(Remedy {
        knob: "SO_RCVBUF of the application's socket".into(),
        current: ctx.sockets.first().and_then(|s| s.rcvbuf).map(|b| b.to_string()),
        proposed: None,
        why: "the application that owns the socket can ask for a larger buffer \
              (setsockopt SO_RCVBUF, up to rmem_max), or read faster: more reader threads, \
              recvmmsg batches, SO_REUSEPORT across cores"
            .into(),
        command: Some("ss -uampn   # the sockets, their buffers (rb) and drops (d)".into()),
    });
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn fires_with_the_dropping_socket_and_a_larger_rmem_max() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "RcvbufErrors", 1997).snmp("Udp", "InErrors", 1997);
        s.udp_socket(5000, 4242, 1997);
        s.sysctl("net.core.rmem_max", SysctlValue::Int(212_992));
        let f = s.finding("udp_rcvbuf").expect("fires");
        assert_eq!(f.severity, Severity::Critical, "1997/s is a flood");
        assert!(f.title.starts_with("1997 UDP datagrams dropped in the last 1.0 s"), "{}", f.title);
        assert!(
            f.evidence.iter().any(|e| e.what == "socket 127.0.0.1:5000 (inode 4242)"
                && e.value.starts_with("drops 1997 (1997/s)")),
            "{:?}",
            f.evidence
        );
        let r = &f.remedies[0];
        assert_eq!(r.knob, "net.core.rmem_max");
        assert_eq!(r.current.as_deref(), Some("212992"));
        // 2 × 212992 = 425984 < 212992 + 1997 × 0.1 × 2048 = 621978 → next power of two.
        assert_eq!(r.proposed.as_deref(), Some("1048576"));
    }

    #[test]
    fn quiet_without_drops_and_on_other_udp_errors() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "InCsumErrors", 5).snmp("Udp", "InErrors", 5);
        assert_eq!(s.finding("udp_rcvbuf"), None);
    }

    #[test]
    fn ipv6_drops_count_too() {
        let mut s = Scene::quiet();
        s.snmp6("Udp6RcvbufErrors", 3);
        let f = s.finding("udp_rcvbuf").expect("fires on Udp6RcvbufErrors");
        assert_eq!(f.severity, Severity::Warning);
    }
}
