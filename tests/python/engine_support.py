"""Helpers for the engine tests: build edge-bench (release), make model files with scaled random weights
(tools/convert/fold.random_fp32, calibrated min/max), run frames through the Swift engine.

Model files go to .build/engine-models/ (not committed) and are reused when present.
"""
import functools
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / ".build" / "engine-models"


@functools.lru_cache(maxsize=1)
def edge_bench():
    """Builds edge-bench in release (the engine is too slow in debug for real configs) and returns its path."""
    build = subprocess.run(["nice", "swift", "build", "-c", "release", "--product", "edge-bench"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1500)
    if build.returncode != 0:
        pytest.fail("swift build -c release --product edge-bench failed:\n" + build.stdout[-3000:] + build.stderr[-3000:])
    return ROOT / ".build" / "release" / "edge-bench"


def make_models(config: str, seed: int = 0, out_dir: pathlib.Path = MODELS,
                balance: bool = True) -> tuple[pathlib.Path, pathlib.Path]:
    """(fp32, int8) model files of `config` with scaled random weights (head bias balanced unless `balance` is
    False, as for benchmarks); int8 calibrated on 2 structured images."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = "balanced" if balance else "scaled"
    fp32_path = out_dir / f"{config}_{kind}{seed}_fp32.dsm"
    int8_path = out_dir / f"{config}_{kind}{seed}_int8.dsm"
    if fp32_path.exists() and int8_path.exists():
        return fp32_path, int8_path
    from tools.convert import format as fm
    from tools.convert.build import int8_bytes_from_fp32
    from tools.convert.calib import structured
    from tools.convert.fold import fp32_metadata, random_fp32
    from tools.dualsam.configs import get_config
    cfg = get_config(config).to_dict()
    tensors = random_fp32(cfg, seed)
    if balance:
        tensors = balanced(tensors, cfg, structured(1, 5, (160, 120))[0])
    fp32 = fm.encode(tensors, fp32_metadata(cfg))
    int8 = int8_bytes_from_fp32(fp32, structured(2, 1, (160, 120)), {"method": "minmax", "images": 2})
    fp32_path.write_bytes(fp32)
    int8_path.write_bytes(int8)
    return fp32_path, int8_path


def balanced(tensors: dict, cfg: dict, image: np.ndarray) -> dict:
    """Shifts `dec.pre4.bias` so about half of `image` is foreground: random weights otherwise give a nearly
    all-foreground mask, on which mask agreement would prove little."""
    from tools.convert import format as fm
    from tools.convert.fold import fp32_metadata
    from tools.quant.sim import Sim
    base = tensors["dec.pre4.bias"].copy()

    def foreground(shift: float) -> float:
        tensors["dec.pre4.bias"] = (base + np.float32(shift)).astype(np.float32)
        return float(Sim(fm.decode(fm.encode(tensors, fp32_metadata(cfg)))).run(image)["mask"].mean())

    lo, hi = -8.0, 0.0
    for _ in range(10):
        mid = (lo + hi) / 2
        if foreground(mid) > 0.5:
            hi = mid
        else:
            lo = mid
    foreground((lo + hi) / 2)
    return tensors


def run_engine(model, rgb: np.ndarray, tmp_path: pathlib.Path, threads: int = 1, tag: str = "f",
               min_area: int = 0) -> dict:
    """Runs one RGB8 frame; returns {"map": source-size 8-bit map, "mask_rle": str, "instances": [lines]}."""
    h, w, _ = rgb.shape
    frame = tmp_path / f"{tag}.rgb"
    frame.write_bytes(np.ascontiguousarray(rgb, np.uint8).tobytes())
    out_map = tmp_path / f"{tag}.map"
    result = subprocess.run([str(edge_bench()), "run", str(model), str(frame), str(w), str(h), "--threads",
                             str(threads), "--map", str(out_map), "--min-area", str(min_area)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"edge-bench run {model} exited {result.returncode}: {result.stderr}")
    lines = result.stdout.splitlines()
    mask = [l.split(" ", 1)[1] if " " in l else "" for l in lines if l.startswith("mask")][0]
    return {"map": np.frombuffer(out_map.read_bytes(), np.uint8).reshape(h, w), "mask_rle": mask,
            "instances": [l for l in lines if l.startswith("instance ")], "stdout": result.stdout}


def load_rgb(path: pathlib.Path) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)
