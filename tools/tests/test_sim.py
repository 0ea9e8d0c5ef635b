"""NUMERICS primitives against references, the int8 attention against a scalar reading of NUMERICS 6, the fp32
simulation against the PyTorch reference model, and int8-vs-fp32 agreement on `tiny`."""
import math

import numpy as np
import pytest
import scipy.special as sp
import torch

from tools.convert import format as fm
from tools.quant import numerics as nm
from tools.quant.prepost import normalise, preprocess

F = np.float32


def test_exp32_within_one_ulp_and_exact_at_zero():
    x = np.linspace(-87, 88, 400001).astype(np.float32)
    rel = np.abs(nm.exp32(x) - np.exp(x.astype(np.float64))) / np.exp(x.astype(np.float64))
    assert rel.max() < 2 ** -23          # measured 0.67 ulp
    assert nm.exp32(np.float32(0.0)) == np.float32(1.0)
    assert nm.exp32(np.float32(-1000.0)) == nm.exp32(np.float32(-87.0))
    assert np.isfinite(nm.exp32(np.float32(1000.0)))


def test_erf32_error_bound_and_symmetry():
    x = np.linspace(-6, 6, 400001).astype(np.float32)
    e = nm.erf32(x)
    # A&S 7.1.26 is within 1.5e-7 in exact arithmetic; fp32 evaluation as written stays below 6e-7
    assert np.abs(e - sp.erf(x.astype(np.float64))).max() < 6e-7
    assert np.array_equal(nm.erf32(-x), -e)


def test_activations_against_references():
    x = np.linspace(-10, 10, 100001).astype(np.float32)
    t = torch.from_numpy(x.astype(np.float64))
    assert np.abs(nm.gelu(x) - torch.nn.functional.gelu(t).numpy()).max() < 1e-6
    assert np.abs(nm.sigmoid(x) - sp.expit(x.astype(np.float64))).max() < 2e-7
    assert np.abs(nm.quickgelu(x) - (t * torch.sigmoid(1.702 * t)).numpy()).max() < 2e-6


def _lane16_literal(x):
    acc = [F(0)] * 16
    for i, v in enumerate(x):
        acc[i % 16] = F(acc[i % 16] + F(v))
    for w in (8, 4, 2, 1):
        for j in range(w):
            acc[j] = F(acc[j] + acc[j + w])
    return acc[0]


@pytest.mark.parametrize("n", [1, 7, 16, 17, 100, 333])
def test_lane16_is_the_canonical_order(n):
    rng = np.random.default_rng(n)
    x = (rng.normal(size=(3, n)) * 10 ** rng.uniform(-3, 3, (3, n))).astype(np.float32)
    got = nm.lane16(x)
    for r in range(3):
        assert got[r] == _lane16_literal(x[r])


def test_seq_matvec_is_the_canonical_order():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(5, 9)).astype(np.float32)
    v = rng.normal(size=9).astype(np.float32)
    got = nm.seq_matvec(W, v)
    for o in range(5):
        acc = F(0)
        for k in range(9):
            acc = F(acc + F(W[o, k] * v[k]))
        assert got[o] == acc


def test_layernorm_close_to_torch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 48)).astype(np.float32) * 3 + 1
    w, b = rng.normal(size=48).astype(np.float32), rng.normal(size=48).astype(np.float32)
    ref = torch.nn.functional.layer_norm(torch.from_numpy(x), (48,), torch.from_numpy(w), torch.from_numpy(b), 1e-6)
    assert np.abs(nm.layernorm(x, w, b, 1e-6) - ref.numpy()).max() < 1e-5


