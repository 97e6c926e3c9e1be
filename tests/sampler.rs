//! `Sampler`: files kept open and re-read give what one-shot reads give, through changes of the
//! tree, removals and captures, except for what it documents: settings re-read in turn (TX queue
//! settings every few turns), only the NIC IRQs' per-CPU counts (each read again only when its
//! /proc/stat `intr` count moved), and the UDP socket table re-read only when a UDP error counter
//! moved.

#[path = "../benches/synth/mod.rs"]
mod synth;

use rxpath::delta::Delta;
use rxpath::source::Name;
use rxpath::source::irq::PER_CPU_COUNT;
use rxpath::{Root, Sample, Sampler};
use std::fs;
use std::path::Path;
use std::sync::Arc;

const VIRTIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/linux-6.18-virtio");
const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/capture-6.18-vm");

/// A sampler's sample against a one-shot one: the NIC IRQ rows read from per_cpu_count must hold
/// the counts /proc/interrupts has for those IRQs on the same CPUs; all the rest must be equal.
fn assert_same(mut sampled: Sample, once: &Sample, what: &str) {
    let full = once.interrupts.value().expect("one-shot /proc/interrupts");
    if let Some(part) = sampled.interrupts.value().filter(|i| i.partial.is_some()) {
        assert_eq!(part.partial.as_deref(), Some(PER_CPU_COUNT), "{what}");
        assert_eq!(part.rows.len(), once.nic_irqs().len(), "{what}: the NIC IRQs only");
        for row in &part.rows {
            let f =
                full.rows.iter().find(|r| r.irq == row.irq).expect("NIC IRQ in /proc/interrupts");
            assert_eq!(row.total, f.total, "{what}: IRQ {}", row.irq);
            for (cpu, count) in full.cpus.iter().zip(f.counts.iter()) {
                let i = part.cpus.iter().position(|c| c == cpu).expect("online CPU is possible");
                assert_eq!(row.counts[i], count, "{what}: IRQ {} CPU {cpu}", row.irq);
            }
        }
        sampled.interrupts = once.interrupts.clone();
    }
    assert_eq!(&sampled, once, "{what}");
}

fn same_as_one_shot(dir: &Path) {
    let mut sampler = Sampler::every(Root::at(dir), 1);
    let once = Sample::take(&Root::at(dir));
    for round in 0..3 {
        assert_same(sampler.take(), &once, &format!("{} round {round}", dir.display()));
    }
    assert!(sampler.root().open_files() > 10, "{}: files are kept open", dir.display());
}

#[test]
fn fixture_trees_and_captures_read_the_same() {
    same_as_one_shot(Path::new(VIRTIO));
    same_as_one_shot(Path::new(CAPTURE));
    let small = tempfile::tempdir().unwrap();
    synth::write(small.path(), &synth::Spec::small(), 0).unwrap();
    same_as_one_shot(small.path());
}

#[test]
fn big_synthetic_host_reads_the_same() {
    let big = tempfile::tempdir().unwrap();
    synth::write(big.path(), &synth::Spec::big(), 0).unwrap();
    let mut sampler = Sampler::new(Root::at(big.path()));
    let s = sampler.take();
    assert_eq!(s.cpus.online.value().unwrap().len(), 512);
    // 4 NICs × (64 queue vectors + 1 misc), not the 2,000 rows of /proc/interrupts.
    assert_eq!(s.interrupts.value().unwrap().rows.len(), 260);
    assert_eq!(s.udp.udp.value().unwrap().len(), 10_000);
    let eth3 = s.interface("eth3").unwrap();
    assert_eq!(eth3.irqs.value().unwrap().len(), 65);
    assert_eq!(eth3.queues.value().unwrap().rx.len(), 64);
    let once = Sample::take(&Root::at(big.path()));
    assert_eq!(once.interrupts.value().unwrap().rows.len(), 2000);
    let before = s.interrupts.clone();
    assert_same(s, &once, "big");
    // Every file of the sample is kept open (within half the descriptor limit).
    assert!(sampler.root().open_files() > 4000, "{}", sampler.root().open_files());
    // A tick moves every NIC IRQ, in per_cpu_count and /proc/stat's `intr` alike (what
    // examples/tick times): each is read again, none kept.
    synth::write(big.path(), &synth::Spec::big(), 1).unwrap();
    let later = sampler.take();
    let (rows0, rows1) = (&before.value().unwrap().rows, &later.interrupts.value().unwrap().rows);
    assert_eq!(rows1.len(), 260);
    assert!(rows0.iter().zip(rows1).all(|(a, b)| a.irq == b.irq && a.total != b.total));
}

