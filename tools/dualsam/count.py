"""Parameter and MAC counts of the Dual-SAM configs (one multiply-accumulate = one MAC, the fvcore convention).

Usage: python -m tools.dualsam.count [--markdown] [config ...]
MACs are counted with torch.utils.flop_counter (matmul, einsum, conv, conv-transpose, attention), halved
because it counts 2 flops per MAC. Elementwise ops, norms and softmax are not counted (as in dual-sam.md 2).
Counting runs on the meta device: no memory is allocated and nothing is computed.
"""
from __future__ import annotations

import argparse
import math
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

from .configs import CONFIGS, DualSamConfig, get_config
from .decoder import GAMMA_NAMES, ORI_NAMES
from .model import DualSam, build


def inference_param_names(model: DualSam) -> list[str]:
    """Parameters the inference path (forward_infer) reads: drops the gamma decoder, pre1..pre3, MCP pw1 and
    `gated` (their outputs only feed the gamma decoder or training heads)."""
    dropped = tuple(f"desam.{n}." for n in GAMMA_NAMES) + ("desam.pre3.", "desam.pre2.", "desam.pre1.")
    out = []
    for name, _ in model.named_parameters():
        if name.startswith(dropped) or ".pw1." in name and name.startswith("global_adapter.blocks."):
            continue
        if name == "global_adapter.gated":
            continue
        out.append(name)
    return out


def count_params(model: DualSam, inference: bool = True) -> int:
    """Number of parameters (all registered ones, or only those the inference path uses)."""
    keep = set(inference_param_names(model)) if inference else None
    return sum(p.numel() for n, p in model.named_parameters() if keep is None or n in keep)


def _norm_counts() -> dict:
    """fvcore's extra counts, as 2x 'flops' for FlopCounterMode: LayerNorm 5/elt, eval BatchNorm 2/elt,
    average pooling 1/elt (LayerNorm2d is elementwise code and not counted, as under fvcore)."""
    aten = torch.ops.aten

    def ln(x_shape, *args, out_shape=None, **kw):
        return 2 * 5 * math.prod(x_shape)

    def bn(x_shape, *args, out_shape=None, **kw):
        return 2 * 2 * math.prod(x_shape)

    def mean(x_shape, *args, out_shape=None, **kw):
        return 2 * math.prod(x_shape)

    return {aten.native_layer_norm: ln, aten._native_batch_norm_legit_no_training: bn,
            aten.native_batch_norm: bn, aten.mean: mean}


