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


MIN_VISIBLE = 0.0005  # fraction of the frame the animals must show in a frame meant to contain animals


def scene_rng(seed: int, split: str, index: int, attempt: int = 0) -> np.random.Generator:
    """The generator for one image: independent of how many images are made and in which order."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS[split], int(index), int(attempt)]))


def make_scene(seed: int, split: str, index: int, width: int, height: int, empty_prob: float | None = None,
               attempt: int = 0) -> Scene:
    """The scene description of image `index` of a split (one sampling attempt; see `generate`)."""
    p = DEFAULT_EMPTY_PROB[split] if empty_prob is None else empty_prob
    return sample_scene(scene_rng(seed, split, index, attempt), width, height, empty_prob=p)


def generate(seed: int, split: str, index: int, width: int, height: int, empty_prob: float | None = None):
    """(rgb uint8 [H, W, 3], mask uint8 [H, W] in {0, 255}, scene) for one image.

    Whether the frame holds animals is decided by the first attempt; if it does but they end up (almost) invisible,
    being tiny, hidden or out of frame, the scene is redrawn with the next attempt number, so empty masks occur
    only in frames meant to be empty.
    """
    first = make_scene(seed, split, index, width, height, empty_prob)
    scene = first
    wants_animals = any(L.is_animal for L in first.layers)
    need = max(16, int(MIN_VISIBLE * width * height))
    for attempt in range(1, 50):
        rgb, mask = render(scene)
        if not wants_animals or np.count_nonzero(mask) >= need:
            break
        scene = make_scene(seed, split, index, width, height, 0.0, attempt)
    return rgb, mask, scene


__all__ = ["Layer", "Scene", "Seabed", "Water", "generate", "make_scene", "render", "sample_scene", "scene_rng"]
