//! Criterion bench: MIMO detection (ZF/MMSE) and precoder computation (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::mimo::cases, ranlab_benches::Levels::All);
