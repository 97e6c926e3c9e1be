//! One receive queue carrying far more than its share while the interface has several.

use super::nic;
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::{Amount, StageId};
use crate::report::{Basis, QueueRow};
use crate::sample::Interface;

/// Fewer queues than this are too few to call a spread uneven (two or three queues with a
/// handful of flows are lopsided by chance).
const MIN_QUEUES: usize = 4;
/// The busiest queue must carry more than this many times the mean.
const IMBALANCE: f64 = 2.0;
/// Below this rate on the busiest queue its CPU keeps up with room to spare (a CPU runs several
/// hundred thousand packets a second through the stack), so the imbalance costs nothing.
const BUSY_QUEUE_PER_SEC: f64 = 50_000.0;

pub fn check(ctx: &Context) -> Vec<Finding> {
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i)).collect()
}

fn finding(ctx: &Context, i: &Interface) -> Option<Finding> {
    let rows: Vec<(&QueueRow, Amount)> = ctx
        .queues
        .iter()
        .filter(|q| q.interface == i.name)
        .filter_map(|q| Some((q, q.packets?)))
        .collect();
    if rows.len() < MIN_QUEUES {
        return None;
    }
    let total: u64 = rows.iter().map(|(_, a)| a.count).sum();
    let (busiest, top) = rows.iter().max_by_key(|(q, a)| (a.count, std::cmp::Reverse(q.queue)))?;
    let mean = total as f64 / rows.len() as f64;
    if top.per_sec.unwrap_or(0.0) < BUSY_QUEUE_PER_SEC || (top.count as f64) <= IMBALANCE * mean {
        return None;
    }
    let share = top.count as f64 / total.max(1) as f64;
    let mut evidence = vec![
        Evidence {
            what: format!("{} rx queue {} packets", i.name, busiest.queue),
            value: format!("{}, {} of the interface's", ctx.amount_text(*top), nic::percent(share)),
        },
        Evidence {
            what: format!("{} mean per rx queue ({} queues)", i.name, rows.len()),
            value: format!("{:.0} packets", mean),
        },
    ];
    let cpu = busiest.cpus.first().copied();
    let row = cpu.and_then(|c| nic::cpu_row(ctx, c));
    if let (Some(c), Some(s)) = (cpu, nic::softirq_share(row)) {
        evidence.push(Evidence {
            what: format!("cpu{c} (queue {}'s IRQ) softirq share", busiest.queue),
            value: format!("{} of its time", nic::percent(s)),
        });
    }
    let dropping = busiest.drops.is_some_and(|d| d.count > 0) || nic::squeezed(row);
    if let Some(d) = busiest.drops.filter(|d| d.count > 0) {
        evidence.push(ctx.evidence(&format!("{} rx queue {} drops", i.name, busiest.queue), d));
    }
    let table = i.ethtool.rss_indir.value().filter(|t| !t.is_empty());
    if let Some(t) = table {
        let buckets = t.iter().filter(|q| **q == busiest.queue).count();
        evidence.push(Evidence {
            what: format!("{} RSS indirection table", i.name),
            value: format!("queue {} has {buckets} of {} buckets", busiest.queue, t.len()),
        });
    }
    let severity = match ctx.basis {
        Basis::Interval if dropping => Severity::Warning,
        _ => Severity::Info,
    };
    Some(Finding {
        rule: "rss_imbalance".into(),
        stage: StageId::Nic,
        severity,
        title: format!(
            "{}'s rx queue {} carries {} of its packets ({}/s), {:.1}× the mean of {} queues",
            i.name,
            busiest.queue,
            nic::percent(share),
            super::rate(top.per_sec.unwrap_or(0.0)),
            top.count as f64 / mean.max(1.0),
            rows.len()
        ),
        evidence,
        explanation: "RSS hashes each packet's addresses (and ports, when configured) and looks \
            the hash up in the indirection table to choose its receive queue, so each flow stays \
            on one queue and one CPU. One queue carrying most of the traffic means the table \
            favours it, the hash leaves out the fields that tell the flows apart, or a few large \
            flows dominate — a single flow can never be spread over queues."
            .into(),
        remedies: remedies(ctx, i, busiest.queue, table),
    })
}

