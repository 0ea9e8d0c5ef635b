"""Model file format: round trip, canonical bytes, checksum, and every corruption rejected with a clear error."""
import json
import os
import struct

import numpy as np
import pytest

from tools.convert import format as fm
from tools.convert.fold import fp32_metadata, random_fp32
from tools.convert.format_fixtures import _split, minimal, rebuild, variants
from tools.make_fixtures import FIXTURE_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORMAT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "format")


def test_crc32_test_vectors():
    assert fm.crc32(b"123456789") == 0xCBF43926
    assert fm.crc32(b"") == 0
    assert fm.crc32(b"dualsam-edge") == 0x8DE1583E


def test_round_trip_preserves_tensors_and_metadata():
    t = {"x.w": np.arange(12, dtype=np.float32).reshape(3, 4), "x.q": np.array([-127, 0, 127], np.int8),
         "x.z": np.array([-128, 7], np.int32), "s": np.zeros((1,), np.float32)}
    meta = {"format": fm.FORMAT_NAME, "format_version": "1.0", "numerics_version": "2", "dtype": "fp32",
            "config": '{"name":"format-test"}', "calibration": "{}"}
    mf = fm.decode(fm.encode(t, meta))
    assert set(mf.tensors) == set(t)
    for k in t:
        assert mf.tensors[k].dtype == t[k].dtype and np.array_equal(mf.tensors[k], t[k])
    assert mf.metadata["config"] == meta["config"] and mf.metadata["checksum"].startswith("crc32:")


def test_encoding_is_canonical_and_deterministic():
    a, b = minimal(), minimal()
    assert a == b
    n = struct.unpack_from("<Q", a, 0)[0]
    assert n % 8 == 0
    header = a[8:8 + n].rstrip(b" ")
    assert header.startswith(b'{"__metadata__":{"calibration":')
    assert header.count(fm.CHECKSUM_MARKER) == 1


def test_checksum_covers_header_and_data():
    good = minimal()
    n = struct.unpack_from("<Q", good, 0)[0]
    for pos in (3, 8 + 20, len(good) - 1):     # length field, header, data
        bad = bytearray(good)
        bad[pos] ^= 0x20 if pos == 8 + 20 else 0x01
        with pytest.raises(fm.ModelFormatError):
            fm.decode(bytes(bad))
    assert 8 + n < len(good)


@pytest.mark.parametrize("name", sorted(k for k in variants() if k != "minimal.dsm"))
def test_corrupt_variant_rejected_with_named_problem(name):
    raw, phrase = variants()[name]
    with pytest.raises(fm.ModelFormatError) as e:
        fm.decode(raw)
    assert phrase in str(e.value)


def test_committed_format_fixtures_match_generator():
    for name, (raw, _) in variants().items():
        with open(os.path.join(FORMAT_DIR, name), "rb") as f:
            assert f.read() == raw, name


def _fixture_fp32() -> bytes:
    return fm.encode(random_fp32(FIXTURE_CONFIG, 1), fp32_metadata(FIXTURE_CONFIG))


def _edit(raw, fn):
    header, data = _split(raw)
    fn(header)
    return rebuild(header, data)


def test_valid_model_passes_schema():
    mf = fm.decode(_fixture_fp32())
    assert mf.dtype == "fp32" and mf.config["name"] == "fixture"


def test_missing_tensor_rejected():
    t = random_fp32(FIXTURE_CONFIG, 1)
    del t["enc.blocks.0.attn.proj.bias"]
    with pytest.raises(fm.ModelFormatError, match="required tensor 'enc.blocks.0.attn.proj.bias' missing"):
        fm.decode(fm.encode(t, fp32_metadata(FIXTURE_CONFIG)))


def test_shape_config_mismatch_rejected():
    cfg = dict(FIXTURE_CONFIG, mlp_dim=FIXTURE_CONFIG["mlp_dim"] * 2)
    raw = fm.encode(random_fp32(FIXTURE_CONFIG, 1), fp32_metadata(cfg))
    with pytest.raises(fm.ModelFormatError, match="does not match the config"):
        fm.decode(raw)


def test_config_missing_key_rejected():
    meta = fp32_metadata(FIXTURE_CONFIG)
    cfg = json.loads(meta["config"])
    del cfg["window_size"]
    meta["config"] = json.dumps(cfg)
    with pytest.raises(fm.ModelFormatError, match="config is missing keys: window_size"):
        fm.decode(fm.encode(random_fp32(FIXTURE_CONFIG, 1), meta))


def test_bad_numerics_version_and_dtype_rejected():
    for key, val, msg in (("numerics_version", "1", "numerics_version"), ("dtype", "int4", "neither int8"),
                          ("format", "other", "format is 'other'")):
        raw = _edit(minimal(), lambda h: h["__metadata__"].__setitem__(key, val))
        with pytest.raises(fm.ModelFormatError, match=msg):
            fm.decode(raw)


def test_checksum_marker_missing_or_repeated_rejected():
    raw = _edit(minimal(), lambda h: h["__metadata__"].__setitem__("checksum", "sha1:0"))
    with pytest.raises(fm.ModelFormatError, match="marker"):
        fm.decode(raw)


def test_trailing_bytes_and_gaps_rejected():
    with pytest.raises(fm.ModelFormatError, match="trailing bytes"):
        fm.decode(rebuild(*_split(minimal())[:1], _split(minimal())[1] + b"\0" * 8))


def test_int8_quant_constant_ranges_checked():
    from tools.make_fixtures import fixture_models
    _, int8, _ = fixture_models()
    mf = fm.decode(int8)
    t = {k: np.array(v) for k, v in mf.tensors.items()}
    t["enc.blocks.0.attn.qkv.shift"][0] = 70
    meta = {k: v for k, v in mf.metadata.items() if k != "checksum"}
    with pytest.raises(fm.ModelFormatError, match="shift outside"):
        fm.decode(fm.encode(t, meta))


@pytest.mark.parametrize("suffix", ["out_scale", "out_zero"])
def test_fc1_output_quantization_must_be_one_value(suffix):
    from tools.make_fixtures import fixture_models
    _, int8, _ = fixture_models()
    mf = fm.decode(int8)
    t = {k: np.array(v) for k, v in mf.tensors.items()}
    name = f"enc.blocks.0.mlp.fc1.{suffix}"
    assert t[name].size > 1
    t[name][-1] = t[name][-1] + (1 if suffix == "out_zero" else t[name][-1] * np.float32(1e-3))
    meta = {k: v for k, v in mf.metadata.items() if k != "checksum"}
    with pytest.raises(fm.ModelFormatError, match="same for every row"):
        fm.decode(fm.encode(t, meta))
