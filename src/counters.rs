//! What counter names mean: which driver and netdev counters count receive drops, which of them
//! are the "ring full" ones for a driver, and how drivers name their per-queue counters.
//!
//! One place for this knowledge, so the settings view, the drop path and the rules agree.

use crate::source::Name;

/// Driver counters that count receive drops, by the names drivers use (KERNEL.md §1.5).
pub fn is_drop_counter(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("drop")
        || n.contains("discard")
        || n.contains("missed")
        || n.contains("no_buffer")
        || n.contains("no_dma")
        || n.contains("out_of_buffer")
        || n.contains("fifo")
        || n.contains("overrun")
        || n.contains("alloc_fail")
        || n.contains("allowance_exceeded")
        || n.contains("oom")
}

/// The queue a per-queue driver counter belongs to and the rest of its name: virtio `rx0_packets`,
/// veth `rx_queue_0_packets`, mlx5/ena `rx0_…`/`queue_0_rx_…`, others `rx-0.packets`.
pub fn rx_queue_counter(name: &str) -> Option<(u32, &str)> {
    for prefix in ["rx_queue_", "rx-", "rxq", "rx"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                continue;
            }
            let (n, tail) = rest.split_at(digits);
            let tail = tail.strip_prefix(['_', '.']).unwrap_or("");
            if tail.is_empty() {
                continue;
            }
            return n.parse().ok().map(|n| (n, tail));
        }
    }
    let rest = name.strip_prefix("queue_")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (n, tail) = rest.split_at(digits);
    let tail = tail.strip_prefix("_rx_")?;
    n.parse().ok().map(|n| (n, tail))
}

/// One rx queue's counters sorted into packets and drops: the kernel's netdev qstats names when
/// the queue has qstats (`rx-packets`; `rx-hw-drops`, `rx-hw-drop-overruns`, `rx-alloc-fail`, ...),
/// else the driver's per-queue `ethtool -S` names for queue `index` (see `rx_queue_counter`).
/// Generic over the value so a sample's counters and their rates are sorted alike.
pub fn split_rx_queue<'a, V: 'a>(
    qstats: Option<impl IntoIterator<Item = (&'a Name, V)>>,
    driver: impl IntoIterator<Item = (&'a Name, V)>,
    index: u32,
) -> (Vec<V>, Vec<V>) {
    let (mut packets, mut drops) = (Vec::new(), Vec::new());
    if let Some(q) = qstats {
        for (k, v) in q {
            let k = k.as_str();
            if k == "rx-packets" {
                packets.push(v);
            } else if k.starts_with("rx-") && (k.contains("drop") || k.contains("fail")) {
                drops.push(v);
            }
        }
        return (packets, drops);
    }
    for (k, v) in driver {
        match rx_queue_counter(k) {
            Some((n, "packets")) if n == index => packets.push(v),
            Some((n, rest)) if n == index && is_drop_counter(rest) => drops.push(v),
            _ => {}
        }
    }
    (packets, drops)
}

/// What a driver-specific drop counter means, for the drivers KERNEL.md §1.5 documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverDrop {
    pub driver: &'static str,
    /// The exact `ethtool -S` name, or a per-ring pattern with `N` for the ring number.
    pub name: &'static str,
    pub meaning: &'static str,
    /// Whether the driver also reports these drops as netdev `rx_missed_errors`: then they are
    /// shown but not added a second time.
    pub same_as_missed: bool,
    /// Whether a growing ring (`ethtool -G`) is the remedy: the ring had no free descriptor.
    pub ring_full: bool,
}

const fn d(
    driver: &'static str,
    name: &'static str,
    meaning: &'static str,
    same_as_missed: bool,
    ring_full: bool,
) -> DriverDrop {
    DriverDrop { driver, name, meaning, same_as_missed, ring_full }
}

/// KERNEL.md §1.5, checked against 6.12 driver source.
pub const DRIVER_DROPS: &[DriverDrop] = &[
    d("ixgbe", "rx_missed_errors", "packet buffer full (MPC)", true, false),
    d("ixgbe", "rx_no_dma_resources", "no free RX descriptor: the ring was full", false, true),
    d("igb", "rx_missed_errors", "packet buffer full (MPC)", true, false),
    d("i40e", "rx_missed_errors", "no descriptor (VSI RDPC): the ring was full", true, true),
    d("i40e", "port.rx_discards", "port-level discards", false, false),
    d("ice", "rx_dropped.nic", "PF discards (the netdev's rx_missed_errors)", true, true),
    d("mlx5_core", "rx_out_of_buffer", "no software buffer posted: the ring was full", true, true),
    d("mlx5_core", "rx_discards_phy", "port buffer full: the NIC was congested", false, false),
    d("bnxt_en", "rx_total_ring_discards", "ring discards, all rings", false, true),
    d("bnxt_en", "rx_total_oom_discards", "no memory for a buffer", false, false),
    d(
        "ena",
        "bw_in_allowance_exceeded",
        "cloud bandwidth allowance exceeded (shaper)",
        false,
        false,
    ),
    d(
        "ena",
        "pps_allowance_exceeded",
        "cloud packet-rate allowance exceeded (shaper)",
        false,
        false,
    ),
    d(
        "virtio_net",
        "rxN_drops",
        "driver drops (bad or short frames, XDP, allocation)",
        false,
        false,
    ),
    d("virtio_net", "rxN_hw_drops", "device drops", false, false),
    d("virtio_net", "rxN_hw_drop_overruns", "device ring overruns: the ring was full", false, true),
];

/// The table entry for driver `driver`'s counter `name`, if §1.5 documents it.
pub fn driver_drop(driver: &str, name: &str) -> Option<&'static DriverDrop> {
    DRIVER_DROPS.iter().find(|e| e.driver == driver && matches_pattern(e.name, name))
}

