"""The minimal example model file and its deliberately corrupt variants (Tests/Fixtures/format/)."""
from __future__ import annotations

import json
import struct

import numpy as np

from tools.convert import format as fm
from tools.convert.fold import PRODUCER


def minimal() -> bytes:
    """A valid ~1 KB container (config name `format-test`: no graph checks) with one tensor of each dtype."""
    tensors = {
        "a.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(4),
        "a.bias": np.array([0.5, -1.25], np.float32),
        "q.weight": np.array([[1, -2, 3, -127], [127, 0, -1, 2]], np.int8),
        "q.in_zero": np.array([-3], np.int32),
    }
    meta = {"format": fm.FORMAT_NAME, "format_version": fm.FORMAT_VERSION, "numerics_version": fm.NUMERICS_VERSION,
            "dtype": "fp32", "config": '{"name":"format-test"}', "calibration": "{}", "producer": PRODUCER}
    return fm.encode(tensors, meta)


def _split(raw: bytes) -> tuple[dict, bytes]:
    n = struct.unpack_from("<Q", raw, 0)[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def rebuild(header: dict, data: bytes) -> bytes:
    """A file from a header dict and data region: canonical JSON, space padding to a multiple of 8, re-signed."""
    meta = header.get("__metadata__", {})
    parts = ['"__metadata__":' + json.dumps(dict(sorted(meta.items())), separators=(",", ":"))]
    parts += [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in header.items()
              if k != "__metadata__"]
    text = ("{" + ",".join(parts) + "}").encode()
    text += b" " * ((-len(text)) % 8)
    raw = bytearray(struct.pack("<Q", len(text)) + text + data)
    pos = raw.find(fm.CHECKSUM_MARKER)
    if pos >= 0:
        d = pos + len(fm.CHECKSUM_MARKER)
        raw[d:d + 8] = b"00000000"
        raw[d:d + 8] = b"%08x" % fm.crc32(bytes(raw))
    return bytes(raw)


def _edit(raw: bytes, fn) -> bytes:
    header, data = _split(raw)
    fn(header)
    return rebuild(header, data)


def variants() -> dict[str, tuple[bytes, str]]:
    """file name -> (bytes, a phrase the reader's error message contains). `minimal.dsm` has no error ("")."""
    good = minimal()
    n = struct.unpack_from("<Q", good, 0)[0]
    out = {"minimal.dsm": (good, "")}
    out["truncated_header.dsm"] = (good[:8 + n // 2], "truncated file")
    out["truncated_data.dsm"] = (good[:-6], "truncated file")
    out["short.dsm"] = (good[:5], "truncated file")
    bad_json = bytearray(good)
    bad_json[8 + bytes(good[8:8 + n]).index(b'"dtype":') + 7] = ord(";")
    out["bad_json.dsm"] = (bytes(bad_json), "not valid JSON")

    def out_of_range(h):
        last = max((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])
        b, e = h[last]["data_offsets"]
        h[last]["data_offsets"] = [b + 64, e + 64]
    out["offsets_out_of_range.dsm"] = (_edit(good, out_of_range), "out of range")

    def overlap(h):
        names = sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])
        b, e = h[names[1]]["data_offsets"]
        h[names[1]]["data_offsets"] = [b - 4, e - 4]
    out["offsets_overlap.dsm"] = (_edit(good, overlap), "overlap")

    def dtype(h):
        h["q.in_zero"]["dtype"] = "U32"
    out["unknown_dtype.dsm"] = (_edit(good, dtype), "unknown dtype")

    def shape(h):
        h["a.weight"]["shape"] = [3, 3]
    out["shape_mismatch.dsm"] = (_edit(good, shape), "needs")

    def major(h):
        h["__metadata__"]["format_version"] = "2.0"
    out["major_version.dsm"] = (_edit(good, major), "major version 2")

    def nometa(h):
        del h["__metadata__"]["format"]
    out["missing_metadata.dsm"] = (_edit(good, nometa), "'format' missing")
    flipped = bytearray(good)
    flipped[-3] ^= 0x01
    out["bad_checksum.dsm"] = (bytes(flipped), "checksum mismatch")
    return out
