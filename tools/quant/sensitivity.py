"""Which matmul layers cost the int8 model its agreement with fp32: mask IoU per frame, one layer group in fp32.

    .venv/bin/python -m tools.quant.sensitivity --fp32 tiny_fp32.dsm --int8 tiny_int8.dsm samples/*.jpg [--groups]

Runs the integer simulation (tools/quant/sim.py, bit-exact with the engine) of the int8 file, then again with one
layer (or one block's layers, --groups) restored to its fp32 weights (`mixed`), and prints each frame's mask IoU
against the fp32 file. Layers with epilogue A (fp32 output) can be restored; the attention inputs (epilogue B) stay
int8. A diagnostic: the engine runs such mixed files only in this simulation (docs/MODELS.md section 8 has the
study of the bundled model).
"""
from __future__ import annotations

import argparse
import re
import sys

import numpy as np

from tools.convert.format import ModelFile, read
from tools.convert.schema import layers
from tools.quant.sim import Sim

_INT8_SUFFIXES = ("w_scale", "in_inv_s", "in_zero", "in_scale", "m")


def fp32_capable(cfg: dict) -> list[str]:
    """Names of the quantized layers an int8 file may keep in fp32 (epilogue A: their output is fp32 anyway)."""
    return [L.name for L in layers(cfg) if L.quant and L.epilogue == "A"]


def mixed(int8: ModelFile, fp32: ModelFile, names) -> ModelFile:
    """`int8` with the layers `names` holding their fp32 weight and bias (and no quantization constants)."""
    t = dict(int8.tensors)
    for name in names:
        for s in _INT8_SUFFIXES:
            t.pop(f"{name}.{s}", None)
        t[f"{name}.weight"] = fp32.tensors[f"{name}.weight"]
        t[f"{name}.bias"] = fp32.tensors[f"{name}.bias"]
    return ModelFile(dict(int8.metadata), t, int8.config)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    u = int((a | b).sum())
    return 1.0 if u == 0 else int((a & b).sum()) / u


def groups(cfg: dict) -> dict[str, list[str]]:
    """fp32-capable layers grouped by block (`enc.blocks.3`, `mcp.blocks.1`, `dec.fu2`, ...)."""
    out: dict[str, list[str]] = {}
    for name in fp32_capable(cfg):
        m = re.match(r"(enc\.blocks\.\d+|enc\.adapters\.\w\.\d+|mcp\.blocks\.\d+|dec\.\w+\d*)", name)
        out.setdefault(m.group(1) if m else name, []).append(name)
    return out


def masks(mf: ModelFile, frames) -> list[np.ndarray]:
    sim = Sim(mf)
    return [sim.run(f)["mask"].astype(bool) for f in frames]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.quant.sensitivity", description=__doc__.splitlines()[0])
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--int8", required=True)
    ap.add_argument("--groups", action="store_true", help="restore one block's layers at a time")
    ap.add_argument("--keep", default="", help="comma-separated layers already restored in every run")
    ap.add_argument("frames", nargs="+")
    a = ap.parse_args(argv)
    from PIL import Image
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in a.frames]
    f32, i8 = read(a.fp32), read(a.int8)
    keep = [k for k in a.keep.split(",") if k]
    ref = masks(f32, frames)

    def score(names) -> list[float]:
        return [iou(r, m) for r, m in zip(ref, masks(mixed(i8, f32, keep + list(names)), frames))]

    def line(label, s):
        print(f"{label:28s} min {min(s):.4f} mean {np.mean(s):.4f}  " + " ".join(f"{x:.3f}" for x in s), flush=True)

    line("int8" + (" + keep" if keep else ""), score([]))
    cand = groups(i8.config) if a.groups else {n: [n] for n in fp32_capable(i8.config)}
    for label, names in cand.items():
        line(label, score(names))
    line("all fp32-capable", score(fp32_capable(i8.config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
