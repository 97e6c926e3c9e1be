//! Synthetic hosts as fixture trees: `proc/` and `sys/` laid out as rxpath reads them on a live
//! kernel (sysfs symlinks included), for any number of CPUs, NUMA nodes, NICs and queues.
//!
//! Deterministic: the same `Spec` and `tick` always write the same bytes. Counters are
//! `base + tick × rate` with a base and rate drawn from a hash of the counter's identity, so two
//! trees written with ticks 0 and 1 are one second apart on a host where every counter moves at its
//! own steady rate (`Delta::between` gives real rates).
//!
//! Included with `#[path]` by the benches, examples and tests; not part of the library.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What host to build.
#[derive(Clone, Debug)]
pub struct Spec {
    pub cpus: u32,
    pub nodes: u32,
    /// Physical NICs (`eth0`, `eth1`, ...), each on its own PCI function with MSI-X vectors: one
    /// misc vector, then one combined vector per queue.
    pub nics: u32,
    pub queues: u32,
    /// One virtio_net NIC instead (`eth0` on `virtio0`, vectors on the PCI parent); `nics` and
    /// `queues` still say how many.
    pub virtio: bool,
    /// Total rows of /proc/interrupts (numbered and per-arch), at least what the NICs need.
    pub interrupt_lines: u32,
    pub udp_sockets: u32,
    /// Linux IRQ number of the first NIC vector.
    pub first_nic_irq: u32,
}

impl Spec {
    /// 512 CPUs over 8 NUMA nodes, 4 NICs × 64 queues, ~2,000 interrupt lines, 10,000 UDP sockets.
    pub fn big() -> Spec {
        Spec {
            cpus: 512,
            nodes: 8,
            nics: 4,
            queues: 64,
            virtio: false,
            interrupt_lines: 2000,
            udp_sockets: 10_000,
            first_nic_irq: 100,
        }
    }

    /// A 2-CPU VM with one single-queue virtio NIC.
    pub fn small() -> Spec {
        Spec {
            cpus: 2,
            nodes: 1,
            nics: 1,
            queues: 1,
            virtio: true,
            interrupt_lines: 40,
            udp_sockets: 4,
            first_nic_irq: 28,
        }
    }

    pub fn preset(name: &str) -> Option<Spec> {
        match name {
            "big" => Some(Spec::big()),
            "small" => Some(Spec::small()),
            _ => None,
        }
    }

    pub fn nic_name(&self, n: u32) -> String {
        format!("eth{n}")
    }

    /// The NIC's PCI function (bus device: owns the MSI-X vectors and the NUMA placement).
    pub fn pci_dev(&self, n: u32) -> String {
        format!("/sys/devices/pci0000:00/0000:00:{:02x}.0", 5 + n)
    }

    fn pci_addr(&self, n: u32) -> String {
        format!("0000:00:{:02x}.0", 5 + n)
    }

    /// The device the interface sits on: the PCI function, or `virtioN` below it.
    pub fn net_device(&self, n: u32) -> String {
        if self.virtio { format!("{}/virtio{n}", self.pci_dev(n)) } else { self.pci_dev(n) }
    }

    pub fn node_of_nic(&self, n: u32) -> u32 {
        n % self.nodes.max(1)
    }

    fn cpus_per_node(&self) -> u32 {
        (self.cpus / self.nodes.max(1)).max(1)
    }

    pub fn node_cpus(&self, node: u32) -> (u32, u32) {
        let per = self.cpus_per_node();
        let first = node * per;
        let last = if node + 1 == self.nodes.max(1) { self.cpus - 1 } else { first + per - 1 };
        (first, last.min(self.cpus - 1))
    }

    /// IRQ numbers of NIC `n`, and for each the queue it serves (None for the misc/config vector).
    pub fn nic_irqs(&self, n: u32) -> Vec<(u32, Option<u32>)> {
        if self.virtio {
            // config, then input.q / output.q pairs: only the input vectors are listed as queues.
            let base = self.first_nic_irq + n * (1 + 2 * self.queues);
            let mut v = vec![(base, None)];
            for q in 0..self.queues {
                v.push((base + 1 + 2 * q, Some(q)));
                v.push((base + 2 + 2 * q, None));
            }
            return v;
        }
        let base = self.first_nic_irq + n * (self.queues + 1);
        std::iter::once((base, None))
            .chain((0..self.queues).map(|q| (base + 1 + q, Some(q))))
            .collect()
    }

