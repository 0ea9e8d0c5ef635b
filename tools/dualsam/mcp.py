"""Multi-level Coupled Prompt (official `Global_adapter`): 4 prompt blocks and the gates."""
from __future__ import annotations

import math

import torch
from torch import nn

from .encoder import ADAPTER_LN_EPS, Attention, MLPBlock, PatchEmbed
from .decoder import ConvBN


class MultiCrossAttention(nn.Module):
    """Cross-attention: q from LN1(X^alpha), k from LN1(X^beta), v from LN1(t); softmax(QK^T / sqrt(dh)) V.

    Official `Multi_CrossAttention`: q/k/v Linears without bias, `linear_output` with bias. With
    `value_scramble` the value tokens are LN1(t) reinterpreted in memory as (B, C, N) and transposed, exactly as
    the official `z.view(b, C, h*w).transpose(-1, -2)` does on a B,H,W,C tensor (see docs/MODELS.md)."""

    def __init__(self, dim: int, heads: int, head_dim: int, value_scramble: bool = True):
        super().__init__()
        self.num_heads = heads
        self.h_size = head_dim
        inner = heads * head_dim
        self.linear_q = nn.Linear(dim, inner, bias=False)
        self.linear_k = nn.Linear(dim, inner, bias=False)
        self.linear_v = nn.Linear(dim, inner, bias=False)
        self.linear_output = nn.Linear(inner, dim)
        self.value_scramble = value_scramble

    def forward(self, xq: torch.Tensor, xk: torch.Tensor, xv: torch.Tensor) -> torch.Tensor:
        B, H, W, C = xq.shape
        N = H * W
        q_in = xq.reshape(B, N, C)
        k_in = xk.reshape(B, N, C)
        v_in = xv.reshape(B, C, N).transpose(1, 2) if self.value_scramble else xv.reshape(B, N, C)
        q = self.linear_q(q_in).view(B, N, self.num_heads, self.h_size).transpose(1, 2)
        k = self.linear_k(k_in).view(B, N, self.num_heads, self.h_size).transpose(1, 2)
        v = self.linear_v(v_in).view(B, N, self.num_heads, self.h_size).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(self.h_size), dim=-1) @ v
        att = att.transpose(1, 2).contiguous().view(B, N, self.num_heads * self.h_size)
        return self.linear_output(att).view(B, H, W, C)


class MCPBlock(nn.Module):
    """One coupled-prompt block; returns (P_next, prompt2 = pw1(u), prompt3 = pw2(u)).

    t = P + SelfAttn(LN1 P); t += MLP2(LN2 t); u = t + CA(LN1 X^a, LN1 X^b, LN1 t); u += MLP(LN2 u).
    norm1/norm2 are shared by those LayerNorms (eps 1e-5), as officially."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg.embed_dim
        self.norm1 = nn.LayerNorm(d, eps=ADAPTER_LN_EPS)
        self.CA = MultiCrossAttention(d, cfg.ca_heads, cfg.ca_head_dim, cfg.ca_value_scramble)
        self.attn = Attention(d, cfg.mcp_heads, cfg.mcp_head_dim)
        self.norm2 = nn.LayerNorm(d, eps=ADAPTER_LN_EPS)
        self.mlp = MLPBlock(d, cfg.mcp_mlp_dim)
        self.mlp2 = MLPBlock(d, cfg.mcp_mlp2_dim)
        self.pw1 = ConvBN(d, d, 1)
        self.pw2 = ConvBN(d, d, 1)

    def forward(self, p: torch.Tensor, xa: torch.Tensor, xb: torch.Tensor, need_pw1: bool = True,
                trace: dict | None = None, tag: str = ""):
        t = p + self.attn(self.norm1(p))
        t = t + self.mlp2(self.norm2(t))
        c = self.CA(self.norm1(xa), self.norm1(xb), self.norm1(t))
        u = t + c
        u = u + self.mlp(self.norm2(u))
        un = u.permute(0, 3, 1, 2)
        prompt2 = self.pw1(un).permute(0, 2, 3, 1) if need_pw1 else None
        prompt3 = self.pw2(un).permute(0, 2, 3, 1)
        if trace is not None:
            trace[f"{tag}.selfattn_out"] = t
            trace[f"{tag}.cross_out"] = c
            trace[f"{tag}.u"] = u
            if prompt2 is not None:
                trace[f"{tag}.prompt2"] = prompt2
            trace[f"{tag}.prompt3"] = prompt3
        return t, prompt2, prompt3


class GlobalAdapter(nn.Module):
    """Initial prompt (own patch embed of I^a + I^b, own pos) and the 4 MCP blocks; `gated`/`gated1` are
    registered here (the official code keeps them as unregistered, uninitialised tensors)."""

    def __init__(self, cfg):
        super().__init__()
        g = cfg.grid
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, g, g, cfg.embed_dim))
        self.blocks = nn.ModuleList(MCPBlock(cfg) for _ in range(4))
        self.gated = nn.Parameter(torch.full((4,), float(cfg.gate_init)))
        self.gated1 = nn.Parameter(torch.full((4,), float(cfg.gate_init)))
