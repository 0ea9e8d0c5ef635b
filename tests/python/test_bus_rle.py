"""COCO RLE and JSON written by the Swift side (LiteModel.COCORLE, Bus.WireEncoder), checked by pycocotools
and Python's json module."""
import json
import re

import numpy as np
from pycocotools import mask as mask_utils

from bus_support import run_testpub


def edge_case_masks():
    rng = np.random.default_rng(12345)
    masks = []
    for h, w in [(1, 1), (1, 2), (2, 1), (1, 37), (37, 1), (3, 5), (5, 3), (7, 7), (31, 17), (64, 48), (97, 131)]:
        masks.append(np.zeros((h, w), np.uint8))
        masks.append(np.ones((h, w), np.uint8))
        for index in [0, h * w - 1, (h * w) // 2]:
            m = np.zeros(h * w, np.uint8)
            m[index] = 1
            masks.append(m.reshape(h, w))
        m = np.ones(h * w, np.uint8)
        m[0] = 0
        masks.append(m.reshape(h, w))
        m = np.ones(h * w, np.uint8)
        m[-1] = 0
        masks.append(m.reshape(h, w))
    for _ in range(600):
        h, w = rng.integers(1, 60, size=2)
        density = rng.random()
        masks.append((rng.random((h, w)) < density).astype(np.uint8))
    # Long runs: counts above 2^15 need several 5-bit groups and negative differences.
    big = np.zeros((300, 400), np.uint8)
    big[20:280, 50:350] = 1
    big[100, 100] = 0
    masks.append(big)
    return masks


def test_pycocotools_decodes_every_rle_we_write_to_the_identical_mask():
    masks = edge_case_masks()
    lines = "".join(f"{m.shape[0]} {m.shape[1]} {''.join(map(str, m.ravel()))}\n" for m in masks)
    counts = run_testpub("rle", input=lines).splitlines()
    assert len(counts) == len(masks)
    for m, ours in zip(masks, counts):
        rle = {"size": [m.shape[0], m.shape[1]], "counts": ours.encode()}
        decoded = mask_utils.decode(rle)
        assert decoded.shape == m.shape
        assert np.array_equal(decoded, m), (m.shape, ours)
        assert int(mask_utils.area(rle)) == int(m.sum())
        # Byte-identical to pycocotools' own encoder.
        assert ours == mask_utils.encode(np.asfortranarray(m))["counts"].decode()


def test_random_messages_are_valid_json_with_consistent_instances():
    text = run_testpub("json", "--seed", "31", "--count", "1500")
    lines = text.splitlines()
    assert len(lines) == 1500
    empty = 0
    for seq, line in enumerate(lines):
        message = json.loads(line)
        assert message["schema"] == "1.0" and message["type"] == "detection" and message["seq"] == seq
        # Every float carries exactly 4 decimals.
        for match in re.finditer(r'"(?:score|center|centroid)":\[?(-?[0-9.]+(?:,-?[0-9.]+)?)', line):
            for number in match.group(1).split(","):
                assert re.fullmatch(r"-?\d+\.\d{4}", number), number
        h, w = message["image"]["height"], message["image"]["width"]
        union = np.zeros((h, w), np.uint8)
        if not message["instances"]:
            empty += 1
        for inst in message["instances"]:
            assert inst["mask"]["size"] == [h, w]
            m = mask_utils.decode({"size": [h, w], "counts": inst["mask"]["counts"].encode()})
            union |= m
            assert int(m.sum()) == inst["area"]
            x, y, bw, bh = inst["bbox"]
            assert inst["size"] == [bw, bh]
            assert inst["center"] == [round(x + bw / 2, 4), round(y + bh / 2, 4)]
            if inst["area"]:
                ys, xs = np.nonzero(m)
                assert [x, y, bw, bh] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                assert list(mask_utils.toBbox({"size": [h, w], "counts": inst["mask"]["counts"].encode()})) \
                    == [x, y, bw, bh]
                assert abs(inst["centroid"][0] - xs.mean()) <= 5e-5 + 1e-9
                assert abs(inst["centroid"][1] - ys.mean()) <= 5e-5 + 1e-9
            assert 0 <= inst["score"] <= 1
        full = mask_utils.decode({"size": [h, w], "counts": message["mask"]["counts"].encode()})
        assert np.array_equal(full, union)
    assert empty > 100