    fn nic_action(&self, n: u32, irq_index: usize, queue: Option<u32>) -> String {
        if self.virtio {
            return match (irq_index, queue) {
                (0, _) => format!("virtio{n}-config"),
                (_, Some(q)) => format!("virtio{n}-input.{q}"),
                (i, None) => format!("virtio{n}-output.{}", (i - 2) / 2),
            };
        }
        match queue {
            Some(q) => format!("{}-TxRx-{q}", self.nic_name(n)),
            None => format!("ice-{}:misc", self.pci_addr(n)),
        }
    }

    /// The CPU a queue's IRQ is steered to: the NIC's own node, one CPU per queue.
    pub fn queue_cpu(&self, n: u32, q: u32) -> u32 {
        let (first, _) = self.node_cpus(self.node_of_nic(n));
        (first + q) % self.cpus.max(1)
    }
}

/// splitmix64: a stable hash, so every counter has its own base and rate.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn key(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5eed, |h, &p| mix(h ^ p))
}

/// A counter `tick` seconds in: a base below `scale` and a rate below `scale / 1000`.
fn counter(k: u64, scale: u64, tick: u64) -> u64 {
    let base = mix(k) % scale.max(1);
    let rate = mix(k ^ 0xabcd) % (scale / 1000).max(1);
    base + tick * rate
}

fn str_key(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

struct Tree {
    root: PathBuf,
}

impl Tree {
    fn file(&self, kernel_path: &str, text: &str) -> io::Result<()> {
        let p = self.root.join(kernel_path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(p, text)
    }

    /// A symlink with a relative target, as sysfs has them; kept when it is already there, so a
    /// later tick can be written over the same tree.
    fn link(&self, kernel_path: &str, target: &str) -> io::Result<()> {
        let p = self.root.join(kernel_path.trim_start_matches('/'));
        if fs::symlink_metadata(&p).is_ok() {
            return Ok(());
        }
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        std::os::unix::fs::symlink(target, p)
    }
}

/// Writes the host described by `spec`, its counters `tick` seconds in, under `dir`. Writing a
/// later tick over the same directory rewrites every file in place.
pub fn write(dir: &Path, spec: &Spec, tick: u64) -> io::Result<()> {
    let t = Tree { root: dir.to_path_buf() };
    let all = format!("0-{}\n", spec.cpus - 1);
    t.file("/proc/sys/kernel/hostname", &format!("synth-{}cpu\n", spec.cpus))?;
    t.file("/proc/sys/kernel/osrelease", "6.18.0-synth\n")?;
    for f in ["online", "possible", "present"] {
        t.file(&format!("/sys/devices/system/cpu/{f}"), &all)?;
    }
    for node in 0..spec.nodes {
        let (a, b) = spec.node_cpus(node);
        t.file(&format!("/sys/devices/system/node/node{node}/cpulist"), &format!("{a}-{b}\n"))?;
    }
    sysctls(&t, spec)?;
    nics(&t, spec, tick)?;
    loopback(&t, tick)?;
    let numbered = interrupts(&t, spec, tick)?;
    t.file("/proc/stat", &stat(spec, &numbered, tick))?;
    t.file("/proc/softirqs", &softirqs(spec, tick))?;
    t.file("/proc/net/softnet_stat", &softnet(spec, tick))?;
    t.file("/proc/net/dev", &netdev(spec, tick))?;
    t.file("/proc/net/snmp", &snmp(SNMP, tick))?;
    t.file("/proc/net/netstat", &snmp(NETSTAT, tick))?;
    t.file("/proc/net/snmp6", &snmp6(tick))?;
    t.file("/proc/net/udp", &udp(spec, tick))?;
    t.file("/proc/net/udp6", &format!("{:<127}\n", UDP6_HEADER))?;
    t.file(
        "/proc/net/packet",
        "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n",
    )?;
    Ok(())
}

const SNMP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/trees/linux-6.18-virtio/proc/net/snmp"
));
const NETSTAT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/trees/linux-6.18-virtio/proc/net/netstat"
));
const SNMP6: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/trees/linux-6.18-virtio/proc/net/snmp6"
));

