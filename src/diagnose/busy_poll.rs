//! Busy polling turned on host-wide while the NICs' interrupts keep firing undeferred.

use super::nic::{self, BUSY_IRQS_PER_SEC};
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::sample::Interface;

/// The values Documentation/networking/napi.rst and af_xdp.rst pair with preferred busy polling:
/// two empty polls before the IRQ is re-armed, and a 200 µs watchdog.
const DEFER_HARD_IRQS: u64 = 2;
const GRO_FLUSH_TIMEOUT_NS: u64 = 200_000;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let poll = ctx.sysctl("net.core.busy_poll").unwrap_or(0);
    let read = ctx.sysctl("net.core.busy_read").unwrap_or(0);
    if poll <= 0 && read <= 0 {
        return vec![];
    }
    let ifaces: Vec<(&Interface, f64)> = nic::interfaces(ctx)
        .iter()
        .filter(|i| undeferred(ctx, i))
        .map(|i| (i, nic::fired_total(&nic::rx_irqs(ctx, i)).per_sec.unwrap_or(0.0)))
        .filter(|(_, r)| *r >= BUSY_IRQS_PER_SEC)
        .collect();
    if ifaces.is_empty() {
        return vec![];
    }
    let mut evidence = vec![
        Evidence { what: "net.core.busy_poll".into(), value: format!("{poll} µs") },
        Evidence { what: "net.core.busy_read".into(), value: format!("{read} µs") },
    ];
    let mut remedies = Vec::new();
    for (i, r) in &ifaces {
        evidence.push(Evidence {
            what: format!("{} receive-queue IRQs", i.name),
            value: format!("{}/s, napi_defer_hard_irqs 0, gro_flush_timeout 0", super::rate(*r)),
        });
        remedies.push(Remedy {
            knob: format!("{} napi_defer_hard_irqs and gro_flush_timeout", i.name),
            current: Some("0 and 0".into()),
            proposed: Some(format!("{DEFER_HARD_IRQS} and {GRO_FLUSH_TIMEOUT_NS} ns")),
            why: "with both set, NAPI keeps the device's IRQ masked for a few empty polls and a \
                  timer instead, so busy-polling sockets are not interrupted for packets they \
                  would have polled anyway (the pairing the kernel's NAPI documentation gives). \
                  gro_flush_timeout must exceed the longest gap between the application's polls"
                .into(),
            command: Some(format!(
                "echo {DEFER_HARD_IRQS} > /sys/class/net/{0}/napi_defer_hard_irqs; \
                 echo {GRO_FLUSH_TIMEOUT_NS} > /sys/class/net/{0}/gro_flush_timeout",
                i.name
            )),
        });
    }
    vec![Finding {
        rule: "busy_poll".into(),
        stage: StageId::Softirq,
        severity: Severity::Info,
        title: format!(
            "busy polling is on (busy_poll {poll}, busy_read {read}) while {} keep interrupting",
            ifaces.iter().map(|(i, _)| i.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        evidence,
        explanation: "With net.core.busy_poll / busy_read set, sockets spin on their NIC queue \
            for that many microseconds instead of sleeping until a packet arrives. The device's \
            interrupts stay armed unless NAPI is told to defer them, so each packet can still \
            raise an interrupt and softirq on the queue's CPU that competes with the polling \
            thread; the latency busy polling buys is partly lost and the CPU is spent twice."
            .into(),
        remedies,
    }]
}

/// Neither the device's sysfs values nor any of its NAPI instances (netdev netlink, per-NAPI
/// settings since 6.13) defer IRQs.
fn undeferred(ctx: &Context, i: &Interface) -> bool {
    let zero = |a: &crate::avail::Avail<u64>| a.value().is_some_and(|v| *v == 0);
    if !zero(&i.sysfs.napi_defer_hard_irqs) || !zero(&i.sysfs.gro_flush_timeout) {
        return false;
    }
    let ifindex = i.sysfs.ifindex.value().copied();
    let napis = ctx.sample.netdev_genl.value().and_then(|g| g.napis.value());
    !napis.into_iter().flatten().filter(|n| Some(n.ifindex) == ifindex).any(|n| {
        n.defer_hard_irqs.is_some_and(|d| d > 0) || n.gro_flush_timeout.is_some_and(|t| t > 0)
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::testing::Scene;
    use crate::source::sysctl::SysctlValue;

    #[test]
    fn fires_when_busy_polling_meets_undeferred_irqs() {
        let mut s = Scene::quiet();
        s.sysctl("net.core.busy_read", SysctlValue::Int(50)).irq_fires(38, 1, 3000);
        let f = s.finding("busy_poll").expect("fires");
        assert_eq!(
            f.title,
            "busy polling is on (busy_poll 0, busy_read 50) while eth0 keep interrupting"
        );
        assert_eq!(
            f.remedies[0].command.as_deref(),
            Some(
                "echo 2 > /sys/class/net/eth0/napi_defer_hard_irqs; \
                 echo 200000 > /sys/class/net/eth0/gro_flush_timeout"
            )
        );
    }

    #[test]
    fn quiet_when_off_deferred_or_idle() {
        let mut s = Scene::quiet();
        s.irq_fires(38, 1, 3000);
        assert_eq!(s.finding("busy_poll"), None, "busy polling off (the capture)");
        let mut s = Scene::quiet();
        s.sysctl("net.core.busy_poll", SysctlValue::Int(50)).irq_fires(38, 1, 3000);
        s.napi_defer("eth0", 2, 200_000);
        assert_eq!(s.finding("busy_poll"), None, "IRQs deferred");
        let mut s = Scene::quiet();
        s.sysctl("net.core.busy_poll", SysctlValue::Int(50)).irq_fires(38, 1, 300);
        assert_eq!(s.finding("busy_poll"), None, "300 IRQs/s");
    }
}
