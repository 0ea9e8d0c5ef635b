"""Parametric marine-animal silhouettes.

Each kind has a parameter sampler and a builder that turns parameters into drawing parts in a local frame: the
animal's length runs along +x from -0.5 to 0.5 (head at +x), +y is its belly/lower side. Parts are polygons or thick
polylines tagged with a part id (1 body, 2 fins/limbs, 3 dark details such as eyes, 4 secondary tissue such as
tentacles or a belly band); the renderer colours each id from the animal's palette.
"""
from __future__ import annotations

import numpy as np

BODY, FIN, DARK, SECOND = 1, 2, 3, 4

# A part: ("poly", points[N,2], part_id) or ("line", points[N,2], width, part_id), in local units.
Part = tuple


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 28, rot: float = 0.0) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(rot), np.sin(rot)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _wavy_line(x0: float, y0: float, length: float, angle: float, amp: float, freq: float, phase: float,
               n: int = 14) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    along = t * length
    across = amp * np.sin(2.0 * np.pi * freq * t + phase) * t
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([x0 + c * along - s * across, y0 + s * along + c * across], axis=1)


def _tapered_line(points: np.ndarray, width0: float, width1: float, part: int, pieces: int = 4) -> list[Part]:
    """A limb drawn as consecutive segments of decreasing width (PIL lines have a single width)."""
    out: list[Part] = []
    n = len(points)
    for k in range(pieces):
        a = k * (n - 1) // pieces
        b = (k + 1) * (n - 1) // pieces
        if b <= a:
            continue
        w = width0 + (width1 - width0) * (k + 0.5) / pieces
        out.append(("line", points[a:b + 1], w, part))
    return out


# ---------------------------------------------------------------------------------------------------------- fish
def fish_params(rng: np.random.Generator) -> dict:
    return {"h": float(rng.uniform(0.10, 0.32)), "tail": float(rng.uniform(0.12, 0.25)),
            "fork": float(rng.uniform(0.2, 0.9)), "dorsal": float(rng.uniform(0.0, 0.2)),
            "front": float(rng.uniform(0.1, 0.35))}


def fish_parts(p: dict) -> list[Part]:
    h, tail = p["h"], p["tail"]
    t = np.linspace(0.0, 2.0 * np.pi, 40, endpoint=False)
    bx = 0.5 * np.cos(t) * (1.0 - tail)
    # Fatter in front of the middle, thin at the caudal peduncle.
    by = h * np.sin(t) * (1.0 - p["front"] + p["front"] * np.cos(t))
    body = np.stack([bx + tail / 2.0, by], axis=1)
    x_tail = -0.5 + tail
    fork = p["fork"]
    tail_poly = np.array([[x_tail + 0.03, 0.0], [-0.5, -h * 0.9], [-0.5 + tail * fork * 0.6, 0.0], [-0.5, h * 0.9]])
    parts: list[Part] = [("poly", tail_poly, FIN), ("poly", body, BODY)]
    if p["dorsal"] > 0.03:
        d = p["dorsal"]
        parts.append(("poly", np.array([[-0.15, -h * 0.8], [0.0, -h * 0.8 - d], [0.18, -h * 0.75]]), FIN))
        parts.append(("poly", np.array([[-0.1, h * 0.7], [0.0, h * 0.7 + d * 0.6], [0.1, h * 0.65]]), FIN))
    parts.append(("poly", _ellipse(0.12, h * 0.25, 0.08, h * 0.18, 12, 0.4), FIN))
    parts.append(("poly", _ellipse(0.36, -h * 0.2, 0.03, 0.03, 10), DARK))
    return parts


# ----------------------------------------------------------------------------------------------------------- ray
def ray_params(rng: np.random.Generator) -> dict:
    return {"span": float(rng.uniform(0.7, 1.0)), "len": float(rng.uniform(0.45, 0.6)),
            "tail": float(rng.uniform(0.3, 0.8)), "curl": float(rng.uniform(-0.2, 0.2))}


def ray_parts(p: dict) -> list[Part]:
    span, ln = p["span"], p["len"]
    t = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
    # A rounded rhombus: |x|^0.8 + |y|^0.8 shaped by sign-preserving powers, nose at +x.
    c, s = np.cos(t), np.sin(t)
    x = ln * 0.5 * np.sign(c) * np.abs(c) ** 1.4
    y = span * 0.5 * np.sign(s) * np.abs(s) ** 0.7
    x = x + 0.08 * span * np.abs(s) ** 2 * -1.0  # wings swept back
    body = np.stack([x + 0.1, y], axis=1)
    tail = _wavy_line(-ln * 0.4 + 0.1, 0.0, p["tail"], np.pi, p["curl"], 0.7, 0.0, 10)
    return [("line", tail, 0.02, FIN), ("poly", body, BODY),
            ("poly", _ellipse(0.1 + ln * 0.25, -0.05, 0.02, 0.02, 8), DARK),
            ("poly", _ellipse(0.1 + ln * 0.25, 0.05, 0.02, 0.02, 8), DARK)]


