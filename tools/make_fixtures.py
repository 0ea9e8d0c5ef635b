#!/usr/bin/env python3
"""Regenerate the golden fixtures under Tests/Fixtures (byte-identical on every run): `python tools/make_fixtures.py`.

- format/: the minimal example model file and its corrupt variants (docs/MODEL_FORMAT.md section 9);
- model/: a `fixture` config (the `tiny` topology, reduced widths, 96x96 input, padded windows) with seeded random
  weights as an fp32 and an int8 model file, one input frame, and the named intermediates of both runs
  (fp32 from the fp32 file; int8 from the exact integer simulation of the int8 file);
- tiny/: the `tiny` config with seeded random weights: input frame, gamma image, digests of every named
  intermediate and the values of a subset (tools/tiny_fixtures.py). Its model files are too large to commit and
  are written to the git-ignored Tests/GeneratedFixtures (size and CRC-32 in MANIFEST.txt).

`--models-only` just (re)writes the generated tiny model files (what the Swift tests need; ~15 s).
Independent of the reference model's and the synthesizer's code, so other changes there do not alter them.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tools.convert import format as fm  # noqa: E402
from tools.convert.calib import structured  # noqa: E402
from tools.convert.fold import fp32_metadata, random_fp32  # noqa: E402
from tools.convert.format_fixtures import variants  # noqa: E402
from tools.quant.quantize import calibrate, quantize_model  # noqa: E402
from tools.quant.sim import Sim  # noqa: E402
from tools import tiny_fixtures  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "Fixtures")
GENERATED_OUT = os.path.join(ROOT, "Tests", "GeneratedFixtures")     # git-ignored; listed in MANIFEST.txt

FIXTURE_CONFIG = {
    "name": "fixture", "img_size": 96, "patch_size": 16, "embed_dim": 32, "depth": 4, "num_heads": 2,
    "head_dim": 16, "mlp_dim": 64, "window_size": 4, "global_attn_indexes": [1, 3], "adapter_dim": 8,
    "mcp_heads": 2, "mcp_head_dim": 16, "mcp_mlp_dim": 64, "mcp_mlp2_dim": 48, "ca_heads": 2, "ca_head_dim": 16,
    "ca_value_scramble": True, "neck_dim": 16, "dec_channels": [16, 8, 8, 4], "se_hidden": [2, 1, 1, 1],
    "head_dim_pre": 8, "num_out": 8, "lora_rank": 4, "gate_init": 1.0,
}
WEIGHT_SEED = 20240601
CALIB_SEED = 11
INPUT_SEED = 5
INPUT_SIZE = (75, 50)          # width, height of the fixture frame (resized to 96x96 by the model)


def fixture_models() -> tuple[bytes, bytes, np.ndarray]:
    """(fp32 file bytes, int8 file bytes, input frame)."""
    fp32 = fm.encode(random_fp32(FIXTURE_CONFIG, WEIGHT_SEED), fp32_metadata(FIXTURE_CONFIG))
    mf = fm.decode(fp32)
    calib = structured(4, CALIB_SEED, (120, 90))
    tensors, meta = quantize_model(mf, calibrate(mf, calib),
                                   {"method": "minmax", "images": len(calib), "seed": CALIB_SEED,
                                    "source": "tools/convert/calib.structured 120x90"})
    int8 = fm.encode(tensors, meta)
    frame = structured(1, INPUT_SEED, INPUT_SIZE)[0]
    return fp32, int8, frame


def intermediates(model: bytes, frame: np.ndarray) -> dict[str, np.ndarray]:
    sim = Sim(fm.decode(model))
    sim.run(frame)
    rec = dict(sim.record)
    for k in ("pre.lut", "pre.u_a", "pre.u_b", "prob"):     # inputs live in input.safetensors; prob is large
        rec.pop(k, None)
    return {k: np.ascontiguousarray(v) for k, v in rec.items()}


def build(generated: dict[str, bytes] | None = None) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(committed, generated): relative path -> bytes of every committed fixture file (under Tests/Fixtures) and
    of the generated tiny model files (under Tests/GeneratedFixtures; pass them in to skip rebuilding)."""
    generated = generated if generated is not None else tiny_fixtures.generated_models()
    files = {f"format/{k}": raw for k, (raw, _) in variants().items()}
    fp32, int8, frame = fixture_models()
    files["model/fixture_fp32.dsm"] = fp32
    files["model/fixture_int8.dsm"] = int8
    sim = Sim(fm.decode(fp32))
    sim.run(frame)
    files["model/input.safetensors"] = fm.encode_plain(
        {"input.rgb": frame, "pre.lut": sim.record["pre.lut"], "pre.u_a": sim.record["pre.u_a"],
         "pre.u_b": sim.record["pre.u_b"]}, {"fixture": "dualsam-edge input"})
    for tag, model in (("fp32", fp32), ("int8", int8)):
        files[f"model/expected_{tag}.safetensors"] = fm.encode_plain(
            intermediates(model, frame), {"fixture": f"dualsam-edge intermediates of fixture_{tag}.dsm"})
    files.update(tiny_fixtures.committed(generated))
    lines = []
    for path in sorted(files):
        raw = files[path]
        lines.append(f"{path} {len(raw)} crc32:{fm.crc32(raw):08x}")
    for name in sorted(generated):
        raw = generated[name]
        lines.append(f"generated {name} {len(raw)} crc32:{fm.crc32(raw):08x}")
    for k, (_, err) in sorted(variants().items()):
        lines.append(f"error format/{k} {err if err else 'OK'}")
    files["MANIFEST.txt"] = ("\n".join(lines) + "\n").encode()
    return files, generated


