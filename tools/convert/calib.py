"""Calibration images: a directory of PNG/JPEG files, or synthetic scenes from tools/synth."""
from __future__ import annotations

import os

import numpy as np

EXTS = (".png", ".jpg", ".jpeg", ".ppm", ".bmp")


def structured(n: int, seed: int, size: tuple[int, int]) -> list[np.ndarray]:
    """n deterministic 'water gradient + coloured blobs + noise' RGB8 images of size (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    imgs = []
    for _ in range(n):
        base = np.stack([20 + 60 * yy / h, 80 + 90 * xx / w, 110 + 80 * (1 - yy / h)], -1)
        for _ in range(4):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.3) * min(w, h)
            base[((yy - cy) ** 2 + (xx - cx) ** 2) < r * r] = rng.uniform(0, 255, 3)
        imgs.append(np.clip(np.rint(base + rng.normal(0, 8, base.shape)), 0, 255).astype(np.uint8))
    return imgs


def synthetic(n: int, seed: int = 7, size: tuple[int, int] = (320, 240)) -> tuple[list[np.ndarray], str]:
    """n synthetic underwater scenes (tools/synth `val` split), or structured images if synth is absent."""
    try:
        from tools.synth import generate
    except ImportError:
        return structured(n, seed, size), f"structured images seed {seed}"
    return [generate(seed, "val", i, size[0], size[1])[0] for i in range(n)], f"tools/synth val seed {seed}"


def load(spec: str, limit: int = 16, seed: int = 7) -> tuple[list[np.ndarray], str]:
    """`synth:N` -> N synthetic scenes; a directory -> up to `limit` of its images (sorted by name)."""
    if spec.startswith("synth:"):
        return synthetic(int(spec.split(":", 1)[1]), seed)
    from PIL import Image
    names = sorted(f for f in os.listdir(spec) if f.lower().endswith(EXTS))[:limit]
    if not names:
        raise SystemExit(f"--calib {spec}: no images ({', '.join(EXTS)})")
    return [np.asarray(Image.open(os.path.join(spec, f)).convert("RGB")) for f in names], f"dir {spec}"