#[test]
fn rewritten_files_are_read_anew() {
    let dir = tempfile::tempdir().unwrap();
    let spec = synth::Spec::small();
    synth::write(dir.path(), &spec, 0).unwrap();
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    let first = sampler.take();
    // Written in place (same inodes), as the kernel's files change under an open descriptor.
    synth::write(dir.path(), &spec, 5).unwrap();
    let later = sampler.take();
    let processed = |s: &Sample| s.softnet.value().unwrap().rows[0].processed;
    assert_ne!(processed(&first), processed(&later), "tick 5 moved the counters");
    assert_same(later, &Sample::take(&Root::at(dir.path())), "tick 5");
}

#[test]
fn removed_and_replaced_files_are_not_read_from_stale_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    sampler.take();
    let net = dir.path().join("sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth0");
    // Replaced by rename (a new inode), and removed outright.
    let mtu = net.join("mtu");
    fs::write(net.join("mtu.new"), "9000\n").unwrap();
    fs::rename(net.join("mtu.new"), &mtu).unwrap();
    fs::remove_file(net.join("statistics/rx_dropped")).unwrap();
    fs::remove_file(dir.path().join("proc/net/snmp")).unwrap();
    let s = sampler.take();
    let eth0 = s.interface("eth0").unwrap();
    assert_eq!(eth0.sysfs.mtu.value(), Some(&9000));
    assert!(!eth0.sysfs.statistics.value().unwrap().contains_key("rx_dropped"));
    assert!(s.snmp.unavailable().unwrap().why.contains("not present"), "{:?}", s.snmp);
    assert_same(s, &Sample::take(&Root::at(dir.path())), "after removals");
}

#[test]
fn a_tree_replaced_whole_is_read_anew_at_the_next_sample() {
    let parent = tempfile::tempdir().unwrap();
    let [tree, next, old] = ["host", "next", "old"].map(|d| parent.path().join(d));
    let spec = synth::Spec::small();
    synth::write(&tree, &spec, 0).unwrap();
    // The default pace: a kept file's own link count is checked only once a period.
    let mut sampler = Sampler::new(Root::at(&tree));
    let first = sampler.take();
    sampler.take();
    // A newer copy renamed into place; the old one keeps its files (and their names) elsewhere.
    synth::write(&next, &spec, 5).unwrap();
    fs::rename(&tree, &old).unwrap();
    fs::rename(&next, &tree).unwrap();
    let later = sampler.take();
    let processed = |s: &Sample| s.softnet.value().unwrap().rows[0].processed;
    assert_ne!(processed(&first), processed(&later), "tick 5 moved the counters");
    assert_same(later, &Sample::take(&Root::at(&tree)), "the new tree");
}

const ETH0: &str = "sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth0";

/// Every counter name of /proc/net/snmp, netstat, snmp6 and dev in a sample, in order.
fn counter_names(s: &Sample) -> Vec<Name> {
    let mut names = Vec::new();
    for snmp in [&s.snmp, &s.netstat] {
        for (section, counters) in &snmp.value().unwrap().sections {
            names.push(section.clone());
            names.extend(counters.keys().cloned());
        }
    }
    names.extend(s.snmp6.value().unwrap().keys().cloned());
    for i in s.interfaces.value().unwrap() {
        names.extend(i.proc_net_dev.value().unwrap().keys().cloned());
    }
    names
}

