//! Criterion bench: the full uplink slot through the pipeline, 1 and 2 workers (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::slot::cases, ranlab_benches::Levels::Detected);
