"""Golden fixtures of the `tiny` config (random weights, fixed seed) within the 5 MB fixture budget.

The tiny model files (fp32 22.9 MB, int8 6.5 MB) are too large to commit: `generated_models()` rebuilds them
byte-identically (seeded weights, deterministic min/max calibration) into the git-ignored Tests/GeneratedFixtures;
the committed MANIFEST records their size and CRC-32. The committed part (`committed()`) is, per run:

- `expected_<run>.txt`: one line per named intermediate, `name dtype shape crc32:XXXXXXXX stored`, where the CRC is
  over the exact little-endian bytes of the whole tensor and `stored` says what the safetensors file holds:
  `full`, `rows:A-B,C-D` (those indices of the leading axis, inclusive ranges, concatenated in that order),
  `input` (in input.safetensors) or `digest` (only the CRC);
- `expected_<run>.safetensors`: the stored values (a `rows:` tensor has the leading axis cut to those indices).

int8 (bit-exact): a CRC for every tensor, full values for FULL_INT8. fp32 (tolerance): full values up to
FP32_FULL_BYTES, else the rows covering the two edge bands IMAGE_BANDS (image rows 0-7 and 248-255 at the map's
resolution; whole token rows 0 and 15 of the encoder and MCP streams). The fp32 mask is a digest: it is
`map8 > 65`, and map8 is stored in full.

Unlike the `fixture` set, these follow `tools.dualsam.configs.TINY` on purpose: a change of the bundled topology
changes them (regenerate and commit).
"""
from __future__ import annotations

import numpy as np

from tools.convert import format as fm
from tools.convert.calib import structured
from tools.convert.fold import fp32_metadata, random_fp32
from tools.dualsam.configs import TINY
from tools.quant.quantize import calibrate, quantize_model
from tools.quant.sim import Sim

TINY_CONFIG = TINY.to_dict()
WEIGHT_SEED = 20240605
CALIB_SEED = 12
CALIB_IMAGES = 2               # each calibration image is one fp32 run (~5 s); 2 keep --models-only quick
CALIB_SIZE = (160, 120)
INPUT_SEED = 6
INPUT_SIZE = (96, 64)          # width, height of the frame (resized to 256x256 by the model)

# The named intermediates of issue 3 item 7 (qkv / attention-output debugging aids and `prob` are left out).
DROP = ("attn.qkv.", "attn.o.")                   # name parts; `prob` ([256, 256, 8] softmax) is dropped too
PRE = ("pre.lut", "pre.u_a", "pre.u_b")
IN_INPUT = ("pre.lut", "pre.u_b")                  # stored in input.safetensors (u_a: digest only)
FULL_INT8 = ("enc.patch_embed.a", "enc.blocks.0.a", "mcp.blocks.0.prompt", "neck", "map8", "mask")
FP32_FULL_BYTES = 65536
IMAGE_BANDS = ((0, 8), (248, 256))                 # image rows [a, b) kept of larger fp32 maps: both edges


def generated_models() -> dict[str, bytes]:
    """{file name: bytes} of the tiny fp32 and int8 model files (not committed)."""
    fp32 = fm.encode(random_fp32(TINY_CONFIG, WEIGHT_SEED), fp32_metadata(TINY_CONFIG))
    mf = fm.decode(fp32)
    calib = structured(CALIB_IMAGES, CALIB_SEED, CALIB_SIZE)
    tensors, meta = quantize_model(mf, calibrate(mf, calib),
                                   {"method": "minmax", "images": len(calib), "seed": CALIB_SEED,
                                    "source": f"tools/convert/calib.structured {CALIB_SIZE[0]}x{CALIB_SIZE[1]}"})
    return {"tiny_fp32.dsm": fp32, "tiny_int8.dsm": fm.encode(tensors, meta)}


def frame() -> np.ndarray:
    return structured(1, INPUT_SEED, INPUT_SIZE)[0]


def row_ranges(name: str, shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """Half-open ranges of the leading axis that cover IMAGE_BANDS: map rows for the maps ([H, W(, C)]), whole
    token rows for the encoder and MCP streams ([T, C], raster tokens; image rows 0-15 and 240-255)."""
    S, P = TINY_CONFIG["img_size"], TINY_CONFIG["patch_size"]
    G = S // P
    if name.startswith(("enc.", "mcp.")):
        assert shape[0] == G * G, (name, shape)
        return [(a // P * G, -(-b // P) * G) for a, b in IMAGE_BANDS]
    assert S % shape[0] == 0 and all(a * shape[0] % S == 0 and b * shape[0] % S == 0 for a, b in IMAGE_BANDS)
    return [(a * shape[0] // S, b * shape[0] // S) for a, b in IMAGE_BANDS]


def _spec(ranges: list[tuple[int, int]]) -> str:
    return "rows:" + ",".join(f"{a}-{b - 1}" for a, b in ranges)


def _dtype(a: np.ndarray) -> str:
    return {np.float32: "F32", np.int8: "I8", np.uint8: "U8", np.int32: "I32"}[a.dtype.type]


def run(model: bytes, img: np.ndarray) -> dict[str, np.ndarray]:
    """Named intermediates of one run, in execution order (pre.* first)."""
    sim = Sim(fm.decode(model))
    sim.run(img)
    return {k: np.ascontiguousarray(v) for k, v in sim.record.items()
            if k != "prob" and not any(d in k for d in DROP)}


def expected(tag: str, rec: dict[str, np.ndarray]) -> tuple[bytes, bytes]:
    """(index text, safetensors bytes) of one run."""
    lines, stored = [], {}
    for name, a in rec.items():
        if name in PRE:
            how = "input" if name in IN_INPUT else "digest"
        elif tag == "int8":
            how = "full" if name in FULL_INT8 else "digest"
        elif name == "mask":
            how = "digest"
        elif a.nbytes <= FP32_FULL_BYTES:
            how = "full"
        else:
            ranges = row_ranges(name, a.shape)
            how = _spec(ranges)
            a_sub = np.concatenate([a[lo:hi] for lo, hi in ranges], axis=0)
        if how == "full":
            stored[name] = a
        elif how.startswith("rows:"):
            stored[name] = np.ascontiguousarray(a_sub)
        shape = "x".join(str(d) for d in a.shape)
        lines.append(f"{name} {_dtype(a)} {shape} crc32:{fm.crc32(a.tobytes()):08x} {how}")
    text = ("\n".join(lines) + "\n").encode()
    st = fm.encode_plain(stored, {"fixture": f"dualsam-edge tiny intermediates of tiny_{tag}.dsm (see "
                                  f"expected_{tag}.txt)"})
    return text, st


def committed(models: dict[str, bytes]) -> dict[str, bytes]:
    """{path relative to Tests/Fixtures: bytes} of the committed tiny fixtures."""
    img = frame()
    files: dict[str, bytes] = {}
    for tag in ("fp32", "int8"):
        rec = run(models[f"tiny_{tag}.dsm"], img)
        if tag == "fp32":
            files["tiny/input.safetensors"] = fm.encode_plain(
                {"input.rgb": img, "pre.lut": rec["pre.lut"], "pre.u_b": rec["pre.u_b"]},
                {"fixture": "dualsam-edge tiny input (pre.u_a: digest in expected_*.txt)"})
        text, st = expected(tag, rec)
        files[f"tiny/expected_{tag}.txt"] = text
        files[f"tiny/expected_{tag}.safetensors"] = st
    return files
