//! RPS on without RFS: packets are spread by hash, not to the CPU where their socket is read.

use super::{Context, Evidence, Finding, Remedy, Severity, rate, sysctl_remedy};
use crate::path::StageId;
use crate::source::cpuset;

/// Packets per second an interface must receive, and local sockets must be handed, for RFS to
/// matter: below that the cache misses RFS saves are noise.
const MIN_PPS: f64 = 1000.0;
/// The global flow table size proposed: the kernel's scaling.rst and Red Hat's tuning guide
/// suggest 32768 for a moderately loaded server (one entry per active flow).
const FLOW_ENTRIES: i64 = 32_768;
const ENTRIES: &str = "net.core.rps_sock_flow_entries";

/// An interface with RPS on and RFS off on some of its rx queues.
struct Target {
    iface: String,
    pps: f64,
    /// (queue, rps_cpus, rps_flow_cnt) of the queues with RPS on.
    queues: Vec<(u32, Vec<u32>, Option<u64>)>,
    /// Every rx queue of the device: the flow table is shared out among them.
    all_queues: usize,
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    let entries = ctx.sysctl(ENTRIES);
    let delivered = ["Ip.InDelivers", "Ip6InDelivers"]
        .iter()
        .filter_map(|n| ctx.delta_mib(n))
        .fold(None, |acc: Option<crate::path::Amount>, a| Some(acc.map_or(a, |x| x.plus(a))));
    let Some(delivered) = delivered.filter(|d| d.per_sec.is_some_and(|r| r >= MIN_PPS)) else {
        return vec![];
    };
    let targets = targets(ctx, entries);
    if targets.is_empty() {
        return vec![];
    }
    let mut evidence = Vec::new();
    for t in &targets {
        for (q, cpus, cnt) in &t.queues {
            evidence.push(Evidence {
                what: format!("{} rx-{q}", t.iface),
                value: format!(
                    "rps_cpus {} (RPS on), rps_flow_cnt {}; {} packets/s received",
                    cpuset::format_list(cpus),
                    cnt.map_or("unreadable".into(), |c| c.to_string()),
                    rate(t.pps)
                ),
            });
        }
    }
    evidence.push(Evidence {
        what: ENTRIES.into(),
        value: entries.map_or(
            "unreadable (global sysctl: read it in the host's network namespace)".into(),
            |e| e.to_string(),
        ),
    });
    evidence.push(ctx.evidence("Ip.InDelivers + Ip6InDelivers", delivered));

    let target_entries = entries.filter(|e| *e > 0).unwrap_or(FLOW_ENTRIES);
    let mut remedies = Vec::new();
    let why = format!(
        "the global table of which CPU last read each flow; {FLOW_ENTRIES} is the suggested \
         size for a moderately loaded server (about one entry per active connection; the kernel \
         rounds up to a power of 2)"
    );
    match entries {
        Some(0) => remedies.push(sysctl_remedy(ENTRIES, Some(0), FLOW_ENTRIES, &why)),
        None => remedies.push(Remedy {
            knob: ENTRIES.into(),
            current: None,
            proposed: Some(FLOW_ENTRIES.to_string()),
            why: format!("{why}; a global sysctl: set it in the host's network namespace"),
            command: Some(format!("sysctl -w {ENTRIES}={FLOW_ENTRIES}")),
        }),
        Some(_) => {}
    }
    for t in &targets {
        if t.queues.iter().all(|(_, _, c)| c.is_some_and(|c| c > 0)) {
            continue;
        }
        let per_queue = per_queue(target_entries, t.all_queues);
        let (knob, command) = if t.all_queues == 1 {
            let f = format!("/sys/class/net/{}/queues/rx-0/rps_flow_cnt", t.iface);
            (f.clone(), format!("echo {per_queue} > {f}"))
        } else {
            (
                format!("/sys/class/net/{}/queues/rx-*/rps_flow_cnt", t.iface),
                format!(
                    "for q in /sys/class/net/{}/queues/rx-*; do echo {per_queue} > $q/rps_flow_cnt; done",
                    t.iface
                ),
            )
        };
        remedies.push(Remedy {
            knob,
            current: Some("0".into()),
            proposed: Some(per_queue.to_string()),
            why: format!(
                "each rx queue's own flow table; rps_sock_flow_entries ({target_entries}) shared \
                 among the device's {} rx queue{} gives {per_queue} each",
                t.all_queues,
                if t.all_queues == 1 { "" } else { "s" }
            ),
            command: Some(command),
        });
    }
    let names: Vec<&str> = targets.iter().map(|t| t.iface.as_str()).collect();
    vec![Finding {
        rule: "rfs_off".into(),
        stage: StageId::Backlog,
        severity: Severity::Info,
        title: format!("RPS is on for {} but RFS is off", names.join(", ")),
        evidence,
        explanation: "RPS spreads packets over the CPUs in rps_cpus by hashing each flow, \
            without regard to where the application reading that flow runs: the protocol work \
            runs on one CPU and the data is then read on another, so its cache lines cross \
            CPUs. Receive Flow Steering (RFS) remembers which CPU last called recvmsg on each \
            flow and steers the flow's packets there. It needs both the global table \
            (net.core.rps_sock_flow_entries) and a per-queue table (rps_flow_cnt); either at 0 \
            leaves it off."
            .into(),
        remedies,
    }]
}

