"""Pre- and post-processing of docs/NUMERICS.md sections 7 and 8 (integer resize, gamma LUT, C3P, mask)."""
from __future__ import annotations

import math

import numpy as np

from tools.quant.numerics import F, f32, sigmoid

MEAN = np.array([124.55, 118.90, 102.94], np.float32)
STD = np.array([56.77, 55.97, 57.50], np.float32)


def gamma_lut(rgb: np.ndarray) -> np.ndarray:
    """256-entry uint8 LUT from the full-size RGB8 frame (NUMERICS 7.2)."""
    r, g, b = (rgb[..., c].astype(np.int64) for c in range(3))
    gray = (4899 * r + 9617 * g + 1868 * b + 8192) >> 14
    mean = float(gray.sum()) / float(gray.size)
    m = min(max(mean, 1.0), 254.0) / 255.0
    gam = math.log(0.5) / math.log(m)
    lut = [min(max(int(math.floor(255.0 * math.pow(i / 255.0, gam) + 0.5)), 0), 255) for i in range(256)]
    return np.array(lut, np.uint8)


def _axis(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x0s, x1s, fs = [], [], []
    for x in range(dst):
        num, den = (2 * x + 1) * src - dst, 2 * dst
        if num < 0:
            x0, f = 0, 0
        else:
            x0 = num // den
            f = ((num - x0 * den) * 2048 + den // 2) // den
        if x0 >= src - 1:
            x0, f = src - 1, 0
        x0s.append(x0)
        x1s.append(min(x0 + 1, src - 1))
        fs.append(f)
    return np.array(x0s), np.array(x1s), np.array(fs, np.int64)


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Integer bilinear resize with half-pixel centres of an [H, W] or [H, W, C] uint8 image (NUMERICS 7.3)."""
    src = img.astype(np.int64)
    if src.ndim == 2:
        src = src[..., None]
    H, W = src.shape[:2]
    y0, y1, fy = _axis(H, h)
    x0, x1, fx = _axis(W, w)
    wy0, wy1 = (2048 - fy)[:, None, None], fy[:, None, None]
    wx0, wx1 = (2048 - fx)[None, :, None], fx[None, :, None]
    acc = (wy0 * wx0 * src[y0][:, x0] + wy0 * wx1 * src[y0][:, x1]
           + wy1 * wx0 * src[y1][:, x0] + wy1 * wx1 * src[y1][:, x1])
    out = ((acc + (1 << 21)) >> 22).astype(np.uint8)
    return out if img.ndim == 3 else out[..., 0]


def preprocess(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uα, uβ, lut): the resized frame, its gamma image and the LUT."""
    lut = gamma_lut(rgb)
    ua = resize(rgb, size, size)
    return ua, lut[ua], lut


def normalise(u: np.ndarray, mean=MEAN, std=STD) -> np.ndarray:
    return (u.astype(np.float32) - f32(mean)) / f32(std)


# C3P partners (NUMERICS 8.2, dual-sam.md 1.7): channel k votes with channel 7-k read at (r + dy, c + dx)
C3P_PARTNER = ((1, 0), (-1, 0), (0, 1), (0, -1), (0, 1), (0, 1), (1, 0), (1, 0))


def c3p(p: np.ndarray) -> np.ndarray:
    """pred[r, c] = max_k p_k(r, c) * p_{7-k}(r + dy_k, c + dx_k), zero outside; p is [H, W, 8]."""
    H, W, _ = p.shape
    votes = []
    for k, (dy, dx) in enumerate(C3P_PARTNER):
        part = np.zeros((H, W), np.float32)
        src = p[..., 7 - k]
        ys, ye = max(0, -dy), min(H, H - dy)
        xs, xe = max(0, -dx), min(W, W - dx)
        part[ys:ye, xs:xe] = src[ys + dy:ye + dy, xs + dx:xe + dx]
        votes.append(p[..., k] * part)
    return np.max(np.stack(votes), axis=0).astype(np.float32)


def postprocess(logits: np.ndarray) -> dict[str, np.ndarray]:
    """prob (sigmoid), pred (C3P map), map8 (the 8-bit map), mask (map8 > 65) at model resolution."""
    prob = sigmoid(logits)
    pred = c3p(prob)
    g = np.floor(pred * F(255.0) + F(0.5))
    map8 = np.clip(g, 0, 255).astype(np.uint8)
    return {"prob": prob, "pred": pred, "map8": map8, "mask": (map8 > 65).astype(np.uint8)}
