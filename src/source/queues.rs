//! Per-queue RPS/XPS settings: `/sys/class/net/<if>/queues/{rx-N,tx-N}/` (KERNEL.md §4).

use super::iface;
use crate::avail::{Avail, Unavailable};
use crate::root::Root;
use crate::source::{attr_part, cpuset, read_attr, read_attr_raw};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queues {
    /// Sorted by index (rx-10 after rx-9).
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RxQueue {
    pub index: u32,
    /// CPUs RPS steers this queue's packets to; empty = RPS off.
    pub rps_cpus: Avail<Vec<u32>>,
    pub rps_flow_cnt: Avail<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxQueue {
    pub index: u32,
    pub xps_cpus: Avail<Vec<u32>>,
    /// RX queue indices (not CPUs) whose traffic transmits on this queue.
    pub xps_rxqs: Avail<Vec<u32>>,
    pub tx_maxrate: Avail<u64>,
    /// Every numeric file in `byte_queue_limits/` by name; None when the driver has no BQL.
    pub byte_queue_limits: Option<IndexMap<String, u64>>,
}

/// Which kind of queue directory a `queues/` entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueDir {
    Rx(u32),
    Tx(u32),
}

/// `rx-3` / `tx-10`; anything else is not a queue directory.
pub fn parse_queue_dir(name: &str) -> Option<QueueDir> {
    let num = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if let Some(n) = name.strip_prefix("rx-") {
        return num(n).map(QueueDir::Rx);
    }
    name.strip_prefix("tx-").and_then(num).map(QueueDir::Tx)
}

pub fn read(root: &Root, name: &str) -> Avail<Queues> {
    read_keeping_tx(root, name, None).0
}

/// An interface's queues, with `earlier_tx` (the TX queues of an earlier read of the same device)
/// taken instead of reading them again when it holds the same queues, and whether it was: a
/// `Sampler` re-reads them less often, as nothing on the receive path depends on them.
pub fn read_keeping_tx(
    root: &Root,
    name: &str,
    earlier_tx: Option<&[TxQueue]>,
) -> (Avail<Queues>, bool) {
    let dir = format!("{}/queues", iface::net_dir(root, name));
    let entries = match root.read_dir(&dir) {
        Ok(e) => e,
        Err(e) => return (Avail::Unavailable(Unavailable::from_io(&dir, &e)), false),
    };
    let mut rx_idx = Vec::new();
    let mut tx_idx = Vec::new();
    for e in &entries {
        match parse_queue_dir(e) {
            Some(QueueDir::Rx(i)) => rx_idx.push(i),
            Some(QueueDir::Tx(i)) => tx_idx.push(i),
            None => {}
        }
    }
    rx_idx.sort_unstable();
    tx_idx.sort_unstable();
    let rx = rx_idx
        .into_iter()
        .map(|i| {
            let q = format!("{dir}/rx-{i}");
            RxQueue {
                index: i,
                rps_cpus: read_mask(root, &format!("{q}/rps_cpus")),
                rps_flow_cnt: read_attr(
                    root,
                    &format!("{q}/rps_flow_cnt"),
                    crate::source::parse_num,
                ),
            }
        })
        .collect();
    let (tx, kept) = match earlier_tx {
        Some(t) if t.iter().map(|q| q.index).eq(tx_idx.iter().copied()) => (t.to_vec(), true),
        _ => (read_tx(root, &dir, tx_idx), false),
    };
    (Avail::Value(Queues { rx, tx }), kept)
}

fn read_tx(root: &Root, dir: &str, tx_idx: Vec<u32>) -> Vec<TxQueue> {
    let single_tx = tx_idx.len() == 1;
    // Every TX queue of a device has the same BQL attributes (one sysfs group): listed once.
    let bql_names = tx_idx.first().and_then(|i| root.read_dir(&bql_dir(dir, *i)).ok());
    tx_idx
        .into_iter()
        .map(|i| {
            let q = format!("{dir}/tx-{i}");
            TxQueue {
                index: i,
                xps_cpus: read_xps_cpus(root, &format!("{q}/xps_cpus"), single_tx),
                xps_rxqs: read_mask(root, &format!("{q}/xps_rxqs")),
                tx_maxrate: read_attr(root, &format!("{q}/tx_maxrate"), crate::source::parse_num),
                byte_queue_limits: bql_names
                    .as_deref()
                    .map(|names| read_bql(root, &bql_dir(dir, i), names)),
            }
        })
        .collect()
}

/// A hex mask file. An empty mask (`0`, or all-zero comma groups) is the empty set, not missing.
fn read_mask(root: &Root, path: &str) -> Avail<Vec<u32>> {
    read_attr(root, path, cpuset::parse_mask)
}

/// xps_cpus: the kernel answers ENOENT when the device has one TX queue (`!netif_is_multiqueue`);
/// that is how such devices are, not a fault.
fn read_xps_cpus(root: &Root, path: &str, single_tx: bool) -> Avail<Vec<u32>> {
    match read_attr_raw(root, path, cpuset::parse_mask) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && single_tx => Avail::missing(
            path,
            "single-queue device: XPS does not apply (the kernel answers ENOENT for xps_cpus \
             when the device has one TX queue)",
        ),
        r => attr_part(path, r),
    }
}

fn bql_dir(queues: &str, tx: u32) -> String {
    format!("{queues}/tx-{tx}/byte_queue_limits")
}

fn read_bql(root: &Root, dir: &str, names: &[String]) -> IndexMap<String, u64> {
    let mut out = IndexMap::new();
    for n in names {
        if let Ok(Ok(v)) = root.read_with(&format!("{dir}/{n}"), crate::source::parse_num::<u64>) {
            out.insert(n.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;

    #[test]
    fn queue_dirs() {
        assert_eq!(parse_queue_dir("rx-0"), Some(QueueDir::Rx(0)));
        assert_eq!(parse_queue_dir("tx-10"), Some(QueueDir::Tx(10)));
        assert_eq!(parse_queue_dir("rx-"), None);
        assert_eq!(parse_queue_dir("rx-+1"), None);
        assert_eq!(parse_queue_dir("rx-99999999999"), None);
        assert_eq!(parse_queue_dir("power"), None);
    }

    #[test]
    fn sorted_numerically_and_xps_enoent_explained() {
        let d = tempfile::tempdir().unwrap();
        let q = d.path().join("sys/class/net/eth9/queues");
        for i in [0, 1, 2, 9, 10, 11] {
            fs::create_dir_all(q.join(format!("rx-{i}"))).unwrap();
            fs::write(q.join(format!("rx-{i}/rps_cpus")), "00000000,00000003\n").unwrap();
        }
        fs::create_dir_all(q.join("tx-0")).unwrap();
        let root = Root::at(d.path());
        let qs = read(&root, "eth9").into_value().unwrap();
        let idx: Vec<u32> = qs.rx.iter().map(|r| r.index).collect();
        assert_eq!(idx, [0, 1, 2, 9, 10, 11]);
        assert_eq!(qs.rx[5].rps_cpus, Avail::Value(vec![0, 1]));
        let why = &qs.tx[0].xps_cpus.unavailable().unwrap().why;
        assert!(why.starts_with("single-queue device: XPS does not apply"), "{why}");
        assert_eq!(qs.tx[0].byte_queue_limits, None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_queue_dir(&s);
            let _ = cpuset::parse_mask(&s);
        }
    }
}
