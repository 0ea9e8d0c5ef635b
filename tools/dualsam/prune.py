"""Structured pruning of a Dual-SAM checkpoint from one config to a smaller one.

    python -m tools.dualsam.prune --from CKPT --from-config b --to-config lite --out CKPT
        [--gated G G G G --gated1 G G G G]   (needed when CKPT is an official LoRA_Sam state_dict)

What can shrink: residual width D, encoder depth (per prompt level), attention heads (encoder, MCP self- and
cross-attention; head dims stay), MLP widths, adapter widths, neck width, decoder channels and SE widths, head
widths, and the input size / window size (pos embeds and rel-pos tables are resized by interpolation).

Importance criterion (weights only, no data): a "group" is one channel space (e.g. the hidden units of one MLP,
the heads of one attention, the output channels of one conv + its BN + everything that reads them). For every
weight tensor of the group (LayerNorm/BatchNorm scales included; biases, running stats and position embeddings
excluded) take the L1 norm of each channel's slice, divide by that tensor's mean channel norm (so big and small
tensors weigh the same), and sum over the tensors. Heads are scored by the sum over their channels. The top-k
units are kept in their original order (ties: lower index first). Blocks are chosen per prompt level (the level
keeps depth_to/4 of its depth_from/4 blocks): its global-attention blocks stay when the target has global blocks
at the same positions, the other slots go to the blocks with the largest mean |w| of attn.proj and mlp.lin2 (the
two writes into the residual stream). LoRA is merged before pruning; the result is a merged (LoRA-free) checkpoint.

Removing a unit whose weights are all zero leaves the output unchanged (heads, MLP/adapter/SE hidden units,
decoder channels). Residual (D) and neck channels feed LayerNorms whose statistics include every channel, so
pruning them is never exact; with the official value scramble in the cross-attention, D or grid changes also
re-shuffle the value inputs (docs/MODELS.md).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import checkpoint as ck
from .configs import DualSamConfig, get_config
from .decoder import GAMMA_NAMES, ORI_NAMES
from .encoder import resize_rel_pos
from .model import DualSam

_BN = ("weight", "bias", "running_mean", "running_var")


@dataclass
class Group:
    """One prunable channel space and the (key, axis, offset) slices that index it."""

    name: str
    size_src: int
    size_dst: int
    members: list[tuple[str, int, int]] = field(default_factory=list)
    unit: int = 1
    keep: torch.Tensor | None = None


def _check(cs: DualSamConfig, cd: DualSamConfig) -> None:
    same = ("patch_size", "head_dim", "mcp_head_dim", "ca_head_dim", "num_out", "ca_value_scramble")
    for k in same:
        if getattr(cs, k) != getattr(cd, k):
            raise ValueError(f"pruning cannot change {k} ({getattr(cs, k)} -> {getattr(cd, k)})")
    pairs = [("embed_dim",), ("depth",), ("num_heads",), ("mlp_dim",), ("adapter_dim",), ("mcp_heads",),
             ("mcp_mlp_dim",), ("mcp_mlp2_dim",), ("ca_heads",), ("neck_dim",), ("head_dim_pre",)]
    for (k,) in pairs:
        if getattr(cd, k) > getattr(cs, k):
            raise ValueError(f"pruning cannot grow {k} ({getattr(cs, k)} -> {getattr(cd, k)})")
    for k in ("dec_channels", "se_hidden"):
        if any(b > a for a, b in zip(getattr(cs, k), getattr(cd, k))):
            raise ValueError(f"pruning cannot grow {k}")


def select_blocks(sd: dict, cs: DualSamConfig, cd: DualSamConfig) -> list[int]:
    """Source block index for each destination block. Per prompt level, the source's global-attention blocks are
    kept when the destination has global blocks at the matching positions (so attention types and rel-pos
    tables carry over); the remaining slots take the highest-scoring window blocks."""
    gs, gd = cs.depth // 4, cd.depth // 4

    def score(i):
        p = sd[f"image_encoder.blocks.{i}.attn.proj.weight"].abs().mean()
        m = sd[f"image_encoder.blocks.{i}.mlp.lin2.weight"].abs().mean()
        return float(p + m)

    out = []
    for g in range(4):
        idx = list(range(g * gs, (g + 1) * gs))
        if gd == gs:
            out += idx
            continue
        glob = [i for i in idx if i in cs.global_attn_indexes]
        dst_glob = [k for k in range(gd) if g * gd + k in cd.global_attn_indexes]
        forced: list[int] = []
        if len(glob) == len(dst_glob) and glob:
            rest = sorted((i for i in idx if i not in glob), key=lambda i: (-score(i), i))[:gd - len(glob)]
            cand = sorted(glob + rest)
            if [k for k, i in enumerate(cand) if i in glob] == dst_glob:
                forced = cand
        out += forced or sorted(sorted(idx, key=lambda i: (-score(i), i))[:gd])
    return out


def _heads(prefix: str, nsrc: int, ndst: int, hd: int) -> list[Group]:
    a = nsrc * hd
    return [Group(prefix + ".heads", a, ndst * hd, unit=hd, members=[
        (prefix + ".qkv.weight", 0, 0), (prefix + ".qkv.weight", 0, a), (prefix + ".qkv.weight", 0, 2 * a),
        (prefix + ".qkv.bias", 0, 0), (prefix + ".qkv.bias", 0, a), (prefix + ".qkv.bias", 0, 2 * a),
        (prefix + ".proj.weight", 1, 0)])]


def _mlp(prefix: str, s: int, d: int) -> Group:
    return Group(prefix, s, d, members=[(prefix + ".lin1.weight", 0, 0), (prefix + ".lin1.bias", 0, 0),
                                        (prefix + ".lin2.weight", 1, 0)])


def _bn(prefix: str) -> list[tuple[str, int, int]]:
    return [(f"{prefix}.{k}", 0, 0) for k in _BN]


def _conv_up(p: str, s: int, d: int, consumers: list) -> list[Group]:
    return [Group(p + ".conv_up", s, d, members=[(p + ".conv_up.weight", 1, 0), (p + ".conv_up.bias", 0, 0),
                                                 (p + ".conv_fu.conv.weight", 1, 0)]),
            Group(p + ".conv_fu", s, d, members=[(p + ".conv_fu.conv.weight", 0, 0)] + _bn(p + ".conv_fu.bn")
                  + consumers)]


def _dfam(p: str, s: int, d: int, hs: int, hd: int, consumers: list) -> list[Group]:
    return [Group(p + ".pw1", s, d, members=[(p + ".pw1.conv.weight", 0, 0)] + _bn(p + ".pw1.bn") + [
                (p + ".se.fc.0.weight", 1, 0), (p + ".se.fc.2.weight", 0, 0), (p + ".se.fc.2.bias", 0, 0),
                (p + ".pw2.conv.weight", 1, 0)]),
            Group(p + ".se", hs, hd, members=[(p + ".se.fc.0.weight", 0, 0), (p + ".se.fc.0.bias", 0, 0),
                                              (p + ".se.fc.2.weight", 1, 0)]),
            Group(p + ".pw2", s, d, members=[(p + ".pw2.conv.weight", 0, 0)] + _bn(p + ".pw2.bn") + consumers)]


def _decoder_groups(names, cs: DualSamConfig, cd: DualSamConfig) -> list[Group]:
    de12, de9, de6, de3, up1, up2, up3, fu1, fu2, fu3, fu4, pre4, pre3, pre2, pre1 = (f"desam.{n}" for n in names)
    (c1, c2, c3, c4), (d1, d2, d3, d4) = cs.dec_channels, cd.dec_channels
    (s1, s2, s3, s4), (t1, t2, t3, t4) = cs.se_hidden, cd.se_hidden
    n, h, hd = cs.neck_dim, cs.head_dim_pre, cd.head_dim_pre
    pw1 = lambda p: p + ".pw1.conv.weight"  # noqa: E731
    g = []
    g += _conv_up(de12, c1, d1, [(pw1(fu1), 1, n)])
    g += _conv_up(de9, c2, d2, [(pw1(fu2), 1, c1)])
    g += _conv_up(de6 + ".0", c2, d2, [(de6 + ".1.conv_up.weight", 0, 0)])
    g += _conv_up(de6 + ".1", c3, d3, [(pw1(fu3), 1, c2)])
    g += _conv_up(de3 + ".0", c2, d2, [(de3 + ".1.conv_up.weight", 0, 0)])
    g += _conv_up(de3 + ".1", c3, d3, [(de3 + ".2.conv_up.weight", 0, 0)])
    g += _conv_up(de3 + ".2", c4, d4, [(pw1(fu4), 1, c3)])
    g += _dfam(fu1, c1, d1, s1, t1, [(up1 + ".conv_up.weight", 0, 0), (pre1 + ".0.weight", 0, 0)])
    g += _conv_up(up1, c1, d1, [(pw1(fu2), 1, 0)])
    g += _dfam(fu2, c2, d2, s2, t2, [(up2 + ".conv_up.weight", 0, 0), (pre2 + ".0.weight", 0, 0)])
    g += _conv_up(up2, c2, d2, [(pw1(fu3), 1, 0)])
    g += _dfam(fu3, c3, d3, s3, t3, [(up3 + ".conv_up.weight", 0, 0), (pre3 + ".0.weight", 0, 0)])
    g += _conv_up(up3, c3, d3, [(pw1(fu4), 1, 0)])
    g += _dfam(fu4, c4, d4, s4, t4, [(pre4 + ".0.weight", 0, 0)])
    g.append(Group(pre4 + ".0", h, hd, members=[(pre4 + ".0.weight", 1, 0), (pre4 + ".0.bias", 0, 0),
                                                (pre4 + ".1.pre.weight", 1, 0)]))
    for p in (pre3, pre2, pre1):
        g.append(Group(p + ".0", h, hd, members=[(p + ".0.weight", 1, 0), (p + ".0.bias", 0, 0),
                                                 (p + ".1.up.conv.weight", 1, 0)]))
        g.append(Group(p + ".1.up", h, hd, members=[(p + ".1.up.conv.weight", 0, 0)] + _bn(p + ".1.up.bn")
                       + [(p + ".1.pre.weight", 1, 0)]))
    return g


def build_groups(cs: DualSamConfig, cd: DualSamConfig, blocks: list[int]) -> list[Group]:
    """All channel groups of the source model (keys use source block indices)."""
    E, GA = "image_encoder.", "global_adapter."
    res = [(E + "patch_embed.proj.weight", 0, 0), (E + "patch_embed.proj.bias", 0, 0), (E + "pos_embed", 3, 0),
           (E + "neck.0.weight", 1, 0), (GA + "patch_embed.proj.weight", 0, 0),
           (GA + "patch_embed.proj.bias", 0, 0), (GA + "pos_embed", 3, 0)]
    groups: list[Group] = []
    for i in blocks:
        b = f"{E}blocks.{i}."
        res += [(b + k, 0, 0) for k in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
                                        "attn.proj.weight", "attn.proj.bias", "mlp.lin2.weight", "mlp.lin2.bias")]
        res += [(b + "attn.qkv.weight", 1, 0), (b + "mlp.lin1.weight", 1, 0)]
        groups += _heads(b + "attn", cs.num_heads, cd.num_heads, cs.head_dim)
        groups.append(_mlp(b + "mlp", cs.mlp_dim, cd.mlp_dim))
        for ad in ("adapter1", "adapter2"):
            a = f"{ad}.{i}."
            res += [(a + "IN.weight", 0, 0), (a + "IN.bias", 0, 0), (a + "fc.0.weight", 1, 0),
                    (a + "fc.2.weight", 0, 0), (a + "fc.2.bias", 0, 0)]
            groups.append(Group(a + "fc", cs.adapter_dim, cd.adapter_dim, members=[
                (a + "fc.0.weight", 0, 0), (a + "fc.0.bias", 0, 0), (a + "fc.2.weight", 1, 0)]))
    for j in range(4):
        m = f"{GA}blocks.{j}."
        res += [(m + k, 0, 0) for k in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
                                        "CA.linear_output.weight", "CA.linear_output.bias", "attn.proj.weight",
                                        "attn.proj.bias", "mlp.lin2.weight", "mlp.lin2.bias", "mlp2.lin2.weight",
                                        "mlp2.lin2.bias")]
        res += [(m + k, 1, 0) for k in ("CA.linear_q.weight", "CA.linear_k.weight", "CA.linear_v.weight",
                                        "attn.qkv.weight", "mlp.lin1.weight", "mlp2.lin1.weight")]
        for pw in ("pw1", "pw2"):
            res += [(f"{m}{pw}.conv.weight", 0, 0), (f"{m}{pw}.conv.weight", 1, 0)] + _bn(f"{m}{pw}.bn")
        groups += _heads(m + "attn", cs.mcp_heads, cd.mcp_heads, cs.mcp_head_dim)
        ca = cs.ca_heads * cs.ca_head_dim
        groups.append(Group(m + "CA.heads", ca, cd.ca_heads * cd.ca_head_dim, unit=cs.ca_head_dim, members=[
            (m + "CA.linear_q.weight", 0, 0), (m + "CA.linear_k.weight", 0, 0), (m + "CA.linear_v.weight", 0, 0),
            (m + "CA.linear_output.weight", 1, 0)]))
        groups.append(_mlp(m + "mlp", cs.mcp_mlp_dim, cd.mcp_mlp_dim))
        groups.append(_mlp(m + "mlp2", cs.mcp_mlp2_dim, cd.mcp_mlp2_dim))
    for names in (ORI_NAMES, GAMMA_NAMES):
        for k in (names[0], names[1], names[2] + ".0", names[3] + ".0"):
            res.append((f"desam.{k}.conv_up.weight", 0, 0))
    groups.insert(0, Group("residual", cs.embed_dim, cd.embed_dim, members=res))
    n, nd = cs.neck_dim, cd.neck_dim
    groups.append(Group("neck.0", n, nd, members=[(E + "neck.0.weight", 0, 0), (E + "neck.1.weight", 0, 0),
                                                  (E + "neck.1.bias", 0, 0), (E + "neck.2.weight", 1, 0)]))
    groups.append(Group("neck.2", n, nd, members=[
        (E + "neck.2.weight", 0, 0), (E + "neck.3.weight", 0, 0), (E + "neck.3.bias", 0, 0),
        (f"desam.{ORI_NAMES[7]}.pw1.conv.weight", 1, 0), (f"desam.{GAMMA_NAMES[7]}.pw1.conv.weight", 1, 0)]))
    groups += _decoder_groups(ORI_NAMES, cs, cd)
    groups += _decoder_groups(GAMMA_NAMES, cs, cd)
    return groups


def _scored(key: str) -> bool:
    return key.endswith("weight") and not key.endswith("pos_embed")


def select(group: Group, sd: dict) -> torch.Tensor:
    """Kept channel indices of a group (ascending)."""
    if group.size_dst == group.size_src:
        return torch.arange(group.size_src)
    score = torch.zeros(group.size_src, dtype=torch.float64)
    for key, axis, off in group.members:
        if not _scored(key):
            continue
        t = sd[key].detach().double().abs().narrow(axis, off, group.size_src)
        per = t.movedim(axis, 0).reshape(group.size_src, -1).sum(1)
        mean = per.mean()
        if mean > 0:
            score += per / mean
    units = score.view(-1, group.unit).sum(1)
    order = sorted(range(len(units)), key=lambda u: (-float(units[u]), u))
    kept = sorted(order[:group.size_dst // group.unit])
    return torch.cat([torch.arange(u * group.unit, (u + 1) * group.unit) for u in kept])


def prune_state_dict(sd: dict, cs: DualSamConfig, cd: DualSamConfig) -> dict:
    """Merged (LoRA-free) state_dict of config `cs` -> merged state_dict of config `cd`."""
    _check(cs, cd)
    blocks = select_blocks(sd, cs, cd)
    groups = build_groups(cs, cd, blocks)
    axes: dict[str, dict[int, list[tuple[int, Group]]]] = {}
    for g in groups:
        g.keep = select(g, sd)
        for key, axis, off in g.members:
            axes.setdefault(key, {}).setdefault(axis, []).append((off, g))
    out = {}
    keep_block = {f"image_encoder.blocks.{s}.": f"image_encoder.blocks.{d}." for d, s in enumerate(blocks)}
    keep_block.update({f"adapter{k}.{s}.": f"adapter{k}.{d}." for d, s in enumerate(blocks) for k in (1, 2)})
    for key, t in sd.items():
        if key.startswith(("image_encoder.blocks.", "adapter1.", "adapter2.")):
            pre = ".".join(key.split(".")[:3 if key.startswith("image_encoder") else 2]) + "."
            if pre not in keep_block:
                continue
            new_key = keep_block[pre] + key[len(pre):]
        else:
            new_key = key
        for axis, parts in axes.get(key, {}).items():
            parts.sort(key=lambda p: p[0])
            if sum(g.size_src for _, g in parts) != t.shape[axis]:
                raise AssertionError(f"groups do not cover axis {axis} of {key}")
            idx = torch.cat([off + g.keep for off, g in parts])
            t = t.index_select(axis, idx)
        out[new_key] = t.clone()
    _resize_spatial(out, cs, cd)
    return out


def _resize_spatial(sd: dict, cs: DualSamConfig, cd: DualSamConfig) -> None:
    """Interpolate the abs pos embeds (bilinear, as SAM's load_from) and rel-pos tables (linear)."""
    if cd.grid != cs.grid:
        for k in ("image_encoder.pos_embed", "global_adapter.pos_embed"):
            p = sd[k].permute(0, 3, 1, 2)
            p = F.interpolate(p, size=(cd.grid, cd.grid), mode="bilinear", align_corners=False)
            sd[k] = p.permute(0, 2, 3, 1).contiguous()
    for i in range(cd.depth):
        size = cd.grid if i in cd.global_attn_indexes else cd.window_size
        for ax in ("h", "w"):
            k = f"image_encoder.blocks.{i}.attn.rel_pos_{ax}"
            sd[k] = resize_rel_pos(sd[k], 2 * size - 1)


def prune_model(model: DualSam, cd: DualSamConfig) -> DualSam:
    """Pruned copy of a model (the source is merged in place first)."""
    model.merge_lora()
    sd = prune_state_dict(model.state_dict(), model.cfg, cd)
    return ck.load(sd, cfg=cd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Structured pruning of a Dual-SAM checkpoint.")
    ap.add_argument("--from", dest="src", required=True, help="checkpoint (ours or official LoRA_Sam)")
    ap.add_argument("--from-config", required=True)
    ap.add_argument("--to-config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gated", type=float, nargs=4, help="gate values for an official checkpoint")
    ap.add_argument("--gated1", type=float, nargs=4)
    args = ap.parse_args(argv)
    try:
        src = ck.load(args.src, cfg=get_config(args.from_config), gated=args.gated, gated1=args.gated1)
        if src.cfg.to_dict() != get_config(args.from_config).to_dict():
            print(f"note: checkpoint config {src.cfg.name!r} differs from --from-config; using the checkpoint's",
                  file=sys.stderr)
        dst = prune_model(src, get_config(args.to_config))
    except (ck.CheckpointError, ValueError, KeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ck.save(dst, args.out, meta={"pruned_from": src.cfg.name, "source": str(args.src)})
    print(f"wrote {args.out}: {args.from_config} -> {args.to_config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