fn sysctls(t: &Tree, spec: &Spec) -> io::Result<()> {
    let groups = spec.cpus.div_ceil(32) as usize;
    let zero_mask = vec!["00000000"; groups].join(",");
    let values: [(&str, String); 18] = [
        ("net/core/netdev_budget", "300".into()),
        ("net/core/netdev_budget_usecs", "2000".into()),
        ("net/core/dev_weight", "64".into()),
        ("net/core/dev_weight_rx_bias", "1".into()),
        ("net/core/gro_normal_batch", "8".into()),
        ("net/core/busy_poll", "0".into()),
        ("net/core/busy_read", "0".into()),
        ("net/core/netdev_max_backlog", "1000".into()),
        ("net/core/flow_limit_cpu_bitmap", zero_mask),
        ("net/core/flow_limit_table_len", "4096".into()),
        ("net/core/rps_sock_flow_entries", "0".into()),
        ("net/core/netdev_tstamp_prequeue", "1".into()),
        ("net/core/rmem_default", "212992".into()),
        ("net/core/rmem_max", "212992".into()),
        ("net/ipv4/udp_mem", "7596774\t10129034\t15193548".into()),
        ("net/ipv4/udp_rmem_min", "4096".into()),
        ("net/ipv4/tcp_rmem", "4096\t131072\t6291456".into()),
        ("net/core/somaxconn", "4096".into()),
    ];
    for (p, v) in values {
        t.file(&format!("/proc/sys/{p}"), &format!("{v}\n"))?;
    }
    Ok(())
}

/// A `cpumask` as sysfs prints it: 32-bit hex groups, most significant first.
fn mask(ncpus: u32, set: &[u32]) -> String {
    let groups = ncpus.div_ceil(32).max(1) as usize;
    let mut words = vec![0u32; groups];
    for &c in set {
        if let Some(w) = words.get_mut((c / 32) as usize) {
            *w |= 1 << (c % 32);
        }
    }
    let parts: Vec<String> = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    format!("{}\n", parts.join(","))
}

const STATISTICS: [&str; 24] = [
    "collisions",
    "multicast",
    "rx_bytes",
    "rx_compressed",
    "rx_crc_errors",
    "rx_dropped",
    "rx_errors",
    "rx_fifo_errors",
    "rx_frame_errors",
    "rx_length_errors",
    "rx_missed_errors",
    "rx_nohandler",
    "rx_over_errors",
    "rx_packets",
    "tx_aborted_errors",
    "tx_bytes",
    "tx_carrier_errors",
    "tx_compressed",
    "tx_dropped",
    "tx_errors",
    "tx_fifo_errors",
    "tx_heartbeat_errors",
    "tx_packets",
    "tx_window_errors",
];

/// A named interface counter: packets and bytes move fast, drops slowly, the rest not at all.
fn if_counter(ifname: &str, name: &str, tick: u64) -> u64 {
    let k = key(&[str_key(ifname), str_key(name)]);
    match name {
        "rx_bytes" | "tx_bytes" => counter(k, 1 << 40, tick),
        "rx_packets" | "tx_packets" | "multicast" => counter(k, 1 << 32, tick),
        "rx_dropped" | "rx_missed_errors" | "tx_dropped" => counter(k, 1 << 20, tick),
        _ => 0,
    }
}

fn statistics(t: &Tree, dir: &str, ifname: &str, tick: u64) -> io::Result<()> {
    for s in STATISTICS {
        t.file(&format!("{dir}/statistics/{s}"), &format!("{}\n", if_counter(ifname, s, tick)))?;
    }
    Ok(())
}

fn loopback(t: &Tree, tick: u64) -> io::Result<()> {
    let dir = "/sys/devices/virtual/net/lo";
    t.link("/sys/class/net/lo", "../../devices/virtual/net/lo")?;
    for (f, v) in [
        ("ifindex", "1"),
        ("iflink", "1"),
        ("type", "772"),
        ("flags", "0x9"),
        ("operstate", "unknown"),
        ("carrier", "1"),
        ("dormant", "0"),
        ("mtu", "65536"),
        ("tx_queue_len", "1000"),
        ("address", "00:00:00:00:00:00"),
        ("gro_flush_timeout", "0"),
        ("napi_defer_hard_irqs", "0"),
        ("threaded", "0"),
        ("queues/rx-0/rps_cpus", "0"),
        ("queues/rx-0/rps_flow_cnt", "0"),
    ] {
        t.file(&format!("{dir}/{f}"), &format!("{v}\n"))?;
    }
    statistics(t, dir, "lo", tick)
}

