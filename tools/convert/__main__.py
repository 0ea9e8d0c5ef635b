"""python -m tools.convert --checkpoint CKPT --config tiny [--calib DIR|synth:N] [--dtype int8|fp32] --out model.dsm

CKPT: a checkpoint tools/dualsam/checkpoint.load reads (ours with its config inside, a bare state_dict of ours,
or an official LoRA_Sam state_dict with --gates), or `random:SEED` for seeded random weights.
"""
from __future__ import annotations

import argparse
import sys


def load_model(checkpoint: str, config: str, gates: list[float] | None = None):
    """The reference model for CKPT (tools/dualsam/checkpoint.load: ours, a bare state_dict, or official)."""
    from tools.dualsam.model import build
    if checkpoint.startswith("random:"):
        return build(config, seed=int(checkpoint.split(":", 1)[1]), random_stats=True)
    import torch

    from tools.dualsam import checkpoint as ck
    from tools.dualsam.configs import DualSamConfig
    obj = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = config
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):     # tools/train.py checkpoints
        if isinstance(obj.get("config"), dict):
            cfg = DualSamConfig.from_dict(obj["config"])
        obj = obj["model"]
    return ck.load(obj, cfg=cfg, gated=gates, gated1=gates).eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.convert", description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--calib", default="synth:8", help="image directory or synth:N (int8 only)")
    ap.add_argument("--calib-limit", type=int, default=16)
    ap.add_argument("--dtype", choices=("int8", "fp32"), default="int8")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gates", help="official checkpoints only: 4 comma-separated gate values (gated = gated1)")
    a = ap.parse_args(argv)
    from tools.convert import calib
    from tools.convert.build import fp32_bytes, int8_bytes_from_fp32
    gates = [float(g) for g in a.gates.split(",")] if a.gates else None
    model = load_model(a.checkpoint, a.config, gates)
    raw = fp32_bytes(model)
    if a.dtype == "int8":
        images, source = calib.load(a.calib, a.calib_limit)
        raw = int8_bytes_from_fp32(raw, images, {"method": "minmax", "images": len(images), "source": source})
    with open(a.out, "wb") as f:
        f.write(raw)
    print(f"wrote {a.out}: {a.dtype}, {len(raw)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
