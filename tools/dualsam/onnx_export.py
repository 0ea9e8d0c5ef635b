"""ONNX export of the Dual-SAM inference path (fp32) and ONNX Runtime int8 flavours (for peer benchmarks).

    python -m tools.dualsam.onnx_export --config tiny [--ckpt CKPT] --out model.onnx [--int8-dynamic P]
        [--int8-qdq P --calib-frames N]

Graph: inputs `img_alpha`, `img_beta` (1,3,S,S float32, normalised as tools.dualsam.gamma.preprocess makes
them); outputs `logits` (1,8,S,S) and `pred` (1,1,S,S, the C3P map in [0,1]). LoRA is merged before export.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import checkpoint as ck
from .c3p import c3p_vote
from .configs import get_config
from .gamma import preprocess
from .model import DualSam, build

OPSET = 17


class _ExportGraph(nn.Module):
    def __init__(self, model: DualSam):
        super().__init__()
        self.model = model

    def forward(self, img_alpha: torch.Tensor, img_beta: torch.Tensor):
        logits = self.model.forward_infer(img_alpha, img_beta)
        return logits, c3p_vote(torch.sigmoid(logits))


def export_fp32(model: DualSam, path: str | Path, opset: int = OPSET) -> Path:
    """Export the inference path of `model` (LoRA merged in place) to an fp32 ONNX file."""
    model = model.eval().merge_lora()
    s = model.cfg.img_size
    dummy = (torch.zeros(1, 3, s, s), torch.zeros(1, 3, s, s))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_ExportGraph(model).eval(), dummy, str(path), input_names=["img_alpha", "img_beta"],
                          output_names=["logits", "pred"], opset_version=opset, dynamo=False,
                          do_constant_folding=True)
    return path


def optimize_basic(path: str | Path, out_path: str | Path) -> Path:
    """ONNX Runtime's basic (standard-op, semantics-preserving) graph optimizations: constant folding and
    redundant-node elimination take the legacy exporter's ~3k nodes down to ~1k."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = str(out_path)
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return Path(out_path)


def quantize_dynamic_matmul(fp32_path: str | Path, out_path: str | Path) -> Path:
    """ONNX Runtime dynamic int8 quantization of MatMul weights only (activations quantized at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(out_path), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                     per_channel=True)
    return Path(out_path)


class _Reader:
    """CalibrationDataReader over a list of (img_alpha, img_beta) arrays."""

    def __init__(self, pairs):
        self._it = iter([{"img_alpha": a, "img_beta": b} for a, b in pairs])

    def get_next(self):
        return next(self._it, None)


def calibration_pairs(frames, input_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Model inputs for RGB uint8 frames, through the engine's pre-processing."""
    return [preprocess(f, input_size)[:2] for f in frames]


QDQ_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def quantize_static_qdq(fp32_path: str | Path, out_path: str | Path, pairs, per_channel: bool = True,
                        op_types=QDQ_OPS) -> Path:
    """ONNX Runtime static int8 quantization in QDQ form (int8 weights per channel, int8 activations,
    MinMax calibration on `pairs` of model inputs). Only the inputs of `op_types` are quantized: norms,
    softmax and GELU stay fp32, as in our engine (and it keeps ORT's quantizer fast on this 3k-node graph)."""
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        opt = optimize_basic(fp32_path, Path(tmp) / "opt.onnx")
        quantize_static(str(opt), str(out_path), _Reader(pairs), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=per_channel,
                        calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=list(op_types))
    return Path(out_path)


def run_onnx(path: str | Path, img_alpha: np.ndarray, img_beta: np.ndarray, threads: int = 1):
    """(logits, pred) from ONNX Runtime on CPU."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(["logits", "pred"], {"img_alpha": img_alpha, "img_beta": img_beta})


def _synthetic_frames(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, w = int(rng.integers(200, 480)), int(rng.integers(200, 640))
        yy, xx = np.mgrid[0:h, 0:w]
        base = (np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 127 // (h + w)], -1)).astype(np.int64)
        out.append(np.clip(base + rng.integers(-30, 30, (h, w, 3)), 0, 255).astype(np.uint8))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export the Dual-SAM inference path to ONNX.")
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--ckpt", help="checkpoint (default: random weights, seed 0)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, default=OPSET)
    ap.add_argument("--int8-dynamic", help="also write an ORT dynamic MatMul-int8 model here")
    ap.add_argument("--int8-qdq", help="also write an ORT static QDQ int8 model here")
    ap.add_argument("--calib-frames", type=int, default=8, help="synthetic calibration frames for --int8-qdq")
    args = ap.parse_args(argv)
    try:
        cfg = get_config(args.config)
        model = ck.load(args.ckpt, cfg=cfg) if args.ckpt else build(cfg, seed=0)
    except (ck.CheckpointError, ValueError, KeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    export_fp32(model, args.out, args.opset)
    print(f"wrote {args.out}")
    if args.int8_dynamic:
        quantize_dynamic_matmul(args.out, args.int8_dynamic)
        print(f"wrote {args.int8_dynamic}")
    if args.int8_qdq:
        quantize_static_qdq(args.out, args.int8_qdq, calibration_pairs(_synthetic_frames(args.calib_frames),
                                                                      cfg.img_size))
        print(f"wrote {args.int8_qdq}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
