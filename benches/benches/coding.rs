//! Criterion bench: CRC (TS 38.212 §5.1) and the other coding-chain blocks (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::coding::cases, ranlab_benches::Levels::All);
