//! The connection tracking table (nearly) full: new flows are dropped once it is.

use super::{Context, Evidence, Finding, Remedy, Severity, sysctl_remedy};
use crate::path::StageId;
use crate::report::Basis;

/// Full enough to act on: at 90% a burst of new flows (a scan, a reconnect storm) fills the rest.
const FULL_PERCENT: u64 = 90;
/// Netfilter drops in an interval that make the table the likely cause (netfilter_drops' floor).
const MIN_DROPS: u64 = 10;
/// Kernel memory per tracked connection, roughly (struct nf_conn and its extensions).
const ENTRY_BYTES: u64 = 320;
const MAX: &str = "net.netfilter.nf_conntrack_max";

pub fn check(ctx: &Context) -> Vec<Finding> {
    let Some(c) = ctx.sample.environment.conntrack.value() else { return vec![] };
    if c.max == 0 || c.count.saturating_mul(100) < c.max.saturating_mul(FULL_PERCENT) {
        return vec![];
    }
    let percent = c.count.saturating_mul(100) / c.max;
    let drops = ctx.count("Ip.undelivered").plus(ctx.count("Ip6.undelivered"));
    let dropping = ctx.basis == Basis::Interval && drops.count >= MIN_DROPS;
    let mut evidence = vec![Evidence {
        what: "nf_conntrack_count / nf_conntrack_max".into(),
        value: format!("{} / {} ({percent}% full)", c.count, c.max),
    }];
    if drops.count > 0 {
        evidence.push(ctx.evidence("Ip.undelivered + Ip6.undelivered (netfilter drops)", drops));
    }
    let proposed = c.count.max(c.max).saturating_mul(2).next_power_of_two();
    let max_i64 = i64::try_from(c.max).ok();
    let proposed_i64 = i64::try_from(proposed).unwrap_or(i64::MAX);
    let mib = proposed.saturating_mul(ENTRY_BYTES) >> 20;
    let remedies = vec![
        sysctl_remedy(
            MAX,
            max_i64,
            proposed_i64,
            &format!(
                "room for twice the connections tracked now (rounded up to a power of 2); at \
                 ~{ENTRY_BYTES} bytes each a full table of {proposed} costs ~{mib} MiB of kernel \
                 memory; a global setting: inside a container it is read-only, set it on the host"
            ),
        ),
        Remedy {
            knob: "net.netfilter.nf_conntrack_buckets (the hash table)".into(),
            current: None,
            proposed: Some(proposed.to_string()),
            why: "keep the hash table as large as the new maximum, the kernel's own default \
                  ratio (each connection is hashed twice, so chains average two entries); a \
                  larger maximum on the old table makes every lookup walk longer chains \
                  (rxpath does not read the current size)"
                .into(),
            command: Some(format!(
                "sysctl -w net.netfilter.nf_conntrack_buckets={proposed}   # or: echo \
                 {proposed} > /sys/module/nf_conntrack/parameters/hashsize"
            )),
        },
        Remedy {
            knob: "what is tracked".into(),
            current: None,
            proposed: None,
            why: "entries stay until their timeout (an established TCP flow: 5 days by default); \
                  shorter timeouts, or not tracking stateless high-volume traffic (DNS, \
                  syslog, a load balancer's health checks) with a notrack rule, free the table \
                  for the flows that need state"
                .into(),
            command: Some(
                "conntrack -S   # per-CPU insert_failed/drop/early_drop; conntrack -L | head"
                    .into(),
            ),
        },
    ];
    vec![Finding {
        rule: "conntrack_full".into(),
        stage: StageId::Netfilter,
        severity: if dropping || c.count >= c.max {
            Severity::Critical
        } else {
            Severity::Warning
        },
        title: format!(
            "The conntrack table is {percent}% full ({} of {}){}",
            c.count,
            c.max,
            if dropping { ": new flows are being dropped" } else { "" }
        ),
        evidence,
        explanation: "Connection tracking keeps an entry for every flow netfilter has seen (for \
            NAT and stateful rules) until the flow's timeout. When nf_conntrack_count reaches \
            nf_conntrack_max the first packet of every new flow is dropped (unless an entry that \
            never saw two-way traffic can be evicted for it) and the kernel logs 'nf_conntrack: table full, dropping packet'. \
            These drops have no SNMP counter: they show as IP packets received but never \
            delivered (Ip.undelivered)."
            .into(),
        remedies,
    }]
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_at_ninety_percent_and_proposes_twice_the_maximum() {
        let mut s = Scene::quiet();
        s.conntrack(59_000, 65_536);
        let f = s.finding("conntrack_full").expect("fires");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.title, "The conntrack table is 90% full (59000 of 65536)");
        let r = &f.remedies[0];
        assert_eq!(r.knob, "net.netfilter.nf_conntrack_max");
        assert_eq!((r.current.as_deref(), r.proposed.as_deref()), (Some("65536"), Some("131072")));
        assert!(r.why.contains("~40 MiB"), "{}", r.why);
        assert_eq!(f.remedies[1].proposed.as_deref(), Some("131072"));
    }

    #[test]
    fn critical_when_netfilter_drops_move_with_the_table_full() {
        let mut s = Scene::quiet();
        s.conntrack(65_536, 65_536).snmp("Ip", "InReceives", 400);
        let f = s.finding("conntrack_full").expect("fires");
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.title.ends_with(": new flows are being dropped"), "{}", f.title);
        assert!(
            f.evidence
                .iter()
                .any(|e| e.what.starts_with("Ip.undelivered") && e.value == "400 (400/s)"),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn quiet_below_ninety_percent_and_without_conntrack() {
        let mut s = Scene::quiet();
        s.conntrack(58_982, 65_536).snmp("Ip", "InReceives", 400);
        assert_eq!(s.finding("conntrack_full"), None, "89.99%");
        let mut s = Scene::quiet();
        s.later.environment.conntrack = crate::avail::Avail::missing("nf_conntrack", "not loaded");
        assert_eq!(s.finding("conntrack_full"), None);
        let mut s = Scene::quiet();
        s.conntrack(0, 0);
        assert_eq!(s.finding("conntrack_full"), None, "max 0: no limit");
    }
}
