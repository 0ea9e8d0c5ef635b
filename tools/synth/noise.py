"""Cheap band-limited noise fields (value noise, fBm, ridged noise, caustics) built from upsampled random grids."""
from __future__ import annotations

import numpy as np
from PIL import Image


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise in [-1, 1] with features about `cell` pixels wide (bicubic upsampling of a random grid)."""
    gh = max(2, int(np.ceil(h / cell)) + 2)
    gw = max(2, int(np.ceil(w / cell)) + 2)
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)
    # Upsample the whole padded grid, then crop, so the field has no stretch at the borders.
    big_h, big_w = int(round(gh * cell)), int(round(gw * cell))
    img = Image.fromarray(grid, mode="F").resize((max(big_w, w), max(big_h, h)), Image.BICUBIC)
    out = np.asarray(img, dtype=np.float32)[:h, :w]
    return np.clip(out, -1.0, 1.0)


def fbm(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of value-noise octaves, normalised to roughly [-1, 1]."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        if cell < 1.5:
            break
        total += amp * value_noise(rng, h, w, cell)
        norm += amp
        amp *= gain
        cell /= 2.0
    return total / max(norm, 1e-6)


def ridged(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 3) -> np.ndarray:
    """Ridged noise in [0, 1]: bright thin ridges where the underlying noise crosses zero."""
    n = fbm(rng, h, w, cell, octaves)
    return (1.0 - np.abs(n) * 2.5).clip(0.0, 1.0) ** 2


def caustics(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Caustic light network in [0, 1]: the product of two ridged fields gives the web of bright lines."""
    a = (1.0 - np.abs(value_noise(rng, h, w, cell)) * 3.0).clip(0.0, 1.0)
    b = (1.0 - np.abs(value_noise(rng, h, w, cell * 0.8)) * 3.0).clip(0.0, 1.0)
    return np.maximum(a, b) ** 3
