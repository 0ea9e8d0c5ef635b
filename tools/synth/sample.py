"""Drawing a random Scene: water, seabed, scenery, animals, occluders and camera effects."""
from __future__ import annotations

import numpy as np

from .animals import KIND_WEIGHTS, KINDS
from .scenery import SCENERY
from .spec import Layer, Scene, Seabed, Water

# Linear albedo families per kind; each animal jitters one of its kind's entries.
ANIMAL_COLOURS = {
    "fish": [(0.55, 0.58, 0.62), (0.8, 0.6, 0.05), (0.85, 0.3, 0.05), (0.1, 0.25, 0.6), (0.2, 0.2, 0.22),
             (0.7, 0.1, 0.08), (0.35, 0.25, 0.15), (0.9, 0.85, 0.7)],
    "ray": [(0.45, 0.38, 0.28), (0.25, 0.25, 0.27), (0.12, 0.12, 0.14), (0.6, 0.55, 0.45)],
    "eel": [(0.3, 0.35, 0.15), (0.35, 0.3, 0.25), (0.7, 0.6, 0.2), (0.2, 0.2, 0.2)],
    "jellyfish": [(0.9, 0.75, 0.85), (0.85, 0.9, 0.95), (0.55, 0.5, 0.85), (0.95, 0.7, 0.5)],
    "turtle": [(0.35, 0.28, 0.15), (0.3, 0.32, 0.18), (0.45, 0.35, 0.2)],
    "starfish": [(0.9, 0.4, 0.08), (0.8, 0.12, 0.1), (0.45, 0.15, 0.5), (0.15, 0.3, 0.7), (0.9, 0.75, 0.2)],
    "crab": [(0.75, 0.2, 0.1), (0.85, 0.45, 0.15), (0.45, 0.3, 0.2), (0.6, 0.5, 0.4)],
    "octopus": [(0.55, 0.25, 0.15), (0.7, 0.35, 0.3), (0.4, 0.3, 0.25), (0.75, 0.6, 0.5)],
}
ROCK_COLOURS = [(0.3, 0.3, 0.3), (0.35, 0.3, 0.25), (0.22, 0.28, 0.2), (0.45, 0.42, 0.38), (0.15, 0.15, 0.17)]
CORAL_COLOURS = [(0.85, 0.45, 0.55), (0.6, 0.3, 0.6), (0.9, 0.55, 0.2), (0.85, 0.8, 0.4), (0.85, 0.82, 0.75),
                 (0.4, 0.6, 0.5)]
KELP_COLOURS = [(0.25, 0.35, 0.1), (0.35, 0.3, 0.1), (0.15, 0.3, 0.15)]
SAND = [(0.7, 0.65, 0.5), (0.55, 0.5, 0.42), (0.4, 0.38, 0.35), (0.75, 0.72, 0.65)]
PATCH = [(0.25, 0.3, 0.18), (0.3, 0.28, 0.25), (0.15, 0.15, 0.15), (0.45, 0.4, 0.3)]
BOTTOM_DWELLERS = ("starfish", "crab", "octopus", "ray")


def _jitter(rng: np.random.Generator, col, amount: float = 0.2) -> list:
    c = np.array(col) * rng.uniform(1 - amount, 1 + amount, 3) * rng.uniform(0.8, 1.15)
    return [round(float(v), 4) for v in np.clip(c, 0.01, 1.0)]


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def _palette(rng: np.random.Generator, base) -> list:
    body = _jitter(rng, base)
    fin = _jitter(rng, base if rng.random() < 0.6 else _pick(rng, ANIMAL_COLOURS["fish"]))
    dark = _jitter(rng, (0.03, 0.03, 0.04), 0.3)
    second = _jitter(rng, np.clip(np.array(base) * rng.uniform(0.5, 1.5), 0, 1))
    return [body, fin, dark, second]


def _length_fraction(rng: np.random.Generator) -> float:
    """Animal length as a fraction of the short frame side: mostly mid-sized, some tiny, some frame-filling."""
    r = rng.random()
    if r < 0.1:
        return float(rng.uniform(0.04, 0.12))
    if r < 0.82:
        return float(np.exp(rng.uniform(np.log(0.12), np.log(1.0))))
    return float(rng.uniform(1.0, 1.8))


