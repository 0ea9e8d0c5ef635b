"""Score predicted masks against ground truth: mIoU (official Dual-SAM definition), S-measure, weighted F,
mean E-measure and MAE (pysodmetrics). Writes a markdown table and optionally CSV.

    python -m tools.eval --gt DATASET_OR_MASK_DIR --pred PRED_DIR [--label NAME] [--out table.md] [--csv t.csv]
    python -m tools.eval --gt data/synth/test --model runs/tiny/last.pt --dsm models/tiny.dsm --out table.md

Predictions are matched to ground truth by file stem (`<stem>.png`, as the official test script writes them; other
image extensions are accepted). Each prediction is read as 8-bit grey, resized to the ground-truth size with PIL's
bicubic filter when the sizes differ (as the official test_score.py does), and scored as is, or first binarised
with `--bimap T` (foreground where value > T; the official bimap.py uses 65). `--model` runs the fp32 reference
checkpoint and `--dsm` a model file through the engine's simulation; each source is one row of the table. Other
model paths call `evaluate_predictions` directly with in-memory maps.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from typing import Iterable, Iterator

import numpy as np
from PIL import Image

from tools.metrics import MeanIoU, SODMetrics, gt_to_binary, pred_to_uint8, resize_pred

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
COLUMNS = [("miou", "mIoU"), ("sm", "S_alpha"), ("wfm", "F_beta^w"), ("em_mean", "mE_phi"), ("mae", "MAE")]


def mask_dir(path: str) -> str:
    """A folder of ground-truth masks: the folder itself, or its Masks/ subfolder (the official dataset layout)."""
    sub = os.path.join(path, "Masks")
    return sub if os.path.isdir(sub) else path


def _stems(folder: str) -> dict:
    out = {}
    for f in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS and stem not in out:
            out[stem] = os.path.join(folder, f)
    return out


def read_grey(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def iter_folder(folder: str, stems: Iterable[str] | None = None) -> Iterator[tuple]:
    """(stem, uint8 map) for the images in a folder, in sorted order or in the order of `stems`."""
    files = _stems(folder)
    for stem in (sorted(files) if stems is None else stems):
        if stem not in files:
            raise FileNotFoundError(f"no prediction for {stem!r} in {folder}")
        yield stem, read_grey(files[stem])


def evaluate_predictions(pred_iter: Iterable[tuple], gt_iter: Iterable[tuple], bimap: int | None = None,
                         per_image: list | None = None) -> dict:
    """Score (name, prediction) pairs against (name, ground truth) pairs, taken in lock-step.

    A prediction is a 2-D uint8 map (0..255), a bool mask, or a float map in [0, 1] (quantised like the official
    save_image), at any size; a ground truth is any 2-D (or RGB) image, foreground where > half its maximum.
    Returns {"images", "miou", "sm", "wfm", "em_mean", "em_adp", "em_max", "mae"}. If `per_image` is a list, one
    (name, iou, mae) row per image is appended to it.
    """
    miou, sod = MeanIoU(), SODMetrics()
    n = 0
    sentinel = object()
    preds, gts = iter(pred_iter), iter(gt_iter)
    while True:
        p, g = next(preds, sentinel), next(gts, sentinel)
        if p is sentinel or g is sentinel:
            if p is not g:
                raise ValueError("predictions and ground truths differ in count")
            break
        (pname, pred), (gname, gt) = p, g
        if pname != gname:
            raise ValueError(f"prediction {pname!r} is paired with ground truth {gname!r}")
        gt_bool = gt_to_binary(gt)
        pred_u8 = resize_pred(pred_to_uint8(pred), gt_bool.shape)
        if bimap is not None:
            pred_u8 = np.where(pred_u8 > bimap, 255, 0).astype(np.uint8)
        iou = miou.step(pred_u8, gt_bool)
        sod.step(pred_u8, gt_bool)
        if per_image is not None:
            per_image.append((pname, iou, float(np.mean(np.abs(pred_u8 / 255.0 - gt_bool)))))
        n += 1
    if n == 0:
        raise ValueError("nothing to evaluate")
    return {"images": n, "miou": miou.result(), **sod.results()}


def evaluate_folders(pred_dir: str, gt_dir: str, bimap: int | None = None, per_image: list | None = None) -> dict:
    """Score every ground-truth mask in `gt_dir` (or its Masks/) against the same-stem prediction in `pred_dir`."""
    gdir = mask_dir(gt_dir)
    stems = sorted(_stems(gdir))
    return evaluate_predictions(iter_folder(pred_dir, stems), iter_folder(gdir, stems), bimap, per_image)


def predict_arrays(model, items: Iterable[tuple], batch: int = 4) -> Iterator[tuple]:
    """(stem, 8-bit map at model size) from a reference model for (stem, resized u8, gamma u8) inputs.

    The map is the official C3P output quantised like save_image; tools/dualsam owns the model and its decoding.
    """
    import torch

    from tools.dualsam.gamma import MEAN, STD

    def norm(xs):
        t = (np.stack(xs).astype(np.float32) - MEAN) / STD
        return torch.from_numpy(np.ascontiguousarray(t.transpose(0, 3, 1, 2)))

    chunk: list = []
    items = iter(items)
    while True:
        item = next(items, None)
        if item is not None:
            chunk.append(item)
        if chunk and (item is None or len(chunk) == batch):
            a, b = norm([r for _, r, _ in chunk]), norm([g for _, _, g in chunk])
            _, _, maps, _ = model.predict(a, b)
            for (stem, _, _), m in zip(chunk, maps[:, 0].numpy()):
                yield stem, m
            chunk = []
        if item is None:
            return


def predict_images(model, image_dir: str, stems: list, batch: int = 4) -> Iterator[tuple]:
    """(stem, 8-bit map) for frames on disk, pre-processed exactly as the runtime does (tools/dualsam/gamma.py)."""
    from tools.dualsam.gamma import preprocess

    files = _stems(image_dir)
    size = model.cfg.img_size

    def items():
        for stem in stems:
            if stem not in files:
                raise FileNotFoundError(f"no image for {stem!r} in {image_dir}")
            with Image.open(files[stem]) as im:
                rgb = np.asarray(im.convert("RGB"))
            _, _, _, resized, gam = preprocess(rgb, size)
            yield stem, resized, gam

    return predict_arrays(model, items(), batch)


def markdown_table(rows: list) -> str:
    """A markdown table of (label, results) rows with the paper's five metrics."""
    head = "| model | images | " + " | ".join(title for _, title in COLUMNS) + " |"
    sep = "|---|---:|" + "---:|" * len(COLUMNS)
    lines = [head, sep]
    for label, r in rows:
        lines.append(f"| {label} | {r['images']} | " + " | ".join(f"{r[k]:.4f}" for k, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: str, rows: list) -> None:
    keys = ["images", "miou", "sm", "wfm", "em_mean", "em_adp", "em_max", "mae"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model"] + keys)
        for label, r in rows:
            w.writerow([label] + [r[k] if k == "images" else f"{r[k]:.6f}" for k in keys])


def dsm_predictions(path: str, image_dir: str, stems: list) -> Iterator[tuple]:
    """(stem, 8-bit map) from a `.dsm` model file run by the engine's Python simulation (tools/quant/sim.py):
    bit-exact integer path for an int8 file, the fp32 reference path for an fp32 file."""
    from tools.convert.format import read
    from tools.quant.sim import Sim

    sim = Sim(read(path))
    files = _stems(image_dir)
    for stem in stems:
        if stem not in files:
            raise FileNotFoundError(f"no image for {stem!r} in {image_dir}")
        with Image.open(files[stem]) as im:
            rgb = np.asarray(im.convert("RGB"))
        yield stem, sim.run(rgb)["map8"]


def source_predictions(kind: str, path: str, a, stems: list) -> Iterator[tuple]:
    """Predictions of one table row: a folder of maps, a checkpoint (fp32 reference) or a .dsm file."""
    images = a.images or os.path.join(a.gt, "Image")
    if kind == "pred":
        return iter_folder(path, stems)
    if kind == "dsm":
        return dsm_predictions(path, images, stems)
    import torch

    from tools.train import load_weights

    torch.set_num_threads(a.threads)
    model, _ = load_weights(path, a.config)
    return predict_images(model.eval(), images, stems)


def _saving(preds: Iterator[tuple], folder: str) -> Iterator[tuple]:
    os.makedirs(folder, exist_ok=True)
    for stem, m in preds:
        Image.fromarray(pred_to_uint8(m)).save(os.path.join(folder, stem + ".png"))
        yield stem, m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.eval", description=__doc__.strip().splitlines()[0])
    ap.add_argument("--gt", required=True, help="folder of GT masks, or a dataset root holding Masks/")
    ap.add_argument("--pred", action="append", default=[], help="folder of predicted maps (<stem>.png)")
    ap.add_argument("--model", action="append", default=[], help="checkpoint of the reference model (fp32)")
    ap.add_argument("--dsm", action="append", default=[], help=".dsm model file, run by the engine simulation")
    ap.add_argument("--config", default=None, help="config for a --model checkpoint that records none")
    ap.add_argument("--images", default=None, help="frames for --model/--dsm (default: the --gt root's Image/)")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N ground-truth masks")
    ap.add_argument("--label", default=None, help="row label when there is a single source")
    ap.add_argument("--bimap", type=int, default=None, help="binarise predictions at value > T first (official: 65)")
    ap.add_argument("--save-pred", default=None, help="with a single --model/--dsm: also write its maps as PNG")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the markdown table here (it is always printed)")
    ap.add_argument("--csv", default=None, help="write the table as CSV here")
    ap.add_argument("--per-image", default=None, help="write per-image IoU and MAE as CSV here")
    a = ap.parse_args(argv)
    sources = [("pred", p) for p in a.pred] + [("model", p) for p in a.model] + [("dsm", p) for p in a.dsm]
    if not sources:
        ap.error("give at least one --pred, --model or --dsm")
    if len(sources) > 1 and (a.label or a.save_pred):
        ap.error("--label and --save-pred need a single source")
    rows, rows_img = [], []
    try:
        gdir = mask_dir(a.gt)
        stems = sorted(_stems(gdir))[:a.limit]
        for kind, path in sources:
            preds = source_predictions(kind, path, a, stems)
            if a.save_pred:
                preds = _saving(preds, a.save_pred)
            per: list = []
            res = evaluate_predictions(preds, iter_folder(gdir, stems), a.bimap, per)
            label = a.label or (os.path.basename(os.path.normpath(path)) if kind == "pred"
                                else f"{os.path.basename(path)} ({'fp32 reference' if kind == 'model' else 'dsm'})")
            rows.append((label, res))
            rows_img += [(label, *r) for r in per]
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"eval: {e}", file=sys.stderr)
        return 2
    table = markdown_table(rows)
    print(table, end="")
    if a.out:
        with open(a.out, "w") as f:
            f.write(table)
    if a.csv:
        write_csv(a.csv, rows)
    if a.per_image:
        with open(a.per_image, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["model", "name", "iou", "mae"])
            w.writerows(rows_img)
    return 0


if __name__ == "__main__":
    sys.exit(main())
