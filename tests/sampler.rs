//! `Sampler`: files kept open and re-read give exactly what one-shot reads give, through changes of
//! the tree, removals and captures.

#[path = "../benches/synth/mod.rs"]
mod synth;

use rxpath::{Root, Sample, Sampler};
use std::fs;
use std::path::Path;

const VIRTIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/linux-6.18-virtio");
const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trees/capture-6.18-vm");

fn same_as_one_shot(dir: &Path) {
    let mut sampler = Sampler::new(Root::at(dir));
    let once = Sample::take(&Root::at(dir));
    for round in 0..3 {
        assert_eq!(sampler.take(), once, "{} round {round}", dir.display());
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
    assert_eq!(s, Sample::take(&Root::at(big.path())));
    assert_eq!(s.cpus.online.value().unwrap().len(), 512);
    assert_eq!(s.interrupts.value().unwrap().rows.len(), 2000);
    assert_eq!(s.udp.udp.value().unwrap().len(), 10_000);
    let eth3 = s.interface("eth3").unwrap();
    assert_eq!(eth3.irqs.value().unwrap().len(), 65);
    assert_eq!(eth3.queues.value().unwrap().rx.len(), 64);
    // Every file of the sample is kept open (within half the descriptor limit).
    assert!(sampler.root().open_files() > 4000, "{}", sampler.root().open_files());
}

#[test]
fn rewritten_files_are_read_anew() {
    let dir = tempfile::tempdir().unwrap();
    let spec = synth::Spec::small();
    synth::write(dir.path(), &spec, 0).unwrap();
    let mut sampler = Sampler::new(Root::at(dir.path()));
    let first = sampler.take();
    // Written in place (same inodes), as the kernel's files change under an open descriptor.
    synth::write(dir.path(), &spec, 5).unwrap();
    let later = sampler.take();
    assert_eq!(later, Sample::take(&Root::at(dir.path())));
    let processed = |s: &Sample| s.softnet.value().unwrap().rows[0].processed;
    assert_ne!(processed(&first), processed(&later), "tick 5 moved the counters");
}

#[test]
fn removed_and_replaced_files_are_not_read_from_stale_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::new(Root::at(dir.path()));
    sampler.take();
    let net = dir.path().join("sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth0");
    // Replaced by rename (a new inode), and removed outright.
    let mtu = net.join("mtu");
    fs::write(net.join("mtu.new"), "9000\n").unwrap();
    fs::rename(net.join("mtu.new"), &mtu).unwrap();
    fs::remove_file(net.join("statistics/rx_dropped")).unwrap();
    fs::remove_file(dir.path().join("proc/net/snmp")).unwrap();
    let s = sampler.take();
    assert_eq!(s, Sample::take(&Root::at(dir.path())));
    let eth0 = s.interface("eth0").unwrap();
    assert_eq!(eth0.sysfs.mtu.value(), Some(&9000));
    assert!(!eth0.sysfs.statistics.value().unwrap().contains_key("rx_dropped"));
    assert!(s.snmp.unavailable().unwrap().why.contains("not present"), "{:?}", s.snmp);
}

#[test]
fn files_a_sample_no_longer_reads_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    synth::write(dir.path(), &synth::Spec::small(), 0).unwrap();
    let mut sampler = Sampler::new(Root::at(dir.path()));
    sampler.take();
    let with_eth0 = sampler.root().open_files();
    fs::remove_file(dir.path().join("sys/class/net/eth0")).unwrap();
    let s = sampler.take();
    assert!(s.interface("eth0").is_none());
    let without = sampler.root().open_files();
    assert!(without + 40 < with_eth0, "eth0's files closed: {with_eth0} → {without}");
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
