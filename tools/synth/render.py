"""Rendering a Scene into an 8-bit RGB image and its exact binary mask.

Every surface (seabed, scenery, animals) gets its radiance through the water at its own distance z,
    I = J * (E_sun * caustics + E_lamp) * exp(-beta z) + B_inf * (1 - exp(-beta z)),
and layers are alpha-blended in linear light, farthest first.
Alongside colour the renderer composites a visibility map `vis`: an animal layer with coverage a does
`vis = vis (1 - a) + a`, any other layer `vis = vis (1 - a)`. The mask is `vis >= 0.5` after the same blur the
image gets, so the mask is exactly what is visible: occluded parts drop out, motion-blurred animals are masked
where their smeared coverage is at least one half, and parts outside the frame never enter it.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from .animals import BODY, DARK, FIN, SECOND, build_parts
from .noise import caustics, fbm, ridged, value_noise
from .scenery import SCENERY
from .spec import Layer, Scene

FAR = 1000.0  # metres: open water, fully veiled


def _layer_parts(layer: Layer) -> list:
    if layer.is_animal:
        return build_parts(layer.kind, layer.params)
    return SCENERY[layer.kind][1](layer.params)


def _to_pixels(layer: Layer, pts: np.ndarray) -> np.ndarray:
    c, s = np.cos(layer.angle), np.sin(layer.angle)
    p = pts * layer.length
    if layer.params.get("mirror"):
        p = p * np.array([1.0, -1.0])
    return np.stack([layer.cx + c * p[:, 0] - s * p[:, 1], layer.cy + s * p[:, 0] + c * p[:, 1]], axis=1)


MARGIN = 32  # canvases extend this far beyond the frame, so motion blur can pull in content from outside it


def rasterise(layer: Layer, width: int, height: int):
    """Part-id map of a layer over its bounding box clipped to the frame grown by MARGIN pixels.

    Returns (labels uint8 [h, w], x0, y0) with (x0, y0) the frame position of labels[0, 0], or None if the layer
    cannot reach the frame. Drawing happens on this local canvas so parts beyond the frame edge are simply cut off.
    Coordinates are snapped to 1/64 pixel so moving the canvas origin by whole pixels moves the drawing exactly.
    """
    parts = _layer_parts(layer)
    pix = []
    reach = 1.0
    for part in parts:
        pts = np.round(_to_pixels(layer, part[1]) * 64.0) / 64.0
        pix.append(pts)
        if part[0] == "line":
            reach = max(reach, part[2] * layer.length)
    allp = np.concatenate(pix, axis=0)
    x0 = int(np.floor(allp[:, 0].min() - reach)) - 1
    y0 = int(np.floor(allp[:, 1].min() - reach)) - 1
    x1 = int(np.ceil(allp[:, 0].max() + reach)) + 2
    y1 = int(np.ceil(allp[:, 1].max() + reach)) + 2
    x0, y0 = max(x0, -MARGIN), max(y0, -MARGIN)
    x1, y1 = min(x1, width + MARGIN), min(y1, height + MARGIN)
    if x1 <= x0 or y1 <= y0:
        return None
    canvas = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(canvas)
    for part, pts in zip(parts, pix):
        xy = [(float(x - x0), float(y - y0)) for x, y in pts]
        if part[0] == "poly":
            draw.polygon(xy, fill=part[2])
        else:
            w = max(1, int(round(part[2] * layer.length)))
            draw.line(xy, fill=part[3], width=w, joint="curve")
    return np.asarray(canvas), x0, y0


def _motion_blur(arr: np.ndarray, motion: tuple) -> np.ndarray:
    """Average of copies shifted along the motion streak (zero beyond the canvas)."""
    dx, dy = np.clip(motion, -2 * MARGIN + 2, 2 * MARGIN - 2)
    n = int(np.ceil(max(abs(dx), abs(dy)))) + 1
    if n < 2:
        return arr
    out = np.zeros_like(arr)
    h, w = arr.shape[:2]
    for k in range(n):
        t = k / (n - 1) - 0.5
        sx, sy = int(round(t * dx)), int(round(t * dy))
        src = arr[max(0, -sy):h - max(0, sy), max(0, -sx):w - max(0, sx)]
        out[max(0, sy):max(0, sy) + src.shape[0], max(0, sx):max(0, sx) + src.shape[1]] += src
    return out / n


def _texture(layer: Layer, labels: np.ndarray, x0: int, y0: int, bg_j: np.ndarray) -> np.ndarray:
    """Albedo of a layer over its canvas: palette per part, pattern in body coordinates, rounded shading."""
    rng = np.random.default_rng(layer.seed)
    h, w = labels.shape
    pal = np.array(layer.palette, np.float32)  # [4, 3]
    j = pal[np.clip(labels.astype(np.int32) - 1, 0, 3)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c, s = np.cos(layer.angle), np.sin(layer.angle)
    rx, ry = xx + x0 - layer.cx, yy + y0 - layer.cy
    u = (c * rx + s * ry) / layer.length
    v = (-s * rx + c * ry) / layer.length
    if layer.params.get("mirror"):
        v = -v
    body = (labels == BODY) | (labels == FIN) | (labels == SECOND)
    pt = layer.pattern.get("type", "plain")
    contrast = float(layer.pattern.get("contrast", 0.4))
    if pt == "stripes":
        f = float(layer.pattern.get("freq", 6.0))
        band = 0.5 + 0.5 * np.sin(2 * np.pi * f * (u + 0.15 * v * layer.pattern.get("slant", 0.0)))
        j = j * (1.0 - contrast * (band > 0.55)[..., None] * (labels == BODY)[..., None])
    elif pt == "spots":
        cell = max(2.0, layer.length * float(layer.pattern.get("scale", 0.05)))
        spots = value_noise(rng, h, w, cell) > 0.45
        spot_col = pal[3] if layer.pattern.get("light") else pal[0] * (1 - contrast)
        j = np.where((spots & (labels == BODY))[..., None], spot_col, j)
    elif pt in ("mottle", "camo"):
        cell = max(2.0, layer.length * float(layer.pattern.get("scale", 0.08)))
        j = j * (1.0 + contrast * fbm(rng, h, w, cell, 3))[..., None]
    if pt == "camo":
        # Blend towards the albedo of whatever lies behind: a camouflaged animal matches its surroundings.
        mix = float(layer.pattern.get("mix", 0.7))
        j = np.where(body[..., None], (1 - mix) * j + mix * bg_j, j)
    if layer.is_animal and layer.kind in ("fish", "ray", "eel"):
        j = j * (1.0 - 0.35 * np.clip(-v * 6.0, 0.0, 1.0))[..., None]  # countershading: darker back
    # Rounded shading: brighter towards the interior of the silhouette.
    inside = labels > 0
    if inside.any():
        d = ndimage.distance_transform_edt(inside)
        dm = max(float(d.max()), 1.0)
        j = j * (0.7 + 0.3 * np.sqrt(d / dm))[..., None]
    j = np.where((labels == DARK)[..., None], pal[2], j)
    if layer.kind == "rock" or (layer.kind == "coral" and layer.params.get("style") == "brain"):
        j = j * (0.6 + 0.4 * (1.0 - ridged(rng, h, w, max(3.0, layer.length * 0.08))))[..., None]
    return np.clip(j, 0.0, 1.0).astype(np.float32)


def seabed(scene: Scene):
    """Albedo and distance of the background: seabed below the horizon, open water (FAR) above."""
    h, w = scene.height, scene.width
    sb = scene.seabed
    rng = np.random.default_rng(sb.seed)
    j = np.zeros((h, w, 3), np.float32)
    z = np.full((h, w), FAR, np.float32)
    hz = sb.horizon * h
    rows = np.arange(h, dtype=np.float32)
    below = rows > hz
    if not below.any():
        return j, z
    # Perspective: distance grows as rows approach the horizon; looking straight down it is nearly constant.
    t = np.clip((rows - hz) / max(h - hz, 1.0), 1e-3, 1.0)
    zrow = np.where(hz < 0, sb.near * (1.0 + 0.3 * (1.0 - rows / h)), sb.near / t)
    zrow = np.minimum(zrow, FAR)
    z[below] = zrow[below, None]
    n = fbm(rng, h, w, max(8.0, w / 6.0), 4)
    sand = np.array(sb.sand, np.float32)
    patch = np.array(sb.patch, np.float32)
    mix = np.clip(0.5 + 0.9 * n, 0.0, 1.0)[..., None]
    bed = sand * (1 - mix) + patch * mix
    phase = 2 * np.pi * (zrow[:, None] * 0.9 + 0.6 * fbm(rng, h, w, w / 4.0, 2))
    bed = bed * (1.0 - sb.ripple * (0.5 + 0.5 * np.sin(phase)))[..., None]
    grain = value_noise(rng, h, w, 2.0)
    bed = bed * (1.0 + 0.08 * grain)[..., None]
    j[below] = bed[below]
    return np.clip(j, 0, 1), z


class Light:
    """Per-pixel light and water terms shared by the background and every layer."""

    def __init__(self, scene: Scene):
        h, w = scene.height, scene.width
        wt = scene.water
        self.beta = np.array(wt.beta, np.float32)
        self.ratio = np.array(wt.scatter_ratio, np.float32)
        sun = np.exp(-self.beta * wt.depth)  # sunlight colour at the scene depth: red goes first
        rows = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None, None]
        self.veil = (sun * self.ratio * (1.0 - wt.veil_gradient * 0.5 + wt.veil_gradient * rows)).astype(np.float32)
        self.veil = np.broadcast_to(self.veil, (h, w, 3))
        light = np.broadcast_to(sun, (h, w, 3)).astype(np.float32)
        if wt.caustics > 0:
            rng = np.random.default_rng(int(wt.caustic_cell * 1000) + int(wt.depth * 100))
            light = light * (1.0 + wt.caustics * caustics(rng, h, w, wt.caustic_cell)[..., None])
        self.sun = light
        self.lamp = None
        if wt.lamp > 0:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            lx, ly = wt.lamp_xy[0] * w, wt.lamp_xy[1] * h
            spot = np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * (0.45 * max(h, w)) ** 2))[..., None]
            self.lamp = (wt.lamp * spot).astype(np.float32)

    def radiance(self, j: np.ndarray, z: np.ndarray, region: tuple) -> np.ndarray:
        """Radiance reaching the camera from surfaces of albedo j at distance z (z >= FAR/2: open water)."""
        zc = z[..., None]
        trans = np.exp(-self.beta * zc)
        surface = (zc < FAR * 0.5)
        out = j * self.sun[region] * trans * surface + self.veil[region] * (1.0 - trans)
        if self.lamp is not None:
            zl = np.minimum(zc, 30.0)
            lamp = self.lamp[region]
            out = out + j * lamp / (1.0 + 0.15 * zl ** 2) * trans * surface
            # Backscatter: lamp light scattered back by the water between camera and surface.
            out = out + 0.25 * lamp * self.ratio * (1.0 - np.exp(-self.beta * zl * 0.5))
        return out.astype(np.float32)


def composite(scene: Scene):
    """Linear radiance and animal visibility after painting the background and every layer.

    Each layer's radiance is computed at its own distance before blending, so partly transparent or
    motion-blurred edges mix with what is behind them rather than with the water."""
    h, w = scene.height, scene.width
    light = Light(scene)
    j, z = seabed(scene)
    full = (slice(0, h), slice(0, w))
    rad = light.radiance(j, z, full)
    vis = np.zeros((h, w), np.float32)
    for layer in scene.layers:
        r = rasterise(layer, w, h)
        if r is None:
            continue
        labels, x0, y0 = r
        lh, lw = labels.shape
        # The slice of the canvas that lies in the frame, and where it goes.
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + lw, w), min(y0 + lh, h)
        if fx1 <= fx0 or fy1 <= fy0:
            continue
        bg = np.zeros((lh, lw, 3), np.float32)
        bg[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0] = j[fy0:fy1, fx0:fx1]
        col = _texture(layer, labels, x0, y0, bg)
        a = (labels > 0).astype(np.float32)
        if layer.motion != (0.0, 0.0):
            a_b = _motion_blur(a, layer.motion)
            col = _motion_blur(col * a[..., None], layer.motion) / np.maximum(a_b, 1e-6)[..., None]
            a = a_b
        sl = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        fr = (slice(fy0, fy1), slice(fx0, fx1))
        a_in = a[sl]
        a_col = (a_in * layer.opacity)[..., None]
        col_in = col[sl]
        layer_rad = light.radiance(col_in, np.full(a_in.shape, layer.z, np.float32), fr)
        rad[fr] = rad[fr] * (1 - a_col) + layer_rad * a_col
        j[fr] = j[fr] * (1 - a_col) + col_in * a_col  # albedo behind later layers, for camouflage
        vis[fr] = vis[fr] * (1 - a_in) + (a_in if layer.is_animal else 0.0)
    return rad, vis


def finish(scene: Scene, rad: np.ndarray, vis: np.ndarray):
    """Marine snow, defocus, exposure, white balance, sensor noise and 8-bit encoding; returns (rgb, mask)."""
    h, w = scene.height, scene.width
    rng = np.random.default_rng(scene.seed)
    if scene.snow > 0:
        snow = np.zeros((h, w), np.float32)
        ys = rng.integers(0, h, scene.snow)
        xs = rng.integers(0, w, scene.snow)
        br = rng.uniform(0.2, 1.0, scene.snow).astype(np.float32)
        np.maximum.at(snow, (ys, xs), br)
        snow = ndimage.grey_dilation(snow, size=(2, 2)) * 0.5 + snow * 0.5
        # A few big out-of-focus particles (bokeh) close to the lens.
        big = np.zeros((h, w), np.float32)
        k = max(1, scene.snow // 25)
        big[rng.integers(0, h, k), rng.integers(0, w, k)] = rng.uniform(5, 20, k)
        big = ndimage.gaussian_filter(big, sigma=max(2.0, w / 160))
        level = float(np.mean(rad)) * 1.2
        rad = rad + (np.clip(snow + big, 0, 1.5) * level)[..., None]
    if scene.defocus > 0.3:
        rad = ndimage.gaussian_filter(rad, sigma=(scene.defocus, scene.defocus, 0))
        vis = ndimage.gaussian_filter(vis, sigma=scene.defocus)
    mean = rad.reshape(-1, 3).mean(axis=0) + 1e-6
    wb = (mean.mean() / mean) ** scene.water.white_balance
    rad = rad * wb
    rad = rad * (scene.exposure / float(rad.mean() + 1e-6))
    # Poisson-Gaussian sensor noise (normal approximation), amplified when photons are few (low light).
    sigma = np.sqrt(np.clip(rad, 0, None) / scene.photons + scene.read_noise ** 2)
    rad = rad + sigma * rng.standard_normal(rad.shape, dtype=np.float32)
    srgb = np.clip(rad, 0.0, 1.0) ** (1.0 / 2.2)
    rgb = (srgb * 255.0 + 0.5).astype(np.uint8)
    mask = np.where(vis >= 0.5, 255, 0).astype(np.uint8)
    return rgb, mask


def render(scene: Scene):
    """The image (uint8 [H, W, 3]) and mask (uint8 [H, W], 0 or 255) of a scene."""
    rad, vis = composite(scene)
    return finish(scene, rad, vis)
