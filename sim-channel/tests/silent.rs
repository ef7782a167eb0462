//! A silent block through a silent delay line is skipped (a TDD UE outside
//! its uplink slots): what comes out, then and after, is what the full
//! convolution gives.

use num_complex::Complex32;
use ranlab_sim_channel::engine::FadingChannel;
use ranlab_sim_channel::tdl::{Tdl, TdlConfig, TdlProfile};

fn channel() -> FadingChannel {
    let src = Tdl::new(&TdlConfig {
        profile: TdlProfile::C,
        delay_spread_s: 300e-9,
        doppler_hz: 200.0,
        sample_rate_hz: 30.72e6,
        n_rx: 2,
        n_tx: 1,
        seed: 5,
        ..Default::default()
    })
    .unwrap();
    FadingChannel::new(Box::new(src))
}

#[test]
fn skipped_silence_gives_what_the_full_convolution_gives() {
    let len = 3000;
    let burst: Vec<Complex32> = (0..len)
        .map(|i| Complex32::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))
        .collect();
    let silence = vec![Complex32::default(); len];
    // The reference never takes the silent path: one sample of 1e-30 keeps it "heard".
    let mut whisper = silence.clone();
    whisper[len / 2] = Complex32::new(1e-30, 0.0);
    let (mut skip, mut full) = (channel(), channel());
    let out = |ch: &mut FadingChannel, x: &[Complex32]| {
        let mut y = vec![vec![Complex32::default(); len]; 2];
        ch.process(&[x], &mut y).unwrap();
        y
    };
    // Burst, silence (the delay line still rings: full path), silence twice
    // (skipped), burst.
    let a: Vec<_> = [&burst, &silence, &silence, &silence, &burst]
        .iter()
        .map(|x| out(&mut skip, x))
        .collect();
    let b: Vec<_> = [&burst, &silence, &whisper, &whisper, &burst]
        .iter()
        .map(|x| out(&mut full, x))
        .collect();
    for (blk, (ya, yb)) in a.iter().zip(&b).enumerate() {
        for (ra, rb) in ya.iter().zip(yb) {
            for (va, vb) in ra.iter().zip(rb) {
                assert!((va - vb).norm() < 1e-12, "block {blk}: {va} vs {vb}");
            }
        }
    }
    // The ringing block is not silent, the skipped ones are.
    assert!(a[1][0].iter().take(20).any(|v| v.norm() > 0.0));
    assert!(a[2].iter().all(|r| r.iter().all(|v| v.norm() == 0.0)));
    assert!(a[4][1].iter().any(|v| v.norm() > 0.1));
}
