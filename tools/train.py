"""Train the reference Dual-SAM (tools/dualsam) on a dataset in the official layout (ROOT/Image, ROOT/Masks).

    python -m tools.train --data data/synth/train --config tiny --epochs 25 --batch 4 --out runs/tiny
    python -m tools.train ... --resume runs/tiny/last.pt          # continue an interrupted run
    python -m tools.train ... --init some.pt                      # start from a checkpoint's weights
    python -m tools.train ... --teacher big.pt --teacher-config b # distil from a larger model

Objective (official train_s.py): for both decoders and all four scales, BCE between sigmoid(logits) and the
8-channel connectivity target of the mask resized (nearest) to that scale, plus the ramped mutual supervision
lambda(e) * [BCE(ori_k, 1[sigmoid(gam_k) >= 0.5001]) + BCE(gam_k, 1[sigmoid(ori_k) >= 0.5001])] with
lambda(e) = 0.1 exp(-5 (1 - e/E)^2), e the 0-based epoch and E the number of epochs. Inputs are made by the same
pre-processing the runtime uses (tools/dualsam/gamma.py: integer bilinear resize, on-the-fly gamma branch).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tools.dualsam.c3p import sal2conn
from tools.dualsam.configs import DualSamConfig, get_config
from tools.dualsam.gamma import MEAN, STD, gamma_lut, gamma_of, resize_u8
from tools.dualsam.model import DualSam

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


# ------------------------------------------------------------------------------------------------------- data
def list_pairs(root: str) -> list:
    """(stem, image path, mask path) for every image in ROOT/Image with a same-stem mask in ROOT/Masks."""
    idir, mdir = os.path.join(root, "Image"), os.path.join(root, "Masks")
    if not os.path.isdir(idir) or not os.path.isdir(mdir):
        raise FileNotFoundError(f"{root} is not a dataset root: it needs Image/ and Masks/")
    masks = {os.path.splitext(f)[0]: os.path.join(mdir, f) for f in os.listdir(mdir) if f.lower().endswith(".png")}
    pairs = []
    for f in sorted(os.listdir(idir)):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS and stem in masks:
            pairs.append((stem, os.path.join(idir, f), masks[stem]))
    if not pairs:
        raise FileNotFoundError(f"no image/mask pairs in {root}")
    return pairs


def load_sample(img_path: str, mask_path: str, size: int) -> tuple:
    """(resized u8 [S,S,3], gamma u8 [S,S,3], masks at S, S/2, S/4, S/8 as bool) for one pair."""
    with Image.open(img_path) as im:
        rgb = np.asarray(im.convert("RGB"))
    with Image.open(mask_path) as im:
        m = np.asarray(im.convert("L"))
    lut = gamma_lut(gamma_of(rgb))  # gamma from the full-size frame, as the runtime does
    resized = resize_u8(rgb, size, size)
    binary = Image.fromarray(((m.astype(np.float32) / (m.max() + 1e-8)) > 0.5).astype(np.uint8) * 255)
    pyr = [np.asarray(binary.resize((size >> k, size >> k), Image.NEAREST)) > 127 for k in range(4)]
    return resized, lut[resized], pyr


class Dataset:
    """Image/mask pairs turned into uint8 model inputs (resized frame, gamma frame, mask pyramid) per size.

    With `cache` every sample is kept in memory after its first use (about 0.4 MB per image at 256x256, 1.6 MB at
    512x512); without it each batch re-reads its files, for datasets larger than memory."""

    def __init__(self, root: str, sizes: tuple, limit: int | None = None, cache: bool = True):
        self.pairs = list_pairs(root)[:limit]
        self.sizes = tuple(sorted(set(sizes)))
        self.cache: dict | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.pairs)

    def item(self, size: int, i: int) -> tuple:
        key = (size, i)
        if self.cache is not None and key in self.cache:
            return self.cache[key]
        _, img, mask = self.pairs[i]
        sample = load_sample(img, mask, size)
        if self.cache is not None:
            self.cache[key] = sample
        return sample

    def batch(self, idx: list, size: int, flips: list) -> tuple:
        """(img_a, img_b [B,3,S,S] normalised float, 4 connectivity targets [B,8,s,s])."""
        a, b, pyr = [], [], [[], [], [], []]
        for i, fl in zip(idx, flips):
            r, g, ms = self.item(size, i)
            if fl:
                r, g, ms = r[:, ::-1], g[:, ::-1], [m[:, ::-1] for m in ms]
            a.append(r)
            b.append(g)
            for k in range(4):
                pyr[k].append(ms[k])

        def norm(x):
            t = (np.stack(x).astype(np.float32) - MEAN) / STD
            return torch.from_numpy(np.ascontiguousarray(t.transpose(0, 3, 1, 2)))

        targets = [sal2conn(torch.from_numpy(np.stack(p))) for p in pyr]
        return norm(a), norm(b), targets


# ------------------------------------------------------------------------------------------------------ loss
def mutual_weight(epoch: int, epochs: int) -> float:
    """lambda(e) = 0.1 exp(-5 (1 - e/E)^2): 6.7e-4 at the first epoch, ~0.1 at the last."""
    return 0.1 * math.exp(-5.0 * (1.0 - epoch / max(epochs, 1)) ** 2)


def dual_sam_loss(ori: list, gam: list, targets: list, epoch: int, epochs: int) -> tuple:
    """(total, parts) of the official objective; BCE on logits is the official BCE(sigmoid(x)) in stable form."""
    bce = F.binary_cross_entropy_with_logits
    bicon = sum(bce(o, t) + bce(g, t) for o, g, t in zip(ori, gam, targets))
    with torch.no_grad():
        pseudo_o = [(torch.sigmoid(o) >= 0.5001).float() for o in ori]
        pseudo_g = [(torch.sigmoid(g) >= 0.5001).float() for g in gam]
    mutual = sum(bce(o, pg) + bce(g, po) for o, g, po, pg in zip(ori, gam, pseudo_o, pseudo_g))
    lam = mutual_weight(epoch, epochs)
    total = bicon + lam * mutual
    return total, {"bicon": bicon.item(), "mutual": mutual.item(), "lambda": lam}


def distill_loss(student_ori: list, teacher_ori: list) -> torch.Tensor:
    """Soft BCE of the student's ori-decoder connectivity maps against the teacher's, at every scale
    (teacher probabilities resized bilinearly when the two models run at different input sizes)."""
    total = 0.0
    for s, t in zip(student_ori, teacher_ori):
        p = torch.sigmoid(t)
        if p.shape[-2:] != s.shape[-2:]:
            p = F.interpolate(p, size=s.shape[-2:], mode="bilinear", align_corners=False)
        total = total + F.binary_cross_entropy_with_logits(s, p)
    return total


def resolve_config(name: str) -> DualSamConfig:
    """A named config (b, lite, tiny) or a JSON file holding a DualSamConfig (e.g. a pruned one)."""
    if name.endswith(".json") or os.path.sep in name:
        with open(name) as f:
            return DualSamConfig.from_dict(json.load(f))
    return get_config(name)


# ------------------------------------------------------------------------------------------------ checkpoints
def load_weights(path: str, config: str | None = None) -> tuple:
    """(model, training-checkpoint dict or {}) from any checkpoint tools/dualsam/checkpoint.py reads: ours from
    tools.train (config inside), its `save` format, or a bare state_dict (then `config` names the config)."""
    from tools.dualsam import checkpoint as ckpt

    obj = torch.load(path, map_location="cpu", weights_only=True)
    model = ckpt.load(obj, resolve_config(config) if config else None)
    is_training = isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "optimizer" in obj
    return model, (obj if is_training else {})


def save_checkpoint(path: str, model: DualSam, opt, epoch: int, step: int, args: dict, history: list) -> None:
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "config": model.cfg.to_dict(), "optimizer": opt.state_dict(),
                "epoch": epoch, "step": step, "args": args, "history": history}, tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a truncated checkpoint behind


def set_trainable(model: DualSam, freeze_encoder: bool) -> None:
    """Gates stay fixed (officially they are not parameters); with freeze_encoder the shared ViT and neck are
    frozen except LoRA, as the official recipe does on top of a pretrained SAM encoder."""
    for name, p in model.named_parameters():
        p.requires_grad = True
        if name.startswith("global_adapter.gated"):
            p.requires_grad = False
        elif freeze_encoder and name.startswith("image_encoder.") and ".lora." not in name:
            p.requires_grad = False


def lr_at(args, epoch: int, step_in_epoch: int, steps_per_epoch: int) -> float:
    if args.schedule == "cosine":
        t = (epoch + step_in_epoch / max(steps_per_epoch, 1)) / max(args.epochs, 1)
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))
    return args.lr * (args.lr_gamma ** (epoch // args.lr_step))  # official: x0.1 every 10 epochs


# ----------------------------------------------------------------------------------------------------- loop
def validate(model: DualSam, val: Dataset, size: int) -> dict:
    """Official metrics of the fp32 model on a validation set (maps scored at ground-truth size)."""
    from tools.eval import evaluate_predictions, predict_arrays

    stems = [s for s, _, _ in val.pairs]
    preds = predict_arrays(model, ((s, *val.item(size, i)[:2]) for i, s in enumerate(stems)))
    gts = ((s, np.asarray(Image.open(m).convert("L"))) for s, _, m in val.pairs)
    return evaluate_predictions(preds, gts)


def train(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.resume:
        model, ck = load_weights(args.resume)
    elif args.init:
        model, _ = load_weights(args.init, args.config)
        ck = {}
    else:
        model, ck = DualSam(resolve_config(args.config)), {}
    cfg = model.cfg
    teacher = None
    sizes = [cfg.img_size]
    if args.teacher:
        teacher, _ = load_weights(args.teacher, args.teacher_config)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad = False
        sizes.append(teacher.cfg.img_size)
    set_trainable(model, args.freeze_encoder)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), weight_decay=args.weight_decay)
    start_epoch, step, history = 0, 0, []
    if ck.get("optimizer") is not None and args.resume:
        opt.load_state_dict(ck["optimizer"])
        start_epoch, step, history = int(ck["epoch"]) + 1, int(ck["step"]), list(ck.get("history", []))
    data = Dataset(args.data, sizes, args.limit, cache=not args.no_cache)
    val = Dataset(args.val, (cfg.img_size,), args.val_limit, cache=not args.no_cache) if args.val else None
    os.makedirs(args.out, exist_ok=True)
    n = len(data)
    steps_per_epoch = n // args.batch if args.drop_last else math.ceil(n / args.batch)
    if steps_per_epoch == 0:
        raise ValueError(f"{n} training images make no batch of {args.batch} with --drop-last")
    from tqdm import tqdm

    for epoch in range(start_epoch, args.epochs):
        model.train()
        rng = np.random.default_rng([args.seed, epoch])  # the epoch's order depends only on (seed, epoch): resumable
        order = rng.permutation(n) if args.shuffle else np.arange(n)
        flips = (rng.random(n) < 0.5) if args.flip else np.zeros(n, bool)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.quiet,
                   dynamic_ncols=True)
        sums, t0, done = {"loss": 0.0, "bicon": 0.0, "mutual": 0.0, "distill": 0.0}, time.time(), 0
        for k in bar:
            if args.max_steps and step >= args.max_steps:
                break
            idx = order[k * args.batch:(k + 1) * args.batch].tolist()
            lr = lr_at(args, epoch, k, steps_per_epoch)
            for gp in opt.param_groups:
                gp["lr"] = lr
            a, b, targets = data.batch(idx, cfg.img_size, flips[idx].tolist())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                ori, gam = model(a, b)
            ori, gam = [o.float() for o in ori], [g.float() for g in gam]
            loss, parts = dual_sam_loss(ori, gam, targets, epoch, args.epochs)
            kd = 0.0
            if teacher is not None:
                ta, tb, _ = data.batch(idx, teacher.cfg.img_size, flips[idx].tolist())
                with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                    t_ori, _ = teacher(ta, tb)
                t_ori = [o.float() for o in t_ori]
                kd_t = distill_loss(ori, t_ori)
                loss = loss + args.distill_weight * kd_t
                kd = kd_t.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(params, args.clip)
            opt.step()
            step += 1
            done += 1
            for key, v in (("loss", loss.item()), ("bicon", parts["bicon"]), ("mutual", parts["mutual"]),
                           ("distill", kd)):
                sums[key] += v
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.1e}")
            if args.log_steps:
                history.append({"step": step, "epoch": epoch, "loss": loss.item(), **parts, "distill": kd})
        rec = {"epoch": epoch, "step": step, "steps": done, "seconds": round(time.time() - t0, 2),
               **{key: v / max(done, 1) for key, v in sums.items()}}
        if val is not None:
            model.eval()
            rec["val"] = validate(model, val, cfg.img_size)
        history.append(rec)
        with open(os.path.join(args.out, "log.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        save_checkpoint(os.path.join(args.out, "last.pt"), model, opt, epoch, step, vars(args), history)
        if not args.quiet:
            print(json.dumps(rec), file=sys.stderr)
        if args.max_steps and step >= args.max_steps:
            break
    return {"model": model, "history": history, "step": step}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tools.train", description=__doc__.strip().splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset root with Image/ and Masks/")
    ap.add_argument("--val", default=None, help="validation dataset root (scored after every epoch)")
    ap.add_argument("--val-limit", type=int, default=None)
    ap.add_argument("--config", default="tiny", help="architecture config: b, lite, tiny, or a JSON file")
    ap.add_argument("--out", required=True, help="run folder: last.pt and log.jsonl")
    ap.add_argument("--init", default=None, help="start from this checkpoint's weights (fresh optimiser)")
    ap.add_argument("--resume", default=None, help="continue a run from its last.pt (weights, optimiser, epoch)")
    ap.add_argument("--teacher", default=None, help="checkpoint of a teacher to distil from")
    ap.add_argument("--teacher-config", default=None, help="teacher config when its checkpoint records none")
    ap.add_argument("--distill-weight", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-3, help="official effective lr (0.01 x 0.1 at epoch 0)")
    ap.add_argument("--schedule", choices=["step", "cosine"], default="step")
    ap.add_argument("--lr-step", type=int, default=10)
    ap.add_argument("--lr-gamma", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=0.0, help="gradient-norm clip (0 = off, as officially)")
    ap.add_argument("--freeze-encoder", action="store_true", help="official: train only LoRA/adapters/MCP/decoders")
    ap.add_argument("--shuffle", action="store_true", help="shuffle each epoch (official: off)")
    ap.add_argument("--flip", action="store_true", help="random horizontal flips (official: off)")
    ap.add_argument("--drop-last", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    ap.add_argument("--no-cache", action="store_true", help="re-read images every epoch instead of keeping them")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps in total")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bf16", action="store_true",
                    help="forward passes under bfloat16 autocast (weights, optimiser and loss stay fp32); "
                         "1.6x faster per step on CPUs with AMX or AVX-512 BF16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-steps", action="store_true", help="record every step's loss in the history")
    ap.add_argument("--quiet", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.batch < 1 or args.epochs < 1:
        print("train: --batch and --epochs must be >= 1", file=sys.stderr)
        return 2
    try:
        train(args)
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