fn nics(t: &Tree, spec: &Spec, tick: u64) -> io::Result<()> {
    let groups = spec.cpus.div_ceil(32).max(1) as usize;
    let zero_mask = format!("{}\n", vec!["00000000"; groups].join(","));
    for n in 0..spec.nics {
        let name = spec.nic_name(n);
        let pci = spec.pci_dev(n);
        let dev = spec.net_device(n);
        let dir = format!("{dev}/net/{name}");
        t.link(&format!("/sys/class/net/{name}"), &format!("../..{}", &dir["/sys".len()..]))?;
        let dev_base = dev.rsplit('/').next().unwrap_or("");
        t.link(&format!("{dir}/device"), &format!("../../../{dev_base}"))?;
        let driver = if spec.virtio { "virtio_net" } else { "ice" };
        let bus = if spec.virtio { "virtio" } else { "pci" };
        let dev_depth = dev.trim_start_matches('/').split('/').count() - 1;
        t.link(
            &format!("{dev}/driver"),
            &format!("{}bus/{bus}/drivers/{driver}", "../".repeat(dev_depth)),
        )?;
        let node = spec.node_of_nic(n);
        let (a, b) = spec.node_cpus(node);
        t.file(&format!("{pci}/numa_node"), &format!("{node}\n"))?;
        t.file(&format!("{pci}/local_cpulist"), &format!("{a}-{b}\n"))?;
        let attrs = [
            ("ifindex", format!("{}", n + 2)),
            ("iflink", format!("{}", n + 2)),
            ("type", "1".into()),
            ("flags", "0x1003".into()),
            ("operstate", "up".into()),
            ("carrier", "1".into()),
            ("dormant", "0".into()),
            ("speed", if spec.virtio { "-1".into() } else { "100000".into() }),
            ("duplex", "full".into()),
            ("mtu", "1500".into()),
            ("tx_queue_len", "1000".into()),
            ("address", format!("02:00:00:00:00:{:02x}", n + 1)),
            ("gro_flush_timeout", "0".into()),
            ("napi_defer_hard_irqs", "0".into()),
            ("threaded", "0".into()),
        ];
        for (f, v) in attrs {
            t.file(&format!("{dir}/{f}"), &format!("{v}\n"))?;
        }
        statistics(t, &dir, &name, tick)?;
        for q in 0..spec.queues {
            let rx = format!("{dir}/queues/rx-{q}");
            t.file(&format!("{rx}/rps_cpus"), &zero_mask)?;
            t.file(&format!("{rx}/rps_flow_cnt"), "0\n")?;
            let tx = format!("{dir}/queues/tx-{q}");
            t.file(&format!("{tx}/xps_cpus"), &mask(spec.cpus, &[spec.queue_cpu(n, q)]))?;
            t.file(&format!("{tx}/xps_rxqs"), &mask(spec.queues, &[q]))?;
            t.file(&format!("{tx}/tx_maxrate"), "0\n")?;
            for (f, v) in [
                ("hold_time", "1000"),
                ("inflight", "0"),
                ("limit", "30000"),
                ("limit_max", "1879048192"),
                ("limit_min", "0"),
            ] {
                t.file(&format!("{tx}/byte_queue_limits/{f}"), &format!("{v}\n"))?;
            }
        }
        for (i, (irq, queue)) in spec.nic_irqs(n).into_iter().enumerate() {
            t.file(&format!("{pci}/msi_irqs/{irq}"), "msix\n")?;
            let sys = format!("/sys/kernel/irq/{irq}");
            t.file(&format!("{sys}/actions"), &format!("{}\n", spec.nic_action(n, i, queue)))?;
            t.file(&format!("{sys}/chip_name"), "IR-PCI-MSIX\n")?;
            t.file(&format!("{sys}/hwirq"), &format!("{}\n", i))?;
            t.file(&format!("{sys}/type"), "edge\n")?;
            let cpu = queue.map_or(a, |q| spec.queue_cpu(n, q));
            let proc = format!("/proc/irq/{irq}");
            t.file(&format!("{proc}/smp_affinity_list"), &format!("{a}-{b}\n"))?;
            t.file(&format!("{proc}/effective_affinity_list"), &format!("{cpu}\n"))?;
            t.file(&format!("{proc}/node"), &format!("{node}\n"))?;
        }
    }
    Ok(())
}

