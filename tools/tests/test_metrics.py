"""Metric code: the official mIoU against a literal re-computation, and the SOD wrappers against pysodmetrics."""
import numpy as np
import py_sod_metrics as psm
import pytest

from tools.metrics import MeanIoU, SODMetrics, gt_to_binary, official_iou, pred_to_uint8


def _literal_iou(pred_u8, gt_bool):
    """A pixel-by-pixel transcription of test_score.py's normalisation and metric.py's cal_iou."""
    vals = [int(v) for v in pred_u8.ravel()]
    lo, hi = min(vals), max(vals)
    if hi == lo:
        res = [v / 255 for v in vals]
    else:
        res = [(v - lo) / (hi - lo) for v in vals]
    inp = [r > 0.5 for r in res]
    th = min(2 * sum(inp) / len(inp), 1)
    binary = [1 if x >= th else 0 for x in inp]
    gt = [bool(v) for v in gt_bool.ravel()]
    inter = sum(1 for b, t in zip(binary, gt) if b and t)
    union = sum(1 for b, t in zip(binary, gt) if b or t)
    return (inter + 1e-5) / (union + 1e-5)


def _cases():
    rng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:23, 0:31]
    out = []
    for k in range(12):
        gt = (xx - rng.uniform(5, 25)) ** 2 + (yy - rng.uniform(5, 18)) ** 2 < rng.uniform(10, 60)
        kind = k % 4
        if kind == 0:
            pred = (rng.random((23, 31)) * 255).astype(np.uint8)  # noise map
        elif kind == 1:
            pred = np.where(np.roll(gt, k, axis=1), 200, 20).astype(np.uint8)  # shifted, narrow value range
        elif kind == 2:
            pred = np.clip(gt * 180 + rng.normal(0, 40, gt.shape), 0, 255).astype(np.uint8)
        else:
            pred = np.zeros(gt.shape, np.uint8) + np.uint8(k * 10)  # constant maps exercise the /255 branch
        out.append((pred, gt))
    return out


@pytest.mark.parametrize("case", range(12))
def test_official_iou_matches_literal_recomputation(case):
    pred, gt = _cases()[case]
    assert official_iou(pred, gt) == pytest.approx(_literal_iou(pred, gt), rel=1e-12, abs=1e-15)


def test_official_iou_quirks():
    gt = np.zeros((10, 10), bool)
    gt[2:5, 2:6] = True  # 12 pixels
    assert official_iou(np.where(gt, 255, 0).astype(np.uint8), gt) == pytest.approx(1.0)
    # An empty prediction becomes all-foreground: IoU = |G| / (H W), not 0.
    assert official_iou(np.zeros((10, 10), np.uint8), gt) == pytest.approx((12 + 1e-5) / (100 + 1e-5))
    # Empty ground truth scores ~0 whatever is predicted, even an empty prediction.
    empty = np.zeros((10, 10), bool)
    assert official_iou(np.zeros((10, 10), np.uint8), empty) < 1e-6
    # Min-max normalisation: a faint but non-constant map is stretched, so its brighter half is foreground.
    faint = np.where(gt, 12, 2).astype(np.uint8)
    assert official_iou(faint, gt) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        official_iou(np.zeros((3, 4), np.uint8), np.zeros((4, 3), bool))


def test_mean_iou_is_plain_mean():
    m = MeanIoU()
    vals = [m.step(p, g) for p, g in _cases()]
    assert m.result() == pytest.approx(np.mean(vals))
    assert np.isnan(MeanIoU().result())


def test_sod_wrapper_agrees_with_pysodmetrics():
    ours = SODMetrics()
    mae, sm, em, wfm = psm.MAE(), psm.Smeasure(), psm.Emeasure(), psm.WeightedFmeasure()
    for pred, gt in _cases():
        ours.step(pred, gt)
        g = gt.astype(np.uint8) * 255
        for m in (mae, sm, em, wfm):
            m.step(pred=pred, gt=g)
    r = ours.results()
    e = em.get_results()["em"]
    assert r["mae"] == mae.get_results()["mae"]
    assert r["sm"] == sm.get_results()["sm"]
    assert r["wfm"] == wfm.get_results()["wfm"]
    assert r["em_mean"] == e["curve"].mean() and r["em_adp"] == e["adp"] and r["em_max"] == e["curve"].max()
    # The cases are not trivial: scores are strictly between the extremes.
    assert 0 < r["sm"] < 1 and 0 < r["wfm"] < 1 and 0 < r["mae"] < 1


def test_perfect_prediction_scores_perfectly():
    _, gt = _cases()[2]
    s = SODMetrics()
    s.step(gt.astype(np.uint8) * 255, gt)
    r = s.results()
    assert r["mae"] == 0 and r["sm"] == pytest.approx(1.0) and r["wfm"] == pytest.approx(1.0, abs=1e-6)
    assert r["em_max"] == pytest.approx(1.0, rel=2e-3)  # E-measure divides by (N - 1)


def test_input_conversions():
    assert pred_to_uint8(np.array([[0.0, 0.5, 1.0, 0.998]])).tolist() == [[0, 128, 255, 254]]
    assert pred_to_uint8(np.array([[True, False]])).tolist() == [[255, 0]]
    with pytest.raises(ValueError):
        pred_to_uint8(np.zeros((2, 2, 2), np.float32))
    assert gt_to_binary(np.array([[0, 1], [1, 0]], np.uint8)).tolist() == [[False, True], [True, False]]
    assert gt_to_binary(np.array([[0, 100], [255, 128]], np.uint8)).tolist() == [[False, False], [True, True]]
