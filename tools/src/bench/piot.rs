//! Bench cases of the passive-IoT PHY: the soft Viterbi decoder and the D2R
//! receiver (one site, one 96-bit tag-ID frame, ±10^5 ppm search).

use super::Case;
use num_complex::Complex32;
use ranlab_phy::piot::conv::{self, CodeRate, Viterbi};
use ranlab_phy::piot::d2r::{D2rConfig, D2rReceiver, D2rTransmitter};
use ranlab_phy::piot::tag::{backscatter_waveform, TagClock};
use ranlab_phy::simd::SimdLevel;

/// Passive-IoT cases (scalar only: these blocks have no SIMD kernels).
pub fn cases(_level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    // Viterbi, 112 payload bits (96 + CRC16), rate 1/3.
    let info: Vec<u8> = (0..112u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 31) as u8)
        .collect();
    let coded = conv::encode(&info, CodeRate::R1_3);
    let llr: Vec<f32> = coded
        .iter()
        .enumerate()
        .map(|(i, &b)| (if b == 0 { 2.0 } else { -2.0 }) + ((i * 7919 % 13) as f32 - 6.0) * 0.3)
        .collect();
    let mut dec = Viterbi::new(112);
    let mut out = vec![0u8; 112];
    v.push(Case {
        block: "piot_viterbi",
        case: "k7-r1/3-112bit".into(),
        info_bits: 112.0,
        res: 0.0,
        run: Box::new(move || {
            std::hint::black_box(
                dec.decode(std::hint::black_box(&llr), CodeRate::R1_3, &mut out)
                    .ok(),
            );
        }),
    });
    // D2R receiver: one site, coded BPSK Manchester, 96-bit ID.
    let cfg = D2rConfig::default();
    let mut tx = D2rTransmitter::new(cfg, 96).expect("valid");
    let mut rx = D2rReceiver::new(cfg, 96).expect("valid");
    let cap = rx.capture(64, 32);
    let bits: Vec<u8> = (0..96u32).map(|i| (i * 5 % 3 == 0) as u8).collect();
    let mut states = vec![0.0; tx.layout().subchips];
    tx.states(&bits, &mut states).expect("sized");
    let mut refl = vec![0.0f32; cap.len];
    let clock = TagClock {
        ppm: 37_000.0,
        jitter: 0.0,
    };
    backscatter_waveform(
        &states,
        cfg.samples_per_subchip,
        &clock,
        80.0,
        &mut || 0.0,
        &mut refl,
    );
    let mut x = 0x1234_5678u32;
    let mut noise = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x as f32 / u32::MAX as f32 - 0.5) * 0.5
    };
    let y: Vec<Complex32> = refl
        .iter()
        .map(|&r| Complex32::new(100.0 + r + noise(), 50.0 + noise()))
        .collect();
    let mut softs = vec![rx.new_site_soft()];
    let mut out = vec![0u8; 96];
    let n = y.len() as f64;
    v.push(Case {
        block: "piot_d2r_rx",
        case: "bpsk-manch-r1/3-96bit-1site".into(),
        info_bits: 96.0,
        res: n,
        run: Box::new(move || {
            rx.receive(&[&y[..]], &cap, &mut softs).expect("sized");
            let refs = [&softs[0]];
            std::hint::black_box(rx.decode(&refs, &mut out).ok());
        }),
    });
    v
}
