"""On-the-fly gamma branch and model-input pre-processing, exactly as docs/NUMERICS.md section 7 (numpy).

preprocess(frame_rgb_u8, input_size) -> (img_alpha, img_beta, lut, resized_u8, gamma_u8); the float images are
(1, 3, S, S) float32, normalised with the official mean/std.
"""
from __future__ import annotations

import math

import numpy as np

MEAN = np.array([124.55, 118.90, 102.94], dtype=np.float32)
STD = np.array([56.77, 55.97, 57.50], dtype=np.float32)
FRAC_BITS = 11          # resize weights are in 1/2048
ONE = 1 << FRAC_BITS


def gray_u8(rgb: np.ndarray) -> np.ndarray:
    """OpenCV fixed-point gray: (4899 R + 9617 G + 1868 B + 8192) >> 14."""
    c = rgb.astype(np.int64)
    return ((4899 * c[..., 0] + 9617 * c[..., 1] + 1868 * c[..., 2] + 8192) >> 14).astype(np.uint8)


def gamma_of(rgb: np.ndarray) -> float:
    """gamma = log(0.5) / log(m), m = clamp(mean gray, 1, 254) / 255 (float64, libm)."""
    g = gray_u8(rgb)
    mean = float(int(g.astype(np.int64).sum())) / float(g.size)
    m = min(max(mean, 1.0), 254.0) / 255.0
    return math.log(0.5) / math.log(m)


def gamma_lut(gamma: float) -> np.ndarray:
    """LUT[i] = floor(255 * (i/255)^gamma + 0.5) clamped to [0, 255], libm pow per entry."""
    lut = np.empty(256, dtype=np.uint8)
    for i in range(256):
        v = math.floor(255.0 * math.pow(i / 255.0, gamma) + 0.5)
        lut[i] = min(max(v, 0), 255)
    return lut


def _axis_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i0, i1, f) per output index: half-pixel-centre bilinear taps with weights (2048 - f, f)."""
    x = np.arange(dst, dtype=np.int64)
    num = (2 * x + 1) * src - dst
    den = 2 * dst
    neg = num < 0
    i0 = np.where(neg, 0, num // den)
    f = np.where(neg, 0, ((num - i0 * den) * ONE + den // 2) // den)
    edge = i0 >= src - 1
    i0 = np.where(edge, src - 1, i0)
    f = np.where(edge, 0, f)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, f


def resize_u8(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Integer bilinear resize of an (H, W) or (H, W, C) uint8 image: (sum wy wx p + 2^21) >> 22."""
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError("resize_u8 expects an (H, W) or (H, W, C) uint8 array")
    squeeze = img.ndim == 2
    a = img[..., None] if squeeze else img
    H, W = a.shape[:2]
    y0, y1, fy = _axis_taps(H, out_h)
    x0, x1, fx = _axis_taps(W, out_w)
    p = a.astype(np.int64)
    wy0, wy1 = (ONE - fy)[:, None, None], fy[:, None, None]
    wx0, wx1 = (ONE - fx)[None, :, None], fx[None, :, None]
    acc = (wy0 * wx0 * p[y0][:, x0] + wy0 * wx1 * p[y0][:, x1]
           + wy1 * wx0 * p[y1][:, x0] + wy1 * wx1 * p[y1][:, x1])
    out = ((acc + (1 << 21)) >> 22).astype(np.uint8)
    return out[..., 0] if squeeze else out


def normalize(u8: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 -> (1, 3, S, S) float32: (Float(u) - mean_c) / std_c."""
    x = (u8.astype(np.float32) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def preprocess(frame_rgb_u8: np.ndarray, input_size: int):
    """Frame (H, W, 3) RGB uint8 -> (img_alpha, img_beta, lut, resized_u8, gamma_u8).

    Gamma comes from the mean gray of the full-size frame; the LUT is applied to the resized image."""
    f = np.asarray(frame_rgb_u8)
    if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 or f.shape[0] < 1 or f.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {f.dtype} {f.shape}")
    lut = gamma_lut(gamma_of(f))
    resized = resize_u8(f, input_size, input_size)
    gam = lut[resized]
    return normalize(resized), normalize(gam), lut, resized, gam


def to_tensors(frame_rgb_u8: np.ndarray, input_size: int):
    """preprocess() as a pair of torch tensors (img_alpha, img_beta)."""
    import torch

    a, b, *_ = preprocess(frame_rgb_u8, input_size)
    return torch.from_numpy(a), torch.from_numpy(b)
