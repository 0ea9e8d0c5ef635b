"""ONNX export of the inference path (fp32, checked with ONNX Runtime) and the ORT int8 flavours."""
import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
import onnx  # noqa: E402

from tools.dualsam.configs import MICRO, TINY  # noqa: E402
from tools.dualsam.gamma import preprocess  # noqa: E402
from tools.dualsam.model import build  # noqa: E402
from tools.dualsam.onnx_export import (_synthetic_frames, calibration_pairs, export_fp32,  # noqa: E402
                                       quantize_dynamic_matmul, quantize_static_qdq, run_onnx)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    m = build(TINY, seed=0, random_stats=True)
    path = export_fp32(m, d / "tiny.onnx")
    return m, path, d


def test_tiny_fp32_matches_pytorch(tiny_export):
    m, path, _ = tiny_export
    frame = _synthetic_frames(1, seed=5)[0]
    a, b, *_ = preprocess(frame, TINY.img_size)
    with torch.no_grad():
        logits, pred, _, _ = m.predict(torch.from_numpy(a), torch.from_numpy(b))
    lo, pr = run_onnx(path, a, b)
    assert lo.shape == (1, 8, 256, 256) and pr.shape == (1, 1, 256, 256)
    assert np.abs(lo - logits.numpy()).max() < 1e-4
    assert np.abs(pr - pred.numpy()).max() < 1e-5
    names = [i.name for i in onnx.load(str(path)).graph.input]
    assert names == ["img_alpha", "img_beta"]
    assert onnx.load(str(path)).opset_import[0].version >= 17


def test_tiny_dynamic_int8(tiny_export):
    _, path, d = tiny_export
    q = quantize_dynamic_matmul(path, d / "tiny.dyn.onnx")
    ops = {n.op_type for n in onnx.load(str(q)).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    a, b = (np.random.default_rng(0).standard_normal((1, 3, 256, 256)).astype(np.float32) for _ in range(2))
    lo, pr = run_onnx(q, a, b)
    ref_lo, ref_pr = run_onnx(path, a, b)
    assert np.isfinite(lo).all() and np.abs(pr - ref_pr).max() < 0.1


def test_micro_static_qdq(tmp_path):
    m = build(MICRO, seed=0, random_stats=True)
    path = export_fp32(m, tmp_path / "micro.onnx")
    pairs = calibration_pairs(_synthetic_frames(2), MICRO.img_size)
    q = quantize_static_qdq(path, tmp_path / "micro.qdq.onnx", pairs)
    ops = [n.op_type for n in onnx.load(str(q)).graph.node]
    assert ops.count("QuantizeLinear") > 10 and "DequantizeLinear" in ops
    lo, pr = run_onnx(q, *pairs[0])
    ref_lo, ref_pr = run_onnx(path, *pairs[0])
    assert np.isfinite(lo).all() and np.abs(pr - ref_pr).max() < 0.2
