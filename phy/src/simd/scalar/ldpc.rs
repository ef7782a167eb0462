//! Scalar LDPC kernels: the encoder's XOR gather and the decoder's layer update,
//! written lane by lane. The AVX2 and AVX-512 twins must give identical results.

/// `dst[i] = XOR over e of base[offs[e] + i]` for every i < dst.len().
///
/// Panics only if an offset runs past `base` (callers check once at construction).
pub fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    let n = dst.len();
    dst.fill(0);
    for &o in offs {
        for (d, s) in dst.iter_mut().zip(&base[o..o + n]) {
            *d ^= *s;
        }
    }
}