def count_macs(model: DualSam, inference: bool = True, batch: int = 1, fvcore: bool = False) -> tuple[int, dict]:
    """MACs of one forward pass (inference path or full training forward) and a per-operator breakdown.
    fvcore=True adds the norm/pool terms fvcore counts (to compare with the numbers in dual-sam.md 2)."""
    dev = next(model.parameters()).device
    s = model.cfg.img_size
    with torch.device(dev):
        a = torch.zeros(batch, 3, s, s)
        b = torch.zeros(batch, 3, s, s)
    fc = FlopCounterMode(display=False, custom_mapping=_norm_counts() if fvcore else None)
    with torch.no_grad(), fc, torch.device(dev):
        if inference:
            model.forward_infer(a, b)
        else:
            model(a, b)
    per_op = {str(k): v // 2 for k, v in fc.get_flop_counts()["Global"].items()}
    return fc.get_total_flops() // 2, per_op


def breakdown(model: DualSam) -> dict[str, int]:
    """MACs of the inference path per part (matmul/conv convention). Adapters run inside the blocks, so
    "encoder blocks" includes them and "adapters" is shown separately as well."""
    parts = {
        "encoder patch embed (2 branches)": [model.image_encoder.patch_embed],
        "encoder blocks (2 branches, incl. adapters)": list(model.image_encoder.blocks),
        "adapters (2 branches)": list(model.adapter1) + list(model.adapter2),
        "MCP patch embed": [model.global_adapter.patch_embed],
        "MCP blocks": list(model.global_adapter.blocks),
        "neck (image branch)": [model.image_encoder.neck],
        "ori decoder + pre4": [getattr(model.desam, n) for n in ORI_NAMES[:12]],
    }
    fc = FlopCounterMode(display=False)
    acc = {k: 0 for k in parts}
    start: dict[int, int] = {}

    def total() -> int:
        return sum(fc.get_flop_counts()["Global"].values()) if "Global" in fc.get_flop_counts() else 0

    handles = []
    for name, mods in parts.items():
        for mod in mods:
            def pre(m, args, _n=name):
                start[id(m)] = total()

            def post(m, args, out, _n=name):
                acc[_n] += total() - start.pop(id(m))
            handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    dev = next(model.parameters()).device
    s = model.cfg.img_size
    try:
        with torch.no_grad(), fc, torch.device(dev):
            x = torch.zeros(1, 3, s, s)
            model.forward_infer(x, x)
    finally:
        for h in handles:
            h.remove()
    out = {k: v // 2 for k, v in acc.items()}
    out["total"] = fc.get_total_flops() // 2
    return out


def summary(cfg: DualSamConfig | str) -> dict:
    """Params (inference path and total) and GMAC (inference and full forward) of a config, on the meta device."""
    cfg = get_config(cfg) if isinstance(cfg, str) else cfg
    m = build(cfg, device="meta")
    macs_inf, per_op = count_macs(m, True)
    macs_full, _ = count_macs(m, False)
    fv_inf, _ = count_macs(m, True, fvcore=True)
    fv_full, _ = count_macs(m, False, fvcore=True)
    return {
        "name": cfg.name, "img_size": cfg.img_size, "embed_dim": cfg.embed_dim, "depth": cfg.depth,
        "params_infer": count_params(m, True), "params_total": count_params(m, False),
        "macs_infer": macs_inf, "macs_full": macs_full, "per_op": per_op,
        "macs_infer_fvcore": fv_inf, "macs_full_fvcore": fv_full,
    }


def markdown_table(names: list[str]) -> str:
    """The docs/MODELS.md table."""
    rows = ["| config | input | D / depth / heads x hd / MLP | window (global blocks) | MCP heads / CA heads x hd "
            "/ MLPs | decoder ch (neck; 12/9/6/3; head) | params infer (M) | GMAC infer | GMAC infer (fvcore) "
            "| params total (M) | GMAC full fwd |", "|" + "---|" * 11]
    for n in names:
        c = get_config(n)
        s = summary(c)
        rows.append(
            f"| `{n}` | {c.img_size} | {c.embed_dim} / {c.depth} / {c.num_heads}x{c.head_dim} / {c.mlp_dim} "
            f"| {c.window_size} ({','.join(map(str, c.global_attn_indexes))}) "
            f"| {c.mcp_heads}x{c.mcp_head_dim} / {c.ca_heads}x{c.ca_head_dim} / {c.mcp_mlp2_dim},{c.mcp_mlp_dim} "
            f"| {c.neck_dim}; {'/'.join(map(str, c.dec_channels))}; {c.head_dim_pre} "
            f"| {s['params_infer'] / 1e6:.2f} | {s['macs_infer'] / 1e9:.2f} | {s['macs_infer_fvcore'] / 1e9:.2f} "
            f"| {s['params_total'] / 1e6:.2f} "
            f"| {s['macs_full'] / 1e9:.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=list(CONFIGS))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--breakdown", action="store_true", help="per-part GMAC of the inference path")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown_table(args.configs))
        return 0
    if args.breakdown:
        rows = {n: breakdown(build(n, device="meta")) for n in args.configs}
        print("| part | " + " | ".join(f"`{n}`" for n in rows) + " |")
        print("|---|" + "---|" * len(rows))
        for part in next(iter(rows.values())):
            print(f"| {part} | " + " | ".join(f"{r[part] / 1e9:.2f}" for r in rows.values()) + " |")
        return 0
    for n in args.configs:
        s = summary(n)
        print(f"{n}: params infer {s['params_infer'] / 1e6:.3f} M (total {s['params_total'] / 1e6:.3f} M), "
              f"GMAC infer {s['macs_infer'] / 1e9:.3f} (full forward {s['macs_full'] / 1e9:.3f}); "
              f"fvcore convention {s['macs_infer_fvcore'] / 1e9:.3f} / {s['macs_full_fvcore'] / 1e9:.3f}")
        for op, v in sorted(s["per_op"].items(), key=lambda kv: -kv[1]):
            print(f"    {op:40s} {v / 1e9:9.3f} GMAC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
