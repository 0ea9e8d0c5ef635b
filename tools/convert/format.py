"""Read and write `.dsm` model files (docs/MODEL_FORMAT.md): canonical safetensors with a CRC-32 over the file."""
from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from safetensors.numpy import save as _st_save

FORMAT_NAME = "dualsam-edge"
FORMAT_VERSION = "1.0"
FORMAT_MAJOR = 1
NUMERICS_VERSION = "2"
CHECKSUM_MARKER = b'"checksum":"crc32:'
CHECKSUM_BLANK = "crc32:00000000"
MAX_HEADER = 16 << 20
MAX_TENSORS = 4096
MAX_RANK = 4
REQUIRED_METADATA = ("format", "format_version", "numerics_version", "dtype", "config", "calibration", "checksum")

DTYPES = {"F32": np.dtype("<f4"), "I8": np.dtype("i1"), "I32": np.dtype("<i4")}
_NP_TO_ST = {np.dtype("<f4"): "F32", np.dtype("i1"): "I8", np.dtype("<i4"): "I32"}


class ModelFormatError(ValueError):
    """A model file is malformed; the message names the problem."""


@dataclass
class ModelFile:
    """A parsed model file: metadata strings, the decoded config and the tensors (read-only numpy views)."""

    metadata: dict[str, str]
    tensors: dict[str, np.ndarray]
    config: dict = field(default_factory=dict)

    @property
    def dtype(self) -> str:
        return self.metadata["dtype"]


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE, zlib) of `data`."""
    return zlib.crc32(data) & 0xFFFFFFFF


def _canonical_header(header: dict, length: int) -> bytes:
    """Compact JSON, `__metadata__` first with sorted keys, tensors by offset, space-padded to `length`."""
    meta = header.get("__metadata__", {})
    parts = ['"__metadata__":' + json.dumps(dict(sorted(meta.items())), separators=(",", ":"))]
    names = sorted((k for k in header if k != "__metadata__"), key=lambda k: (header[k]["data_offsets"][0], k))
    for name in names:
        e = header[name]
        parts.append(json.dumps(name) + ":" + json.dumps(
            {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": e["data_offsets"]}, separators=(",", ":")))
    text = ("{" + ",".join(parts) + "}").encode("ascii")
    if len(text) > length:
        raise AssertionError("canonical header longer than the one safetensors wrote")
    return text + b" " * (length - len(text))


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Bytes of a `.dsm` file holding `tensors` (F32/I8/I32) and `metadata` (checksum filled in here)."""
    arrays = {}
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        if a.dtype.newbyteorder("<") not in _NP_TO_ST and a.dtype not in _NP_TO_ST:
            raise ModelFormatError(f"tensor {name!r}: dtype {a.dtype} is not F32, I8 or I32")
        arrays[name] = a.astype(a.dtype.newbyteorder("<"), copy=False)
    meta = {k: str(v) for k, v in metadata.items()}
    meta["checksum"] = CHECKSUM_BLANK
    for k, v in meta.items():
        if not (k + v).isascii():
            raise ModelFormatError(f"metadata {k!r} is not ASCII")
    raw = bytearray(_st_save(arrays, metadata=meta))
    n = struct.unpack_from("<Q", raw, 0)[0]
    header = json.loads(raw[8:8 + n])
    raw[8:8 + n] = _canonical_header(header, n)
    pos = raw.find(CHECKSUM_MARKER, 8, 8 + n)
    assert pos >= 0 and raw.find(CHECKSUM_MARKER, pos + 1, 8 + n) < 0
    digits = pos + len(CHECKSUM_MARKER)
    raw[digits:digits + 8] = b"%08x" % crc32(bytes(raw))
    return bytes(raw)


