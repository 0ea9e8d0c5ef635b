"""mIoU exactly as the official Dual-SAM evaluation defines it (metric.py `cal_iou`, fed by test_score.py).

Per image: the prediction is min-max normalised (test_score.py; a constant map is divided by 255 instead),
binarised at > 0.5, then passed through an adaptive threshold of 2 * mean of that binary map (capped at 1). On a
non-empty binary map this threshold keeps it unchanged; on an ALL-EMPTY map the threshold is 0, so every pixel
passes and the prediction becomes all-foreground. The score is the foreground IoU with smoothing 1e-5,
    (|P & G| + 1e-5) / (|P | G| + 1e-5),
and mIoU is the plain mean over images (not a class mean).

Consequences of the quirk, kept on purpose for like-for-like numbers:
- predicting nothing on an image with animals scores |G| / (H W) (the animals' area fraction), not 0;
- an image whose ground truth is empty scores ~0 whatever is predicted (1e-5 / (|P| + 1e-5), with |P| >= 1 since
  an empty prediction became full), so a test split with empty frames caps the achievable mIoU.
"""
from __future__ import annotations

import numpy as np

SMOOTH = 1e-5


def normalise_pred(pred_u8: np.ndarray) -> np.ndarray:
    """test_score.py's normalisation of an 8-bit prediction to [0, 1]."""
    res = pred_u8.astype(np.float64)
    lo, hi = res.min(), res.max()
    if hi == lo:
        return res / 255.0
    return (res - lo) / (hi - lo)


def official_iou(pred_u8: np.ndarray, gt_bool: np.ndarray) -> float:
    """IoU of one image as `cal_iou` computes it, from an 8-bit prediction and a boolean ground truth."""
    if pred_u8.shape != gt_bool.shape:
        raise ValueError(f"prediction {pred_u8.shape} and ground truth {gt_bool.shape} differ in shape")
    binary = normalise_pred(pred_u8) > 0.5
    if not binary.any():
        binary = np.ones_like(binary)  # the 2*mean adaptive threshold is 0 on an empty map: all pixels pass
    inter = np.count_nonzero(binary & gt_bool)
    union = np.count_nonzero(binary | gt_bool)
    return float((inter + SMOOTH) / (union + SMOOTH))


class MeanIoU:
    """Accumulates official per-image IoUs; `result()` is their mean."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, pred_u8: np.ndarray, gt_bool: np.ndarray) -> float:
        v = official_iou(pred_u8, gt_bool)
        self.values.append(v)
        return v

    def result(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")
