"""The tools' environment: the packages bootstrap promises are importable, and torch is the CPU build."""
import importlib

import pytest


@pytest.mark.parametrize("module", ["numpy", "torch", "safetensors", "zmq", "pycocotools", "py_sod_metrics", "PIL"])
def test_module_imports(module):
    importlib.import_module(module)


def test_torch_is_cpu_only_build():
    import torch

    assert "+cpu" in torch.__version__ or not torch.cuda.is_available()