const ARCH_ROWS: [(&str, &str); 19] = [
    ("NMI", "Non-maskable interrupts"),
    ("LOC", "Local timer interrupts"),
    ("SPU", "Spurious interrupts"),
    ("PMI", "Performance monitoring interrupts"),
    ("IWI", "IRQ work interrupts"),
    ("RTR", "APIC ICR read retries"),
    ("RES", "Rescheduling interrupts"),
    ("CAL", "Function call interrupts"),
    ("TLB", "TLB shootdowns"),
    ("TRM", "Thermal event interrupts"),
    ("THR", "Threshold APIC interrupts"),
    ("DFR", "Deferred Error APIC interrupts"),
    ("MCE", "Machine check exceptions"),
    ("MCP", "Machine check polls"),
    ("ERR", ""),
    ("MIS", ""),
    ("PIN", "Posted-interrupt notification event"),
    ("NPI", "Nested posted-interrupt event"),
    ("PIW", "Posted-interrupt wakeup event"),
];

/// Writes /proc/interrupts; returns every numbered IRQ with its total (for /proc/stat `intr`).
fn interrupts(t: &Tree, spec: &Spec, tick: u64) -> io::Result<Vec<(u32, u64)>> {
    // (irq, chip, hwirq, action, the one CPU it fires on)
    let mut rows: Vec<(u32, String, u32, String, u32)> = Vec::new();
    for irq in [0u32, 1, 8, 9, 12] {
        rows.push((irq, "IO-APIC".into(), irq, format!("legacy{irq}"), 0));
    }
    for n in 0..spec.nics {
        let chip = format!("IR-PCI-MSIX-{}", spec.pci_addr(n));
        for (i, (irq, queue)) in spec.nic_irqs(n).into_iter().enumerate() {
            let cpu = queue.map_or(spec.node_cpus(spec.node_of_nic(n)).0, |q| spec.queue_cpu(n, q));
            rows.push((irq, chip.clone(), i as u32, spec.nic_action(n, i, queue), cpu));
        }
    }
    let arch = ARCH_ROWS.len() as u32;
    let mut next = rows.iter().map(|r| r.0).max().unwrap_or(0) + 1;
    let mut filler = 0u32;
    while (rows.len() as u32) + arch < spec.interrupt_lines {
        // NVMe queues: one vector per CPU, as many drives as it takes.
        let (drive, q) = (filler / spec.cpus.max(1), filler % spec.cpus.max(1));
        let chip = format!("IR-PCI-MSIX-0000:{:02x}:00.0", 0x40 + drive);
        rows.push((next, chip, q, format!("nvme{drive}q{q}"), q));
        next += 1;
        filler += 1;
    }
    rows.sort_by_key(|r| r.0);
    let prec = next.to_string().len().max(3);
    let mut s =
        String::with_capacity((spec.interrupt_lines as usize + 1) * (spec.cpus as usize * 11 + 64));
    s.push_str(&" ".repeat(prec + 1));
    for c in 0..spec.cpus {
        let _ = write!(s, " {:<10}", format!("CPU{c}"));
    }
    s.push('\n');
    let mut totals = Vec::with_capacity(rows.len());
    for (irq, chip, hwirq, action, on) in &rows {
        let _ = write!(s, "{irq:>prec$}:");
        let v = counter(key(&[u64::from(*irq), 1]), 1 << 30, tick);
        for c in 0..spec.cpus {
            let _ = write!(s, " {:>10}", if c == *on { v } else { 0 });
        }
        let _ = writeln!(s, " {chip:>8} {hwirq:>prec$}-edge      {action}");
        totals.push((*irq, v));
        // The same counts in sysfs, one per possible CPU (`%u` joined by commas).
        let mut per_cpu = String::with_capacity(spec.cpus as usize * 2 + 12);
        for c in 0..spec.cpus {
            let sep = if c == 0 { "" } else { "," };
            let _ = write!(per_cpu, "{sep}{}", if c == *on { v } else { 0 });
        }
        per_cpu.push('\n');
        t.file(&format!("/sys/kernel/irq/{irq}/per_cpu_count"), &per_cpu)?;
    }
    for (label, text) in ARCH_ROWS {
        let _ = write!(s, "{label:>prec$}:");
        if text.is_empty() {
            let _ = writeln!(s, " {:>10}", 0);
            continue;
        }
        for c in 0..spec.cpus {
            let _ =
                write!(s, " {:>10}", counter(key(&[str_key(label), u64::from(c)]), 1 << 24, tick));
        }
        let _ = writeln!(s, "   {text}");
    }
    t.file("/proc/interrupts", &s)?;
    Ok(totals)
}

