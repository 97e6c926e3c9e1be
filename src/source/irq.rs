//! The IRQs of a NIC, found from the device rather than guessed from names (KERNEL.md §2.2): the
//! MSI/MSI-X vectors listed in `<bus device>/msi_irqs/`, else the legacy `<bus device>/irq`. Each IRQ
//! is then read from `/sys/kernel/irq/N/` (actions, chip, hwirq, trigger type) and `/proc/irq/N/`
//! (requested and effective affinity, node). Which queue an IRQ serves comes from its action name,
//! which each driver chooses; netlink `napi-get` is the authoritative source where available, so
//! `QueueRef::from` records which one was used.

use super::iface::{self, SysfsIface};
use crate::avail::{Avail, Unavailable};
use crate::fxhash::FxBuild;
use crate::root::Root;
use crate::source::interrupts::{Counts, Interrupts, IrqRow};
use crate::source::stat::Intr;
use crate::source::{ParseError, cpuset, read_attr};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `QueueRef::from` when the queue was read from the IRQ's action name.
pub const FROM_ACTION_NAME: &str = "action name";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NicIrq {
    pub irq: u32,
    /// `/sys/kernel/irq/N/actions`: handler names, several when the line is shared.
    pub actions: Avail<Vec<String>>,
    pub chip_name: Avail<String>,
    pub hwirq: Avail<String>,
    /// "edge" or "level".
    #[serde(rename = "type")]
    pub type_: Avail<String>,
    /// `/proc/irq/N/smp_affinity_list`: the CPUs asked for.
    pub smp_affinity_list: Avail<Vec<u32>>,
    /// `/proc/irq/N/effective_affinity_list`: the CPU(s) really targeted; empty while the IRQ is
    /// not started. Missing without CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK.
    pub effective_affinity_list: Avail<Vec<u32>>,
    /// `/proc/irq/N/node`.
    pub node: Avail<i32>,
    /// The queue this IRQ serves, when known.
    pub queue: Option<QueueRef>,
}

