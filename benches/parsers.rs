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
    // A sampler's re-read one second on, the table alternating between the two seconds: 200 of
    // the 10,000 rows differ and are parsed, the rest are taken from the last read.
    let later = tempfile::tempdir().expect("a temporary directory for the host a second on");
    synth::write(later.path(), &synth::Spec::big(), 1).expect("write the host a second on");
    let later_udp = later.path().join(udp::UDP_PATH.trim_start_matches('/'));
    let texts = [read(udp::UDP_PATH), std::fs::read_to_string(later_udp).expect("generated file")];
    let mut parsed = udp::ParsedText::default();
    let mut n = 0;
    g.throughput(Throughput::Bytes(texts[1].len() as u64));
    g.bench_function("udp_reparse", |b| {
        b.iter(|| {
            n += 1;
            let text = black_box(&texts[n % 2]);
            parsed.reparse(text.as_bytes(), udp::Family::Inet, udp::Endian::Little).is_ok()
        })
    });
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
