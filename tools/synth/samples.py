"""The bundled sample frames: a fixed list of generator calls at several frame sizes, two with no animal.

    python -m tools.synth.samples --out samples
"""
from __future__ import annotations

import argparse
import os
import sys

from PIL import Image

from . import generate

SEED = 2024
SPLIT = "val"  # neither the train nor the test split, so samples never leak into scoring
QUALITY = 85
# (index, width, height, empty): the index selects the scene of the val split; empty forces a frame with no animal.
FRAMES = [
    (0, 640, 480, False), (1, 640, 480, False), (2, 640, 480, False), (3, 640, 480, True),
    (4, 1280, 720, False), (5, 1280, 720, False), (6, 1280, 720, False), (7, 1280, 720, True),
    (8, 512, 512, False), (9, 512, 512, False), (10, 512, 512, False), (11, 512, 512, False),
    (12, 320, 240, False), (13, 320, 240, False), (14, 320, 240, False), (15, 320, 240, True),
]


def frame_name(index: int, width: int, height: int) -> str:
    return f"frame_{index:02d}_{width}x{height}"


def write_samples(out: str) -> list:
    """Write every sample frame (JPEG) and its mask (PNG, in out/masks); returns the stems."""
    os.makedirs(os.path.join(out, "masks"), exist_ok=True)
    stems = []
    for index, w, h, empty in FRAMES:
        rgb, mask, _ = generate(SEED, SPLIT, index, w, h, empty_prob=1.0 if empty else 0.0)
        stem = frame_name(index, w, h)
        Image.fromarray(rgb).save(os.path.join(out, stem + ".jpg"), quality=QUALITY, optimize=False)
        Image.fromarray(mask, mode="L").save(os.path.join(out, "masks", stem + ".png"))
        stems.append(stem)
    return stems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.synth.samples", description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", default="samples")
    a = ap.parse_args(argv)
    stems = write_samples(a.out)
    print(f"wrote {len(stems)} sample frames to {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
