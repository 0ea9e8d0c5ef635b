"""Reference Dual-SAM (CVPR 2024) in PyTorch: topology and numerics of the official LoRA_Sam.

Top-level modules (state_dict prefixes): `image_encoder` (shared ViT + neck), `adapter1`/`adapter2`
(per-branch adapters), `global_adapter` (MCP blocks + gates), `desam` (both decoders). docs/MODELS.md lists them.
"""
from __future__ import annotations

import torch
from torch import nn

from .c3p import decode_logits
from .configs import DualSamConfig, get_config
from .decoder import Desam
from .encoder import Adapter, ImageEncoder
from .mcp import GlobalAdapter


class DualSam(nn.Module):
    """Dual-SAM. `forward` = training outputs of both decoders; `forward_infer` = only what the mask needs."""

    def __init__(self, cfg: DualSamConfig | str = "b"):
        super().__init__()
        cfg = get_config(cfg) if isinstance(cfg, str) else cfg.validate()
        self.cfg = cfg
        self.image_encoder = ImageEncoder(cfg)
        self.adapter1 = nn.ModuleList(Adapter(cfg.embed_dim, cfg.adapter_dim) for _ in range(cfg.depth))
        self.adapter2 = nn.ModuleList(Adapter(cfg.embed_dim, cfg.adapter_dim) for _ in range(cfg.depth))
        self.global_adapter = GlobalAdapter(cfg)
        self.desam = Desam(cfg)

    def merge_lora(self) -> "DualSam":
        """Fold LoRA into every qkv weight (inference form)."""
        for blk in self.image_encoder.blocks:
            blk.attn.merge_lora()
        return self

    def encode(self, img_a: torch.Tensor, img_b: torch.Tensor, infer: bool = False, trace: dict | None = None):
        """Both branches with MCP. Returns (X^a_last, X^b_last, E^a levels or None, E^b levels)."""
        enc, mcp = self.image_encoder, self.global_adapter
        xa = enc.embed(img_a)
        xb = enc.embed(img_b)
        p = mcp.patch_embed(img_a + img_b) + mcp.pos_embed
        if trace is not None:
            trace["alpha.embed"], trace["beta.embed"], trace["mcp.p0"] = xa, xb, p
        levels = self.cfg.levels
        ea: list[torch.Tensor] = []
        eb: list[torch.Tensor] = []
        for i, blk in enumerate(enc.blocks):
            xa = blk(xa, self.adapter1[i])
            xb = blk(xb, self.adapter2[i])
            if trace is not None:
                trace[f"alpha.block{i}"], trace[f"beta.block{i}"] = xa, xb
            if i in levels:
                j = levels.index(i)
                p, pr2, pr3 = mcp.blocks[j](p, xa, xb, need_pw1=not infer, trace=trace, tag=f"mcp{j}")
                if not infer:
                    ea.append(xa + mcp.gated[j] * pr2)
                eb.append(xb + mcp.gated1[j] * pr3)
                if trace is not None:
                    trace[f"mcp{j}.p"] = p
                    trace[f"beta.level{j}"] = eb[-1]
                    if not infer:
                        trace[f"alpha.level{j}"] = ea[-1]
        return xa, xb, (None if infer else ea), eb

    def forward(self, img_a: torch.Tensor, img_b: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(ori_pre, gamma_pre): each [full, 1/2, 1/4, 1/8]-resolution 8-channel logits, as the official model."""
        xa, xb, ea, eb = self.encode(img_a, img_b)
        neck = self.image_encoder.neck
        src = neck(xa.permute(0, 3, 1, 2))
        src1 = neck(xb.permute(0, 3, 1, 2))
        ori = self.desam.decode(src, eb, gamma=False)      # cross-wired: ori decoder takes the gamma levels
        gam = self.desam.decode(src1, ea, gamma=True)
        return ori, gam

    def forward_infer(self, img_a: torch.Tensor, img_b: torch.Tensor, trace: dict | None = None) -> torch.Tensor:
        """Only the ori decoder's full-resolution logits (B,8,S,S) (= outputs[0][0] of the official model)."""
        xa, _, _, eb = self.encode(img_a, img_b, infer=True, trace=trace)
        src = self.image_encoder.neck(xa.permute(0, 3, 1, 2))
        if trace is not None:
            trace["neck"] = src
        logits = self.desam.decode(src, eb, gamma=False, full=False, trace=trace, tag="ori")[0]
        if trace is not None:
            trace["logits"] = logits
        return logits

    @torch.no_grad()
    def predict(self, img_a: torch.Tensor, img_b: torch.Tensor, trace: dict | None = None):
        """(logits, pred map in [0,1], 8-bit map, boolean mask)."""
        logits = self.forward_infer(img_a, img_b, trace=trace)
        pred, g, mask = decode_logits(logits)
        if trace is not None:
            trace["prob"], trace["map_u8"], trace["mask"] = pred, g, mask
        return logits, pred, g, mask


class InferenceWrapper(nn.Module):
    """Inference path as a module with (img_a, img_b) -> logits, for export and counting."""

    def __init__(self, model: DualSam):
        super().__init__()
        self.model = model

    def forward(self, img_a: torch.Tensor, img_b: torch.Tensor) -> torch.Tensor:
        return self.model.forward_infer(img_a, img_b)


def build(cfg: DualSamConfig | str = "tiny", seed: int | None = None, device: str | torch.device = "cpu",
          random_stats: bool = False) -> DualSam:
    """Build a model (optionally seeded). random_stats fills zero-initialised tensors (pos embeds, rel-pos,
    LoRA B, BN statistics) with small random values so tests exercise every path."""
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device(device):
        m = DualSam(cfg)
    if random_stats and device != "meta":
        randomize_(m, seed)
    return m.eval()


@torch.no_grad()
def randomize_(m: DualSam, seed: int | None = None) -> DualSam:
    """Give zero/one-initialised tensors random values (deterministic given the seed)."""
    g = torch.Generator().manual_seed(0 if seed is None else seed + 1)
    for name, t in m.named_parameters():
        if name.endswith(("pos_embed", "rel_pos_h", "rel_pos_w")):
            t.copy_(torch.randn(t.shape, generator=g) * 0.02)
        elif "lora.linear_b" in name:
            t.copy_(torch.randn(t.shape, generator=g) * 0.01)
        elif name.endswith(("norm1.weight", "norm2.weight", "IN.weight")) or ".neck." in name and name.endswith(
                "weight") and t.dim() == 1:
            t.copy_(1.0 + 0.1 * torch.randn(t.shape, generator=g))
        elif name.endswith(("norm1.bias", "norm2.bias", "IN.bias")) or (".neck." in name and t.dim() == 1):
            t.copy_(0.05 * torch.randn(t.shape, generator=g))
        elif name.endswith("gated") or name.endswith("gated1"):
            t.copy_(0.5 + torch.rand(t.shape, generator=g))
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(0.1 * torch.randn(mod.running_mean.shape, generator=g))
            mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g))
            mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=g))
            mod.bias.copy_(0.05 * torch.randn(mod.bias.shape, generator=g))
    return m
