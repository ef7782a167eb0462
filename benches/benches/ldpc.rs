//! Criterion bench: LDPC encoder and layered min-sum decoder (TS 38.212 §5.3.2), Z = 384, 6 iterations (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::ldpc::cases, ranlab_benches::Levels::All);