def encode_plain(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Canonical safetensors bytes without a checksum (fixture tensor files; U8 allowed besides F32/I8/I32)."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    raw = bytearray(_st_save(arrays, metadata={k: str(v) for k, v in metadata.items()}))
    n = struct.unpack_from("<Q", raw, 0)[0]
    raw[8:8 + n] = _canonical_header(json.loads(raw[8:8 + n]), n)
    return bytes(raw)


def write(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write a `.dsm` file."""
    data = encode(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def _fail(msg: str):
    raise ModelFormatError(msg)


def _checksum(raw: bytes, n: int) -> None:
    header = raw[8:8 + n]
    pos = header.find(CHECKSUM_MARKER)
    if pos < 0:
        _fail('checksum: marker "checksum":"crc32: not found in the header')
    if header.find(CHECKSUM_MARKER, pos + 1) >= 0:
        _fail("checksum: marker occurs more than once in the header")
    d = 8 + pos + len(CHECKSUM_MARKER)
    digits = raw[d:d + 8]
    if len(digits) != 8 or not re.fullmatch(rb"[0-9a-f]{8}", digits) or raw[d + 8:d + 9] != b'"':
        _fail("checksum: value is not crc32: followed by 8 lowercase hex digits")
    blanked = raw[:d] + b"00000000" + raw[d + 8:]
    got = crc32(blanked)
    want = int(digits, 16)
    if got != want:
        _fail(f"checksum mismatch: file says crc32:{want:08x}, contents give crc32:{got:08x} (corrupted file)")


def decode(raw: bytes, verify_checksum: bool = True, check_schema: bool = True) -> ModelFile:
    """Parse and validate `.dsm` bytes; raises ModelFormatError naming the first problem found."""
    if len(raw) < 8:
        _fail(f"truncated file: {len(raw)} bytes, shorter than the 8-byte header length")
    n = struct.unpack_from("<Q", raw, 0)[0]
    if n > MAX_HEADER:
        _fail(f"header length {n} exceeds the limit {MAX_HEADER}")
    if 8 + n > len(raw):
        _fail(f"truncated file: header length {n} needs {8 + n} bytes, file has {len(raw)}")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(f"header is not valid JSON: {e}")
    if not isinstance(header, dict):
        _fail("header JSON is not an object")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        _fail("header has no __metadata__ object of strings")
    if len(header) > MAX_TENSORS:
        _fail(f"too many tensors: {len(header)} > {MAX_TENSORS}")
    data_len = len(raw) - 8 - n
    # offsets that tile [0, end) contiguously but reach past the data region: the file was cut short
    offs = [e.get("data_offsets") for e in header.values() if isinstance(e, dict)]
    offs = [o for o in offs if isinstance(o, list) and len(o) == 2 and all(type(v) is int for v in o)]
    if offs:
        end = max(o[1] for o in offs)
        if end > data_len and sum(o[1] - o[0] for o in offs) == end:
            _fail(f"truncated file: tensors need {end} data bytes, the data region has {data_len}")
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            _fail(f"tensor {name!r}: entry must have exactly dtype, shape and data_offsets")
        if e["dtype"] not in DTYPES:
            _fail(f"tensor {name!r}: unknown dtype {e['dtype']!r} (allowed: F32, I8, I32)")
        shape = e["shape"]
        if (not isinstance(shape, list) or len(shape) > MAX_RANK
                or not all(type(s) is int and s >= 0 for s in shape)):
            _fail(f"tensor {name!r}: bad shape {shape!r}")
        offs = e["data_offsets"]
        if not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int for o in offs):
            _fail(f"tensor {name!r}: data_offsets must be two integers")
        b, end = offs
        if not (0 <= b <= end <= data_len):
            _fail(f"tensor {name!r}: data_offsets {offs} out of range (data region is {data_len} bytes)")
        size = int(np.prod(shape, dtype=np.int64)) * DTYPES[e["dtype"]].itemsize
        if end - b != size:
            _fail(f"tensor {name!r}: data_offsets span {end - b} bytes but shape {shape} {e['dtype']} needs {size}")
        spans.append((b, end, name))
    spans.sort()
    cursor = 0
    for b, end, name in spans:
        if b < cursor:
            _fail(f"tensor {name!r}: data_offsets overlap the previous tensor")
        if b > cursor:
            _fail(f"tensor {name!r}: gap in the data region before offset {b}")
        cursor = end
    if cursor != data_len:
        _fail(f"data region has {data_len - cursor} trailing bytes not covered by any tensor")
    for k in REQUIRED_METADATA:
        if k not in meta:
            _fail(f"metadata key {k!r} missing")
    if meta["format"] != FORMAT_NAME:
        _fail(f"format is {meta['format']!r}, expected {FORMAT_NAME!r}")
    m = re.fullmatch(r"(\d+)\.(\d+)", meta["format_version"])
    if not m:
        _fail(f"format_version {meta['format_version']!r} is not major.minor")
    if int(m.group(1)) != FORMAT_MAJOR:
        _fail(f"unsupported format major version {m.group(1)} (this reader implements {FORMAT_MAJOR})")
    if meta["numerics_version"] != NUMERICS_VERSION:
        _fail(f"unsupported numerics_version {meta['numerics_version']!r} (implemented: {NUMERICS_VERSION}; "
              "convert the checkpoint again with python -m tools.convert)")
    if meta["dtype"] not in ("int8", "fp32"):
        _fail(f"model dtype {meta['dtype']!r} is neither int8 nor fp32")
    if verify_checksum:
        _checksum(raw, n)
    try:
        config = json.loads(meta["config"])
        json.loads(meta["calibration"])
    except json.JSONDecodeError as e:
        _fail(f"metadata config/calibration is not valid JSON: {e}")
    if not isinstance(config, dict):
        _fail("metadata config is not a JSON object")
    base = 8 + n
    tensors = {}
    for b, end, name in spans:
        e = header[name]
        a = np.frombuffer(raw, dtype=DTYPES[e["dtype"]], count=(end - b) // DTYPES[e["dtype"]].itemsize,
                          offset=base + b).reshape(e["shape"])
        tensors[name] = a
    mf = ModelFile(metadata=meta, tensors=tensors, config=config)
    if check_schema and config.get("name") != "format-test":
        from tools.convert.schema import validate_model
        validate_model(mf)
    return mf


def read(path: str, **kw) -> ModelFile:
    """Read and validate a `.dsm` file."""
    with open(path, "rb") as f:
        return decode(f.read(), **kw)