fn cpu_times(cpu: u64, tick: u64) -> [u64; 10] {
    let mut v = [0u64; 10];
    for (i, f) in v.iter_mut().enumerate() {
        // user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ: a start
        // value, then at most this many ticks a second, busy ones below 60 of the 100 a CPU has.
        let (scale, per_tick) = match i {
            0 => (1 << 22, 30),
            2 => (1 << 22, 15),
            6 => (1 << 22, 10),
            5 => (1 << 16, 3),
            4 => (1 << 16, 2),
            _ => (0, 0),
        };
        let k = key(&[cpu, i as u64, 7]);
        *f = if scale == 0 { 0 } else { mix(k) % scale + tick * (mix(k ^ 0xabcd) % per_tick) };
    }
    // 100 USER_HZ per second per CPU in total: idle takes what the others leave.
    let busy: u64 = v.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, x)| x).sum();
    v[3] = (tick + 1_000_000) * 100 - busy.min((tick + 1_000_000) * 100);
    v
}

fn stat(spec: &Spec, irqs: &[(u32, u64)], tick: u64) -> String {
    let per: Vec<[u64; 10]> = (0..spec.cpus).map(|c| cpu_times(u64::from(c), tick)).collect();
    let mut sum = [0u64; 10];
    for row in &per {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    let fmt = |v: &[u64; 10]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    let mut s = format!("cpu  {}\n", fmt(&sum));
    for (c, row) in per.iter().enumerate() {
        let _ = writeln!(s, "cpu{c} {}", fmt(row));
    }
    // Each IRQ's count is the sum of what per_cpu_count and /proc/interrupts show for it, moving
    // with them: a Sampler reads per_cpu_count again only when this count moved.
    let max = irqs.iter().map(|r| r.0).max().unwrap_or(0);
    let mut by_irq = vec![0u64; max as usize + 1];
    for &(irq, v) in irqs {
        by_irq[irq as usize] = v;
    }
    let total: u64 = by_irq.iter().sum();
    let _ = write!(s, "intr {total}");
    for v in &by_irq {
        let _ = write!(s, " {v}");
    }
    s.push('\n');
    let _ = writeln!(s, "ctxt {}", counter(11, 1 << 40, tick));
    s.push_str("btime 1795314221\n");
    let _ = writeln!(s, "processes {}", counter(12, 1 << 24, tick));
    s.push_str("procs_running 3\nprocs_blocked 0\n");
    let softirq: Vec<u64> = (0..10).map(|i| counter(key(&[i, 99]), 1 << 36, tick)).collect();
    let _ = writeln!(
        s,
        "softirq {} {}",
        softirq.iter().sum::<u64>(),
        softirq.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
    );
    s
}

const SOFTIRQS: [&str; 10] =
    ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

fn softirqs(spec: &Spec, tick: u64) -> String {
    let mut s = String::from("                    ");
    for c in 0..spec.cpus {
        let _ = write!(s, "{:<11}", format!("CPU{c}"));
    }
    s.push('\n');
    for (i, name) in SOFTIRQS.iter().enumerate() {
        let _ = write!(s, "{name:>12}:");
        for c in 0..spec.cpus {
            let v = counter(key(&[i as u64, u64::from(c), 3]), 1 << 30, tick) as u32;
            let _ = write!(s, " {v:>10}");
        }
        s.push('\n');
    }
    s
}

/// 15 columns (6.4+), `%08x`, counters wrapping at 2^32 like the kernel's.
fn softnet(spec: &Spec, tick: u64) -> String {
    let mut s = String::with_capacity(spec.cpus as usize * 135);
    for c in 0..spec.cpus {
        let k = |f: u64| key(&[u64::from(c), f, 5]);
        let processed = counter(k(0), 1 << 32, tick) as u32;
        let dropped = counter(k(1), 1 << 12, tick) as u32;
        let squeeze = counter(k(2), 1 << 16, tick) as u32;
        let rps = counter(k(9), 1 << 20, tick) as u32;
        let flow = counter(k(10), 1 << 8, tick) as u32;
        let cols = [processed, dropped, squeeze, 0, 0, 0, 0, 0, 0, rps, flow, 0, c, 0, 0];
        let line: Vec<String> = cols.iter().map(|v| format!("{v:08x}")).collect();
        s.push_str(&line.join(" "));
        s.push('\n');
    }
    s
}

fn netdev(spec: &Spec, tick: u64) -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    let names: Vec<String> =
        std::iter::once("lo".to_string()).chain((0..spec.nics).map(|n| spec.nic_name(n))).collect();
    for name in &names {
        let c = |f: &str| if_counter(name, f, tick);
        let _ = writeln!(
            s,
            "{name:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            c("rx_bytes"),
            c("rx_packets"),
            c("rx_errors"),
            c("rx_dropped") + c("rx_missed_errors"),
            c("rx_fifo_errors"),
            c("rx_frame_errors"),
            c("rx_compressed"),
            c("multicast"),
            c("tx_bytes"),
            c("tx_packets"),
            c("tx_errors"),
            c("tx_dropped"),
            c("tx_fifo_errors"),
            c("collisions"),
            c("tx_carrier_errors"),
            c("tx_compressed"),
        );
    }
    s
}

