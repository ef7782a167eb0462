//! Criterion bench: the full PUSCH receive of one slot, from the grid (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(
    ranlab::bench::ofdm::pusch_cases,
    ranlab_benches::Levels::All
);
