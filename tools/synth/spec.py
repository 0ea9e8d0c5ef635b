"""The scene description: everything random is drawn into these records first, then rendering is a pure function.

Keeping sampling and rendering apart lets tests build or edit a scene by hand (remove a rock, move an animal out of
frame) and re-render the rest unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Layer:
    """One drawn element: an animal (enters the mask where visible) or scenery (never does)."""

    role: str  # "animal" or "scenery"
    kind: str  # a key of animals.KINDS or scenery.SCENERY
    params: dict
    cx: float  # centre in pixels (may lie outside the frame)
    cy: float
    length: float  # pixels spanned by the local unit length
    angle: float  # radians, rotation of the local +x axis
    palette: list  # albedo RGB (linear, 0..1) for part ids 1..4
    pattern: dict  # {"type": plain|stripes|spots|mottle|camo, ...}
    z: float  # distance to the camera in metres (drives attenuation and painting order)
    opacity: float = 1.0  # < 1: the colour is partly see-through (jellyfish); the geometric coverage stays whole
    motion: tuple = (0.0, 0.0)  # motion-blur streak in pixels (dx, dy), centred on the pose
    seed: int = 0  # texture randomness

    @property
    def is_animal(self) -> bool:
        return self.role == "animal"


@dataclass
class Water:
    """Water column and light: Jaffe-McGlamery style attenuation with per-channel coefficients."""

    beta: tuple  # attenuation per metre (r, g, b); red largest
    scatter_ratio: tuple  # b/beta per channel: sets the colour of the veiling light
    depth: float  # metres below the surface: the sunlight reaching the scene is exp(-beta * depth)
    caustics: float  # strength of surface caustics on lit surfaces (0 = none)
    caustic_cell: float  # caustic pattern size in pixels
    lamp: float  # strength of a white lamp at the camera (0 = none)
    lamp_xy: tuple  # lamp aim in frame fractions
    white_balance: float  # 0 = none, 1 = full grey-world; partial keeps the blue-green cast
    veil_gradient: float  # veiling light brighter towards the surface (top of the frame)


@dataclass
class Seabed:
    horizon: float  # row of the horizon as a frame fraction; < 0: all seabed (looking down), > 1: open water
    sand: tuple  # albedo of the sediment
    patch: tuple  # albedo of darker patches (algae, rubble)
    ripple: float  # sand ripple strength
    near: float  # distance in metres of the bottom row
    seed: int


@dataclass
class Scene:
    width: int
    height: int
    water: Water
    seabed: Seabed
    layers: list = field(default_factory=list)  # painted in order (farthest first)
    defocus: float = 0.0  # Gaussian sigma in pixels applied to the whole frame and to the visibility map
    snow: int = 0  # marine-snow particle count
    exposure: float = 0.35  # target mean linear brightness after auto-exposure
    photons: float = 400.0  # photon count at full scale: lower = noisier (low light)
    read_noise: float = 0.004
    seed: int = 0  # randomness of snow and sensor noise