# ----------------------------------------------------------------------------------------------------------- eel
def eel_params(rng: np.random.Generator) -> dict:
    return {"w": float(rng.uniform(0.03, 0.07)), "amp": float(rng.uniform(0.02, 0.12)),
            "freq": float(rng.uniform(0.8, 2.0)), "phase": float(rng.uniform(0, 2 * np.pi))}


def eel_parts(p: dict) -> list[Part]:
    n = 40
    x = np.linspace(-0.5, 0.5, n)
    y = p["amp"] * np.sin(2.0 * np.pi * p["freq"] * x + p["phase"])
    dy = np.gradient(y, x)
    nx, ny = -dy / np.sqrt(1 + dy ** 2), 1.0 / np.sqrt(1 + dy ** 2)
    s = (x + 0.5)  # 0 at tail, 1 at head
    width = p["w"] * (0.15 + 0.85 * np.sqrt(np.clip(s, 0, 1))) * np.where(s > 0.92, (1.0 - s) / 0.08 * 0.6 + 0.4, 1.0)
    upper = np.stack([x + nx * width, y + ny * width], axis=1)
    lower = np.stack([x - nx * width, y - ny * width], axis=1)
    body = np.concatenate([upper, lower[::-1]], axis=0)
    head = (0.44, float(y[-3]) - p["w"] * 0.3)
    return [("poly", body, BODY), ("poly", _ellipse(head[0], head[1], 0.012, 0.012, 8), DARK)]


# ----------------------------------------------------------------------------------------------------- jellyfish
def jelly_params(rng: np.random.Generator) -> dict:
    return {"bell": float(rng.uniform(0.35, 0.6)), "n": int(rng.integers(4, 10)),
            "tlen": float(rng.uniform(0.3, 0.6)), "phases": rng.uniform(0, 2 * np.pi, 10).round(4).tolist(),
            "amp": float(rng.uniform(0.02, 0.08))}


def jelly_parts(p: dict) -> list[Part]:
    # Upright jellyfish: the local frame is rotated so -x is "down"; we build it with the bell at +x.
    bell = p["bell"]
    t = np.linspace(-np.pi / 2, np.pi / 2, 24)
    dome = np.stack([0.5 - bell + bell * np.cos(t), 0.5 * bell * 1.1 * np.sin(t)], axis=1)
    rim_y = np.linspace(0.55 * bell, -0.55 * bell, 9)
    rim_x = 0.5 - bell + 0.03 * np.cos(np.linspace(0, 8 * np.pi, 9))
    bell_poly = np.concatenate([dome, np.stack([rim_x, rim_y], axis=1)], axis=0)
    parts: list[Part] = []
    n = p["n"]
    for k in range(n):
        y0 = (k + 0.5) / n * bell * 0.9 - bell * 0.45
        line = _wavy_line(0.5 - bell, y0, p["tlen"] * (0.7 + 0.3 * ((k * 7) % 5) / 4), np.pi,
                          p["amp"], 1.5, p["phases"][k % len(p["phases"])], 12)
        parts.append(("line", line, 0.015, SECOND))
    parts.append(("poly", bell_poly, BODY))
    parts.append(("poly", _ellipse(0.5 - bell * 0.55, 0.0, bell * 0.25, bell * 0.2, 14), FIN))
    return parts


# -------------------------------------------------------------------------------------------------------- turtle
def turtle_params(rng: np.random.Generator) -> dict:
    return {"shell": float(rng.uniform(0.28, 0.36)), "flip": float(rng.uniform(0.2, 0.32)),
            "stroke": float(rng.uniform(-0.5, 0.5))}


def turtle_parts(p: dict) -> list[Part]:
    sh, fl, st = p["shell"], p["flip"], p["stroke"]
    parts: list[Part] = [
        ("poly", _ellipse(0.3, 0.0, 0.12, 0.08, 16), FIN),  # head
        ("poly", _ellipse(0.12 - fl * 0.3, -sh - fl * 0.3, fl * 0.55, fl * 0.18, 16, -0.9 + st), FIN),
        ("poly", _ellipse(0.12 - fl * 0.3, sh + fl * 0.3, fl * 0.55, fl * 0.18, 16, 0.9 - st), FIN),
        ("poly", _ellipse(-0.3, -sh * 0.7, 0.1, 0.05, 12, 0.6), FIN),
        ("poly", _ellipse(-0.3, sh * 0.7, 0.1, 0.05, 12, -0.6), FIN),
        ("poly", np.array([[-0.38, -0.03], [-0.5, 0.0], [-0.38, 0.03]]), FIN),
        ("poly", _ellipse(-0.02, 0.0, 0.36, sh, 32), BODY),
        ("poly", _ellipse(0.36, -0.035, 0.015, 0.015, 8), DARK),
        ("poly", _ellipse(0.36, 0.035, 0.015, 0.015, 8), DARK),
    ]
    return parts


# ------------------------------------------------------------------------------------------------------ starfish
def star_params(rng: np.random.Generator) -> dict:
    n = int(rng.choice([5, 5, 5, 4, 6, 7]))
    return {"n": n, "inner": float(rng.uniform(0.12, 0.25)), "bend": rng.uniform(-0.15, 0.15, n).round(4).tolist(),
            "len": rng.uniform(0.85, 1.0, n).round(4).tolist()}


