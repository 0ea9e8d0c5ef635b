"""Bringing predictions and ground truth into the form the official scoring uses."""
from __future__ import annotations

import numpy as np
from PIL import Image


def pred_to_uint8(pred: np.ndarray) -> np.ndarray:
    """An 8-bit map from a prediction: uint8 passes through; floats in [0, 1] are quantised like torchvision's
    `save_image` (x * 255 + 0.5, clamped, truncated), which is how the official test script writes its maps."""
    pred = np.asarray(pred)
    if pred.ndim != 2:
        raise ValueError(f"a prediction must be a 2-D map, got shape {pred.shape}")
    if pred.dtype == np.uint8:
        return pred
    if pred.dtype == bool:
        return pred.astype(np.uint8) * 255
    if not np.issubdtype(pred.dtype, np.floating):
        raise TypeError(f"prediction dtype {pred.dtype} is neither uint8, bool nor float")
    return np.clip(pred.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def resize_pred(pred_u8: np.ndarray, size_hw: tuple) -> np.ndarray:
    """Resize an 8-bit prediction to the ground-truth size as test_score.py does: PIL `Image.resize` with its
    default filter for mode "L" (bicubic), only when the sizes differ."""
    h, w = size_hw
    if pred_u8.shape == (h, w):
        return pred_u8
    return np.asarray(Image.fromarray(pred_u8, mode="L").resize((w, h), Image.BICUBIC))


def gt_to_binary(gt: np.ndarray) -> np.ndarray:
    """Ground truth as test_score.py reads it: divided by its max, foreground where > 0.5."""
    gt = np.asarray(gt)
    if gt.ndim == 3:
        gt = np.asarray(Image.fromarray(gt).convert("L"))
    g = gt.astype(np.float32)
    return g / (g.max() + 1e-8) > 0.5
