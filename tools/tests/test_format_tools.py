"""tools/inspect and the converter CLI (`python -m tools.convert`)."""
import os
import subprocess
import sys

import numpy as np

from tools.convert import format as fm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")


def _inspect(path):
    return subprocess.run([os.path.join(ROOT, "tools", "inspect"), path], capture_output=True, text=True)


def test_inspect_summarises_int8_model():
    r = _inspect(os.path.join(FIX, "model", "fixture_int8.dsm"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "format: dualsam-edge 1.0" in out and "numerics: 2" in out and "dtype: int8" in out
    assert "checksum: crc32:" in out and " ok" in out
    assert "embed_dim = 32" in out and "tensors: " in out
    assert "enc.blocks.0.attn.qkv" in out and " B " in out and "shift" in out


def test_inspect_reports_corrupt_files():
    r = _inspect(os.path.join(FIX, "format", "bad_checksum.dsm"))
    assert r.returncode == 1 and "checksum mismatch" in r.stdout
    r = _inspect(os.path.join(FIX, "format", "truncated_data.dsm"))
    assert r.returncode == 1 and "INVALID: truncated file" in r.stdout


def test_convert_cli_fp32_and_int8_from_image_dir(tmp_path):
    from PIL import Image

    from tools.convert.__main__ import main
    from tools.convert.calib import structured
    d = tmp_path / "calib"
    d.mkdir()
    Image.fromarray(structured(1, 3, (80, 60))[0]).save(d / "a.png")
    f32, i8 = str(tmp_path / "m32.dsm"), str(tmp_path / "m8.dsm")
    assert main(["--checkpoint", "random:1", "--config", "tiny", "--dtype", "fp32", "--out", f32]) == 0
    assert main(["--checkpoint", "random:1", "--config", "tiny", "--calib", str(d), "--out", i8]) == 0
    m32, m8 = fm.read(f32), fm.read(i8)
    assert m32.dtype == "fp32" and m8.dtype == "int8"
    assert '"images":1' in m8.metadata["calibration"]
    w = m8.tensors["enc.blocks.0.mlp.fc1.weight"]
    assert w.dtype == np.int8 and np.abs(w).max() == 127
    assert os.path.getsize(i8) < os.path.getsize(f32) / 3