def star_parts(p: dict) -> list[Part]:
    n, inner = p["n"], p["inner"]
    pts = []
    for k in range(n):
        a = 2 * np.pi * k / n
        # Each arm: a valley, two flank points, a rounded tip, so the arms taper instead of being spikes.
        for frac, r in ((-0.5, inner), (-0.18, inner + (0.5 - inner) * 0.55),
                        (-0.05, 0.5 * p["len"][k]), (0.05, 0.5 * p["len"][k]), (0.18, inner + (0.5 - inner) * 0.55)):
            ang = a + frac * 2 * np.pi / n + p["bend"][k] * (r / 0.5) ** 2
            pts.append([r * np.cos(ang), r * np.sin(ang)])
    return [("poly", np.array(pts), BODY), ("poly", _ellipse(0.0, 0.0, inner * 0.4, inner * 0.4, 12), SECOND)]


# ---------------------------------------------------------------------------------------------------------- crab
def crab_params(rng: np.random.Generator) -> dict:
    return {"cw": float(rng.uniform(0.28, 0.38)), "cl": float(rng.uniform(0.18, 0.26)),
            "leg": float(rng.uniform(0.22, 0.32)), "claw": float(rng.uniform(0.08, 0.14)),
            "spread": float(rng.uniform(-0.2, 0.2))}


def crab_parts(p: dict) -> list[Part]:
    cw, cl, leg, claw, sp = p["cw"], p["cl"], p["leg"], p["claw"], p["spread"]
    parts: list[Part] = []
    for side in (-1.0, 1.0):
        for k in range(4):
            base = np.array([cl * 0.5 - k * cl * 0.4, side * cw * 0.6])
            knee = base + np.array([-0.02 * k + sp * 0.1, side * leg * 0.5])
            tip = knee + np.array([-0.05 - 0.04 * k, side * leg * 0.45])
            parts.append(("line", np.array([base, knee, tip]), 0.035, FIN))
        elbow = np.array([cl + 0.08, side * (cw * 0.7)])
        parts.append(("line", np.array([[cl * 0.6, side * cw * 0.4], elbow]), 0.05, FIN))
        parts.append(("poly", _ellipse(elbow[0] + claw * 0.8, elbow[1] - side * 0.02, claw, claw * 0.55, 14,
                                       side * 0.5), FIN))
    parts.append(("poly", _ellipse(0.0, 0.0, cl, cw, 28), BODY))
    parts.append(("poly", _ellipse(cl * 0.9, -0.05, 0.02, 0.02, 8), DARK))
    parts.append(("poly", _ellipse(cl * 0.9, 0.05, 0.02, 0.02, 8), DARK))
    return parts


# ------------------------------------------------------------------------------------------------------- octopus
def octo_params(rng: np.random.Generator) -> dict:
    return {"mantle": float(rng.uniform(0.15, 0.22)), "arm": float(rng.uniform(0.45, 0.65)),
            "phases": rng.uniform(0, 2 * np.pi, 8).round(4).tolist(), "amp": float(rng.uniform(0.05, 0.15)),
            "spread": float(rng.uniform(0.6, 1.4))}


def octo_parts(p: dict) -> list[Part]:
    m, arm = p["mantle"], p["arm"]
    parts: list[Part] = []
    x0 = 0.5 - 2 * m - 0.05
    for k in range(8):
        a = np.pi + (k - 3.5) / 3.5 * p["spread"] * 0.9
        line = _wavy_line(x0, 0.0, arm * (0.8 + 0.2 * ((k * 3) % 4) / 3), a, p["amp"], 1.2, p["phases"][k], 16)
        parts.extend(_tapered_line(line, m * 0.35, m * 0.08, SECOND))
    parts.append(("poly", _ellipse(0.5 - m * 1.05, 0.0, m * 1.0, m * 0.8, 24), BODY))
    parts.append(("poly", _ellipse(x0 + 0.01, -m * 0.45, 0.02, 0.02, 8), DARK))
    parts.append(("poly", _ellipse(x0 + 0.01, m * 0.45, 0.02, 0.02, 8), DARK))
    return parts


KINDS = {
    "fish": (fish_params, fish_parts),
    "ray": (ray_params, ray_parts),
    "eel": (eel_params, eel_parts),
    "jellyfish": (jelly_params, jelly_parts),
    "turtle": (turtle_params, turtle_parts),
    "starfish": (star_params, star_parts),
    "crab": (crab_params, crab_parts),
    "octopus": (octo_params, octo_parts),
}
# Sampling weights: fish dominate real footage; the rest appear less often.
KIND_WEIGHTS = {"fish": 0.34, "ray": 0.09, "eel": 0.08, "jellyfish": 0.1, "turtle": 0.09, "starfish": 0.1,
                "crab": 0.1, "octopus": 0.1}


def build_parts(kind: str, params: dict) -> list[Part]:
    """The drawing parts of one animal in its local frame."""
    return KINDS[kind][1](params)
