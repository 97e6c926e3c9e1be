//! Each parser on the files of the synthetic 512-CPU host (`benches/synth`): `cargo bench --bench
//! parsers`. Kept short (few samples, short measurement) for a small shared machine.

#[path = "synth/mod.rs"]
mod synth;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rxpath::source::{interrupts, netdev, snmp, softirqs, softnet, stat, udp};
use std::hint::black_box;
use std::time::Duration;

fn parsers(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory for the synthetic host");
    synth::write(dir.path(), &synth::Spec::big(), 0).expect("write the synthetic host");
    let read = |p: &str| {
        std::fs::read_to_string(dir.path().join(p.trim_start_matches('/'))).expect("generated file")
    };
    let mut g = c.benchmark_group("parse");
    let mut bench = |name: &str, path: &str, f: &dyn Fn(&str) -> bool| {
        let text = read(path);
        assert!(f(&text), "{name}: the generated {path} must parse");
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| f(black_box(&text))));
    };
    bench("softnet", softnet::PATH, &|t| softnet::parse(t, None).is_ok());
    bench("interrupts", interrupts::PATH, &|t| interrupts::parse(t).is_ok());
    bench("softirqs", softirqs::PATH, &|t| softirqs::parse(t).is_ok());
    bench("stat", stat::PATH, &|t| stat::parse(t).is_ok());
    bench("snmp", snmp::SNMP_PATH, &|t| snmp::parse(t).is_ok());
    bench("netstat", snmp::NETSTAT_PATH, &|t| snmp::parse(t).is_ok());
    bench("snmp6", snmp::SNMP6_PATH, &|t| snmp::parse_snmp6(t).is_ok());
    bench("udp", udp::UDP_PATH, &|t| udp::parse(t, udp::Family::Inet).is_ok());
    bench("netdev", netdev::PATH, &|t| netdev::parse(t).is_ok());
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = parsers
}
criterion_main!(benches);