fn all_shared(a: &[Name], b: &[Name]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| Name::ptr_eq(a, b))
}

fn keys<V, S>(m: &indexmap::IndexMap<Name, V, S>) -> Vec<Name> {
    m.keys().cloned().collect()
}

/// `word` inserted after the first `prefix` of the lines `line` selects.
fn insert_after(text: &str, line: impl Fn(&str) -> bool, prefix: &str, word: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        match l.split_once(prefix).filter(|_| line(l)) {
            Some((head, tail)) => out += &format!("{head}{prefix}{word}{tail}\n"),
            None => out += &format!("{l}\n"),
        }
    }
    out
}

#[test]
fn counter_names_are_made_once_and_follow_a_changed_header() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    let first = sampler.take();
    let second = sampler.take();
    let names = counter_names(&first);
    assert!(names.len() > 200, "{}", names.len());
    assert!(all_shared(&names, &counter_names(&second)), "the second sample made no name");
    // The rates hold the later sample's names too.
    let d = Delta::between(&first, &second);
    let udp = second.snmp.value().unwrap().section("Udp").unwrap();
    assert!(all_shared(&keys(udp), &keys(&d.snmp.value().unwrap()["Udp"])));
    let dev = |s: &Sample| s.interface("lo").unwrap().proc_net_dev.value().unwrap().clone();
    let lo_rates = d.interfaces.value().unwrap().iter().find(|i| i.name == "lo").unwrap();
    assert!(all_shared(&keys(&dev(&second)), &keys(lo_rates.proc_net_dev.value().unwrap())));

    // A kernel that prints a new counter mid-header (in place, as the kernel's files change).
    let net = dir.path().join("proc/net");
    let snmp = fs::read_to_string(net.join("snmp")).unwrap();
    let snmp = insert_after(&snmp, |l| l.starts_with("Udp: InDatagrams"), "Udp: ", "Fresh ");
    let snmp =
        insert_after(&snmp, |l| l.starts_with("Udp: ") && !l.contains("Fresh"), "Udp: ", "4242 ");
    fs::write(net.join("snmp"), snmp).unwrap();
    let text = fs::read_to_string(net.join("dev")).unwrap();
    let text = insert_after(&text, |l| l.starts_with(" face"), "|", "fresh ");
    let text = insert_after(&text, |l| l.contains(':'), ":", " 77");
    fs::write(net.join("dev"), text).unwrap();
    let snmp6 = fs::read_to_string(net.join("snmp6")).unwrap();
    fs::write(net.join("snmp6"), format!("Fresh6 9\n{snmp6}")).unwrap();
    let third = sampler.take();
    assert_same(third.clone(), &Sample::take(&Root::at(dir.path())), "changed headers");
    let udp = third.snmp.value().unwrap().section("Udp").unwrap();
    assert_eq!(udp.get_index(0).map(|(k, v)| (k.as_str(), *v)), Some(("Fresh", 4242)));
    assert_eq!(
        udp.get("InDatagrams"),
        second.snmp.value().unwrap().section("Udp").unwrap().get("InDatagrams")
    );
    let lo = dev(&third);
    assert_eq!(lo.get_index(0).map(|(k, v)| (k.as_str(), *v)), Some(("rx_fresh", 77)));
    assert_eq!(lo.get("rx_bytes"), dev(&second).get("rx_bytes"));
    assert_eq!(third.snmp6.value().unwrap()["Fresh6"], 9);
    // Names before the change are still shared; the new header's names are from then on.
    let ip = |s: &Sample| keys(s.snmp.value().unwrap().section("Ip").unwrap());
    assert!(all_shared(&ip(&second), &ip(&third)));
    assert!(all_shared(&counter_names(&third), &counter_names(&sampler.take())));
}

fn rps(s: &Sample) -> Vec<u32> {
    let q = s.interface("eth0").unwrap().queues.value().unwrap();
    q.rx[0].rps_cpus.value().unwrap().clone()
}

