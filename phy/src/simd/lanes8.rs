//! The byte-lane vector contract of the LDPC layer update: what an
//! instruction set supplies (`simd::avx2::ldpc::V32`,
//! `simd::avx512::ldpc::V64`) so that `coding::ldpc::layer::layer_update`
//! is written once for every width.

/// A vector of `W` i8 lanes, and the two vectors of `W / 2` i16 lanes
/// ([`I8Lanes::Wide`]) that hold the same lanes widened. The lane order of a
/// byte vector is the instruction set's own ([`I8Lanes::pack`]); only the
/// kernel reads it back. All methods are `unsafe`: the SIMD implementations
/// need their target feature, and loads and stores take raw pointers to a
/// whole vector.
pub(crate) trait I8Lanes: Copy {
    /// i8 lanes per vector.
    const W: usize;
    /// `W / 2` i16 lanes.
    type Wide: Copy;
    /// One flag per i8 lane.
    type Mask: Copy;

    /// Every lane `x`.
    unsafe fn splat(x: i8) -> Self;
    /// Loads `W` bytes.
    unsafe fn load(p: *const i8) -> Self;
    /// Stores `W` bytes.
    unsafe fn store(p: *mut i8, v: Self);
    /// Loads `W / 2` i16 values.
    unsafe fn load_wide(p: *const i16) -> Self::Wide;
    /// Stores `W / 2` i16 values.
    unsafe fn store_wide(p: *mut i16, v: Self::Wide);
    /// Wrapping i16 `a + b`.
    unsafe fn add_wide(a: Self::Wide, b: Self::Wide) -> Self::Wide;
    /// Wrapping i16 `a - b`.
    unsafe fn sub_wide(a: Self::Wide, b: Self::Wide) -> Self::Wide;
    /// The i16 lanes of `lo` and `hi` saturated to i8, in the instruction
    /// set's pack order (`packs_epi16`).
    unsafe fn pack(lo: Self::Wide, hi: Self::Wide) -> Self;
    /// Sign-extends the lanes back to the `(lo, hi)` that [`I8Lanes::pack`] took.
    unsafe fn widen(self) -> (Self::Wide, Self::Wide);

    /// Signed minimum.
    unsafe fn min_i8(self, o: Self) -> Self;
    /// Signed maximum.
    unsafe fn max_i8(self, o: Self) -> Self;
    /// `|self|` (the lanes are never -128 here).
    unsafe fn abs_i8(self) -> Self;
    /// Wrapping `self - o`.
    unsafe fn sub_i8(self, o: Self) -> Self;
    /// Bitwise XOR.
    unsafe fn xor(self, o: Self) -> Self;
    /// Per lane: signed `self > o`.
    unsafe fn gt(self, o: Self) -> Self::Mask;
    /// Per lane: `self == o`.
    unsafe fn eq(self, o: Self) -> Self::Mask;
    /// Per lane: `self < 0`.
    unsafe fn negative(self) -> Self::Mask;
    /// Per lane: `if m { b } else { a }`.
    unsafe fn blend(m: Self::Mask, a: Self, b: Self) -> Self;

    /// Unsigned minimum.
    unsafe fn min_u8(self, o: Self) -> Self;
    /// Unsigned maximum.
    unsafe fn max_u8(self, o: Self) -> Self;
    /// Unsigned saturating `self + o`.
    unsafe fn adds_u8(self, o: Self) -> Self;
    /// Unsigned saturating `self - o`.
    unsafe fn subs_u8(self, o: Self) -> Self;
    /// Unsigned `self >> 1`.
    unsafe fn half_u8(self) -> Self;
    /// `(self * alpha_16) >> 4` on lanes 0..=127 (the product in 16 bits).
    unsafe fn mul_q4_u8(self, alpha_16: u8) -> Self;
    /// `table[self]` for lanes 0..=15.
    unsafe fn lookup16(table: &[u8; 16], idx: Self) -> Self;
}
