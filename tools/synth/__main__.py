"""CLI: write a synthetic split in the official dataset layout (DIR/Image/*.jpg, DIR/Masks/*.png).

    python -m tools.synth --out data/synth/train --count 2000 --seed 1 --size 512 --split train
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool

from PIL import Image

from . import SPLITS, generate


def image_name(split: str, seed: int, index: int) -> str:
    """File stem of one image: split, seed and index, so splits and seeds never collide."""
    return f"synth_{split}_s{seed}_{index:06d}"


def write_one(args: tuple) -> str:
    out, seed, split, index, width, height, fmt, quality, empty_prob = args
    rgb, mask, _ = generate(seed, split, index, width, height, empty_prob)
    stem = image_name(split, seed, index)
    if fmt == "jpg":
        # Fixed encoder settings: the same Pillow/libjpeg build gives byte-identical files.
        Image.fromarray(rgb).save(os.path.join(out, "Image", stem + ".jpg"), quality=quality, optimize=False)
    else:
        Image.fromarray(rgb).save(os.path.join(out, "Image", stem + ".png"))
    Image.fromarray(mask, mode="L").save(os.path.join(out, "Masks", stem + ".png"))
    return stem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder; Image/ and Masks/ are created inside")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=512, help="width (and height unless --height is given)")
    ap.add_argument("--height", type=int, default=None)
    ap.add_argument("--split", choices=sorted(SPLITS), default="train")
    ap.add_argument("--start", type=int, default=0, help="index of the first image (to extend a split)")
    ap.add_argument("--format", choices=["jpg", "png"], default="jpg", help="image format (masks are always PNG)")
    ap.add_argument("--quality", type=int, default=92, help="JPEG quality")
    ap.add_argument("--empty-prob", type=float, default=None,
                    help="probability of a frame with no animal (default: 0.08 train, 0 test/val)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    a = ap.parse_args(argv)
    if a.count < 0 or a.size < 16 or (a.height is not None and a.height < 16):
        ap.error("count must be >= 0 and sizes >= 16")
    height = a.height or a.size
    os.makedirs(os.path.join(a.out, "Image"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "Masks"), exist_ok=True)
    jobs = [(a.out, a.seed, a.split, i, a.size, height, a.format, a.quality, a.empty_prob)
            for i in range(a.start, a.start + a.count)]
    t0 = time.time()
    if a.jobs > 1:
        with Pool(a.jobs) as pool:
            for _ in pool.imap_unordered(write_one, jobs, chunksize=8):
                pass
    else:
        for j in jobs:
            write_one(j)
    dt = time.time() - t0
    print(f"wrote {a.count} scenes ({a.size}x{height}, split {a.split}, seed {a.seed}) to {a.out} in {dt:.1f} s"
          f" ({a.count / max(dt, 1e-9) * 60:.0f} per minute)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