def sample_animal(rng: np.random.Generator, w: int, h: int, bed: Seabed, seabed_z) -> Layer:
    kinds = list(KIND_WEIGHTS)
    kind = str(rng.choice(kinds, p=np.array([KIND_WEIGHTS[k] for k in kinds]) / sum(KIND_WEIGHTS.values())))
    frac = _length_fraction(rng)
    length = frac * min(w, h)
    z = float(np.clip(0.6 / frac * rng.uniform(0.7, 1.3), 0.3, 14.0))
    margin = 0.15 if frac < 0.8 else -0.15
    cx = float(rng.uniform(-margin, 1 + margin) * w)
    cy = float(rng.uniform(-margin, 1 + margin) * h)
    if kind in BOTTOM_DWELLERS and bed.horizon < 0.9 and rng.random() < 0.8:
        lo = max(bed.horizon, 0.0) * h
        cy = float(rng.uniform(lo, h * 1.05))
        z = min(z, seabed_z(cy) * 0.97)
    angle = float(rng.uniform(-np.pi, np.pi))
    if kind == "jellyfish":
        angle = float(-np.pi / 2 + rng.normal(0, 0.4))  # bell up
    elif kind in ("fish", "turtle", "eel") and rng.random() < 0.7:
        angle = float(rng.normal(0, 0.35) + (np.pi if rng.random() < 0.5 else 0.0))
    pattern_type = str(rng.choice(["plain", "stripes", "spots", "mottle", "camo"], p=[0.27, 0.2, 0.15, 0.28, 0.1]))
    pattern = {"type": pattern_type, "contrast": round(float(rng.uniform(0.2, 0.6)), 3),
               "freq": round(float(rng.uniform(3, 10)), 3), "slant": round(float(rng.uniform(-2, 2)), 3),
               "scale": round(float(rng.uniform(0.03, 0.1)), 3), "light": bool(rng.random() < 0.5),
               "mix": round(float(rng.uniform(0.35, 0.65)), 3)}
    params = KINDS[kind][0](rng)
    if abs(np.angle(np.exp(1j * angle))) > np.pi / 2:
        params["mirror"] = True  # heading left: mirror the body so the back stays up
    motion = (0.0, 0.0)
    if rng.random() < 0.2:
        streak = float(min(25.0, rng.uniform(2.0, 2.0 + 0.12 * length)))
        motion = (round(streak * np.cos(angle), 3), round(streak * np.sin(angle), 3))
    opacity = float(rng.uniform(0.6, 0.9)) if kind == "jellyfish" else 1.0
    return Layer("animal", kind, params, cx, cy, length, angle, _palette(rng, _pick(rng, ANIMAL_COLOURS[kind])),
                 pattern, z, opacity, motion, int(rng.integers(0, 2 ** 31)))


def _scenery(rng: np.random.Generator, kind: str, cx: float, cy: float, length: float, angle: float, z: float,
             colours: list) -> Layer:
    base = _pick(rng, colours)
    pal = [_jitter(rng, base), _jitter(rng, base, 0.35), _jitter(rng, (0.05, 0.05, 0.05)), _jitter(rng, base, 0.4)]
    pattern = {"type": "mottle", "contrast": round(float(rng.uniform(0.2, 0.5)), 3),
               "scale": round(float(rng.uniform(0.04, 0.12)), 3)}
    return Layer("scenery", kind, SCENERY[kind][0](rng), cx, cy, length, angle, pal, pattern, z,
                 seed=int(rng.integers(0, 2 ** 31)))