/// `rxN_drops` matches `rx0_drops`, `rx15_drops`; other names match exactly.
fn matches_pattern(pattern: &str, name: &str) -> bool {
    match pattern.split_once('N') {
        Some((pre, post)) if pattern.starts_with("rx") => name
            .strip_prefix(pre)
            .and_then(|r| r.strip_suffix(post))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        _ => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_queue_names_of_the_drivers() {
        assert_eq!(rx_queue_counter("rx0_packets"), Some((0, "packets")));
        assert_eq!(rx_queue_counter("rx12_hw_drop_overruns"), Some((12, "hw_drop_overruns")));
        assert_eq!(rx_queue_counter("rx_queue_3_drops"), Some((3, "drops")));
        assert_eq!(rx_queue_counter("rx-7.packets"), Some((7, "packets")));
        assert_eq!(rx_queue_counter("queue_2_rx_packets"), Some((2, "packets")));
        assert_eq!(rx_queue_counter("rx_packets"), None);
        assert_eq!(rx_queue_counter("rx_missed_errors"), None);
        assert_eq!(rx_queue_counter("rx99999999999_x"), None);
    }

    #[test]
    fn driver_table_lookups() {
        assert!(driver_drop("virtio_net", "rx3_drops").is_some());
        assert!(driver_drop("virtio_net", "rx_drops").is_none());
        assert!(driver_drop("virtio_net", "rx3_drops_x").is_none());
        assert!(driver_drop("mlx5_core", "rx_out_of_buffer").unwrap().same_as_missed);
        assert!(driver_drop("ixgbe", "rx_no_dma_resources").unwrap().ring_full);
        assert!(driver_drop("ixgbe", "rx_out_of_buffer").is_none());
    }

    #[test]
    fn drop_counter_names() {
        for n in [
            "rx0_drops",
            "rx_missed_errors",
            "rx_no_dma_resources",
            "rx_out_of_buffer",
            "port.rx_discards",
            "rx_fifo_errors",
            "bw_in_allowance_exceeded",
        ] {
            assert!(is_drop_counter(n), "{n}");
        }
        for n in ["rx_packets", "rx0_bytes", "tx_timeouts"] {
            assert!(!is_drop_counter(n), "{n}");
        }
    }
}
