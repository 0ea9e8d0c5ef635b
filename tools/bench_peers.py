"""Dual-SAM latency and peak RSS of our engine next to ONNX Runtime and PyTorch, on the same model, in one run.

    .venv/bin/python tools/bench_peers.py [--configs tiny lite] [--threads 1 2] [--runs 10] [--rounds 3]

For each config: random weights (seed 0) are saved as a checkpoint, converted to our int8 .dsm
(`python -m tools.convert`) and exported to ONNX (fp32, ORT dynamic MatMul-int8, ORT static QDQ with u8 and
with s8 activations). Every (engine, config, threads) runs in its own subprocess (first run, then --runs more);
its peak RSS is the child's maximum resident set size from GNU time. Ours is `edge-bench bench` on a 640x480 frame, including pre- and
post-processing (~6 ms); the peers get the preprocessed (1,3,S,S) tensors, so the comparison favours them.
Needs a release build: `swift build -c release --product edge-bench`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ["ort-fp32", "ort-int8-dynamic", "ort-int8-qdq-u8s8", "ort-int8-qdq-s8s8", "torch-fp32"]


def prepare(config: str, out: Path) -> dict:
    """Model files of `config` (reused when present): checkpoint, ours, and the ONNX flavours."""
    sys.path.insert(0, str(ROOT))
    from tools.dualsam import checkpoint as ck
    from tools.dualsam import onnx_export as ox
    from tools.dualsam.configs import get_config
    from tools.dualsam.model import build

    out.mkdir(parents=True, exist_ok=True)
    files = {k: out / f"{config}_{k}" for k in ["ckpt.pt", "int8.dsm", "fp32.onnx", "dyn.onnx", "qdq_u8.onnx", "qdq_s8.onnx"]}
    cfg = get_config(config)
    if not files["ckpt.pt"].exists():
        ck.save(build(cfg, seed=0).eval(), files["ckpt.pt"])
    if not files["int8.dsm"].exists():
        subprocess.run([sys.executable, "-m", "tools.convert", "--checkpoint", str(files["ckpt.pt"]), "--config", config,
                        "--out", str(files["int8.dsm"])], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if not files["fp32.onnx"].exists():
        ox.export_fp32(ck.load(str(files["ckpt.pt"]), cfg=cfg).eval(), files["fp32.onnx"])
    if not files["dyn.onnx"].exists():
        ox.quantize_dynamic_matmul(files["fp32.onnx"], files["dyn.onnx"])
    pairs = None
    for act, key in (("u8", "qdq_u8.onnx"), ("s8", "qdq_s8.onnx")):
        if not files[key].exists():
            pairs = pairs or ox.calibration_pairs(ox._synthetic_frames(4), cfg.img_size)
            quantize_qdq(ox, files["fp32.onnx"], files[key], pairs, act)
    return {**{k: str(v) for k, v in files.items()}, "size": cfg.img_size}


def quantize_qdq(ox, fp32: Path, out: Path, pairs, act: str) -> None:
    """ORT static QDQ: per-channel s8 weights, u8 or s8 activations, MinMax calibration (as onnx_export)."""
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as tmp:
        opt = ox.optimize_basic(fp32, Path(tmp) / "opt.onnx")
        quantize_static(str(opt), str(out), ox._Reader(pairs), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8 if act == "u8" else QuantType.QInt8,
                        weight_type=QuantType.QInt8, per_channel=True, calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=list(ox.QDQ_OPS))


def worker(kind: str, config: str, files: dict, threads: int, runs: int) -> dict:
    """Runs inside the measured subprocess: first run, then `runs` timed runs; times in ms."""
    import numpy as np

    s = int(files["size"])  # not from tools.dualsam: importing it pulls in torch, and the RSS is measured here
    rng = np.random.default_rng(0)
    alpha, beta = (rng.standard_normal((1, 3, s, s)).astype(np.float32) for _ in range(2))
    if kind.startswith("ort"):
        import onnxruntime as ort
        path = {"ort-fp32": "fp32.onnx", "ort-int8-dynamic": "dyn.onnx", "ort-int8-qdq-u8s8": "qdq_u8.onnx",
                "ort-int8-qdq-s8s8": "qdq_s8.onnx"}[kind]
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(files[path], so, providers=["CPUExecutionProvider"])
        feed = {"img_alpha": alpha, "img_beta": beta}
        step = lambda: sess.run(None, feed)  # noqa: E731
    else:
        import torch
        sys.path.insert(0, str(ROOT))
        from tools.dualsam import checkpoint as ck
        from tools.dualsam.configs import get_config
        torch.set_num_threads(threads)
        model = ck.load(files["ckpt.pt"], cfg=get_config(config)).eval()
        ta, tb = torch.from_numpy(alpha), torch.from_numpy(beta)

        def step():
            with torch.inference_mode():
                model.forward_infer(ta, tb)
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"first": times[0], "times": times[1:]}


def measure(cmd: list[str]) -> tuple[str, float]:
    """(stdout, peak RSS MiB) of one child process. Through GNU time: a child forked straight from this
    (large) Python process would report this process's RSS as its ru_maxrss, since Linux carries the
    pre-exec high-water mark over exec."""
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB %M", *cmd], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rss = re.findall(r"MAXRSS_KB (\d+)", proc.stderr)
    return proc.stdout, int(rss[-1]) / 1024


def ours(engine: str, dsm: str, threads: int, runs: int) -> dict:
    out, rss = measure([engine, "bench", dsm, "--threads", str(threads), "--runs", str(runs)])
    m = re.search(r"first run ([\d.]+) ms; median ([\d.]+) ms, min ([\d.]+) ms, max ([\d.]+) ms", out)
    if not m:
        raise RuntimeError("unexpected edge-bench output:\n" + out)
    first, med, lo, hi = (float(x) for x in m.groups())
    return {"first": first, "median": med, "min": lo, "max": hi, "rss": rss}


def peer(kind: str, config: str, files: dict, threads: int, runs: int) -> dict:
    out, rss = measure([sys.executable, __file__, "--worker", kind, config, json.dumps(files), str(threads), str(runs)])
    r = json.loads(out.strip().splitlines()[-1])
    t = sorted(r["times"])
    return {"first": r["first"], "median": t[len(t) // 2], "min": t[0], "max": t[-1], "rss": rss}


def combine(results: list) -> dict:
    """One row from several rounds: medians of the first runs and of the medians, the extreme min and max, the
    largest RSS."""
    def mid(key: str) -> float:
        v = sorted(r[key] for r in results)
        return v[len(v) // 2]
    return {"first": mid("first"), "median": mid("median"), "min": min(r["min"] for r in results),
            "max": max(r["max"] for r in results), "rss": max(r["rss"] for r in results)}


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, config, files, threads, runs = sys.argv[2:7]
        print(json.dumps(worker(kind, config, json.loads(files), int(threads), int(runs))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["tiny", "lite"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure every engine this many times, interleaved (ours, peers, ours, peers, ...), and "
                         "report the median of the rounds' medians: on a shared machine, load bursts then hit every "
                         "engine alike instead of whichever ran during them")
    ap.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS)
    ap.add_argument("--engine", default=str(ROOT / ".build/release/edge-bench"))
    ap.add_argument("--models", default=str(ROOT / ".build/bench-peers"))
    a = ap.parse_args(argv)
    if not Path(a.engine).exists():
        print(f"error: {a.engine} is missing: swift build -c release --product edge-bench", file=sys.stderr)
        return 2
    print(f"{'config':6} {'thr':>3} {'engine':20} {'first':>8} {'median':>8} {'min':>8} {'max':>8} {'RSS MiB':>8}"
          f" {'ours/peer':>9}")
    for config in a.configs:
        files = prepare(config, Path(a.models))
        for threads in a.threads:
            names = ["ours-int8", *a.peers]
            rounds: dict = {k: [] for k in names}
            for _ in range(max(a.rounds, 1)):
                rounds["ours-int8"].append(ours(a.engine, files["int8.dsm"], threads, a.runs))
                for k in a.peers:
                    rounds[k].append(peer(k, config, files, threads, a.runs))
            rows = [(k, combine(rounds[k])) for k in names]
            base = rows[0][1]["median"]
            for name, r in rows:
                print(f"{config:6} {threads:3} {name:20} {r['first']:8.1f} {r['median']:8.1f} {r['min']:8.1f} "
                      f"{r['max']:8.1f} {r['rss']:8.1f} {base / r['median']:9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
