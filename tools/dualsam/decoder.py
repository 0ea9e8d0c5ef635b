"""Decoders of Dual-SAM (official `desam`): conv_up stages, DFAM fusion blocks, prediction heads.

`desam` holds two decoders with the same structure: the "ori" one (names de12, de9, de6, de3, up1..3,
fu1..4, pre1..4) and the "gamma" one (de121, de91, de61, de31, up11, up22, up33, fu11..fu44, pre11..pre44).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-5


class ConvBN(nn.Module):
    """Conv (no bias, 'same' padding; padding = dilation when dilated) -> BatchNorm2d -> exact GELU (`Conv`)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, d: int = 1):
        super().__init__()
        pad = d if d != 1 else k // 2
        self.conv = nn.Conv2d(c_in, c_out, k, 1, pad, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.bn(self.conv(x)))


class ConvUp(nn.Module):
    """ConvTranspose2d (k=s=2, or k=s=1 for the 32x32 level; with bias) -> ConvBN 3x3 (`conv_up`/`conv_up0`)."""

    def __init__(self, c_in: int, c_out: int, k: int = 2):
        super().__init__()
        self.conv_up = nn.ConvTranspose2d(c_in, c_out, k, k, 0)
        self.conv_fu = ConvBN(c_out, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_fu(self.conv_up(x))


class SENet(nn.Module):
    """Channel attention with residual: x + x * sigmoid(fc(avgpool x) + fc(maxpool x)), fc shared."""

    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Conv2d(c, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, c, 1))
        for m in (self.fc[0], self.fc[2]):
            nn.init.xavier_uniform_(m.weight)
            nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.fc(x.mean(dim=(2, 3), keepdim=True))
        mx = self.fc(x.amax(dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + mx) + x


class DFAM(nn.Module):
    """Dilated fusion attention (`conv_block`): pw1 (1x1 ConvBN) -> se -> pw2 (3x3 dilation 2 ConvBN)."""

    def __init__(self, c_in: int, c_out: int, se_hidden: int):
        super().__init__()
        self.se = SENet(c_out, se_hidden)
        self.pw1 = ConvBN(c_in, c_out, 1)
        self.pw2 = ConvBN(c_out, c_out, 3, d=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw2(self.se(self.pw1(x)))


class ConvPre(nn.Module):
    """1x1 conv to the 8 C3P channels (`conv_pre`)."""

    def __init__(self, c: int, n_out: int):
        super().__init__()
        self.pre = nn.Conv2d(c, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pre(x)


class ConvUpPre(nn.Module):
    """3x3 ConvBN then 1x1 conv to 8 channels (`conv_up_pre`)."""

    def __init__(self, c: int, n_out: int):
        super().__init__()
        self.up = ConvBN(c, c, 3)
        self.pre = nn.Conv2d(c, n_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pre(self.up(x))


# attribute names of the two decoders inside `desam`: (de12, de9, de6, de3, up1, up2, up3, fu1..fu4, pre4..pre1)
ORI_NAMES = ("de12", "de9", "de6", "de3", "up1", "up2", "up3", "fu1", "fu2", "fu3", "fu4",
             "pre4", "pre3", "pre2", "pre1")
GAMMA_NAMES = ("de121", "de91", "de61", "de31", "up11", "up22", "up33", "fu11", "fu22", "fu33", "fu44",
               "pre44", "pre33", "pre22", "pre11")


class Desam(nn.Module):
    """Both decoders. Each takes its neck output and the 4 prompted levels of the OTHER branch (cross-wired)."""

    def __init__(self, cfg):
        super().__init__()
        d, n = cfg.embed_dim, cfg.neck_dim
        c1, c2, c3, c4 = cfg.dec_channels
        s1, s2, s3, s4 = cfg.se_hidden
        h, o = cfg.head_dim_pre, cfg.num_out
        for names in (ORI_NAMES, GAMMA_NAMES):
            de12, de9, de6, de3, up1, up2, up3, fu1, fu2, fu3, fu4, pre4, pre3, pre2, pre1 = names
            setattr(self, de12, ConvUp(d, c1, k=1))
            setattr(self, de9, ConvUp(d, c2))
            setattr(self, de6, nn.Sequential(ConvUp(d, c2), ConvUp(c2, c3)))
            setattr(self, de3, nn.Sequential(ConvUp(d, c2), ConvUp(c2, c3), ConvUp(c3, c4)))
            setattr(self, up1, ConvUp(c1, c1))
            setattr(self, up2, ConvUp(c2, c2))
            setattr(self, up3, ConvUp(c3, c3))
            setattr(self, fu1, DFAM(n + c1, c1, s1))
            setattr(self, fu2, DFAM(c1 + c2, c2, s2))
            setattr(self, fu3, DFAM(c2 + c3, c3, s3))
            setattr(self, fu4, DFAM(c3 + c4, c4, s4))
            setattr(self, pre4, nn.Sequential(nn.ConvTranspose2d(c4, h, 2, 2, 0), ConvPre(h, o)))
            setattr(self, pre3, nn.Sequential(nn.ConvTranspose2d(c3, h, 2, 2, 0), ConvUpPre(h, o)))
            setattr(self, pre2, nn.Sequential(nn.ConvTranspose2d(c2, h, 2, 2, 0), ConvUpPre(h, o)))
            setattr(self, pre1, nn.Sequential(nn.ConvTranspose2d(c1, h, 2, 2, 0), ConvUpPre(h, o)))

    def decode(self, src: torch.Tensor, levels: list[torch.Tensor], gamma: bool = False, full: bool = True,
               trace: dict | None = None, tag: str = "ori") -> list[torch.Tensor]:
        """src: neck output (B,n,g,g); levels: 4 prompted features (B,g,g,D) in level order 1..4.
        Returns [pre4, pre3, pre2, pre1] logits, or just [pre4] when full is False."""
        m = [getattr(self, k) for k in (GAMMA_NAMES if gamma else ORI_NAMES)]
        de12, de9, de6, de3, up1, up2, up3, fu1, fu2, fu3, fu4, pre4, pre3, pre2, pre1 = m
        l12, l9, l6, l3 = (levels[3].permute(0, 3, 1, 2), levels[2].permute(0, 3, 1, 2),
                           levels[1].permute(0, 3, 1, 2), levels[0].permute(0, 3, 1, 2))
        d12, d9, d6, d3 = de12(l12), de9(l9), de6(l6), de3(l3)
        f1 = fu1(torch.cat([src, d12], dim=1))
        f2 = fu2(torch.cat([up1(f1), d9], dim=1))
        f3 = fu3(torch.cat([up2(f2), d6], dim=1))
        f4 = fu4(torch.cat([up3(f3), d3], dim=1))
        if trace is not None:
            for k, v in (("de12", d12), ("de9", d9), ("de6", d6), ("de3", d3),
                         ("F1", f1), ("F2", f2), ("F3", f3), ("F4", f4)):
                trace[f"{tag}.{k}"] = v
        out = [pre4(f4)]
        if full:
            out += [pre3(f3), pre2(f2), pre1(f1)]
        return out
