"""Checkpoints: the official `LoRA_Sam` state_dict layout <-> ours, and our own training checkpoints.

Official -> ours (see docs/MODELS.md for the full list):
  sam.image_encoder.X                      -> image_encoder.X
  ...blocks.i.attn.qkv.qkv.{weight,bias}   -> ...blocks.i.attn.qkv.{weight,bias}      (_LoRA_qkv wrapper)
  ...blocks.i.attn.qkv.linear_{a,b}_{q,v}  -> ...blocks.i.attn.lora.linear_{a,b}_{q,v}
  adapter1.*, adapter2.*, global_adapter.*, desam.*: same names
  sam.prompt_encoder.*, sam.mask_decoder.*, sam.pixel_mean/std: dropped (unused by the forward pass)
  global_adapter.gated / gated1: NOT in official checkpoints (never registered); supplied by the caller.
"""
from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

import torch

from .configs import B, DualSamConfig, get_config
from .model import DualSam

FORMAT = "dualsam-ckpt"
VERSION = 1
_DROP = ("sam.prompt_encoder.", "sam.mask_decoder.", "sam.pixel_mean", "sam.pixel_std")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, with the reason."""


def _strip_module(sd: Mapping[str, torch.Tensor]) -> dict:
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return dict(sd)


def is_official(sd: Mapping[str, torch.Tensor]) -> bool:
    """True for a state_dict in the official LoRA_Sam layout."""
    return any(k.startswith("sam.image_encoder.") for k in sd)


def official_to_ours(sd: Mapping[str, torch.Tensor], gated: Iterable[float], gated1: Iterable[float]) -> dict:
    """Rename an official LoRA_Sam state_dict to our layout and add the explicitly supplied gates."""
    sd = _strip_module(sd)
    gated, gated1 = [float(g) for g in gated], [float(g) for g in gated1]
    if len(gated) != 4 or len(gated1) != 4:
        raise CheckpointError("gated and gated1 must each hold 4 values (one per MCP level)")
    out = {}
    for k, v in sd.items():
        if k.startswith(_DROP):
            continue
        if k.startswith("sam.image_encoder."):
            k = "image_encoder." + k[len("sam.image_encoder."):]
            k = re.sub(r"\.attn\.qkv\.qkv\.", ".attn.qkv.", k)
            k = re.sub(r"\.attn\.qkv\.(linear_[ab]_[qv])\.", r".attn.lora.\1.", k)
        elif k.startswith("sam."):
            raise CheckpointError(f"unexpected official key {k!r}")
        out[k] = v
    out["global_adapter.gated"] = torch.tensor(gated, dtype=torch.float32)
    out["global_adapter.gated1"] = torch.tensor(gated1, dtype=torch.float32)
    return out


def ours_to_official(sd: Mapping[str, torch.Tensor]) -> tuple[dict, list[float], list[float]]:
    """Our state_dict (unmerged LoRA) in the official key layout, plus the gate values it cannot hold."""
    out = {}
    gated = gated1 = None
    for k, v in sd.items():
        if k == "global_adapter.gated":
            gated = v.tolist()
            continue
        if k == "global_adapter.gated1":
            gated1 = v.tolist()
            continue
        if k.startswith("image_encoder."):
            k = re.sub(r"\.attn\.qkv\.(weight|bias)$", r".attn.qkv.qkv.\1", k)
            k = re.sub(r"\.attn\.lora\.", ".attn.qkv.", k)
            k = "sam." + k
        out[k] = v
    return out, gated, gated1


def _load_into(model: DualSam, sd: Mapping[str, torch.Tensor]) -> DualSam:
    has_lora = any(".attn.lora." in k for k in sd)
    if not has_lora:
        # merged (inference / pruned) checkpoint: qkv already holds the LoRA update
        model.merge_lora()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"state_dict does not match config {model.cfg.name!r}: "
                              f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                              f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    for k, v in sd.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise CheckpointError(f"shape of {k}: checkpoint {tuple(v.shape)}, model {tuple(expected[k].shape)}")
    model.load_state_dict(sd, strict=True)
    return model.eval()


def load_official(sd_or_path, gated: Iterable[float], gated1: Iterable[float],
                  cfg: DualSamConfig = B) -> DualSam:
    """Model from an official LoRA_Sam checkpoint (config `b`); gates supplied explicitly."""
    sd = torch.load(sd_or_path, map_location="cpu", weights_only=True) if isinstance(
        sd_or_path, (str, os.PathLike)) else sd_or_path
    if not is_official(sd):
        raise CheckpointError("not an official LoRA_Sam state_dict (no sam.image_encoder.* keys)")
    return _load_into(DualSam(cfg), official_to_ours(sd, gated, gated1))


def load_sam_image_encoder(model: DualSam, sd_or_path) -> DualSam:
    """Initialise the shared encoder from an original SAM checkpoint (e.g. sam_vit_b_01ec64.pth, 1024 input),
    as the official training does: pos_embed resized bilinearly to the model grid, rel-pos tables linearly to the
    model's window / grid (SAM-LoRA's load_from). LoRA, adapters, MCP and decoders keep their init."""
    import torch.nn.functional as F

    from .encoder import resize_rel_pos

    sd = torch.load(sd_or_path, map_location="cpu", weights_only=True) if isinstance(
        sd_or_path, (str, os.PathLike)) else sd_or_path
    sd = _strip_module(sd)
    own = model.image_encoder.state_dict()
    new = {}
    for k, v in sd.items():
        if not k.startswith("image_encoder."):
            continue
        k = k[len("image_encoder."):]
        if k not in own:
            raise CheckpointError(f"SAM key image_encoder.{k} has no counterpart in config {model.cfg.name!r}")
        if k == "pos_embed" and v.shape != own[k].shape:
            g = own[k].shape[1]
            v = F.interpolate(v.permute(0, 3, 1, 2), size=(g, g), mode="bilinear", align_corners=False)
            v = v.permute(0, 2, 3, 1).contiguous()
        elif k.endswith(("rel_pos_h", "rel_pos_w")) and v.shape != own[k].shape:
            v = resize_rel_pos(v, own[k].shape[0])
        if v.shape != own[k].shape:
            raise CheckpointError(f"shape of image_encoder.{k}: SAM {tuple(v.shape)}, model {tuple(own[k].shape)}")
        new[k] = v
    missing = sorted(k for k in own if k not in new and ".attn.lora." not in k)
    if missing:
        raise CheckpointError(f"SAM checkpoint lacks image_encoder keys {missing[:5]}")
    model.image_encoder.load_state_dict(new, strict=False)
    return model


def save(model: DualSam, path, meta: dict | None = None) -> None:
    """Our checkpoint: {format, version, config, state_dict, meta}."""
    torch.save({"format": FORMAT, "version": VERSION, "config": model.cfg.to_dict(),
                "state_dict": model.state_dict(), "meta": dict(meta or {})}, path)


def load(path_or_obj, cfg: DualSamConfig | str | None = None, gated: Iterable[float] | None = None,
         gated1: Iterable[float] | None = None) -> DualSam:
    """Load any supported checkpoint: ours (`save`, config inside), a tools.train checkpoint ({model, config,
    ...}), a bare state_dict of ours (cfg needed), or an official LoRA_Sam state_dict (gated and gated1 needed)."""
    obj = torch.load(path_or_obj, map_location="cpu", weights_only=True) if isinstance(
        path_or_obj, (str, os.PathLike)) else path_or_obj
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint is a {type(obj).__name__}, expected a dict")
    if obj.get("format") == FORMAT:
        if obj.get("version") != VERSION:
            raise CheckpointError(f"checkpoint version {obj.get('version')} (supported: {VERSION})")
        c = DualSamConfig.from_dict(obj["config"])
        return _load_into(DualSam(c), obj["state_dict"])
    if isinstance(obj.get("model"), Mapping) and isinstance(obj.get("config"), Mapping):
        # training checkpoint of tools.train: {model, config, optimizer, epoch, ...}
        return _load_into(DualSam(DualSamConfig.from_dict(obj["config"])), obj["model"])
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    sd = _strip_module(obj)
    if is_official(sd):
        if gated is None or gated1 is None:
            raise CheckpointError("official checkpoints carry no gate values: pass gated= and gated1= explicitly")
        c = get_config(cfg) if isinstance(cfg, str) else (cfg or B)
        return _load_into(DualSam(c), official_to_ours(sd, gated, gated1))
    if cfg is None:
        raise CheckpointError("bare state_dict without a config: pass cfg=")
    c = get_config(cfg) if isinstance(cfg, str) else cfg
    return _load_into(DualSam(c), sd)