fn remedies(ctx: &Context, i: &Interface, busiest: u32, table: Option<&Vec<u32>>) -> Vec<Remedy> {
    let mut out = Vec::new();
    let queues = nic::rx_queue_count(i);
    if let Some((used, queues)) = nic::rss_unused(i) {
        out.push(nic::rss_equal(i, used, queues));
    } else if let Some(t) = table.filter(|_| queues > 0) {
        let buckets = t.iter().filter(|q| **q == busiest).count() as f64;
        let fair = t.len() as f64 / f64::from(queues);
        if buckets > IMBALANCE * fair {
            out.push(Remedy {
                knob: format!("{} RSS indirection table", i.name),
                current: Some(format!("queue {busiest}: {buckets} of {} buckets", t.len())),
                proposed: Some(format!("{fair:.0} buckets each")),
                why: format!(
                    "the table sends queue {busiest} more than {IMBALANCE}× its share of hashes"
                ),
                command: Some(format!("ethtool -X {} equal {queues}", i.name)),
            });
        }
    }
    let udp = ctx.delta_mib("Udp.InDatagrams").and_then(|a| a.per_sec).unwrap_or(0.0);
    if out.is_empty() && udp >= BUSY_QUEUE_PER_SEC {
        out.push(Remedy {
            knob: format!("{} rx-flow-hash udp4", i.name),
            current: None,
            proposed: Some("sdfn (addresses and ports)".into()),
            why: format!(
                "{}/s UDP datagrams arrive and many NICs hash UDP on addresses only, which puts \
                 every flow between two hosts on one queue; check first with `ethtool -n {} \
                 rx-flow-hash udp4`. Fragmented datagrams carry no ports and may then be \
                 reordered",
                super::rate(udp),
                i.name
            ),
            command: Some(format!("ethtool -N {} rx-flow-hash udp4 sdfn", i.name)),
        });
    }
    out.push(Remedy {
        knob: "the flows themselves".into(),
        current: None,
        proposed: None,
        why: "when a few large flows carry the traffic no hash spreads them: split the work in \
              the application (more connections or source ports, SO_REUSEPORT groups), or let \
              RPS/RFS move the protocol work of other flows off the busy CPU"
            .into(),
        command: Some(format!("ethtool -x {}   # the indirection table and hash key", i.name)),
    });
    out
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    fn traffic(s: &mut Scene, per_queue: [u64; 4]) {
        s.nic_queues("eth0", 4);
        for (q, n) in per_queue.into_iter().enumerate() {
            s.queue_packets("eth0", q as u32, n);
        }
    }

    #[test]
    fn fires_on_one_hot_queue_and_fixes_a_lopsided_table() {
        let mut s = Scene::quiet();
        traffic(&mut s, [300_000, 20_000, 20_000, 20_000]);
        s.rss_indir("eth0", vec![0, 0, 0, 0, 0, 1, 2, 3]);
        let f = s.finding("rss_imbalance").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            f.title,
            "eth0's rx queue 0 carries 83% of its packets (300000/s), 3.3× the mean of 4 queues"
        );
        assert!(f.evidence.iter().any(|e| e.value == "queue 0 has 5 of 8 buckets"));
        assert_eq!(f.remedies[0].command.as_deref(), Some("ethtool -X eth0 equal 4"));
    }

    #[test]
    fn an_even_table_with_udp_points_at_the_hash_fields() {
        let mut s = Scene::quiet();
        traffic(&mut s, [300_000, 0, 0, 0]);
        s.rss_indir("eth0", vec![0, 1, 2, 3, 0, 1, 2, 3]).snmp("Udp", "InDatagrams", 300_000);
        // nic_queues puts queue 0's IRQ on CPU 0.
        s.softnet(0, "time_squeeze", 12);
        let f = s.finding("rss_imbalance").expect("fires");
        assert_eq!(f.severity, Severity::Warning, "the hot queue's CPU is squeezed");
        assert_eq!(
            f.remedies[0].command.as_deref(),
            Some("ethtool -N eth0 rx-flow-hash udp4 sdfn")
        );
    }

    #[test]
    fn quiet_when_even_light_or_few_queues() {
        let mut s = Scene::quiet();
        traffic(&mut s, [100_000, 90_000, 80_000, 70_000]);
        assert_eq!(s.finding("rss_imbalance"), None, "1.2× the mean is under the 2× bar");
        let mut s = Scene::quiet();
        traffic(&mut s, [40_000, 0, 0, 0]);
        assert_eq!(s.finding("rss_imbalance"), None, "40000/s is light work for one CPU");
        let mut s = Scene::quiet();
        s.nic_queues("eth0", 3).queue_packets("eth0", 0, 300_000);
        assert_eq!(s.finding("rss_imbalance"), None, "three queues");
    }
}
