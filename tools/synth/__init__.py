"""Procedural underwater scenes with exact binary masks of the visible marine animals, deterministic by seed."""
from __future__ import annotations

import numpy as np

from .render import render
from .sample import sample_scene
from .spec import Layer, Scene, Seabed, Water

SPLITS = {"train": 1, "test": 2, "val": 3}
# The held-out test split is scored with the official mIoU, which gives ~0 to any image with an empty ground truth
# (see tools/metrics/miou.py); like the real datasets it holds no empty frames by default.
DEFAULT_EMPTY_PROB = {"train": 0.08, "test": 0.0, "val": 0.0}


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator for one image: independent of how many images are made and in which order."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS[split], int(index)]))


def make_scene(seed: int, split: str, index: int, width: int, height: int, empty_prob: float | None = None) -> Scene:
    """The scene description of image `index` of a split."""
    p = DEFAULT_EMPTY_PROB[split] if empty_prob is None else empty_prob
    return sample_scene(scene_rng(seed, split, index), width, height, empty_prob=p)


def generate(seed: int, split: str, index: int, width: int, height: int, empty_prob: float | None = None):
    """(rgb uint8 [H, W, 3], mask uint8 [H, W] in {0, 255}, scene) for one image."""
    scene = make_scene(seed, split, index, width, height, empty_prob)
    rgb, mask = render(scene)
    return rgb, mask, scene


__all__ = ["Layer", "Scene", "Seabed", "Water", "generate", "make_scene", "render", "sample_scene", "scene_rng"]
