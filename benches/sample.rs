//! A full sample of the synthetic 512-CPU host, and the rates between two of its ticks:
//! `cargo bench --bench sample`.

#[path = "synth/mod.rs"]
mod synth;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rxpath::delta::Delta;
use rxpath::report::Report;
use rxpath::{Root, Sample, Sampler};
use std::hint::black_box;
use std::time::Duration;

fn sample(c: &mut Criterion) {
    let t0 = tempfile::tempdir().expect("a temporary directory");
    let t1 = tempfile::tempdir().expect("a temporary directory");
    synth::write(t0.path(), &synth::Spec::big(), 0).expect("write tick 0");
    synth::write(t1.path(), &synth::Spec::big(), 1).expect("write tick 1");
    let (r0, r1) = (Root::at(t0.path()), Root::at(t1.path()));
    let mut g = c.benchmark_group("big");
    g.bench_function("Sample::take", |b| b.iter(|| Sample::take(black_box(&r0))));
    // Steady state: settings re-read in turn (one in SETTINGS_EVERY samples each), the NIC IRQs'
    // per_cpu_count, the socket table kept while no UDP error counter moves.
    let mut sampler = Sampler::new(Root::at(t0.path()));
    g.bench_function("Sampler::take", |b| b.iter(|| sampler.take()));
    // Two sampler samples a second apart: every NIC IRQ and 200 of the 10,000 sockets moved.
    let s0 = Sampler::new(Root::at(t0.path())).take();
    let s1 = Sampler::new(Root::at(t1.path())).take();
    g.bench_function("Delta::between", |b| b.iter(|| Delta::between(black_box(&s0), &s1)));
    // What a refresh costs: the steady-state sample, then the rates of a second in which
    // everything moved.
    g.bench_function("Sampler::take + Delta::between", |b| {
        b.iter(|| {
            black_box(sampler.take());
            Delta::between(black_box(&s0), &s1)
        })
    });
    // A `watch` refresh past the sample: rates, drop path, findings, rows.
    g.bench_function("Report::over", |b| {
        b.iter_batched(
            || s1.clone(),
            |s1| Report::over(black_box(&s0), s1, None),
            BatchSize::LargeInput,
        )
    });
    // What a `serve` scrape builds from its sample: the totals since boot.
    g.bench_function("Delta::since_boot", |b| b.iter(|| Delta::since_boot(black_box(&s1))));
    let (o0, o1) = (Sample::take(&r0), Sample::take(&r1));
    g.bench_function("Delta::between one-shot samples", |b| {
        b.iter(|| Delta::between(black_box(&o0), &o1))
    });
    drop(r1);
    g.finish();

    let small = tempfile::tempdir().expect("a temporary directory");
    synth::write(small.path(), &synth::Spec::small(), 0).expect("write the small host");
    let root = Root::at(small.path());
    let mut g = c.benchmark_group("small");
    g.bench_function("Sample::take", |b| b.iter(|| Sample::take(black_box(&root))));
    let mut sampler = Sampler::new(Root::at(small.path()));
    g.bench_function("Sampler::take", |b| b.iter(|| sampler.take()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = sample
}
criterion_main!(benches);
