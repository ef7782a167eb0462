//! `scrambling` vectors: TS 38.211 §5.2.1 sequence, §6.3.1.1 / §7.3.1.1 c_init.

use super::util::{bits, bits_of, compare_bits, compare_int, int, string};
use super::{CaseResult, Vector};
use ranlab_phy::coding::scrambling::{c_init_pdsch, c_init_pusch, scramble_bits};

pub fn check(v: &Vector) -> CaseResult {
    let p = &v.params;
    let given = int::<u32>(p, "c_init")?;
    let c_init = match string(p, "mode")? {
        "PUSCH" => c_init_pusch(int::<u16>(p, "n_rnti")?, int::<u16>(p, "n_id")?),
        "PDSCH" => c_init_pdsch(
            int::<u16>(p, "n_rnti")?,
            int::<u8>(p, "codeword_index")?,
            int::<u16>(p, "n_id")?,
        ),
        "raw" => given,
        other => return Err(format!("unknown mode `{other}`").into()),
    };
    compare_int("c_init", c_init as u64, given as u64)?;
    let input = bits_of(&v.input, "input")?;
    // The sequence itself: scrambling zeros yields c.
    let mut seq = vec![0u8; input.len()];
    scramble_bits(c_init, &mut seq);
    compare_bits("sequence", &seq, &bits(&v.expected, "sequence")?)?;
    let mut out = input.clone();
    scramble_bits(c_init, &mut out);
    compare_bits("output", &out, &bits(&v.expected, "output")?)?;
    Ok(())
}