#[test]
fn settings_are_re_read_within_their_period_and_counters_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let spec = synth::Spec::small();
    synth::write(dir.path(), &spec, 0).unwrap();
    let eth0 = dir.path().join(ETH0);
    let every = 4;
    let mut sampler = Sampler::every(Root::at(dir.path()), every);
    let first = sampler.take();
    assert_eq!(rps(&first), Vec::<u32>::new());
    fs::write(eth0.join("queues/rx-0/rps_cpus"), "00000003\n").unwrap();
    fs::write(eth0.join("operstate"), "down\n").unwrap();
    synth::write(dir.path(), &spec, 1).unwrap(); // counters move; rps_cpus is written back...
    fs::write(eth0.join("queues/rx-0/rps_cpus"), "00000003\n").unwrap(); // ...and set again
    fs::write(eth0.join("operstate"), "down\n").unwrap();
    let next = sampler.take();
    let processed = |s: &Sample| s.softnet.value().unwrap().rows[0].processed;
    assert_ne!(processed(&first), processed(&next), "counters are read every sample");
    let state = |s: &Sample| s.interface("eth0").unwrap().sysfs.operstate.value().cloned();
    assert_eq!(state(&next).as_deref(), Some("down"), "the link state is read every sample");
    assert_eq!(rps(&next), Vec::<u32>::new(), "a setting is kept until it is due");
    let seen = (2..=every).find(|_| rps(&sampler.take()) == vec![0, 1]);
    assert!(seen.is_some(), "rps_cpus re-read within {every} samples");
}

fn xps(s: &Sample) -> Vec<u32> {
    let q = s.interface("eth0").unwrap().queues.value().unwrap();
    q.tx[0].xps_cpus.value().unwrap().clone()
}

#[test]
fn tx_queue_settings_are_re_read_every_few_settings_reads_or_when_the_queues_change() {
    use rxpath::sample::TX_QUEUES_EVERY;
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let eth0 = dir.path().join(ETH0);
    // Settings are re-read every sample here.
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    let before = xps(&sampler.take());
    assert_ne!(before, vec![0, 1]);
    fs::write(eth0.join("queues/tx-0/xps_cpus"), "00000003\n").unwrap();
    fs::write(eth0.join("queues/rx-0/rps_cpus"), "00000003\n").unwrap();
    for n in 1..TX_QUEUES_EVERY {
        let s = sampler.take();
        assert_eq!(rps(&s), vec![0, 1], "settings read {n}: RX queues are read");
        assert_eq!(xps(&s), before, "settings read {n}: TX queues are kept");
    }
    assert_eq!(xps(&sampler.take()), vec![0, 1], "read again at settings read {TX_QUEUES_EVERY}");
    // A TX queue more: the kept ones are not the device's queues, so all are read at once.
    fs::write(eth0.join("queues/tx-0/xps_cpus"), "00000001\n").unwrap();
    let tx = |s: &Sample| s.interface("eth0").unwrap().queues.value().unwrap().tx.len();
    let queues = tx(&sampler.take());
    fs::create_dir(eth0.join(format!("queues/tx-{queues}"))).unwrap();
    let s = sampler.take();
    assert_eq!((tx(&s), xps(&s)), (queues + 1, vec![0]));
    // The count starts again from that read: kept by the next ones.
    fs::write(eth0.join("queues/tx-0/xps_cpus"), "00000002\n").unwrap();
    assert_eq!(xps(&sampler.take()), vec![0]);
    // Another device under the name: read at once too.
    fs::write(eth0.join("ifindex"), "77\n").unwrap();
    assert_eq!(xps(&sampler.take()), vec![1]);
    // A one-shot sample reads them every time.
    fs::write(eth0.join("queues/tx-0/xps_cpus"), "00000003\n").unwrap();
    assert_eq!(xps(&Sample::take(&Root::at(dir.path()))), vec![0, 1]);
}

