"""tools/eval.py: folder evaluation, resizing as documented, agreement with a direct computation, errors."""
import csv

import numpy as np
import py_sod_metrics as psm
import pytest
from PIL import Image

from tools.eval import evaluate_predictions, main
from tools.metrics import official_iou


def _data(n=5, seed=3):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        yy, xx = np.mgrid[0:h, 0:w]
        gt = ((xx - w / 2) ** 2 / (w / 4) ** 2 + (yy - h / 2) ** 2 / (h / 5) ** 2 < 1).astype(np.uint8) * 255
        # Predictions at a fixed model resolution, like the model's 512x512 output.
        p = np.asarray(Image.fromarray(gt).resize((40, 40), Image.NEAREST)).astype(np.float64)
        p = np.clip(np.roll(p, i - 2, axis=1) * 0.8 + rng.normal(0, 30, p.shape), 0, 255).astype(np.uint8)
        out.append((f"img{i:02d}", p, gt))
    return out


def _direct(data):
    """The documented pipeline written out: PIL bicubic resize to GT size, then pysodmetrics and the official IoU."""
    mae, sm, em, wfm, ious = psm.MAE(), psm.Smeasure(), psm.Emeasure(), psm.WeightedFmeasure(), []
    for _, p, g in data:
        p = np.asarray(Image.fromarray(p).resize((g.shape[1], g.shape[0]), Image.BICUBIC))
        for m in (mae, sm, em, wfm):
            m.step(pred=p, gt=g)
        ious.append(official_iou(p, g > 127))
    return {"mae": mae.get_results()["mae"], "sm": sm.get_results()["sm"], "wfm": wfm.get_results()["wfm"],
            "em_mean": em.get_results()["em"]["curve"].mean(), "miou": np.mean(ious)}


def test_evaluate_predictions_matches_direct_pipeline():
    data = _data()
    r = evaluate_predictions(((n, p) for n, p, _ in data), ((n, g) for n, _, g in data))
    d = _direct(data)
    assert r["images"] == len(data)
    for k, v in d.items():
        assert r[k] == pytest.approx(v, rel=1e-12), k
    assert 0.2 < r["miou"] < 0.95


def test_float_predictions_are_quantised_like_save_image():
    data = _data(3)
    as_u8 = evaluate_predictions(((n, p) for n, p, _ in data), ((n, g) for n, _, g in data))
    as_float = evaluate_predictions(((n, p / 255.0) for n, p, _ in data), ((n, g) for n, _, g in data))
    assert as_float == pytest.approx(as_u8)


def test_pairing_errors():
    data = _data(2)
    with pytest.raises(ValueError, match="paired"):
        evaluate_predictions([("a", data[0][1])], [("b", data[0][2])])
    with pytest.raises(ValueError, match="count"):
        evaluate_predictions([(n, p) for n, p, _ in data], [(data[0][0], data[0][2])])
    with pytest.raises(ValueError):
        evaluate_predictions([], [])


def test_cli_on_folders(tmp_path):
    data = _data()
    (tmp_path / "pred").mkdir()
    (tmp_path / "ds" / "Masks").mkdir(parents=True)
    for n, p, g in data:
        Image.fromarray(p).save(tmp_path / "pred" / f"{n}.png")
        Image.fromarray(g).save(tmp_path / "ds" / "Masks" / f"{n}.png")
    out, out_csv, per = tmp_path / "t.md", tmp_path / "t.csv", tmp_path / "per.csv"
    assert main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "ds"), "--label", "x", "--out", str(out),
                 "--csv", str(out_csv), "--per-image", str(per)]) == 0
    d = _direct(data)
    table = out.read_text()
    assert table.startswith("| model | images | mIoU |") and f"| x | 5 | {d['miou']:.4f} | {d['sm']:.4f} |" in table
    rows = list(csv.DictReader(open(out_csv)))
    assert float(rows[0]["mae"]) == pytest.approx(d["mae"], abs=1e-6)
    assert len(list(csv.DictReader(open(per)))) == 5
    # Binarising at the official bimap threshold changes the scores.
    assert main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "ds"), "--bimap", "65",
                 "--out", str(tmp_path / "b.md")]) == 0
    assert (tmp_path / "b.md").read_text().splitlines()[2] != table.splitlines()[2].replace("| x |", "| pred |")
    # A missing prediction is a clear error, not a silent skip.
    (tmp_path / "pred" / "img00.png").unlink()
    assert main(["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "ds")]) == 2
