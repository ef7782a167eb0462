//! Criterion bench: the passive-IoT reader blocks (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::piot::cases, ranlab_benches::Levels::Detected);
