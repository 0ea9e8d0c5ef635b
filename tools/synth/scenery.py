"""Non-animal scene elements (rocks, kelp, corals) in the same local-frame part format as the animals.

These never enter the mask: they are background, or foreground occluders that hide animals behind them.
"""
from __future__ import annotations

import numpy as np

from .animals import BODY, FIN, SECOND, Part, _tapered_line, _wavy_line


def rock_params(rng: np.random.Generator) -> dict:
    return {"radii": (1.0 + 0.25 * rng.standard_normal(7)).clip(0.5, 1.5).round(4).tolist(),
            "flat": float(rng.uniform(0.45, 0.9))}


def rock_parts(p: dict) -> list[Part]:
    radii = np.array(p["radii"])
    t = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
    # A smooth periodic radius from a few random harmonics, so rocks are lumpy but not spiky.
    k = np.arange(len(radii))
    r = 0.5 * (radii[0] + 0.15 * np.sum((radii[1:, None] - 1.0) * np.cos(np.outer(k[1:], t) + k[1:, None]), axis=0))
    r = np.clip(r, 0.2, 0.7)
    return [("poly", np.stack([r * np.cos(t), p["flat"] * r * np.sin(t)], axis=1), BODY)]


def kelp_params(rng: np.random.Generator) -> dict:
    n = int(rng.integers(1, 5))
    return {"n": n, "offs": rng.uniform(-0.15, 0.15, n).round(4).tolist(),
            "phases": rng.uniform(0, 2 * np.pi, n).round(4).tolist(), "amp": float(rng.uniform(0.03, 0.12)),
            "w": float(rng.uniform(0.025, 0.06)), "lens": rng.uniform(0.6, 1.0, n).round(4).tolist()}


def kelp_parts(p: dict) -> list[Part]:
    # Fronds grow from -x (the anchor, placed at or below the frame edge) towards +x.
    parts: list[Part] = []
    for k in range(p["n"]):
        line = _wavy_line(-0.5, p["offs"][k], p["lens"][k], 0.0, p["amp"], 1.3, p["phases"][k], 16)
        parts.extend(_tapered_line(line, p["w"], p["w"] * 0.4, BODY if k % 2 == 0 else FIN))
    return parts


def coral_params(rng: np.random.Generator) -> dict:
    style = str(rng.choice(["branch", "brain", "fan"]))
    return {"style": style, "seed": int(rng.integers(0, 2 ** 31)), "w": float(rng.uniform(0.03, 0.06))}


def coral_parts(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    if p["style"] == "brain":
        return rock_parts({"radii": (1.0 + 0.1 * rng.standard_normal(6)).round(4).tolist(), "flat": 0.7}) + \
            [("poly", np.array([[-0.3, 0.15], [0.3, 0.15], [0.25, 0.3], [-0.25, 0.3]]), SECOND)]
    parts: list[Part] = []
    if p["style"] == "fan":
        for k in range(14):
            a = -0.9 + 1.8 * k / 13
            parts.append(("line", _wavy_line(-0.5, 0.0, 0.9, a, 0.04, 1.0, float(rng.uniform(0, 6))), p["w"] * 0.4,
                          FIN))
        return parts
    # Branching coral: a small random tree, each branch thinner than its parent.
    stack = [(-0.5, 0.0, 0.0, 0.45, p["w"], 0)]
    while stack:
        x, y, a, ln, w, depth = stack.pop()
        x1, y1 = x + ln * np.cos(a), y + ln * np.sin(a)
        parts.append(("line", np.array([[x, y], [x1, y1]]), w, BODY))
        if depth < 3:
            for da in (-0.5, 0.45):
                stack.append((x1, y1, a + da + float(rng.uniform(-0.2, 0.2)), ln * 0.6, w * 0.7, depth + 1))
    return parts


SCENERY = {"rock": (rock_params, rock_parts), "kelp": (kelp_params, kelp_parts), "coral": (coral_params, coral_parts)}