/// The real 6.18 file's fields, each value made a counter of its own (negative ones kept).
fn snmp(template: &str, tick: u64) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut s = String::with_capacity(template.len() * 2);
    for line in template.lines() {
        let Some((name, rest)) = line.split_once(':') else { continue };
        if seen.insert(name.to_string()) {
            s.push_str(line);
            s.push('\n');
            continue;
        }
        s.push_str(name);
        s.push(':');
        for (i, v) in rest.split_whitespace().enumerate() {
            if v.starts_with('-') || (name == "Ip" && i < 2) {
                let _ = write!(s, " {v}");
            } else {
                let _ = write!(s, " {}", counter(key(&[str_key(name), i as u64]), 1 << 32, tick));
            }
        }
        s.push('\n');
    }
    s
}

fn snmp6(tick: u64) -> String {
    let mut s = String::with_capacity(SNMP6.len());
    for line in SNMP6.lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let _ = writeln!(s, "{name:<32}\t{}", counter(str_key(name), 1 << 32, tick));
    }
    s
}

const UDP_HEADER: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const UDP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";

/// `udp4_format_sock`, each row padded to 127 columns like `seq_pad`.
fn udp(spec: &Spec, tick: u64) -> String {
    let mut s = String::with_capacity((spec.udp_sockets as usize + 1) * 128);
    let _ = writeln!(s, "{UDP_HEADER:<127}");
    for i in 0..spec.udp_sockets {
        let k = |f: u64| key(&[u64::from(i), f, 17]);
        let port = 1024 + (i % 60000);
        // 127.0.0.1 as the little-endian host prints it, and 10.x.y.z for the rest.
        let local: u32 = if i % 4 == 0 { 0x0100_007F } else { 0x0000_000A | (i << 8) };
        let slot = (mix(u64::from(port)) % 2048) as u32;
        let busy = i % 50 == 0;
        let rx_queue = if busy { (mix(k(1) ^ tick) % 200_000) as u32 } else { 0 };
        let drops = if busy { counter(k(2), 1 << 20, tick) as u32 } else { 0 };
        let row = format!(
            "{slot:>5}: {local:08X}:{port:04X} 00000000:0000 07 00000000:{rx_queue:08X} 00:00000000 00000000 {uid:>5} {timeout:>8} {inode} 2 {ptr:016x} {drops}",
            uid = 1000 + i % 7,
            timeout = 0,
            inode = 100_000 + u64::from(i),
            ptr = mix(k(3)),
        );
        let _ = writeln!(s, "{row:<127}");
    }
    s
}
