//! Scalar LDPC kernels on plain slices: the encoder's XOR gather and the
//! decoder's parity check, the twins of the AVX2 and AVX-512 ones. (The
//! scalar layer update lives with its skeleton in `coding::ldpc::layer_scalar`.)

/// `dst[i] = XOR over e of base[offs[e] + i]` for every i < dst.len().
///
/// Panics only if an offset runs past `base` (callers check once at construction).
pub(crate) fn xor_gather(dst: &mut [u8], base: &[u8], offs: &[usize]) {
    let n = dst.len();
    dst.fill(0);
    for &o in offs {
        for (d, s) in dst.iter_mut().zip(&base[o..o + n]) {
            *d ^= *s;
        }
    }
}

/// True when, for every lane l < `lanes`, the hard decisions (sign bits) of
/// `app[offs[e] + l]` have even parity over e: the check rows are satisfied.
pub(crate) fn parity_ok(app: &[i16], offs: &[usize], lanes: usize) -> bool {
    (0..lanes).all(|l| {
        offs.iter()
            .fold(0u8, |acc, &o| acc ^ (app[o + l] < 0) as u8)
            == 0
    })
}
