//! Criterion bench: the uplink scheduler per-slot decision (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(
    ranlab::bench::sched::cases,
    ranlab_benches::Levels::Detected
);
