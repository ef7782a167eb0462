//! Criterion bench: soft demapping, rate matching, de-rate-matching, scrambling (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::transport::cases, ranlab_benches::Levels::All);
