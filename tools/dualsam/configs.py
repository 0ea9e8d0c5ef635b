"""Named architecture configs of the reference Dual-SAM (`b` = official dims, `lite`, `tiny`)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DualSamConfig:
    """Every dimension the model needs; `b` reproduces the official LoRA_Sam exactly."""

    name: str = "b"
    img_size: int = 512                 # square model input
    patch_size: int = 16
    embed_dim: int = 768                # residual width D, shared by encoder and MCP
    depth: int = 12
    num_heads: int = 12
    head_dim: int = 64                  # attention inner width = num_heads * head_dim
    mlp_dim: int = 3072
    window_size: int = 14
    global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    lora_rank: int = 4
    adapter_dim: int = 48               # adapter bottleneck (768 // 16)
    # MCP (Global_adapter) blocks, one per prompted level
    mcp_heads: int = 12
    mcp_head_dim: int = 64
    mcp_mlp_dim: int = 3072             # `mlp` (after the cross-attention)
    mcp_mlp2_dim: int = 3072            # `mlp2` (after the self-attention)
    ca_heads: int = 8
    ca_head_dim: int = 96
    # the official code feeds LN1(t) to the cross-attention's value projection through a memory
    # reinterpretation (`z.view(b, C, h*w)` on a B,H,W,C tensor); True copies it exactly
    ca_value_scramble: bool = True
    # decoder
    neck_dim: int = 256
    dec_channels: tuple[int, int, int, int] = (256, 128, 64, 32)   # levels 12 / 9 / 6 / 3
    se_hidden: tuple[int, int, int, int] = (16, 8, 4, 2)           # DFAM channel attention (c // 16)
    head_dim_pre: int = 32              # width of the pre1..pre4 heads
    num_out: int = 8                    # C3P channels
    gate_init: float = 1.0              # our value for the gates (official: uninitialised memory)

    @property
    def grid(self) -> int:
        """Token grid side (img_size / patch_size)."""
        return self.img_size // self.patch_size

    @property
    def attn_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def levels(self) -> tuple[int, ...]:
        """0-based encoder block indices after which an MCP block runs (every depth/4 blocks)."""
        step = self.depth // 4
        return tuple(step * (j + 1) - 1 for j in range(4))

    def validate(self) -> "DualSamConfig":
        assert self.img_size % self.patch_size == 0, "img_size must be a multiple of patch_size"
        assert self.depth % 4 == 0 and self.depth >= 4, "depth must be a positive multiple of 4"
        assert all(0 <= i < self.depth for i in self.global_attn_indexes)
        assert self.window_size >= 1
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @staticmethod
    def from_dict(d: dict) -> "DualSamConfig":
        names = {f.name for f in dataclasses.fields(DualSamConfig)}
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names}
        return DualSamConfig(**kw).validate()

    def replace(self, **kw) -> "DualSamConfig":
        return dataclasses.replace(self, **kw).validate()


B = DualSamConfig().validate()

# Raspberry Pi 5 class: <= 25 GMAC per frame (both branches, MCP and ori decoder); reachable from `b` by pruning.
LITE = DualSamConfig(
    name="lite", img_size=384, embed_dim=320, depth=8, num_heads=5, head_dim=64, mlp_dim=1280,
    window_size=12, global_attn_indexes=(1, 3, 5, 7), adapter_dim=24,
    mcp_heads=5, mcp_head_dim=64, mcp_mlp_dim=1024, mcp_mlp2_dim=1024, ca_heads=4, ca_head_dim=96,
    neck_dim=128, dec_channels=(128, 64, 32, 16), se_hidden=(8, 4, 2, 1), head_dim_pre=16,
).validate()

# Bundled default: <= 3 GMAC per frame.
TINY = DualSamConfig(
    name="tiny", img_size=256, embed_dim=192, depth=4, num_heads=6, head_dim=32, mlp_dim=768,
    window_size=8, global_attn_indexes=(1, 3), adapter_dim=16,
    mcp_heads=6, mcp_head_dim=32, mcp_mlp_dim=576, mcp_mlp2_dim=576, ca_heads=4, ca_head_dim=48,
    neck_dim=64, dec_channels=(64, 32, 16, 8), se_hidden=(4, 2, 1, 1), head_dim_pre=8,
).validate()

# Structurally complete but minute (padded windows, global blocks, rel-pos, 4 levels): for unit tests only.
MICRO = DualSamConfig(
    name="micro", img_size=96, embed_dim=32, depth=4, num_heads=2, head_dim=16, mlp_dim=64,
    window_size=4, global_attn_indexes=(1, 3), adapter_dim=8, mcp_heads=2, mcp_head_dim=16,
    mcp_mlp_dim=48, mcp_mlp2_dim=40, ca_heads=2, ca_head_dim=12, neck_dim=16,
    dec_channels=(16, 8, 8, 4), se_hidden=(2, 1, 1, 1), head_dim_pre=4,
).validate()

CONFIGS: dict[str, DualSamConfig] = {c.name: c for c in (B, LITE, TINY)}


TEST_CONFIGS: dict[str, DualSamConfig] = {MICRO.name: MICRO}


def get_config(name: str) -> DualSamConfig:
    """Config by name (b, lite, tiny; micro for tests) or from a JSON file path (DualSamConfig.to_json)."""
    if name in CONFIGS:
        return CONFIGS[name]
    if name in TEST_CONFIGS:
        return TEST_CONFIGS[name]
    if name.endswith(".json"):
        with open(name) as f:
            return DualSamConfig.from_dict(json.load(f))
    raise KeyError(f"unknown config {name!r}; known: {sorted(CONFIGS)} or a .json file")
