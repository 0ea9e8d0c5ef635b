"""The Swift engine (through edge-bench, release build) on `tiny` with scaled random weights:

- int8 engine == the Python integer simulation (tools/quant/sim.py), bit for bit, on the source-size 8-bit map;
- int8 vs fp32 engine: mask IoU on the sample frames and on the fixture input. The fixture pair must reach the
  issue's 0.98. The tiny pair has random weights with the head's bias shifted so that about half of a frame is
  foreground (engine_support.balanced); its noisy, boundary-everywhere masks reach about 0.92 (the Python
  simulation gives the same, since the engine is bit-exact with it), so it is held to 0.90 until a trained tiny
  model lands in models/;
- identical output bytes for 1, 2 and 3 threads.
"""
import pathlib

import numpy as np
import pytest

from engine_support import ROOT, iou, load_rgb, make_models, run_engine

SAMPLES = ROOT / "samples"
FIXTURES = ROOT / "Tests" / "Fixtures" / "model"
FRAMES = ["frame_00_640x480.jpg", "frame_04_1280x720.jpg", "frame_08_512x512.jpg"]


@pytest.fixture(scope="module")
def tiny():
    return make_models("tiny")


def fixture_rgb() -> np.ndarray:
    from safetensors.numpy import load_file
    return load_file(str(FIXTURES / "input.safetensors"))["input.rgb"]


def test_int8_engine_matches_the_simulation_bit_for_bit(tiny, tmp_path):
    from tools.convert import format as fm
    from tools.quant.prepost import resize
    from tools.quant.sim import Sim
    _, int8 = tiny
    rgb = load_rgb(SAMPLES / FRAMES[0])
    sim = Sim(fm.decode(int8.read_bytes())).run(rgb)
    want = resize(sim["map8"], rgb.shape[0], rgb.shape[1])
    got = run_engine(int8, rgb, tmp_path)["map"]
    assert 0.02 < (want > 65).mean() < 0.98, "degenerate model output would hide errors"
    assert np.array_equal(got, want), f"{int((got != want).sum())} pixels differ"


@pytest.mark.parametrize("frame", FRAMES + ["fixture"])
def test_int8_and_fp32_masks_agree(tiny, tmp_path, frame):
    if frame == "fixture":
        fp32, int8 = FIXTURES / "fixture_fp32.dsm", FIXTURES / "fixture_int8.dsm"
        rgb = fixture_rgb()
    else:
        fp32, int8 = tiny
        rgb = load_rgb(SAMPLES / frame)
    a = run_engine(fp32, rgb, tmp_path, tag="fp32")["map"] > 65
    b = run_engine(int8, rgb, tmp_path, tag="int8")["map"] > 65
    score = iou(a, b)
    print(f"{frame}: int8 vs fp32 mask IoU {score:.4f}, fp32 foreground {a.mean():.3f}")
    assert 0.02 < a.mean() < 0.995, f"degenerate fp32 mask (foreground {a.mean():.3f})"
    assert score >= (0.98 if frame == "fixture" else 0.90), score


def test_output_is_identical_for_1_2_3_threads(tiny, tmp_path):
    _, int8 = tiny
    rgb = load_rgb(SAMPLES / FRAMES[2])
    runs = [run_engine(int8, rgb, tmp_path, threads=n, tag=f"t{n}") for n in (1, 2, 3)]
    for r in runs[1:]:
        assert np.array_equal(r["map"], runs[0]["map"])
        assert r["stdout"] == runs[0]["stdout"]
    assert runs[0]["instances"], "no instances: the comparison would be weak"


def test_engine_rle_and_instances_decode_with_pycocotools(tiny, tmp_path):
    """The full-frame and per-instance COCO RLE strings decode (pycocotools) to the thresholded source-size map
    and its 8-connected components; area, bbox, centroid and score agree with the decoded masks."""
    from pycocotools import mask as cocomask
    from scipy import ndimage
    _, int8 = tiny
    rgb = load_rgb(SAMPLES / FRAMES[0])
    h, w, _ = rgb.shape
    r = run_engine(int8, rgb, tmp_path)
    fg = r["map"] > 65
    full = cocomask.decode({"size": [h, w], "counts": r["mask_rle"].encode()}).astype(bool)
    assert np.array_equal(full, fg)
    labels, n = ndimage.label(fg, structure=np.ones((3, 3), int))
    assert len(r["instances"]) == min(n, 64) and n > 0
    # Raster order of first pixel = scipy's label order (it also numbers components by first pixel in raster order).
    for line in r["instances"]:
        f = line.split()
        ident, area = int(f[1]), int(f[3])
        x, y, bw, bh = (int(v) for v in f[5:9])
        cx, cy, score, rle = float(f[10]), float(f[11]), float(f[13]), f[15]
        m = cocomask.decode({"size": [h, w], "counts": rle.encode()}).astype(bool)
        assert np.array_equal(m, labels == ident), ident
        ys, xs = np.nonzero(m)
        assert area == m.sum() and (x, y, bw, bh) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert abs(cx - xs.mean()) < 1e-3 and abs(cy - ys.mean()) < 1e-3
        assert abs(score - r["map"][m].sum() / (255.0 * area)) < 1e-6