def _attention_scalar(q, k, v, zq, zk, zv, logit_scale, v_scale, Rh=None, Rw=None, sh=None, sw=None, n=0):
    """NUMERICS 6 for one head, literally, with Python ints and np.float32 scalars."""
    T = len(q)
    out = np.zeros((T, len(v[0])), np.float32)
    for i in range(T):
        l = []
        for j in range(T):
            s = sum((int(q[i][c]) - zq) * (int(k[j][c]) - zk) for c in range(len(q[i])))
            l.append(F(F(s) * logit_scale))
        if n:
            hi, wi = divmod(i, n)
            relh = [F(F(sum((int(q[i][c]) - zq) * int(Rh[hi][kh][c]) for c in range(len(q[i])))) * sh)
                    for kh in range(n)]
            relw = [F(F(sum((int(q[i][c]) - zq) * int(Rw[wi][kw][c]) for c in range(len(q[i])))) * sw)
                    for kw in range(n)]
            l = [F(F(l[j] + relh[j // n]) + relw[j % n]) for j in range(T)]
        m = max(l)
        P = [int(np.rint(F(nm.exp32(F(lj - m)) * F(255.0)))) for lj in l]
        Z = sum(P)
        for c in range(len(v[0])):
            A = sum(P[j] * (int(v[j][c]) - zv) for j in range(T))
            out[i, c] = F(F(F(A) * v_scale) / F(Z))
    return out


def test_int8_attention_matches_scalar_reading_of_numerics():
    from tools.quant.sim import Sim
    rng = np.random.default_rng(4)
    n, hd, heads = 3, 4, 2
    T = n * n
    t = {"a.q_zero": np.array([3], np.int32), "a.k_zero": np.array([-5], np.int32),
         "a.v_zero": np.array([10], np.int32), "a.logit_scale": np.array([0.0123], np.float32),
         "a.v_scale": np.array([0.031], np.float32),
         "a.rel_h": rng.integers(-127, 128, (n, n, hd)).astype(np.int8),
         "a.rel_w": rng.integers(-127, 128, (n, n, hd)).astype(np.int8),
         "a.rel_h_scale": np.array([0.0021], np.float32), "a.rel_w_scale": np.array([0.0017], np.float32)}
    sim = Sim(fm.ModelFile(metadata={"dtype": "int8"}, tensors=t, config={}))
    q, k, v = (rng.integers(-128, 128, (1, T, heads * hd)).astype(np.int32) for _ in range(3))
    got = sim.attention(q, k, v, "a", heads, hd, rel_n=n)[0]
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        want = _attention_scalar(q[0][:, sl], k[0][:, sl], v[0][:, sl], 3, -5, 10, F(0.0123), F(0.031),
                                 t["a.rel_h"], t["a.rel_w"], F(0.0021), F(0.0017), n)
        assert np.array_equal(got[:, sl], want)


def _reference_model(cfg_dict, seed):
    from tools.dualsam.configs import DualSamConfig
    from tools.dualsam.model import build
    return build(DualSamConfig.from_dict(cfg_dict), seed=seed, random_stats=True)


def test_fp32_file_simulation_matches_reference_model():
    """The graph spec (docs/MODEL_FORMAT.md section 6) executed from the fp32 FILE equals the PyTorch model."""
    from tools.convert.build import fp32_bytes
    from tools.make_fixtures import FIXTURE_CONFIG
    from tools.quant.sim import Sim
    torch.set_num_threads(1)
    model = _reference_model(FIXTURE_CONFIG, 3)
    sim = Sim(fm.decode(fp32_bytes(model)))
    img = np.random.default_rng(5).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    out = sim.run(img)
    ua, ub, _ = preprocess(img, FIXTURE_CONFIG["img_size"])
    ia, ib = (torch.from_numpy(np.ascontiguousarray(normalise(u).transpose(2, 0, 1))[None]) for u in (ua, ub))
    trace = {}
    logits, pred, _, mask = model.predict(ia, ib, trace=trace)
    assert np.abs(out["logits"] - logits[0].permute(1, 2, 0).numpy()).max() < 1e-4
    assert np.abs(out["pred"] - pred[0, 0].numpy()).max() < 1e-4
    rec = sim.record
    for j in range(4):
        assert np.abs(rec[f"mcp.blocks.{j}.e"] - trace[f"beta.level{j}"][0].reshape(-1, 32).numpy()).max() < 1e-4
    assert np.abs(rec["neck"] - trace["neck"][0].permute(1, 2, 0).numpy()).max() < 1e-4


def test_int8_agrees_with_fp32_on_tiny():
    """tiny with numpy random weights scaled to keep activations O(1) (the reference init's decoder output is
    nearly constant, which would hide quantization error)."""
    from tools.convert.build import int8_bytes_from_fp32
    from tools.convert.calib import structured
    from tools.convert.fold import fp32_metadata, random_fp32
    from tools.dualsam.configs import get_config
    from tools.quant.agreement import agreement
    cfg = get_config("tiny").to_dict()
    fp32 = fm.encode(random_fp32(cfg, 0), fp32_metadata(cfg))
    int8 = int8_bytes_from_fp32(fp32, structured(2, 1, (160, 120)), {"method": "minmax", "images": 2})
    r = agreement(fp32, int8, structured(2, 2, (200, 150)))
    assert r["iou"] > 0.95 and r["max_prob_diff"] < 0.05, r
    assert 0.05 < r["fp32_foreground"] < 0.999 or r["max_prob_diff"] > 1e-3, r    # not a degenerate output


def test_mixed_precision_simulation_restores_layers_toward_fp32():
    """tools.quant.sensitivity: an int8 file with every epilogue-A layer restored to fp32 runs those layers in
    fp32 (logits closer to the fp32 file than pure int8), and restoring nothing is the int8 file itself."""
    from tools.convert.build import int8_bytes_from_fp32
    from tools.convert.calib import structured
    from tools.convert.fold import fp32_metadata, random_fp32
    from tools.make_fixtures import FIXTURE_CONFIG
    from tools.quant.sensitivity import fp32_capable, groups, mixed
    from tools.quant.sim import Sim
    cfg = dict(FIXTURE_CONFIG)
    f32 = fm.decode(fm.encode(random_fp32(cfg, 0), fp32_metadata(cfg)))
    i8 = fm.decode(int8_bytes_from_fp32(fm.encode(random_fp32(cfg, 0), fp32_metadata(cfg)),
                                        structured(2, 1, (120, 90)), {"method": "minmax", "images": 2}))
    img = structured(1, 3, (100, 80))[0]
    ref = Sim(f32).run(img)["logits"]
    q = Sim(i8).run(img)["logits"]
    assert np.array_equal(Sim(mixed(i8, f32, [])).run(img)["logits"], q)
    names = fp32_capable(i8.config)
    assert "dec.pre4" in names and not any(n.endswith(".qkv") or ".se." in n for n in names)
    assert sorted(n for g in groups(i8.config).values() for n in g) == sorted(names)
    m = Sim(mixed(i8, f32, names)).run(img)["logits"]
    assert np.abs(m - ref).mean() < 0.5 * np.abs(q - ref).mean()
    conv = [n for n in names if n.endswith(".conv")][0]      # a 3x3 conv alone changes the output too
    assert not np.array_equal(Sim(mixed(i8, f32, [conv])).run(img)["logits"], q)
