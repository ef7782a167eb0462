//! The shared skeleton of the MIMO kernels, written once over a lane type.
//!
//! One lane holds one resource element (detection) or one PRB group
//! (precoding): the algorithm works on structure-of-arrays complex values
//! `C { re, im }` whose parts are vectors of `W` lanes. Each instruction set
//! supplies only [`Lanes`] (arithmetic, reciprocal, select, and the
//! interleaved-complex loads and stores); `f32` is the portable scalar twin
//! with one lane. Everything here is `#[inline(always)]` so it is compiled
//! inside the `#[target_feature]` entry points of [`entry`].
//!
//! The linear algebra is an LDL^H factorisation of the regularised Gram
//! matrix `A = H^H H + r I` (no square roots), a forward/backward solve and
//! the diagonal of `A^-1` from the inverse of the unit lower factor.
//!
//! By job, each file importing only this one and the files listed before it:
//!
//! - this module: the [`Lanes`] trait, its scalar twin and the constants;
//! - [`linalg`]: complex helpers, Gram matrix, `L D L^H`, solves, `diag(A^-1)`;
//! - [`detector`]: the generic per-RE detector and its per-layer outputs;
//! - [`kernels`]: tuned detectors for the common shapes, and the per-shape
//!   choice among them ([`kernels::detect_range`]);
//! - [`grouped`]: detection with one channel per group of REs;
//! - [`precode`]: downlink precoders and their application;
//! - [`flops`]: operation counts.

pub(crate) mod detector;
pub(crate) mod entry;
pub(crate) mod flops;
pub(crate) mod grouped;
pub(crate) mod kernels;
pub(crate) mod linalg;
pub(crate) mod precode;

/// The lane contract and its scalar twin live with the instruction sets
/// (`simd::lanes_f32`); the skeleton here imports them.
pub(crate) use crate::simd::lanes_f32::{Lanes, C};

/// The largest number of layers (detection) or users (precoding).
pub(crate) const MAX_LAYERS: usize = 16;

/// Regularisation floor relative to the mean diagonal of the Gram matrix:
/// keeps the factorisation finite for singular and zero channels. At 1e-6 it
/// is below f32 resolution for any channel the Gram matrix can resolve.
pub(crate) const REL_FLOOR: f32 = 1e-6;
/// Absolute floor added to the relative one (an all-zero channel); large
/// enough that its square (the 2-layer determinant) is a normal f32.
pub(crate) const ABS_FLOOR: f32 = 1e-18;
/// Noise variance reported for a layer that carries no information.
pub(crate) const ZERO_CONFIDENCE: f32 = 1e20;
/// MMSE: bias `beta` below this means the layer is unresolvable.
const MIN_BETA: f32 = 1e-4;
/// ZF: a layer whose `[A^-1]_ll * floor` exceeds this sits on the floor.
const ZF_DEGENERATE: f32 = 0.1;