#[test]
fn a_re_created_interface_is_read_anew_at_once() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let eth0 = dir.path().join(ETH0);
    let mut sampler = Sampler::every(Root::at(dir.path()), 1000);
    sampler.take();
    fs::write(eth0.join("queues/rx-0/rps_cpus"), "00000002\n").unwrap();
    fs::write(eth0.join("ifindex"), "77\n").unwrap();
    let s = sampler.take();
    assert_eq!(rps(&s), vec![1]);
    assert_eq!(s.interface("eth0").unwrap().sysfs.ifindex.value(), Some(&77));
}

#[test]
fn sockets_are_re_read_when_a_udp_error_counter_moves() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::every(Root::at(dir.path()), 1000);
    let first = sampler.take();
    let udp = dir.path().join("proc/net/udp");
    let table = fs::read_to_string(&udp).unwrap();
    // A socket's queue grows, but nothing dropped: the table is not read again.
    let grown = table.replacen(":00000000 00:", ":0000ABCD 00:", 1);
    assert_ne!(grown, table);
    fs::write(&udp, &grown).unwrap();
    let quiet = sampler.take();
    assert!(Arc::ptr_eq(&first.udp, &quiet.udp), "the same table, not read again");
    // Udp InErrors moves: the table is read again.
    let snmp_path = dir.path().join("proc/net/snmp");
    let snmp = fs::read_to_string(&snmp_path).unwrap();
    let mut lines: Vec<String> = snmp.lines().map(String::from).collect();
    let header = lines.iter().position(|l| l.starts_with("Udp: InDatagrams")).unwrap();
    let col = lines[header].split_whitespace().position(|f| f == "InErrors").unwrap();
    let mut values: Vec<String> = lines[header + 1].split_whitespace().map(String::from).collect();
    values[col] = (values[col].parse::<u64>().unwrap() + 1).to_string();
    lines[header + 1] = values.join(" ");
    fs::write(&snmp_path, lines.join("\n") + "\n").unwrap();
    let moved = sampler.take();
    assert!(!Arc::ptr_eq(&first.udp, &moved.udp));
    let grown = |s: &Sample| s.udp.udp.value().unwrap().iter().any(|s| s.rx_queue == 0xABCD);
    assert!(!grown(&quiet) && grown(&moved));
    assert_eq!(*moved.udp, *Sample::take(&Root::at(dir.path())).udp);
}

/// The table read every sample (only the rows that changed parsed anew) through rows opened,
/// closed and broken: the sockets, or the error, a one-shot read gives.
#[test]
fn a_re_read_socket_table_is_what_a_one_shot_read_gives() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let udp = dir.path().join("proc/net/udp");
    let table = fs::read_to_string(&udp).unwrap();
    let mut lines: Vec<&str> = table.lines().collect();
    let opened = "    5: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0";
    let broken = lines[2].replacen(" 07 ", " 107 ", 1);
    let mut texts = vec![table.clone()];
    lines.insert(1, opened);
    texts.push(lines.join("\n") + "\n");
    lines.remove(3);
    texts.push(lines.join("\n"));
    lines[2] = &broken;
    texts.push(lines.join("\n"));
    texts.push(table);
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    let mut counts = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        fs::write(&udp, text).unwrap();
        let once = Sample::take(&Root::at(dir.path()));
        assert_eq!(sampler.take().udp, once.udp, "read {i}");
        counts.push(once.udp.udp.value().map(|v| v.len()));
    }
    assert_eq!(counts, [Some(4), Some(5), Some(4), None, Some(4)]);
}

#[test]
fn interrupts_fall_back_to_proc_when_a_per_cpu_count_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    let s = sampler.take();
    let nic = s.interrupts.value().unwrap();
    assert_eq!(nic.partial.as_deref(), Some(PER_CPU_COUNT));
    let irq = &nic.rows[0].irq;
    fs::remove_file(dir.path().join(format!("sys/kernel/irq/{irq}/per_cpu_count"))).unwrap();
    // A freed IRQ counts 0 in /proc/stat's `intr` line: the sampler looks for its file again.
    set_intr(dir.path(), irq.parse().unwrap(), Some(0));
    let s = sampler.take();
    assert_eq!(s.interrupts.value().unwrap().partial, None, "all of /proc/interrupts");
    assert_same(s, &Sample::take(&Root::at(dir.path())), "fallback");
}