def sample_scene(rng: np.random.Generator, width: int, height: int, empty_prob: float = 0.08,
                 max_animals: int = 6) -> Scene:
    """A random scene of the given size; with probability `empty_prob` it holds no animal."""
    w, h = width, height
    depth = float(np.exp(rng.uniform(np.log(1.0), np.log(30.0))))
    water = Water(
        beta=(round(float(rng.uniform(0.25, 0.6)), 4), round(float(rng.uniform(0.03, 0.12)), 4),
              round(float(rng.uniform(0.02, 0.2)), 4)),
        scatter_ratio=(round(float(rng.uniform(0.05, 0.2)), 4), round(float(rng.uniform(0.4, 0.8)), 4),
                       round(float(rng.uniform(0.4, 0.9)), 4)),
        depth=depth,
        caustics=float(rng.uniform(0.3, 1.5) * np.exp(-depth / 5.0)) if depth < 8 and rng.random() < 0.7 else 0.0,
        caustic_cell=float(rng.uniform(0.04, 0.12) * max(w, h)),
        lamp=0.0, lamp_xy=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
        white_balance=float(rng.uniform(0.0, 0.4)), veil_gradient=float(rng.uniform(0.0, 0.8)))
    if rng.random() < (0.35 if depth > 10 else 0.1):
        sun = np.exp(-np.array(water.beta) * depth)
        water.lamp = float(rng.uniform(0.5, 2.5) * sun.max())
    r = rng.random()
    horizon = 1.5 if r < 0.25 else (-0.5 if r < 0.45 else float(rng.uniform(0.1, 0.7)))
    bed = Seabed(horizon=horizon, sand=tuple(_jitter(rng, _pick(rng, SAND))), patch=tuple(_jitter(rng, _pick(rng, PATCH))),
                 ripple=float(rng.uniform(0.0, 0.3)), near=float(rng.uniform(1.0, 4.0)), seed=int(rng.integers(2 ** 31)))

    def seabed_z(row: float) -> float:
        hz = bed.horizon * h
        if hz < 0:
            return bed.near
        t = max((row - hz) / max(h - hz, 1.0), 1e-3)
        return min(bed.near / t, 50.0)

    layers: list[Layer] = []
    s = min(w, h)
    if bed.horizon < 1.0:
        lo = max(bed.horizon, 0.0) * h
        for _ in range(int(rng.integers(0, 5))):
            cy = float(rng.uniform(lo, h * 1.1))
            zf = seabed_z(cy)
            kind = "rock" if rng.random() < 0.5 else "coral"
            size = float(np.clip(rng.uniform(0.4, 1.2) / zf, 0.05, 0.8)) * s
            colours = ROCK_COLOURS if kind == "rock" else CORAL_COLOURS
            ang = float(rng.normal(0, 0.15)) if kind == "rock" else float(-np.pi / 2 + rng.normal(0, 0.3))
            layers.append(_scenery(rng, kind, float(rng.uniform(-0.1, 1.1) * w), cy, size, ang, zf * 0.98, colours))
    for _ in range(int(rng.integers(0, 3))):
        z = float(rng.uniform(2.0, 8.0))
        layers.append(_scenery(rng, "kelp", float(rng.uniform(0, 1) * w), float(h * rng.uniform(0.6, 1.0)),
                               float(rng.uniform(0.4, 1.0) * h), float(-np.pi / 2 + rng.normal(0, 0.2)), z, KELP_COLOURS))
    if rng.random() >= empty_prob:
        n = 1 + min(int(rng.geometric(0.55)) - 1, max_animals - 1)
        for _ in range(n):
            layers.append(sample_animal(rng, w, h, bed, seabed_z))
    if rng.random() < 0.35:  # foreground occluders close to the camera
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.5:
                edge_x = float(rng.choice([-0.1, 0.5, 1.1]) * w + rng.normal(0, 0.1 * w))
                layers.append(_scenery(rng, "rock", edge_x, float(h * rng.uniform(0.9, 1.15)),
                                       float(rng.uniform(0.4, 0.9) * s), float(rng.normal(0, 0.2)),
                                       float(rng.uniform(0.25, 0.8)), ROCK_COLOURS))
            else:
                layers.append(_scenery(rng, "kelp", float(rng.uniform(0, 1) * w), float(h * 1.05),
                                       float(rng.uniform(0.7, 1.4) * h), float(-np.pi / 2 + rng.normal(0, 0.25)),
                                       float(rng.uniform(0.3, 1.0)), KELP_COLOURS))
    layers.sort(key=lambda L: -L.z)  # painter's order; sort is stable so ties keep sampling order
    return Scene(
        width=w, height=h, water=water, seabed=bed, layers=layers,
        defocus=float(rng.uniform(0.4, 1.5) * s / 512.0) if rng.random() < 0.5 else 0.0,
        snow=int(rng.uniform(0, 600) * w * h / 512 ** 2),
        exposure=float(rng.uniform(0.12, 0.35)),
        photons=float(np.exp(rng.uniform(np.log(30.0), np.log(2000.0)))),
        read_noise=float(rng.uniform(0.002, 0.01)),
        seed=int(rng.integers(2 ** 31)))
