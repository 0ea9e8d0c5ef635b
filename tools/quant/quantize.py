"""Post-training int8 quantization of an fp32 model file's tensors (docs/MODEL_FORMAT.md, docs/NUMERICS.md).

Weights: symmetric per output row. Activations: asymmetric per tensor, min/max over the calibration images
(the patch-embedding inputs use the exact range of the normalised 8-bit values instead).
"""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from tools.convert.format import ModelFile
from tools.convert.schema import attentions, layers
from tools.quant import numerics as nm
from tools.quant.prepost import MEAN, STD
from tools.quant.sim import Sim


class RangeObserver:
    """Running min/max per (layer, kind, part)."""

    def __init__(self):
        self.lo = defaultdict(lambda: np.inf)
        self.hi = defaultdict(lambda: -np.inf)

    def __call__(self, name, kind, x):
        parts = 3 if (kind == "out" and name.endswith(".qkv")) else 1
        for idx, chunk in enumerate(np.split(np.asarray(x), parts, axis=-1)):
            key = (name, kind, idx)
            self.lo[key] = min(self.lo[key], float(chunk.min()))
            self.hi[key] = max(self.hi[key], float(chunk.max()))

    def range(self, name, kind, part=0):
        key = (name, kind, part)
        if key not in self.lo:
            raise KeyError(f"calibration saw no {kind} activation of {name}")
        return self.lo[key], self.hi[key]


def calibrate(fp32: ModelFile, images) -> RangeObserver:
    """Run the fp32 file over calibration images (RGB8 arrays) and record the activation ranges."""
    obs = RangeObserver()
    sim = Sim(fp32, observer=obs)
    for img in images:
        sim.run(img)
    return obs


def _input_range(scale: float) -> tuple[float, float]:
    lo = float(((0.0 - MEAN.astype(np.float64)) / STD).min()) * scale
    hi = float(((255.0 - MEAN.astype(np.float64)) / STD).max()) * scale
    return lo, hi


def quantize_model(fp32: ModelFile, obs: RangeObserver, calib_info: dict) -> tuple[dict, dict]:
    """(tensors, metadata) of the int8 file for the fp32 file `fp32` and the observed ranges."""
    t = fp32.tensors
    cfg = fp32.config
    out: dict[str, np.ndarray] = {name: np.array(a) for name, a in t.items()}
    out_q: dict[str, tuple[float, int]] = {}      # epilogue-B output (scale, zero) per layer part
    for L in layers(cfg):
        if not L.quant:
            continue
        W = np.asarray(t[f"{L.name}.weight"], np.float64)
        b = np.asarray(t[f"{L.name}.bias"], np.float64)
        if L.name == "enc.patch_embed":
            lo, hi = _input_range(1.0)
        elif L.name == "mcp.patch_embed":
            lo, hi = _input_range(2.0)
        else:
            lo, hi = obs.range(L.name, "in")
        s_a, z_a = nm.act_qparams(lo, hi)
        wq, s_w = nm.weight_qparams(W)
        del out[f"{L.name}.weight"], out[f"{L.name}.bias"]
        out[f"{L.name}.weight"] = wq
        out[f"{L.name}.w_scale"] = s_w.astype(np.float32)
        out[f"{L.name}.in_inv_s"] = np.array([1.0 / s_a], np.float32)
        out[f"{L.name}.in_zero"] = np.array([z_a], np.int32)
        out[f"{L.name}.in_scale"] = np.array([s_a], np.float32)
        if L.epilogue == "A":
            out[f"{L.name}.m"] = (s_a * s_w).astype(np.float32)
            out[f"{L.name}.bias"] = b.astype(np.float32)
            continue
        parts = 3 if L.name.endswith(".qkv") else 1
        rows = L.O // parts
        M = np.zeros(L.O, np.int64)
        sh = np.zeros(L.O, np.int64)
        zo = np.zeros(L.O, np.int64)
        so = np.zeros(L.O, np.float64)
        for part in range(parts):
            s_o, z_o = nm.act_qparams(*obs.range(L.name, "out", part))
            out_q[(L.name, part)] = (s_o, z_o)
            for r in range(part * rows, (part + 1) * rows):
                M[r], sh[r] = nm.requant_params(s_a * s_w[r] / s_o)
                zo[r], so[r] = z_o, s_o
        bq = np.rint(b / (s_a * s_w))
        if np.abs(bq).max(initial=0) >= 2 ** 31 - 2 ** 24:
            raise ValueError(f"{L.name}: quantized bias out of int32 range (broken calibration)")
        out[f"{L.name}.mult"] = M.astype(np.int32)
        out[f"{L.name}.shift"] = sh.astype(np.int32)
        out[f"{L.name}.bias_q"] = bq.astype(np.int32)
        out[f"{L.name}.out_zero"] = zo.astype(np.int32)
        out[f"{L.name}.out_scale"] = so.astype(np.float32)
    for name, (n, hd) in attentions(cfg).items():
        if name.endswith(".cross"):
            base = name
            (s_q, z_q), (s_k, z_k), (s_v, z_v) = (out_q[(f"{base}.{x}", 0)] for x in "qkv")
        else:
            (s_q, z_q), (s_k, z_k), (s_v, z_v) = (out_q[(f"{name}.qkv", p)] for p in range(3))
        del out[f"{name}.scale"]
        out[f"{name}.logit_scale"] = np.array([s_q * s_k * hd ** -0.5], np.float32)
        out[f"{name}.v_scale"] = np.array([s_v], np.float32)
        out[f"{name}.q_zero"] = np.array([z_q], np.int32)
        out[f"{name}.k_zero"] = np.array([z_k], np.int32)
        out[f"{name}.v_zero"] = np.array([z_v], np.int32)
        if n:
            for r in ("h", "w"):
                R = np.asarray(t[f"{name}.rel_{r}"], np.float64)
                amax = np.abs(R).max()
                s_r = amax / 127.0 if amax > 0 else 1.0
                out[f"{name}.rel_{r}"] = np.clip(np.rint(R / s_r), -127, 127).astype(np.int8)
                out[f"{name}.rel_{r}_scale"] = np.array([s_q * s_r], np.float32)
    meta = dict(fp32.metadata)
    meta["dtype"] = "int8"
    meta["calibration"] = json.dumps(calib_info, sort_keys=True, separators=(",", ":"))
    meta.pop("checksum", None)
    return out, meta