/// Sets IRQ `irq`'s count in the `intr` line of /proc/stat, as the kernel moves it with every
/// interrupt; `None` removes the line, as on a kernel without it.
fn set_intr(dir: &Path, irq: u32, count: Option<u64>) {
    let path = dir.join("proc/stat");
    let text = fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("intr ") {
            let Some(count) = count else { continue };
            let mut v: Vec<u64> = rest.split(' ').map(|t| t.parse().unwrap()).collect();
            v[1 + irq as usize] = count;
            v[0] = v[1..].iter().sum();
            out.push_str(&format!(
                "intr {}\n",
                v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert_ne!(out, text, "/proc/stat has an intr line to change");
    fs::write(path, out).unwrap();
}

fn per_cpu_counts(s: &Sample, irq: u32) -> Vec<u64> {
    let ints = s.interrupts.value().unwrap();
    assert_eq!(ints.partial.as_deref(), Some(PER_CPU_COUNT));
    ints.rows.iter().find(|r| r.irq == irq.to_string()).unwrap().counts.to_vec()
}

#[test]
fn a_per_cpu_count_is_read_again_only_when_its_intr_count_moved() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let file = |irq: u32| dir.path().join(format!("sys/kernel/irq/{irq}/per_cpu_count"));
    let mut sampler = Sampler::every(Root::at(dir.path()), 1000);
    let first = sampler.take();
    // eth0's virtio2-input.0 and virtio2-output.0 vectors.
    let (moved, quiet) = (29, 30);
    assert!(first.interface("eth0").unwrap().irqs.value().unwrap().iter().any(|q| q.irq == quiet));
    // `moved` fired: its per-CPU counts and its intr count both moved.
    fs::write(file(moved), "0,5\n").unwrap();
    set_intr(dir.path(), moved, Some(5));
    // `quiet`'s file is changed behind the sampler's back, its intr count is not: had the file
    // been read, its row would show it.
    fs::write(file(quiet), "7,7\n").unwrap();
    assert_ne!(per_cpu_counts(&first, quiet), [7, 7]);
    let s = sampler.take();
    assert_eq!(per_cpu_counts(&s, moved), [0, 5], "moved: read anew");
    assert_eq!(per_cpu_counts(&s, quiet), per_cpu_counts(&first, quiet), "not moved: kept row");
    // Without an intr line every file is read.
    set_intr(dir.path(), 0, None);
    let s = sampler.take();
    assert_eq!(per_cpu_counts(&s, quiet), [7, 7], "no intr line: read");
    assert_eq!(per_cpu_counts(&s, moved), [0, 5]);
}

#[test]
fn files_a_sample_no_longer_reads_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    // Files stay open for a settings period (2 samples here) and are swept once every 3
    // samples (the period and one), so a file no longer read closes within 6 samples.
    let mut sampler = Sampler::every(Root::at(dir.path()), 2);
    sampler.take();
    let with_eth0 = sampler.root().open_files();
    fs::remove_file(dir.path().join("sys/class/net/eth0")).unwrap();
    let s = sampler.take();
    assert!(s.interface("eth0").is_none());
    assert_eq!(sampler.root().open_files(), with_eth0, "kept for the period");
    let mut open = Vec::new();
    for _ in 0..4 {
        sampler.take();
        open.push(sampler.root().open_files());
    }
    let without = open[3];
    assert!(without + 40 < with_eth0, "eth0's files closed: {with_eth0} → {open:?}");
}

#[test]
fn a_recording_root_that_keeps_files_open_records_every_read() {
    let plain = Root::at(VIRTIO).recording();
    let kept = Root::at(VIRTIO).keep_open().recording();
    let (a, b) = (Sample::take(&plain), Sample::take(&kept));
    assert_eq!(a, b);
    let (ra, rb) = (plain.take_recording(), kept.take_recording());
    assert!(ra.files.len() > 100, "{}", ra.files.len());
    assert_eq!(ra.files, rb.files);
    assert_eq!(ra.errors, rb.errors);
    assert_eq!(ra.listings, rb.listings);
    // A second sample through the open files is recorded too.
    let again = Sample::take(&kept);
    assert_eq!(again, a);
    assert_eq!(kept.take_recording().files, ra.files);
}

/// A padded /proc/net/udp row with its field `at` (0: `sl`) set to `to`, still 127 wide.
fn set_field(row: &str, at: usize, to: &str) -> String {
    let mut f: Vec<&str> = row.split_whitespace().collect();
    f[at] = to;
    format!("{:<127}", f.join(" "))
}

/// A table re-read in place says which rows changed, and the socket drops between two of a
/// sampler's samples, found from those rows alone, are those between one-shot samples: through
/// drops moving, a row holding another socket in place, rows opened (the rows move) and back.
/// The list two reads old is reused for the next (its allocation), not copied.
#[test]
fn socket_drops_from_the_changed_rows_are_those_of_one_shot_samples() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let udp = dir.path().join("proc/net/udp");
    let table = fs::read_to_string(&udp).unwrap();
    let mut lines: Vec<String> = table.lines().map(String::from).collect();
    let drops = 12; // the field after `pointer`
    let mut texts = Vec::new();
    let mut step =
        |lines: &[String], in_place: bool| texts.push((lines.join("\n") + "\n", in_place));
    step(&lines, false);
    lines[2] = set_field(&lines[2], drops, "7");
    step(&lines, true);
    lines[3] = set_field(&lines[3], drops, "3");
    lines[1] = set_field(&lines[1], 9, "777"); // another inode, dropped nothing
    step(&lines, true);
    lines[4] = set_field(&lines[4], 9, "778"); // another inode that dropped
    lines[4] = set_field(&lines[4], drops, "5");
    step(&lines, true);
    let opened = set_field(&lines[2], 9, "4242");
    lines.insert(3, set_field(&opened, drops, "9"));
    step(&lines, false);
    lines[2] = set_field(&lines[2], drops, "8");
    step(&lines, true);
    lines[5] = set_field(&lines[5], drops, "6");
    step(&lines, true);
    lines[2] = set_field(&lines[2], drops, "9");
    step(&lines, true);

    let mut sampler = Sampler::every(Root::at(dir.path()), 1);
    fn list(s: &Sample) -> &rxpath::source::udp::Sockets {
        s.udp.udp.value().expect("/proc/net/udp")
    }
    let mut before: Option<(Sample, Sample)> = None;
    let mut at: Vec<*const rxpath::source::udp::UdpSocket> = Vec::new();
    let mut dropped = 0;
    for (i, (text, in_place)) in texts.iter().enumerate() {
        fs::write(&udp, text).unwrap();
        let (s, once) = (sampler.take(), Sample::take(&Root::at(dir.path())));
        assert_eq!(s.udp, once.udp, "read {i}");
        at.push(list(&s).as_ptr());
        if let Some((e, e_once)) = &before {
            let (sampled, want) = (Delta::between(e, &s), Delta::between(e_once, &once));
            assert_eq!(sampled.udp, want.udp, "read {i}");
            dropped += want.udp.value().unwrap().len();
            let rows = list(&s).changed_since(list(e)).map(<[_]>::to_vec);
            assert_eq!(rows.is_some(), *in_place, "read {i}: {rows:?}");
        }
        // Two in-place reads after another: the list of two reads ago was brought up to date.
        if i >= 2 && texts[i - 1].1 && *in_place {
            assert_eq!(at[i], at[i - 2], "read {i} reuses the list of read {}", i - 2);
        }
        before = Some((s, once));
    }
    // One socket a step, two at the second (the socket that took row 1 had drops of its own).
    assert_eq!(dropped, 8);
}
