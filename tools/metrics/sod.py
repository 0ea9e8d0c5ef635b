"""S-measure, weighted F-measure, E-measure and MAE through pysodmetrics (the field reference implementation)."""
from __future__ import annotations

import numpy as np
import py_sod_metrics as psm


class SODMetrics:
    """Thin accumulator over pysodmetrics; inputs are 8-bit maps at ground-truth size."""

    def __init__(self) -> None:
        self.mae = psm.MAE()
        self.sm = psm.Smeasure()
        self.em = psm.Emeasure()
        self.wfm = psm.WeightedFmeasure()

    def step(self, pred_u8: np.ndarray, gt_bool: np.ndarray) -> None:
        gt_u8 = gt_bool.astype(np.uint8) * 255
        for m in (self.mae, self.sm, self.em, self.wfm):
            m.step(pred=pred_u8, gt=gt_u8)

    def results(self) -> dict:
        """{"sm", "wfm", "em_mean", "em_adp", "em_max", "mae"}; em_mean is the mean of the 256-threshold curve."""
        em = self.em.get_results()["em"]
        return {"sm": float(self.sm.get_results()["sm"]), "wfm": float(self.wfm.get_results()["wfm"]),
                "em_mean": float(em["curve"].mean()), "em_adp": float(em["adp"]), "em_max": float(em["curve"].max()),
                "mae": float(self.mae.get_results()["mae"])}
