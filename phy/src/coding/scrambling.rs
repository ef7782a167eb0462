//! Bit scrambling of the shared channels, TS 38.211 §6.3.1.1 (PUSCH) and
//! §7.3.1.1 (PDSCH): b̃(i) = (b(i) + c(i)) mod 2 with the Gold sequence c of
//! §5.2.1 ([`GoldSequence`]). The receiver descrambles LLRs by flipping the
//! sign where c(i) = 1.
//!
//! The sequence is drawn 32 bits at a time; each byte of it is expanded into
//! eight unpacked 0/1 bytes with a table, so bits and LLRs are processed eight
//! at a time as one u64 (or eight-lane) operation.

use crate::refsig::gold::GoldSequence;

/// c_init of the PUSCH (§6.3.1.1): n_RNTI·2^15 + n_ID.
pub fn c_init_pusch(n_rnti: u16, n_id: u16) -> u32 {
    ((n_rnti as u32) << 15) + n_id as u32
}

/// c_init of the PDSCH codeword `q` (§7.3.1.1): n_RNTI·2^15 + q·2^14 + n_ID.
pub fn c_init_pdsch(n_rnti: u16, q: u8, n_id: u16) -> u32 {
    ((n_rnti as u32) << 15) + ((q as u32 & 1) << 14) + n_id as u32
}

/// Byte b -> eight bytes holding its bits (bit 0 first), as a little-endian u64.
const fn spread_table() -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = 0u64;
        let mut i = 0;
        while i < 8 {
            v |= (((b >> i) & 1) as u64) << (8 * i);
            i += 1;
        }
        t[b] = v;
        b += 1;
    }
    t
}

static SPREAD: [u64; 256] = spread_table();

/// Feeds `f` the scrambling mask for each 8-element chunk: one byte per bit of
/// c, 0x00 or 0x01, as a u64 (element k of the chunk in byte k).
#[inline]
fn for_each_mask8(c_init: u32, first: usize, len: usize, mut f: impl FnMut(usize, u64)) {
    let mut g = GoldSequence::new(c_init);
    g.skip(first);
    let mut i = 0;
    while i < len {
        let w = g.next_word();
        for k in 0..4 {
            if i >= len {
                break;
            }
            f(i, SPREAD[((w >> (8 * k)) & 0xff) as usize]);
            i += 8;
        }
    }
}

/// Scrambles unpacked bits in place with the sequence of `c_init`.
pub fn scramble_bits(c_init: u32, bits: &mut [u8]) {
    scramble_bits_at(c_init, 0, bits);
}

/// Scrambles unpacked bits in place as bits `first..first + bits.len()` of
/// a longer sequence: with c(first + i). Scrambling the pieces of a codeword
/// this way gives exactly the bits of scrambling it whole.
pub fn scramble_bits_at(c_init: u32, first: usize, bits: &mut [u8]) {
    let mut g = GoldSequence::new(c_init);
    g.skip(first);
    // A sequence word per 32 bits, as four u64 XORs (no per-byte bounds).
    let mut words = bits.chunks_exact_mut(32);
    for w32 in &mut words {
        let w = g.next_word();
        for (k, c) in w32.chunks_exact_mut(8).enumerate() {
            let m = SPREAD[((w >> (8 * k)) & 0xff) as usize];
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ m;
            c.copy_from_slice(&v.to_le_bytes());
        }
    }
    let rest = words.into_remainder();
    if !rest.is_empty() {
        let w = g.next_word();
        for (i, b) in rest.iter_mut().enumerate() {
            *b ^= ((w >> i) & 1) as u8;
        }
    }
}

/// Writes `in_bits` scrambled into `out` (same length; the caller checks).
pub fn scramble_bits_into(c_init: u32, in_bits: &[u8], out: &mut [u8]) {
    out.copy_from_slice(in_bits);
    scramble_bits(c_init, out);
}

/// Descrambles i8 LLRs in place: negates (saturating, so −128 becomes 127)
/// where c(i) = 1.
pub fn descramble_llrs_i8(c_init: u32, llrs: &mut [i8]) {
    let len = llrs.len();
    for_each_mask8(c_init, 0, len, |i, m| {
        let chunk = &mut llrs[i..(i + 8).min(len)];
        for (k, l) in chunk.iter_mut().enumerate() {
            // s = 0 or −1; (l ^ s) − s is l or −l, branch-free.
            let s = -(((m >> (8 * k)) & 1) as i8);
            *l = (*l ^ s).saturating_sub(s);
        }
    });
}

/// Descrambles f32 LLRs in place: flips the sign bit where c(i) = 1.
pub fn descramble_llrs_f32(c_init: u32, llrs: &mut [f32]) {
    let len = llrs.len();
    for_each_mask8(c_init, 0, len, |i, m| {
        let chunk = &mut llrs[i..(i + 8).min(len)];
        for (k, l) in chunk.iter_mut().enumerate() {
            let flip = (((m >> (8 * k)) & 1) as u32) << 31;
            *l = f32::from_bits(l.to_bits() ^ flip);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refsig::gold::gold_bits;

    #[test]
    fn c_init_formulas() {
        assert_eq!(c_init_pusch(58783, 640), 1926201984);
        assert_eq!(c_init_pdsch(3285, 1, 610), 107659874);
    }

    #[test]
    fn scrambling_in_pieces_equals_scrambling_whole() {
        let b: Vec<u8> = (0..20_000).map(|i| ((i * 11 + 5) % 7 < 3) as u8).collect();
        let mut whole = b.clone();
        scramble_bits(0x2345, &mut whole);
        // Cuts on and off word boundaries, and past the jump threshold of the generator.
        let cuts = [0usize, 5, 37, 64, 4100, 9001, 20_000];
        let mut pieces = b.clone();
        for w in cuts.windows(2) {
            scramble_bits_at(0x2345, w[0], &mut pieces[w[0]..w[1]]);
        }
        assert_eq!(pieces, whole);
    }

    #[test]
    fn bits_and_llrs_agree_with_the_sequence() {
        for len in [0usize, 1, 7, 8, 9, 31, 32, 33, 100, 1003] {
            let c = gold_bits(0x1234567, len);
            let b: Vec<u8> = (0..len).map(|i| ((i * 7 + 3) % 5 == 0) as u8).collect();
            let mut s = b.clone();
            scramble_bits(0x1234567, &mut s);
            for i in 0..len {
                assert_eq!(s[i], b[i] ^ c[i], "len {len} bit {i}");
            }
            let mut l: Vec<i8> = (0..len).map(|i| (i as i32 % 256 - 128) as i8).collect();
            let orig = l.clone();
            descramble_llrs_i8(0x1234567, &mut l);
            let mut f: Vec<f32> = orig.iter().map(|&x| x as f32 + 0.5).collect();
            descramble_llrs_f32(0x1234567, &mut f);
            for i in 0..len {
                let want = if c[i] == 1 {
                    orig[i].saturating_neg()
                } else {
                    orig[i]
                };
                assert_eq!(l[i], want, "len {len} llr {i}");
                let wf = if c[i] == 1 {
                    -(orig[i] as f32 + 0.5)
                } else {
                    orig[i] as f32 + 0.5
                };
                assert_eq!(f[i], wf);
            }
        }
    }
}
