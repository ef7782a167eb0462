//! Criterion bench: TR 38.901 fading and AWGN over a slot (the `ranlab bench` cases of this family).

ranlab_benches::family_bench!(
    ranlab::bench::channel::cases,
    ranlab_benches::Levels::Detected
);
