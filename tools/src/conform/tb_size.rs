//! `tb_size` vectors: TBS (TS 38.214 §6.1.4.2 → §5.1.3.2), base graph
//! (TS 38.212 §6.2.2), segmentation (§5.2.2) and E_r (§5.4.2.1).

use super::util::{compare_int, field, float, int, string, uint};
use super::{CaseResult, Vector};
use ranlab_phy::coding::ldpc::BaseGraph;
use ranlab_phy::coding::rate_match::e_r;
use ranlab_phy::coding::segmentation::{select_base_graph, Segmentation};
use ranlab_phy::coding::tbs::{mcs, transport_block_size, McsTable, TbScaling, TbsParams};

pub fn check(v: &Vector) -> CaseResult {
    let i = &v.input;
    let tp = v
        .params
        .get("transform_precoding")
        .and_then(|x| x.as_bool())
        .unwrap_or(false);
    let table_no = int::<u8>(i, "mcs_table")?;
    let table =
        McsTable::pusch(table_no, tp).ok_or_else(|| format!("unknown MCS table {table_no}"))?;
    let m = mcs(table, int::<u8>(i, "mcs_index")?, false).map_err(|e| e.to_string())?;
    let scaling = match v
        .params
        .get("tb_scaling")
        .and_then(|x| x.as_f64())
        .unwrap_or(1.0)
    {
        s if s == 1.0 => TbScaling::One,
        s if s == 0.5 => TbScaling::Half,
        s if s == 0.25 => TbScaling::Quarter,
        s => return Err(format!("tb_scaling {s} is not 1, 0.5 or 0.25").into()),
    };
    let layers = int::<u8>(i, "num_layers")?;
    let n_prb = int::<u32>(i, "n_prb")?;
    let p = TbsParams {
        n_prb,
        n_symb_sh: int::<u8>(i, "n_symb_sh")?,
        n_dmrs_prb: int::<u32>(i, "n_dmrs_prb")?,
        n_oh: int::<u32>(i, "n_oh")?,
        num_layers: layers,
        mcs: m,
        scaling,
    };
    let t = transport_block_size(&p).map_err(|e| e.to_string())?;
    let x = &v.expected;
    compare_int("qm", m.qm as u64, uint(x, "qm")?)?;
    let r = float(x, "r_x1024")?;
    if m.r_x1024() != r {
        return Err(format!("r_x1024: got {}, expected {r}", m.r_x1024()).into());
    }
    compare_int("n_re_prime", t.n_re_prime as u64, uint(x, "n_re_prime")?)?;
    compare_int("n_re", t.n_re as u64, uint(x, "n_re")?)?;
    let ni = float(x, "n_info")?;
    if (t.n_info() - ni).abs() > 1e-6 * ni.abs().max(1.0) {
        return Err(format!("n_info: got {}, expected {ni}", t.n_info()).into());
    }
    compare_int("tbs", t.tbs as u64, uint(x, "tbs")?)?;
    let bg = select_base_graph(t.tbs as usize, m.r_x2048);
    let bg_name = match bg {
        BaseGraph::Bg1 => "bg1",
        BaseGraph::Bg2 => "bg2",
    };
    let want_bg = string(x, "bg")?;
    if bg_name != want_bg {
        return Err(format!("bg: got {bg_name}, expected {want_bg}").into());
    }
    let s = Segmentation::new(t.tbs as usize, bg).map_err(|e| e.to_string())?;
    compare_int("tb_crc_len", s.tb_crc.len() as u64, uint(x, "tb_crc_len")?)?;
    compare_int("B", s.b as u64, uint(x, "B")?)?;
    compare_int("num_cb", s.num_cb as u64, uint(x, "num_cb")?)?;
    compare_int("cb_crc_len", s.cb_crc_len as u64, uint(x, "cb_crc_len")?)?;
    compare_int("k_prime", s.shape.k_prime as u64, uint(x, "k_prime")?)?;
    compare_int("k_b", s.shape.k_b as u64, uint(x, "k_b")?)?;
    compare_int("z", s.shape.z as u64, uint(x, "z")?)?;
    compare_int("i_ls", s.shape.i_ls as u64, uint(x, "i_ls")?)?;
    compare_int("k", s.shape.k as u64, uint(x, "k")?)?;
    compare_int("filler", s.shape.filler() as u64, uint(x, "filler")?)?;
    let g = t.n_re_prime as usize * n_prb as usize * m.qm as usize * layers as usize;
    compare_int("g", g as u64, uint(x, "g")?)?;
    let want: Vec<u64> = field(x, "e_r")?
        .as_array()
        .ok_or("`e_r` is not a list")?
        .iter()
        .map(|e| e.as_u64().ok_or("`e_r` has a non-integer"))
        .collect::<Result<_, _>>()?;
    compare_int("len(e_r)", s.num_cb as u64, want.len() as u64)?;
    for (r, &w) in want.iter().enumerate() {
        let got = e_r(g, s.num_cb, layers as usize, m.qm as usize, r);
        compare_int(&format!("e_r[{r}]"), got as u64, w)?;
    }
    Ok(())
}
