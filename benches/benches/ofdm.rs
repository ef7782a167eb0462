//! Criterion bench: CP-OFDM modulation/demodulation (TS 38.211 §5.3.1) and channel estimation (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(ranlab::bench::ofdm::cases, ranlab_benches::Levels::Detected);
