"""Shared SAM-style ViT encoder of Dual-SAM: blocks with LoRA on q/v, per-branch adapters, neck.

Module and parameter names follow the official `sam.image_encoder` layout (see docs/MODELS.md), with the
LoRA linears moved from `attn.qkv.linear_*` to `attn.lora.linear_*` and the qkv Linear at `attn.qkv`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ENC_LN_EPS = 1e-6       # SAM image encoder LayerNorms and LayerNorm2d
ADAPTER_LN_EPS = 1e-5   # nn.LayerNorm default, used by the adapters and the MCP blocks


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the adapters' activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class MLPBlock(nn.Module):
    """Linear -> exact GELU -> Linear (SAM's MLPBlock: `lin1`, `lin2`)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(F.gelu(self.lin1(x)))


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor, written as SAM writes it (same float ops)."""

    def __init__(self, channels: int, eps: float = ENC_LN_EPS):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class PatchEmbed(nn.Module):
    """Conv k=s=patch, output B,H,W,C."""

    def __init__(self, patch: int, dim: int, in_chans: int = 3):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class LoRA(nn.Module):
    """Rank-r updates of q and v (unscaled, no bias): q += B_q A_q x, v += B_v A_v x."""

    def __init__(self, dim: int, attn_dim: int, r: int):
        super().__init__()
        self.linear_a_q = nn.Linear(dim, r, bias=False)
        self.linear_b_q = nn.Linear(r, attn_dim, bias=False)
        self.linear_a_v = nn.Linear(dim, r, bias=False)
        self.linear_b_v = nn.Linear(r, attn_dim, bias=False)
        for a in (self.linear_a_q, self.linear_a_v):
            nn.init.kaiming_uniform_(a.weight, a=math.sqrt(5))
        for b in (self.linear_b_q, self.linear_b_v):
            nn.init.zeros_(b.weight)


def get_rel_pos(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """Rows of a (2S-1, C) relative-position table for every (query, key) coordinate pair (q_size == k_size)."""
    if rel_pos.shape[0] != 2 * max(q_size, k_size) - 1:
        raise ValueError(f"rel-pos table has {rel_pos.shape[0]} rows, expected {2 * max(q_size, k_size) - 1}")
    q = torch.arange(q_size)[:, None]
    k = torch.arange(k_size)[None, :]
    return rel_pos[(q - k) + (k_size - 1)]


def resize_rel_pos(rel_pos: torch.Tensor, rows: int) -> torch.Tensor:
    """Linear interpolation of a rel-pos table to `rows` rows (what SAM's get_rel_pos/load_from do)."""
    if rel_pos.shape[0] == rows:
        return rel_pos
    t = F.interpolate(rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1), size=rows, mode="linear")
    return t.reshape(-1, rows).permute(1, 0).contiguous()


class Attention(nn.Module):
    """Multi-head self-attention on B,H,W,C tokens; optional decomposed rel-pos and LoRA on q/v."""

    def __init__(self, dim: int, heads: int, head_dim: int, rel_pos_size: int = 0, lora_rank: int = 0):
        super().__init__()
        self.num_heads = heads
        self.head_dim = head_dim
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)
        self.proj = nn.Linear(heads * head_dim, dim)
        self.use_rel_pos = rel_pos_size > 0
        if self.use_rel_pos:
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * rel_pos_size - 1, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * rel_pos_size - 1, head_dim))
        self.lora = LoRA(dim, heads * head_dim, lora_rank) if lora_rank > 0 else None

    def merge_lora(self) -> None:
        """Fold the LoRA updates into the qkv weight (mathematically exact) and drop the LoRA module."""
        if self.lora is None:
            return
        a = self.num_heads * self.head_dim
        with torch.no_grad():
            w = self.qkv.weight
            w[:a] += self.lora.linear_b_q.weight @ self.lora.linear_a_q.weight
            w[2 * a:] += self.lora.linear_b_v.weight @ self.lora.linear_a_v.weight
        self.lora = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, _ = x.shape
        qkv = self.qkv(x)
        if self.lora is not None:
            a = self.num_heads * self.head_dim
            new_q = self.lora.linear_b_q(self.lora.linear_a_q(x))
            new_v = self.lora.linear_b_v(self.lora.linear_a_v(x))
            qkv = torch.cat([qkv[..., :a] + new_q, qkv[..., a:2 * a], qkv[..., 2 * a:] + new_v], dim=-1)
        qkv = qkv.reshape(B, H * W, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, B * self.num_heads, H * W, self.head_dim).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.use_rel_pos:
            rh = get_rel_pos(H, H, self.rel_pos_h)
            rw = get_rel_pos(W, W, self.rel_pos_w)
            r_q = q.reshape(B * self.num_heads, H, W, self.head_dim)
            rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)
            rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)
            attn = (attn.view(-1, H, W, H, W) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).view(
                -1, H * W, H * W)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).view(B, self.num_heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
        return self.proj(x)


def window_partition(x: torch.Tensor, ws: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Zero-pad B,H,W,C to multiples of ws and cut into (B*nW, ws, ws, C) windows."""
    B, H, W, C = x.shape
    pad_h = (ws - H % ws) % ws
    pad_w = (ws - W % ws) % ws
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // ws, ws, Wp // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C), (Hp, Wp)


def window_unpartition(win: torch.Tensor, ws: int, pad_hw: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    """Inverse of window_partition, cropping the padding away."""
    Hp, Wp = pad_hw
    H, W = hw
    B = win.shape[0] // (Hp * Wp // ws // ws)
    x = win.view(B, Hp // ws, Wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).contiguous().view(B, Hp, Wp, -1)
    if Hp > H or Wp > W:
        x = x[:, :H, :W, :].contiguous()
    return x


class Adapter(nn.Module):
    """Per-branch adapter; returns y + fc2(QuickGELU(fc1(LN(y)))) (the residual is inside, as officially)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.IN = nn.LayerNorm(dim, eps=ADAPTER_LN_EPS)
        self.fc = nn.Sequential(nn.Linear(dim, hidden), QuickGELU(), nn.Linear(hidden, dim))
        for m in (self.fc[0], self.fc[2]):
            nn.init.xavier_uniform_(m.weight)
            nn.init.normal_(m.bias, std=1e-6)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y + self.fc(self.IN(y))


class Block(nn.Module):
    """ViT block: x += Attn(LN1 x) (windowed over zero-padded windows, no mask, or global);
    y = MLP(LN2 x); x += adapter(y)."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, window_size: int, grid: int,
                 lora_rank: int):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim, eps=ENC_LN_EPS)
        self.attn = Attention(dim, heads, head_dim, rel_pos_size=window_size if window_size > 0 else grid,
                              lora_rank=lora_rank)
        self.norm2 = nn.LayerNorm(dim, eps=ENC_LN_EPS)
        self.mlp = MLPBlock(dim, mlp_dim)

    def forward(self, x: torch.Tensor, adapter: nn.Module) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            H, W = x.shape[1], x.shape[2]
            x, pad_hw = window_partition(x, self.window_size)
        x = self.attn(x)
        if self.window_size > 0:
            x = window_unpartition(x, self.window_size, pad_hw, (H, W))
        x = shortcut + x
        return x + adapter(self.mlp(self.norm2(x)))


class ImageEncoder(nn.Module):
    """Patch embed + abs pos + blocks + neck; the blocks are run by DualSam for both branches."""

    def __init__(self, cfg):
        super().__init__()
        g = cfg.grid
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, g, g, cfg.embed_dim))
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.head_dim, cfg.mlp_dim,
                  0 if i in cfg.global_attn_indexes else cfg.window_size, g, cfg.lora_rank)
            for i in range(cfg.depth))
        self.neck = nn.Sequential(
            nn.Conv2d(cfg.embed_dim, cfg.neck_dim, 1, bias=False), LayerNorm2d(cfg.neck_dim),
            nn.Conv2d(cfg.neck_dim, cfg.neck_dim, 3, padding=1, bias=False), LayerNorm2d(cfg.neck_dim))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_embed(x) + self.pos_embed
