"""Weight layout conversions and folding (docs/MODEL_FORMAT.md sections 5.1 and 7), all in float64."""
from __future__ import annotations

import json

import numpy as np

from tools.convert.format import FORMAT_NAME, FORMAT_VERSION, NUMERICS_VERSION
from tools.convert.schema import LN_EPS, attentions, expected_tensors, layernorms, layers
from tools.quant.prepost import MEAN, STD

PRODUCER = "dualsam-edge tools/convert 1"


def conv_hwc(w: np.ndarray) -> np.ndarray:
    """PyTorch conv weight [O, I, kh, kw] -> [O, kh*kw*I] with column (ky*kw + kx)*I + ci."""
    w = np.asarray(w, np.float64)
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def convt2(w: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch ConvTranspose2d(k2, s2) weight [Cin, Cout, 2, 2] -> [4*Cout, Cin] rows (dy*2+dx)*Cout + co."""
    w = np.asarray(w, np.float64)
    cout = w.shape[1]
    rows = w.transpose(2, 3, 1, 0).reshape(4 * cout, w.shape[0])
    bias = np.zeros(cout) if b is None else np.asarray(b, np.float64)
    return rows, np.tile(bias, 4)


def fold_bn(w: np.ndarray, b, gamma, beta, mean, var, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Fold BatchNorm into the preceding conv (weight rows scaled per output channel)."""
    a = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    w = np.asarray(w, np.float64) * a.reshape((-1,) + (1,) * (np.ndim(w) - 1))
    b0 = np.zeros_like(a) if b is None else np.asarray(b, np.float64)
    return w, np.asarray(beta, np.float64) + (b0 - np.asarray(mean, np.float64)) * a


def fold_convt_1x1(w1, b1, w2, b2) -> tuple[np.ndarray, np.ndarray]:
    """ConvT(Cin->m, 2x2 s2) [Cin, m, 2, 2] then Conv1x1 [o, m, 1, 1] -> one ConvT [Cin, o, 2, 2] and bias."""
    w1, w2 = np.asarray(w1, np.float64), np.asarray(w2, np.float64)[:, :, 0, 0]
    w = np.einsum("imyx,om->ioyx", w1, w2)
    return w, w2 @ np.asarray(b1, np.float64) + np.asarray(b2, np.float64)


def expand_rel_pos(table: np.ndarray, n: int) -> np.ndarray:
    """SAM get_rel_pos for q_size = k_size = n: [2n-1, hd] table (resized linearly if needed) -> [n, n, hd]."""
    table = np.asarray(table, np.float64)
    L = 2 * n - 1
    if table.shape[0] != L:
        import torch
        import torch.nn.functional as Fn
        t = torch.from_numpy(table).T[None]
        table = Fn.interpolate(t, size=L, mode="linear").numpy()[0].T
    idx = np.arange(n)[:, None] - np.arange(n)[None, :] + (n - 1)
    return table[idx]


def config_json(cfg: dict) -> str:
    """The `config` metadata string: the architecture dict plus the LayerNorm epsilons, sorted, compact."""
    d = dict(cfg)
    for k, v in LN_EPS.items():
        d.setdefault(k, v)
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def fp32_metadata(cfg: dict) -> dict[str, str]:
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "numerics_version": NUMERICS_VERSION,
            "dtype": "fp32", "config": config_json(cfg), "calibration": "{}", "producer": PRODUCER}


def finish_fp32(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float64/float32 arrays -> float32 contiguous (the fp32 file's tensors)."""
    return {k: np.ascontiguousarray(np.asarray(v, np.float32)) for k, v in tensors.items()}


def random_fp32(cfg: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """A random fp32 model in file naming (for tests when no reference model is used): scaled so activations
    stay O(1) through the graph."""
    cfg = json.loads(config_json(cfg))
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {"pre.mean": MEAN, "pre.std": STD}
    want = expected_tensors(cfg, "fp32")
    for L in layers(cfg):
        out[f"{L.name}.weight"] = rng.normal(0, 1.0 / np.sqrt(L.K), (L.O, L.K))
        out[f"{L.name}.bias"] = rng.normal(0, 0.02, L.O)
    for name, c in layernorms(cfg).items():
        out[f"{name}.weight"] = 1.0 + rng.normal(0, 0.1, c)
        out[f"{name}.bias"] = rng.normal(0, 0.05, c)
    for name, (n, hd) in attentions(cfg).items():
        out[f"{name}.scale"] = np.array([hd ** -0.5])
        if n:
            out[f"{name}.rel_h"] = expand_rel_pos(rng.normal(0, 0.1, (2 * n - 1, hd)), n)
            out[f"{name}.rel_w"] = expand_rel_pos(rng.normal(0, 0.1, (2 * n - 1, hd)), n)
    for key in ("enc.pos_embed", "mcp.pos_embed"):
        out[key] = rng.normal(0, 0.1, want[key][1])
    for j in range(4):
        out[f"mcp.blocks.{j}.gate"] = np.array([rng.uniform(0.5, 1.0)])
    assert set(out) == set(want), sorted(set(want) ^ set(out))
    return finish_fp32(out)
