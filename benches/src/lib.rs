//! ranlab's criterion benchmarks run the very cases of `ranlab bench`
//! (`ranlab::bench::<family>::cases`): one workload definition, two harnesses.
//! `ranlab bench` gives a quick table and JSON for scripts; criterion gives
//! the statistics (`cargo bench -p ranlab-benches --bench ldpc`).
#![warn(missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput};
use ranlab::bench::Case;
use ranlab_phy::simd::SimdLevel;

/// Whether a family's kernels depend on the instruction set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Levels {
    /// Bench every instruction set this CPU supports (scalar, AVX2, AVX-512).
    All,
    /// The code is the same at every level: bench once, at the detected level.
    Detected,
}

/// Registers every case of `family` with criterion: group = block,
/// id = case / instruction set, throughput in information bits when the
/// case has them (else in resource elements or samples).
pub fn bench_family(c: &mut Criterion, family: fn(SimdLevel) -> Vec<Case>, levels: Levels) {
    let levels = match levels {
        Levels::All => SimdLevel::supported(),
        Levels::Detected => vec![SimdLevel::detect()],
    };
    for level in levels {
        for mut case in family(level) {
            let mut g = c.benchmark_group(case.block);
            if case.info_bits > 0.0 {
                g.throughput(Throughput::Elements(case.info_bits as u64));
            } else if case.res > 0.0 {
                g.throughput(Throughput::Elements(case.res as u64));
            }
            g.bench_function(BenchmarkId::new(&case.case, level.name()), |b| {
                b.iter(|| (case.run)())
            });
            g.finish();
        }
    }
}

/// A criterion bench target for one family of `ranlab bench` cases.
#[macro_export]
macro_rules! family_bench {
    ($cases:path, $levels:expr) => {
        fn bench(c: &mut criterion::Criterion) {
            $crate::bench_family(c, $cases, $levels);
        }
        criterion::criterion_group!(benches, bench);
        criterion::criterion_main!(benches);
    };
}
