"""int8-vs-fp32 agreement of a converted model: `python -m tools.quant.agreement --config tiny [--checkpoint CKPT]`.

Converts the checkpoint (or seeded random weights) to fp32 and int8 files, runs both through the simulation on
held-out synthetic scenes and prints the mask IoU and the maximum probability-map difference.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from tools.convert import format as fm
from tools.quant.sim import Sim


def agreement(fp32_raw: bytes, int8_raw: bytes, images) -> dict:
    """Mean mask IoU and max |pred_int8 - pred_fp32| over `images` (both files run by the simulation)."""
    s32, s8 = Sim(fm.decode(fp32_raw)), Sim(fm.decode(int8_raw))
    ious, diffs, fg = [], [], []
    for img in images:
        a, b = s32.run(img), s8.run(img)
        ma, mb = a["mask"].astype(bool), b["mask"].astype(bool)
        union = (ma | mb).sum()
        ious.append(1.0 if union == 0 else float((ma & mb).sum() / union))
        diffs.append(float(np.abs(a["pred"] - b["pred"]).max()))
        fg.append(float(ma.mean()))
    return {"iou": float(np.mean(ious)), "min_iou": float(np.min(ious)), "max_prob_diff": max(diffs),
            "fp32_foreground": float(np.mean(fg))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--checkpoint", default="random:0",
                    help="CKPT, random:SEED (reference init) or scaled:SEED (tools/convert/fold.random_fp32)")
    ap.add_argument("--calib", default="synth:4")
    ap.add_argument("--images", type=int, default=3)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    from tools.convert import calib
    from tools.convert.__main__ import load_model
    from tools.convert.build import fp32_bytes, int8_bytes_from_fp32
    t0 = time.time()
    if a.checkpoint.startswith("scaled:"):      # numpy random weights scaled to keep activations O(1)
        from tools.convert.fold import fp32_metadata, random_fp32
        from tools.dualsam.configs import get_config
        cfg = get_config(a.config).to_dict()
        fp32 = fm.encode(random_fp32(cfg, int(a.checkpoint.split(":")[1])), fp32_metadata(cfg))
    else:
        model = load_model(a.checkpoint, a.config)
        fp32 = fp32_bytes(model)
        del model
    imgs, source = calib.load(a.calib)
    int8 = int8_bytes_from_fp32(fp32, imgs, {"method": "minmax", "images": len(imgs), "source": source})
    try:
        from tools.synth import generate
        test = [generate(99, "test", i, 320, 240)[0] for i in range(a.images)]
    except ImportError:
        test = calib.structured(a.images, 99, (320, 240))
    r = agreement(fp32, int8, test)
    print(f"config {a.config} checkpoint {a.checkpoint}: fp32 {len(fp32)} bytes, int8 {len(int8)} bytes; "
          f"{a.images} images: mask IoU mean {r['iou']:.4f} (min {r['min_iou']:.4f}), "
          f"max prob diff {r['max_prob_diff']:.4f}, fp32 foreground {r['fp32_foreground']:.3f} "
          f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
