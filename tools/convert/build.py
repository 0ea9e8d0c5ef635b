"""Build fp32 and int8 model-file bytes from a reference model (shared by the CLI, fixtures and tests)."""
from __future__ import annotations

from tools.convert import format as fm
from tools.convert.fold import fp32_metadata
from tools.convert.from_torch import config_dict, fp32_tensors
from tools.quant.quantize import calibrate, quantize_model


def fp32_bytes(model) -> bytes:
    return fm.encode(fp32_tensors(model), fp32_metadata(config_dict(model)))


def int8_bytes_from_fp32(fp32_raw: bytes, images, calib_info: dict) -> bytes:
    mf = fm.decode(fp32_raw)
    obs = calibrate(mf, images)
    tensors, meta = quantize_model(mf, obs, calib_info)
    return fm.encode(tensors, meta)
