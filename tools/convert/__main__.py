"""python -m tools.convert --checkpoint CKPT --config tiny [--calib DIR|synth:N] [--dtype int8|fp32] --out model.dsm

CKPT: a state_dict of the reference model (tools/dualsam; our training or the official LoRA_Sam layout when
tools/dualsam provides a loader), or `random:SEED` for seeded random weights.
"""
from __future__ import annotations

import argparse
import sys

import torch


def load_model(checkpoint: str, config: str):
    from tools.dualsam.model import build
    if checkpoint.startswith("random:"):
        return build(config, seed=int(checkpoint.split(":", 1)[1]), random_stats=True)
    model = build(config)
    try:
        from tools.dualsam import checkpoint as ck      # official-layout loader, when present
        loader = getattr(ck, "load_checkpoint", None)
    except ImportError:
        loader = None
    if loader is not None:
        loader(model, checkpoint)
    else:
        sd = torch.load(checkpoint, map_location="cpu", weights_only=True)
        for key in ("model", "state_dict"):
            if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
                sd = sd[key]
        model.load_state_dict(sd, strict=True)
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.convert", description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--calib", default="synth:8", help="image directory or synth:N (int8 only)")
    ap.add_argument("--calib-limit", type=int, default=16)
    ap.add_argument("--dtype", choices=("int8", "fp32"), default="int8")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    from tools.convert import calib
    from tools.convert.build import fp32_bytes, int8_bytes_from_fp32
    model = load_model(a.checkpoint, a.config)
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
