//! GRO turned off on a NIC that receives traffic.

use super::nic;
use super::{Context, Evidence, Finding, Remedy, Severity};
use crate::path::StageId;
use crate::sample::Interface;

/// The kernel's name for GRO in the features string set (netdev_features_strings).
const GRO: &str = "rx-gro";
const LRO: &str = "rx-lro";
/// From this rate GRO's saving is worth a change: at 1–2 µs of stack work per packet,
/// 5000 packets/s is about 1% of a CPU that GRO would mostly save on TCP streams.
const MIN_PER_SEC: f64 = 5000.0;

pub fn check(ctx: &Context) -> Vec<Finding> {
    nic::interfaces(ctx).iter().filter_map(|i| finding(ctx, i)).collect()
}

fn finding(ctx: &Context, i: &Interface) -> Option<Finding> {
    // A device behind a bus (a NIC, virtio): software devices such as veth, tunnels and lo
    // receive through other paths, and veth keeps GRO off by design unless NAPI is wanted.
    i.sysfs.device.as_ref()?;
    let features = i.ethtool.features.value()?;
    let gro = features.iter().find(|f| f.name == GRO)?;
    if gro.active || !gro.available {
        return None;
    }
    // LRO merges in hardware instead: a deliberate choice, not a missing one.
    if features.iter().any(|f| f.name == LRO && f.active) {
        return None;
    }
    let rx = ctx.netdev_amount(&i.name, "rx_packets")?;
    if rx.per_sec.unwrap_or(0.0) < MIN_PER_SEC {
        return None;
    }
    let evidence = vec![
        Evidence {
            what: format!("{} {GRO}", i.name),
            value: format!(
                "off (requested {}, changeable)",
                if gro.requested { "on" } else { "off" }
            ),
        },
        ctx.evidence(&format!("{} rx_packets", i.name), rx),
    ];
    Some(Finding {
        rule: "gro_off".into(),
        stage: StageId::Softirq,
        severity: Severity::Info,
        title: format!(
            "GRO is off on {}, which receives {} packets/s",
            i.name,
            super::rate(rx.per_sec.unwrap_or(0.0))
        ),
        evidence,
        explanation: "Generic Receive Offload merges consecutive packets of a flow into one large \
            packet in the NAPI poll, before the IP and TCP layers see them, so the stack runs \
            once per batch instead of once per packet. With it off every packet pays the full \
            per-packet cost, which raises softirq CPU time and lowers the rate a CPU can drain \
            a ring."
            .into(),
        remedies: vec![Remedy {
            knob: format!("{} {GRO}", i.name),
            current: Some("off".into()),
            proposed: Some("on".into()),
            why: "saves most of the per-packet stack work for TCP streams; forwarding hosts \
                  keep it too (the kernel re-segments on output). Only hosts whose traffic is \
                  all single-packet exchanges gain nothing from it"
                .into(),
            command: Some(format!("ethtool -K {} gro on", i.name)),
        }],
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Severity;
    use crate::diagnose::testing::Scene;

    #[test]
    fn fires_on_a_receiving_nic_with_gro_off() {
        let mut s = Scene::quiet();
        s.feature("eth0", "rx-gro", false).iface("eth0", "rx_packets", 20_000);
        let f = s.finding("gro_off").expect("fires");
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(f.title, "GRO is off on eth0, which receives 20000 packets/s");
        assert_eq!(f.remedies[0].command.as_deref(), Some("ethtool -K eth0 gro on"));
    }

    #[test]
    fn quiet_when_on_light_software_or_lro() {
        let mut s = Scene::quiet();
        s.iface("eth0", "rx_packets", 20_000);
        assert_eq!(s.finding("gro_off"), None, "on in the capture");
        let mut s = Scene::quiet();
        s.feature("eth0", "rx-gro", false).iface("eth0", "rx_packets", 4000);
        assert_eq!(s.finding("gro_off"), None, "4000 packets/s");
        let mut s = Scene::quiet();
        s.feature("ifb0", "rx-gro", false).iface("ifb0", "rx_packets", 20_000);
        assert_eq!(s.finding("gro_off"), None, "a software device");
        let mut s = Scene::quiet();
        s.feature("eth0", "rx-gro", false).feature("eth0", "rx-lro", true);
        s.iface("eth0", "rx_packets", 20_000);
        assert_eq!(s.finding("gro_off"), None, "LRO merges instead");
    }
}
