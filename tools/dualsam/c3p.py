"""C3P decoding: the official bilateral voting (`bv_test`) with its one-pixel shift rule, and the mask rule."""
from __future__ import annotations

import torch
import torch.nn.functional as F

# partner of channel k is channel 7-k read at (r + dy, c + dx); zero outside the map. The official code moves
# the distance-2 partners by ONE pixel and k=0/2 the "wrong" way; copied exactly (dual-sam.md 1.7).
PARTNER_OFFSETS = ((1, 0), (-1, 0), (0, 1), (0, -1), (0, 1), (0, 1), (1, 0), (1, 0))
# target offsets of sal2conn: conn[k](r,c) = m(r,c) * m(r+dy, c+dx)
CONN_OFFSETS = ((-2, 0), (-1, 0), (0, -2), (0, -1), (0, 1), (0, 2), (1, 0), (2, 0))
MASK_LEVEL = 65     # 8-bit map value above which a pixel is foreground (cv2.threshold(65))
THRESHOLD = 65.5 / 255.0


def shift_read(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out(r, c) = x(r + dy, c + dx) with zero fill, for |dy|, |dx| <= 1 (last two axes)."""
    H, W = x.shape[-2], x.shape[-1]
    p = F.pad(x, (1, 1, 1, 1))
    return p[..., 1 + dy:1 + dy + H, 1 + dx:1 + dx + W]


def c3p_vote(prob: torch.Tensor) -> torch.Tensor:
    """(B,8,H,W) probabilities -> (B,1,H,W) map: max_k p_k * partner_k."""
    votes = [prob[:, k:k + 1] * shift_read(prob[:, 7 - k:8 - k], *PARTNER_OFFSETS[k]) for k in range(8)]
    return torch.cat(votes, dim=1).amax(dim=1, keepdim=True)


def to_u8_map(pred: torch.Tensor) -> torch.Tensor:
    """The 8-bit map torchvision.save_image writes: floor(p*255 + 0.5) clamped to [0, 255]."""
    return torch.floor(pred * 255.0 + 0.5).clamp(0, 255).to(torch.uint8)


def decode_logits(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits (B,8,H,W) -> (pred in [0,1], 8-bit map, boolean mask g > 65)."""
    pred = c3p_vote(torch.sigmoid(logits))
    g = to_u8_map(pred)
    return pred, g, g > MASK_LEVEL


def sal2conn(mask: torch.Tensor) -> torch.Tensor:
    """(..., H, W) binary mask -> (..., 8, H, W) connectivity target (training)."""
    m = mask.float()
    chans = []
    for dy, dx in CONN_OFFSETS:
        H, W = m.shape[-2], m.shape[-1]
        p = F.pad(m, (2, 2, 2, 2))
        nb = p[..., 2 + dy:2 + dy + H, 2 + dx:2 + dx + W]
        chans.append(m * nb)
    return torch.stack(chans, dim=-3)
