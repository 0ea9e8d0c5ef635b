"""Reference Dual-SAM in PyTorch (see docs/MODELS.md): model, configs, gamma pre-processing, counting,
checkpoint loading, structured pruning and ONNX export."""
from .configs import CONFIGS, DualSamConfig, get_config
from .model import DualSam, InferenceWrapper, build

__all__ = ["CONFIGS", "DualSamConfig", "DualSam", "InferenceWrapper", "build", "get_config"]
