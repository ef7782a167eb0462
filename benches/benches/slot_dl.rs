//! Criterion bench: the full downlink slot (PDSCH encode, map, OFDM) through the pipeline, 1 and 2 workers (the `ranlab bench` downlink cases of the `slot` block).

ranlab_benches::family_bench!(
    ranlab::bench::slot_dl::cases,
    ranlab_benches::Levels::Detected
);
