//! Bench cases of the transport-channel blocks (TS 38.212).

use super::Case;
use ranlab_phy::simd::SimdLevel;

/// Transport-channel cases at `level`.
pub fn cases(level: SimdLevel) -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(crc_cases(level));
    v
}

fn crc_cases(_level: SimdLevel) -> Vec<Case> {
    use ranlab_phy::coding::crc::{Crc, CrcPoly};
    let bits: Vec<u8> = (0..8448u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 31) as u8)
        .collect();
    let crc = Crc::new(CrcPoly::Crc24A);
    vec![Case {
        block: "crc",
        case: "crc24a-8448".into(),
        info_bits: bits.len() as f64,
        res: 0.0,
        run: Box::new(move || {
            std::hint::black_box(crc.remainder(std::hint::black_box(&bits)));
        }),
    }]
}