def _write_all(out: str, files: dict[str, bytes]) -> None:
    for rel, raw in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(raw)


def write(out: str, generated_out: str = GENERATED_OUT) -> tuple[dict[str, bytes], dict[str, bytes]]:
    files, generated = build()
    _write_all(out, files)
    _write_all(generated_out, generated)
    return files, generated


def write_models(generated_out: str = GENERATED_OUT, out: str = DEFAULT_OUT) -> dict[str, bytes]:
    """Only the generated tiny model files (skipped when the ones there already have the MANIFEST's bytes)."""
    want = manifest_generated(out)
    if want and all(_matches(os.path.join(generated_out, n), size, crc) for n, (size, crc) in want.items()):
        return {}
    generated = tiny_fixtures.generated_models()
    _write_all(generated_out, generated)
    return generated


def manifest_generated(out: str = DEFAULT_OUT) -> dict[str, tuple[int, int]]:
    """{name: (size, crc32)} of the generated files as the committed MANIFEST.txt lists them."""
    try:
        with open(os.path.join(out, "MANIFEST.txt")) as f:
            rows = [line.split() for line in f if line.startswith("generated ")]
    except FileNotFoundError:
        return {}
    return {r[1]: (int(r[2]), int(r[3].removeprefix("crc32:"), 16)) for r in rows}


def _matches(path: str, size: int, crc: int) -> bool:
    if not os.path.isfile(path) or os.path.getsize(path) != size:
        return False
    with open(path, "rb") as f:
        return fm.crc32(f.read()) == crc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--generated-out", default=GENERATED_OUT)
    ap.add_argument("--models-only", action="store_true",
                    help="only (re)write the generated tiny model files, if they differ from MANIFEST.txt")
    a = ap.parse_args(argv)
    if a.models_only:
        generated = write_models(a.generated_out, a.out)
        for name, (size, crc) in manifest_generated(a.out).items():
            if not _matches(os.path.join(a.generated_out, name), size, crc):
                print(f"{name}: regenerated bytes differ from MANIFEST.txt (stale fixtures? run "
                      f"python tools/make_fixtures.py)", file=sys.stderr)
                return 1
        print(f"{'wrote' if generated else 'up to date:'} {len(manifest_generated(a.out))} model files under "
              f"{a.generated_out}")
        return 0
    files, generated = write(a.out, a.generated_out)
    total = sum(len(v) for v in files.values())
    print(f"wrote {len(files)} files, {total} bytes, under {a.out}; {len(generated)} model files, "
          f"{sum(len(v) for v in generated.values())} bytes, under {a.generated_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