/// Interfaces receiving real traffic with a queue where RPS is on and RFS is not.
fn targets(ctx: &Context, entries: Option<i64>) -> Vec<Target> {
    let mut out = Vec::new();
    for i in ctx.sample.interfaces.value().into_iter().flatten() {
        let Some(queues) = i.queues.value() else { continue };
        let queues_on: Vec<(u32, Vec<u32>, Option<u64>)> = queues
            .rx
            .iter()
            .filter_map(|q| {
                let cpus = q.rps_cpus.value().filter(|c| !c.is_empty())?;
                let cnt = q.rps_flow_cnt.value().copied();
                // With the global table unreadable only a per-queue 0 proves RFS off.
                let off = entries == Some(0) || cnt == Some(0);
                let unknown = entries.is_none() && cnt != Some(0);
                (off && !unknown).then(|| (q.index, cpus.clone(), cnt))
            })
            .collect();
        if queues_on.is_empty() {
            continue;
        }
        let Some(pps) = ctx.rx_packets(&i.name).and_then(|a| a.per_sec).filter(|r| *r >= MIN_PPS)
        else {
            continue;
        };
        out.push(Target {
            iface: i.name.clone(),
            pps,
            queues: queues_on,
            all_queues: queues.rx.len(),
        });
    }
    out
}

/// The per-queue share of the flow table, a power of 2 (the kernel rounds it up anyway).
fn per_queue(entries: i64, queues: usize) -> u64 {
    let n = u64::try_from(entries).unwrap_or(0) / (queues.max(1) as u64);
    n.max(1).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    fn rps_on_eth0() -> Scene {
        let mut s = Scene::quiet();
        s.rps_cpus("eth0", 0, &[0, 1]).traffic("eth0", 1, 20_000);
        s
    }

    #[test]
    fn fires_when_rps_is_on_without_the_flow_tables() {
        let s = rps_on_eth0();
        let f = s.finding("rfs_off").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.title, "RPS is on for eth0 but RFS is off");
        let e = f.evidence.iter().find(|e| e.what == "eth0 rx-0").unwrap();
        assert_eq!(e.value, "rps_cpus 0-1 (RPS on), rps_flow_cnt 0; 20000 packets/s received");
        assert_eq!(f.remedies[0].knob, "net.core.rps_sock_flow_entries");
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("32768"));
        let q = &f.remedies[1];
        assert_eq!(q.knob, "/sys/class/net/eth0/queues/rx-0/rps_flow_cnt");
        assert_eq!(q.proposed.as_deref(), Some("32768"), "one queue gets the whole table");
        assert_eq!(
            q.command.as_deref(),
            Some("echo 32768 > /sys/class/net/eth0/queues/rx-0/rps_flow_cnt")
        );
    }

    #[test]
    fn the_flow_table_is_shared_among_queues() {
        let mut s = Scene::quiet();
        s.rx_queues("eth0", 16).rps_cpus("eth0", 3, &[1]).traffic("eth0", 1, 20_000);
        s.sysctl("net.core.rps_sock_flow_entries", SysctlValue::Int(32_768));
        let f = s.finding("rfs_off").expect("rps_flow_cnt 0 on rx-3");
        assert_eq!(f.remedies.len(), 1, "the global table is already set: {:?}", f.remedies);
        assert_eq!(f.remedies[0].proposed.as_deref(), Some("2048"));
        assert!(f.remedies[0].command.as_deref().unwrap().starts_with("for q in"));
    }

    #[test]
    fn quiet_when_rfs_is_on_rps_is_off_or_traffic_is_light() {
        let mut s = rps_on_eth0();
        s.sysctl("net.core.rps_sock_flow_entries", SysctlValue::Int(32_768));
        s.rps_flow_cnt("eth0", 0, 32_768);
        assert_eq!(s.finding("rfs_off"), None, "RFS on");
        let mut s = Scene::quiet();
        s.traffic("eth0", 1, 20_000);
        assert_eq!(s.finding("rfs_off"), None, "RPS off: rps_off's business");
        let mut s = Scene::quiet();
        s.rps_cpus("eth0", 0, &[0, 1]).traffic("eth0", 1, 500);
        assert_eq!(s.finding("rfs_off"), None, "500 packets/s");
        // Traffic that is forwarded, not read by local sockets: RFS has nothing to follow.
        let mut s = Scene::quiet();
        s.rps_cpus("eth0", 0, &[0, 1]).iface("eth0", "rx_packets", 20_000);
        s.snmp("Ip", "InReceives", 20_000).snmp("Ip", "ForwDatagrams", 20_000);
        assert_eq!(s.finding("rfs_off"), None, "a router");
    }

    #[test]
    fn inside_a_container_the_global_table_is_unknown() {
        let mut s = rps_on_eth0();
        s.sysctl_absent("net.core.rps_sock_flow_entries");
        let f = s.finding("rfs_off").expect("rps_flow_cnt 0 is enough to know");
        assert!(f.evidence.iter().any(|e| e.value.starts_with("unreadable (global sysctl")));
        assert_eq!(f.remedies[0].current, None);
        // The queue's table set and the global one unknown: cannot tell.
        s.rps_flow_cnt("eth0", 0, 4096);
        assert_eq!(s.finding("rfs_off"), None);
    }
}
