//! UDP datagrams dropped because all UDP sockets together reached the global memory limit
//! (net.ipv4.udp_mem), not their own buffers.

use super::udp_rcvbuf::{SOCKETS_SHOWN, socket_evidence};
use super::{Context, Evidence, Finding, Remedy};
use crate::path::StageId;

const UDP_MEM: &str = "net.ipv4.udp_mem";
/// udp_mem counts pages; rxpath does not read the page size, and 4 KiB is what x86_64 and most
/// arm64 kernels use.
const PAGE: i64 = 4096;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let v4 = ctx.count("Udp.MemErrors");
    let v6 = ctx.count("Udp6MemErrors");
    let a = v4.plus(v6);
    if !ctx.moved(a) {
        return vec![];
    }
    let mem = ctx.sample.sysctls.ints(UDP_MEM).filter(|v| v.len() == 3);
    let mut evidence = vec![ctx.evidence("Udp.MemErrors", v4), ctx.evidence("Udp6MemErrors", v6)];
    evidence.push(Evidence {
        what: format!("{UDP_MEM} (min pressure max, pages)"),
        value: match mem {
            Some(m) => format!("{} {} {} (the limit is min: {})", m[0], m[1], m[2], mib(m[0])),
            None => "unreadable (a global sysctl: absent inside a child network namespace; read \
                     it on the host)"
                .into(),
        },
    });
    evidence.extend(ctx.sockets.iter().take(SOCKETS_SHOWN).map(|s| socket_evidence(ctx, s)));

    let mut remedies = Vec::new();
    match mem {
        Some(m) => {
            let p: Vec<i64> = m.iter().map(|v| v.saturating_mul(2)).collect();
            let text = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
            remedies.push(Remedy {
                knob: UDP_MEM.into(),
                current: Some(text(m)),
                proposed: Some(text(&p)),
                why: format!(
                    "the limit is for all UDP sockets of the host together, and UDP has no \
                     pressure mode, so the first value (min) is the one that refuses memory; \
                     twice lets UDP hold up to {} instead of {} — only if the host has that \
                     memory to spare (the kernel's default min is about 3/32 of memory)",
                    mib(p[0]),
                    mib(m[0])
                ),
                command: Some(format!(
                    "sysctl -w {UDP_MEM}=\"{}\"   # persist in /etc/sysctl.d/90-rxpath.conf",
                    text(&p)
                )),
            });
        }
        None => remedies.push(Remedy {
            knob: UDP_MEM.into(),
            current: None,
            proposed: None,
            why: "a global sysctl that rxpath cannot read from this network namespace: compare \
                  it with the memory UDP holds on the host, and raise it there"
                .into(),
            command: Some(format!("sysctl {UDP_MEM}; grep UDP /proc/net/sockstat")),
        }),
    }
    remedies.push(Remedy {
        knob: "the sockets holding the memory".into(),
        current: None,
        proposed: None,
        why: "usually some sockets with large buffers are not being read and sit full; make \
              their applications read (or close them), or give them smaller SO_RCVBUF, before \
              letting UDP take more of the host's memory"
            .into(),
        command: Some(
            "grep UDP /proc/net/sockstat   # mem: pages in use; ss -uamn: each socket's r (queued)"
                .into(),
        ),
    });
    vec![Finding {
        rule: "udp_mem".into(),
        stage: StageId::Socket,
        severity: ctx.severity(a),
        title: format!(
            "{} UDP datagrams dropped {}: UDP's global memory limit (udp_mem) reached",
            a.count,
            ctx.when()
        ),
        evidence,
        explanation: "Besides each socket's own receive buffer, the memory of all UDP sockets \
            together is limited by net.ipv4.udp_mem (in pages: min, pressure, max). UDP has no \
            memory-pressure mode, so the first value is the real limit (kernel commit \
            69dfccbc1186 corrected the documentation): once UDP as a whole holds more than min \
            pages, a datagram is dropped even for a socket whose own buffer has room (unless \
            that socket holds less than udp_rmem_min), counted in MemErrors and in the \
            socket's drops. udp_mem is global: every network namespace \
            (every container) draws from the same pool, so one container's full sockets can \
            starve another's."
            .into(),
        remedies,
    }]
}

fn mib(pages: i64) -> String {
    format!("{} MiB", pages.saturating_mul(PAGE) >> 20)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_with_the_current_limit_and_twice_as_much() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "MemErrors", 300).snmp("Udp", "InErrors", 300);
        s.udp_socket(5353, 777, 300);
        let f = s.finding("udp_mem").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.title.starts_with("300 UDP datagrams dropped in the last 1.0 s"), "{}", f.title);
        let mem = f.evidence.iter().find(|e| e.what.starts_with("net.ipv4.udp_mem")).unwrap();
        // The capture's udp_mem: 575799 767734 1151598 pages; 575799 × 4 KiB = 2249 MiB.
        assert_eq!(mem.value, "575799 767734 1151598 (the limit is min: 2249 MiB)");
        assert!(f.evidence.iter().any(|e| e.what == "socket 127.0.0.1:5353 (inode 777)"));
        let r = &f.remedies[0];
        assert_eq!(r.proposed.as_deref(), Some("1151598 1535468 2303196"));
        assert_eq!(
            r.command.as_deref(),
            Some(
                "sysctl -w net.ipv4.udp_mem=\"1151598 1535468 2303196\"   # persist in \
                 /etc/sysctl.d/90-rxpath.conf"
            )
        );
        assert_eq!(s.finding("udp_rcvbuf"), None, "MemErrors are not RcvbufErrors");
    }

    #[test]
    fn inside_a_child_netns_udp_mem_is_not_readable() {
        let mut s = Scene::quiet();
        s.snmp6("Udp6MemErrors", 5).sysctl_absent("net.ipv4.udp_mem");
        let f = s.finding("udp_mem").expect("fires on IPv6 too");
        assert!(f.evidence.iter().any(|e| e.value.starts_with("unreadable (a global sysctl")));
        assert_eq!((f.remedies[0].current.clone(), f.remedies[0].proposed.clone()), (None, None));
    }

    #[test]
    fn quiet_on_other_udp_errors() {
        let mut s = Scene::quiet();
        s.snmp("Udp", "RcvbufErrors", 50).snmp("Udp", "InErrors", 50);
        assert_eq!(s.finding("udp_mem"), None);
    }
}