impl NicIrq {
    /// The CPUs the IRQ really targets (KERNEL.md §2.2): the effective affinity, else — when the
    /// kernel has none or the IRQ is not started (empty) — the affinity asked for.
    pub fn target_cpus(&self) -> &[u32] {
        self.effective_affinity_list
            .value()
            .filter(|c| !c.is_empty())
            .or(self.smp_affinity_list.value())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether this IRQ serves receive queue `index` (an rx or a combined vector).
    pub fn serves_rx_queue(&self, index: u32) -> bool {
        self.queue.as_ref().is_some_and(|r| {
            r.index == Some(index) && matches!(r.kind, QueueKind::Rx | QueueKind::Combined)
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    Rx,
    Tx,
    /// One vector for an RX and a TX queue of the same index (TxRx, fastpath, completion EQ).
    Combined,
    /// Not a queue: configuration, link, async events, mailbox.
    Other,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueRef {
    pub kind: QueueKind,
    /// Queue index; None for `Other` or a vector serving every queue.
    pub index: Option<u32>,
    /// Where the mapping came from (`FROM_ACTION_NAME`, or the netlink source that set it).
    pub from: String,
}

impl QueueRef {
    /// Short label for reports: `rx-0`, `tx-3`, `rxtx-2` (combined), `other`, `all queues`.
    pub fn label(&self) -> String {
        let kind = match self.kind {
            QueueKind::Rx => "rx",
            QueueKind::Tx => "tx",
            QueueKind::Combined => "rxtx",
            QueueKind::Other => return "other".into(),
        };
        match self.index {
            Some(i) => format!("{kind}-{i}"),
            None => "all queues".into(),
        }
    }
}

/// The IRQs of an interface's device. A virtual device (no `device` link) has none.
pub fn read(root: &Root, iface: &SysfsIface) -> Avail<Vec<NicIrq>> {
    let Some(dev) = &iface.device else {
        return Avail::Value(Vec::new());
    };
    let dir = if root.exists(&dev.bus_device) {
        dev.bus_device.clone()
    } else {
        match iface::bus_device_dir(root, &iface.name) {
            Some(d) => d,
            None => dev.bus_device.clone(),
        }
    };
    let numbers = match irq_numbers(root, &dir) {
        Ok(n) => n,
        Err(u) => return Avail::Unavailable(u),
    };
    let irqs = numbers
        .into_iter()
        .map(|n| {
            let mut irq = read_irq(root, n);
            irq.queue = irq
                .actions
                .value()
                .and_then(|acts| acts.iter().find_map(|a| queue_from_action(a, &iface.name)));
            irq
        })
        .collect();
    Avail::Value(irqs)
}

/// IRQ numbers of a bus device: `msi_irqs/` entries (numerically sorted), else a non-zero `irq`.
fn irq_numbers(root: &Root, dir: &str) -> Result<Vec<u32>, Unavailable> {
    let msi = format!("{dir}/msi_irqs");
    match root.read_dir(&msi) {
        Ok(names) => {
            let mut v: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
            v.sort_unstable();
            v.dedup();
            if !v.is_empty() {
                return Ok(v);
            }
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {}
        Err(e) => return Err(Unavailable::from_io(msi, &e)),
    }
    let legacy = format!("{dir}/irq");
    if let Ok(text) = root.read(&legacy)
        && let Ok(n) = crate::source::parse_num::<u32>(&text)
        && n != 0
    {
        return Ok(vec![n]);
    }
    Err(Unavailable::new(
        dir,
        "no MSI vectors (msi_irqs/ absent or empty) and no legacy IRQ (irq absent or 0): this \
         device's IRQs are not listed in sysfs; match /proc/interrupts action names instead",
    ))
}

/// Reads one IRQ from `/sys/kernel/irq/N/` and `/proc/irq/N/`. `queue` is left None: only the
/// caller knows which interface the IRQ belongs to.
pub fn read_irq(root: &Root, irq: u32) -> NicIrq {
    let sys = format!("/sys/kernel/irq/{irq}");
    let proc = format!("/proc/irq/{irq}");
    let actions = match root.read_with(&format!("{sys}/actions"), parse_actions) {
        Ok(actions) => Avail::Value(actions),
        Err(e) => Avail::Unavailable(Unavailable::from_io(format!("{sys}/actions"), &e)),
    };
    let text = |p: &str| read_attr(root, p, |t| Ok(t.to_string()));
    let eff_path = format!("{proc}/effective_affinity_list");
    let effective_affinity_list = match read_cpu_list(root, &eff_path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && root.exists(&proc) => Avail::missing(
            &eff_path,
            "not provided by this kernel (needs CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK); \
             smp_affinity_list is only what was requested",
        ),
        r => cpu_list_part(&eff_path, r),
    };
    let smp_path = format!("{proc}/smp_affinity_list");
    NicIrq {
        irq,
        actions,
        chip_name: text(&format!("{sys}/chip_name")),
        hwirq: text(&format!("{sys}/hwirq")),
        type_: text(&format!("{sys}/type")),
        smp_affinity_list: cpu_list_part(&smp_path, read_cpu_list(root, &smp_path)),
        effective_affinity_list,
        node: read_attr(root, &format!("{proc}/node"), crate::source::parse_num::<i32>),
        queue: None,
    }
}

/// What `Interrupts::partial` says of rows read by `read_counts`.
pub const PER_CPU_COUNT: &str = "the NIC IRQs only, from /sys/kernel/irq/N/per_cpu_count";

/// The per_cpu_count rows a `Sampler` keeps between samples, each with the IRQ's /proc/stat
/// `intr` count read before it. A row is kept only when its IRQ did not move since the sample
/// before: a busy IRQ is read every sample anyway, and copying its row would be waste.
#[derive(Default)]
pub struct KeptCounts {
    /// The possible CPUs the rows have a column for.
    cpus: Vec<u32>,
    rows: HashMap<u32, (u64, Option<IrqRow>), FxBuild>,
}

/// The per-CPU counts of `irqs` as /proc/interrupts rows (counts only: no chip text or actions),
/// columns by `possible` CPU id. `None` when any of them cannot be read whole: the caller then
/// reads /proc/interrupts, which always can.
///
/// An IRQ whose count in `intr` (/proc/stat, read before this call) is what it was before its kept
/// row was read did not fire since: the row is reused instead of its file read. Without `intr`, or
/// without a kept row, the file is read.
pub fn read_counts(
    root: &Root,
    irqs: &[u32],
    possible: &[u32],
    intr: Option<&Intr>,
    kept: &mut KeptCounts,
) -> Option<Interrupts> {
    if kept.cpus != possible {
        kept.cpus = possible.to_vec();
        kept.rows.clear();
    }
    // Rebuilt each sample, so IRQs that are gone drop out.
    let mut earlier =
        std::mem::replace(&mut kept.rows, HashMap::with_capacity_and_hasher(irqs.len(), FxBuild));
    let mut rows = Vec::with_capacity(irqs.len());
    for &irq in irqs {
        let now = intr.and_then(|i| i.of(irq));
        let (row, moved) = match earlier.remove(&irq) {
            Some((then, Some(row))) if Some(then) == now => (row, false),
            e => (read_row(root, irq, possible)?, e.is_some_and(|(then, _)| Some(then) != now)),
        };
        if let Some(now) = now {
            kept.rows.insert(irq, (now, (!moved).then(|| row.clone())));
        }
        rows.push(row);
    }
    Some(Interrupts { cpus: possible.to_vec(), rows, partial: Some(PER_CPU_COUNT.into()) })
}

fn read_row(root: &Root, irq: u32, possible: &[u32]) -> Option<IrqRow> {
    let path = format!("/sys/kernel/irq/{irq}/per_cpu_count");
    let counts = root.read_with(&path, parse_per_cpu_count).ok()?.ok()?;
    if counts.len() != possible.len() {
        return None;
    }
    let total = counts.nonzero().fold(0u64, |t, (_, c)| t.saturating_add(c));
    Some(IrqRow {
        irq: irq.to_string(),
        counts,
        total,
        extra_counts: Vec::new(),
        text: String::new(),
        chip: None,
        hwirq: None,
        trigger: None,
        actions: Vec::new(),
    })
}

/// `/sys/kernel/irq/N/per_cpu_count`: one `%u` per possible CPU, in CPU id order, joined by `,`,
/// then a newline. The kernel prints into one page and stops where it is full, so on a host with
/// many CPUs and large counts the line is cut short: a line without its newline is refused.
pub fn parse_per_cpu_count(text: &str) -> Result<Counts, ParseError> {
    let Some(body) = text.strip_suffix('\n') else {
        return Err(ParseError::new(1, "cut short (no newline): the page was full"));
    };
    // A tight byte loop: a 512-CPU host has 260 NIC IRQ rows of 512 counts each, every sample.
    let b = body.as_bytes();
    // Most rows are zeros but for a CPU or few: runs of zeros are counted, not written.
    let mut out = Counts::default();
    let mut i = 0;
    // Runs of "0," four at a time, then one at a time.
    const FOUR_ZEROS: u64 = u64::from_ne_bytes(*b"0,0,0,0,");
    loop {
        let run = i;
        while let Some(word) = b.get(i..i + 8) {
            if u64::from_ne_bytes(word.try_into().expect("8 bytes")) != FOUR_ZEROS {
                break;
            }
            i += 8;
        }
        while b.get(i) == Some(&b'0') && b.get(i + 1) == Some(&b',') {
            i += 2;
        }
        out.push_zeros((i - run) / 2);
        let start = i;
        let mut v: u64 = 0;
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
            v = v * 10 + u64::from(d);
            i += 1;
            // `%u`: at most 10 digits, which keeps `v` far from overflowing.
            if i - start > 10 {
                return Err(ParseError::new(1, "a count longer than 10 digits"));
            }
        }
        if i == start {
            return Err(ParseError::new(1, format!("not a count at byte {i}")));
        }
        out.push(v);
        match b.get(i) {
            None => return Ok(out.settled()),
            Some(b',') => i += 1,
            Some(c) => return Err(ParseError::new(1, format!("unexpected byte {:?}", *c as char))),
        }
    }
}

/// A CPU list where an empty line is the empty set (an IRQ not yet started has no effective CPU).
fn read_cpu_list(
    root: &Root,
    path: &str,
) -> std::io::Result<Result<Vec<u32>, crate::source::ParseError>> {
    root.read_with(path, |t| {
        let t = t.trim();
        if t.is_empty() { Ok(Vec::new()) } else { cpuset::parse_list(t) }
    })
}

fn cpu_list_part(
    path: &str,
    r: std::io::Result<Result<Vec<u32>, crate::source::ParseError>>,
) -> Avail<Vec<u32>> {
    match r {
        Ok(r) => crate::source::parsed(path, r),
        Err(e) => Avail::Unavailable(Unavailable::from_io(path, &e)),
    }
}

/// `/sys/kernel/irq/N/actions`: names joined by `,` (no space); empty when no handler is installed.
pub fn parse_actions(text: &str) -> Vec<String> {
    text.trim().split(',').map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect()
}

/// Maps a driver-chosen IRQ action name to the queue it serves, for interface `ifname`:
///
/// - virtio: `virtio2-input.0` rx 0, `virtio2-output.0` tx 0, `virtio2-config` other,
///   `virtio2-virtqueues` (one vector for every queue) combined without index;
/// - `<if>-TxRx-3` (igb, ixgbe, i40e, bnxt, ice), with an optional driver token before it
///   (`i40e-<if>-TxRx-0`, `ice-<if>-TxRx-0`, `iavf-<if>-TxRx-0`): combined 3; `<if>-rx-0`,
///   `<if>-tx-0`: rx / tx; ENA `<if>-Tx-Rx-5` and bnx2x/qede `<if>-fp-2`: combined;
/// - mlx5: `mlx5_comp3@pci:0000:af:00.0` combined 3, any other `mlx5_...` (async, pages, cmd EQs)
///   other; `<driver>-<pci address>:misc` (i40e, ice) other.
///
/// Anything else is None. The interface name must match whole (`eth1` never takes `eth10-TxRx-0`);
/// an action equal to the bare interface name (igb's link vector, or the one INTx vector) is None,
/// because it can be either.
pub fn queue_from_action(action: &str, ifname: &str) -> Option<QueueRef> {
    let a = action.trim();
    let found = |kind, index| Some(QueueRef { kind, index, from: FROM_ACTION_NAME.to_string() });
    if let Some((kind, index)) = virtio_action(a) {
        return found(kind, index);
    }
    if let Some(rest) = a.strip_prefix("mlx5_") {
        if let Some(n) = rest.strip_prefix("comp") {
            let digits = n.split('@').next().unwrap_or("");
            return digits_u32(digits).and_then(|i| found(QueueKind::Combined, Some(i)));
        }
        return found(QueueKind::Other, None);
    }
    if !ifname.is_empty()
        && let Some((kind, index)) = netdev_action(a, ifname)
    {
        return found(kind, Some(index));
    }
    if let Some(head) = a.strip_suffix(":misc") {
        let (drv, _addr) = head.split_once('-')?;
        if is_token(drv) {
            return found(QueueKind::Other, None);
        }
    }
    None
}

fn virtio_action(a: &str) -> Option<(QueueKind, Option<u32>)> {
    let rest = a.strip_prefix("virtio")?;
    let (num, role) = rest.split_once('-')?;
    digits_u32(num)?;
    if let Some(q) = role.strip_prefix("input.") {
        return digits_u32(q).map(|i| (QueueKind::Rx, Some(i)));
    }
    if let Some(q) = role.strip_prefix("output.") {
        return digits_u32(q).map(|i| (QueueKind::Tx, Some(i)));
    }
    match role {
        "config" => Some((QueueKind::Other, None)),
        "virtqueues" => Some((QueueKind::Combined, None)),
        _ => None,
    }
}

/// `<if>-<role>-<n>` or `<driver>-<if>-<role>-<n>`.
fn netdev_action(a: &str, ifname: &str) -> Option<(QueueKind, u32)> {
    fn after_if<'a>(s: &'a str, ifname: &str) -> Option<&'a str> {
        s.strip_prefix(ifname).and_then(|t| t.strip_prefix('-'))
    }
    if let Some(tail) = after_if(a, ifname)
        && let Some(r) = role_index(tail)
    {
        return Some(r);
    }
    let (drv, rest) = a.split_once('-')?;
    if !is_token(drv) {
        return None;
    }
    role_index(after_if(rest, ifname)?)
}

fn role_index(tail: &str) -> Option<(QueueKind, u32)> {
    let (role, n) = tail.rsplit_once('-')?;
    let index = digits_u32(n)?;
    let kind = match role.to_ascii_lowercase().as_str() {
        "txrx" | "tx-rx" | "rxtx" | "rx-tx" | "fp" => QueueKind::Combined,
        "rx" => QueueKind::Rx,
        "tx" => QueueKind::Tx,
        _ => return None,
    };
    Some((kind, index))
}

fn digits_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A driver name token: letters, digits, underscore (no `-`, so it cannot be half an ifname).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn per_cpu_count_is_one_count_per_possible_cpu() {
        assert_eq!(parse_per_cpu_count("0,4932,0,17\n").unwrap(), vec![0, 4932, 0, 17]);
        assert_eq!(parse_per_cpu_count("4294967295\n").unwrap(), vec![4_294_967_295]);
        // A full page ends without the newline: cut short, not a row of fewer CPUs.
        assert!(parse_per_cpu_count("0,1,2").is_err());
        for bad in ["\n", "0,,1\n", "0,1,\n", "0, 1\n", "-1\n"] {
            assert!(parse_per_cpu_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts_are_read_per_irq_or_not_at_all() {
        let d = tempfile::tempdir().unwrap();
        let put = |irq: u32, text: &str| {
            let dir = d.path().join(format!("sys/kernel/irq/{irq}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("per_cpu_count"), text).unwrap();
        };
        put(40, "0,7,0\n");
        put(41, "5,0,1\n");
        put(42, "5,0\n");
        let root = Root::at(d.path());
        let read =
            |irqs: &[u32]| read_counts(&root, irqs, &[0, 1, 3], None, &mut KeptCounts::default());
        let i = read(&[40, 41]).unwrap();
        assert_eq!(i.cpus, vec![0, 1, 3]);
        assert_eq!(i.partial.as_deref(), Some(PER_CPU_COUNT));
        assert_eq!((i.rows[0].irq.as_str(), i.rows[0].total), ("40", 7));
        assert_eq!((i.rows[1].counts.to_vec(), i.rows[1].total), (vec![5, 0, 1], 6));
        assert!(read(&[40, 42]).is_none(), "42 lacks a CPU");
        assert!(read(&[40, 43]).is_none(), "43 has no file");
    }

    #[test]
    fn a_row_is_reused_while_its_intr_count_stays_and_its_columns_are_the_same() {
        let d = tempfile::tempdir().unwrap();
        let put = |text: &str| {
            let dir = d.path().join("sys/kernel/irq/2");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("per_cpu_count"), text).unwrap();
        };
        let root = Root::at(d.path());
        let mut kept = KeptCounts::default();
        let intr = |n: u64| Intr { total: n, irqs: vec![0, 0, n] };
        let mut read = |possible: &[u32], i: Option<&Intr>| {
            read_counts(&root, &[2], possible, i, &mut kept).unwrap().rows[0].counts.to_vec()
        };
        put("1,2\n");
        assert_eq!(read(&[0, 1], Some(&intr(3))), [1, 2]);
        put("1,3\n");
        assert_eq!(read(&[0, 1], Some(&intr(3))), [1, 2], "count unchanged: row kept");
        assert_eq!(read(&[0, 1], Some(&intr(4))), [1, 3], "count moved: read");
        put("1,4\n");
        assert_eq!(read(&[0, 1], Some(&intr(4))), [1, 4], "moved the sample before: read again");
        put("1,5\n");
        assert_eq!(read(&[0, 1], Some(&intr(4))), [1, 4], "quiet two samples: row kept");
        assert_eq!(read(&[0, 1], None), [1, 5], "no intr line: read");
        put("1,6\n");
        assert_eq!(read(&[0, 1], Some(&intr(4))), [1, 6], "nothing kept from the last read");
        put("1,6,7\n");
        assert_eq!(read(&[0, 1, 2], Some(&intr(4))), [1, 6, 7], "other CPUs: read");
        put("1,6,8\n");
        let past_the_line = Intr { total: 4, irqs: vec![4] };
        assert_eq!(read(&[0, 1, 2], Some(&past_the_line)), [1, 6, 8], "IRQ past the line: read");
    }

    proptest! {
        #[test]
        fn per_cpu_count_never_panics(s in "[0-9,\\n]{0,40}") {
            let _ = parse_per_cpu_count(&s);
        }

        /// The byte loop reads what splitting at commas and parsing each count reads, whatever
        /// the runs of zeros around the counts.
        #[test]
        fn per_cpu_count_is_split_and_parse(
            counts in prop::collection::vec(prop_oneof![6 => Just(0u64), 1 => 0u64..=u64::from(u32::MAX)], 1..80),
        ) {
            let text = counts.iter().map(u64::to_string).collect::<Vec<_>>().join(",") + "\n";
            prop_assert_eq!(parse_per_cpu_count(&text).unwrap(), counts);
        }

        /// On rows of a big host's length too, mostly zeros or dense or zeros after a dense
        /// start, held as their density says.
        #[test]
        fn per_cpu_count_reads_big_rows_held_by_density(
            counts in prop_oneof![
                prop::collection::vec(prop_oneof![40 => Just(0u64), 1 => 1u64..=u64::from(u32::MAX)], 1..700),
                (prop::collection::vec(1u64..9, 64..100), prop::collection::vec(0u64..2, 0..600))
                    .prop_map(|(mut a, b)| { a.extend(b); a }),
            ],
        ) {
            let text = counts.iter().map(u64::to_string).collect::<Vec<_>>().join(",") + "\n";
            let got = parse_per_cpu_count(&text).unwrap();
            prop_assert_eq!(got.is_sparse(), Counts::from(counts.clone()).is_sparse());
            prop_assert_eq!(got, counts);
        }
    }

    fn q(a: &str, ifname: &str) -> Option<(QueueKind, Option<u32>)> {
        queue_from_action(a, ifname).map(|r| {
            assert_eq!(r.from, FROM_ACTION_NAME);
            (r.kind, r.index)
        })
    }

    #[test]
    fn action_names() {
        use QueueKind::*;
        assert_eq!(q("virtio2-input.0", "eth0"), Some((Rx, Some(0))));
        assert_eq!(q("virtio2-output.3", "eth0"), Some((Tx, Some(3))));
        assert_eq!(q("virtio2-config", "eth0"), Some((Other, None)));
        assert_eq!(q("virtio0-virtqueues", "eth0"), Some((Combined, None)));
        assert_eq!(q("virtio2-input.", "eth0"), None);
        assert_eq!(q("eth0-TxRx-3", "eth0"), Some((Combined, Some(3))));
        assert_eq!(q("i40e-eth0-TxRx-0", "eth0"), Some((Combined, Some(0))));
        assert_eq!(q("ice-enp162s0f0np0-TxRx-12", "enp162s0f0np0"), Some((Combined, Some(12))));
        assert_eq!(q("eth0-rx-0", "eth0"), Some((Rx, Some(0))));
        assert_eq!(q("eth0-tx-1", "eth0"), Some((Tx, Some(1))));
        assert_eq!(q("eth0-Tx-Rx-5", "eth0"), Some((Combined, Some(5))));
        assert_eq!(q("eth0-fp-2", "eth0"), Some((Combined, Some(2))));
        assert_eq!(q("mlx5_comp3@pci:0000:af:00.0", "ens1f0"), Some((Combined, Some(3))));
        assert_eq!(q("mlx5_comp3", "ens1f0"), Some((Combined, Some(3))));
        assert_eq!(q("mlx5_async0@pci:0000:af:00.0", "ens1f0"), Some((Other, None)));
        assert_eq!(q("mlx5_compx@pci:0000:af:00.0", "ens1f0"), None);
        assert_eq!(q("ice-0000:a2:00.0:misc", "enp162s0f0np0"), Some((Other, None)));
        // Never a neighbour's name.
        assert_eq!(q("eth10-TxRx-0", "eth1"), None);
        assert_eq!(q("i40e-eth10-TxRx-0", "eth1"), None);
        assert_eq!(q("eth1-TxRx-0", "eth10"), None);
        // Ambiguous or unknown.
        assert_eq!(q("eth0", "eth0"), None);
        assert_eq!(q("eth0-0", "eth0"), None);
        assert_eq!(q("eth0-TxRx-", "eth0"), None);
        assert_eq!(q("eth0-TxRx-3", ""), None);
        assert_eq!(q("ahci[0000:00:1f.2]", "eth0"), None);
        // An interface whose name has dashes.
        assert_eq!(q("br-lan-rx-1", "br-lan"), Some((Rx, Some(1))));
    }

    #[test]
    fn actions_list() {
        assert_eq!(parse_actions("virtio2-input.0\n"), ["virtio2-input.0"]);
        assert_eq!(parse_actions("a,b\n"), ["a", "b"]);
        assert!(parse_actions("\n").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(a in "\\PC{0,48}", i in "\\PC{0,16}") {
            let _ = queue_from_action(&a, &i);
            let _ = parse_actions(&a);
        }

        #[test]
        fn mutated_real_names_never_panic(
            base in proptest::sample::select(vec![
                "virtio2-input.0", "eth0-TxRx-3", "i40e-eth0-TxRx-0", "mlx5_comp3@pci:0000:af:00.0",
                "eth0-Tx-Rx-5", "ice-0000:a2:00.0:misc",
            ]),
            cut in 0usize..40,
            ins in "\\PC{0,3}",
        ) {
            let mut s: String = base.chars().take(cut).collect();
            s.push_str(&ins);
            s.extend(base.chars().skip(cut));
            let _ = queue_from_action(&s, "eth0");
        }

        #[test]
        fn ifname_must_match_whole(n in 0u32..1000, suffix in "[0-9a-z]{1,3}") {
            let other = format!("eth1{suffix}-TxRx-{n}");
            prop_assert!(queue_from_action(&other, "eth1").is_none());
            let own = format!("eth1-TxRx-{n}");
            prop_assert_eq!(
                queue_from_action(&own, "eth1").map(|r| (r.kind, r.index)),
                Some((QueueKind::Combined, Some(n)))
            );
        }
    }
}
