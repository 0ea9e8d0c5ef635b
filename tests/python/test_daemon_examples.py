"""Tests of examples/camera_pub.py (frame header) and examples/overlay_subscriber.py (decode and draw)."""
import json
import pathlib
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import camera_pub  # noqa: E402
import overlay_subscriber  # noqa: E402

# The same bytes as CameraSourceTests.testHeaderGoldenVector (Swift): both sides agree on the layout.
GOLDEN = "454447460100000004000000020000000c00000000000000070000000000000015cd853dfe9c9717040063616d30"


def test_header_matches_swift_golden_vector():
    header = camera_pub.pack_header("rgb8", 4, 2, 12, 7, 1_700_000_000_123_456_789, "cam0")
    assert header.hex() == GOLDEN
    assert camera_pub.unpack_header(header) == {
        "encoding": "rgb8", "width": 4, "height": 2, "step": 12, "seq": 7,
        "capture_stamp_ns": 1_700_000_000_123_456_789, "frame_id": "cam0"}


def test_header_rejects_garbage():
    with pytest.raises(ValueError):
        camera_pub.unpack_header(b"EDGF")
    bad = bytearray(bytes.fromhex(GOLDEN))
    bad[0] = 0
    with pytest.raises(ValueError):
        camera_pub.unpack_header(bytes(bad))


@pytest.mark.parametrize("encoding,bpp", [("rgb8", 3), ("bgr8", 3), ("mono8", 1), ("yuyv", 2)])
def test_pixels_have_step_times_height_bytes(encoding, bpp):
    image = Image.new("RGB", (6, 4), (10, 20, 30))
    width, height, step, data = camera_pub.to_pixels(image, encoding)
    assert (width, height, step) == (6, 4, 6 * bpp)
    assert len(data) == step * height
    if encoding == "bgr8":
        assert data[:3] == bytes([30, 20, 10])


def _mask_json(mask):
    from pycocotools import mask as coco
    rle = coco.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _message(frame_id=2, width=40, height=30):
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[5:15, 10:30] = 1
    return {
        "schema": "1.0", "type": "detection", "frame_id": frame_id, "camera": "cam0",
        "image": {"width": width, "height": height}, "dropped_frames": 0,
        "latency_us": {"queue": 100, "preprocess": 200, "inference": 3000, "postprocess": 700},
        "instances": [{"id": 1, "label": 1, "score": 0.875, "bbox": [10, 5, 20, 10], "area": 200,
                       "mask": _mask_json(mask)}],
        "mask": _mask_json(mask),
    }, mask


def test_decode_mask_round_trips_pycocotools():
    message, mask = _message()
    assert np.array_equal(overlay_subscriber.decode_mask(message["instances"][0]["mask"]), mask)


def test_outline_is_the_mask_border():
    mask = np.zeros((7, 7), dtype=np.uint8)
    mask[1:6, 1:6] = 1
    edge = overlay_subscriber.outline(mask)
    assert edge.sum() == 16  # the ring of a 5x5 square
    assert not edge[3, 3] and edge[1, 3]


def test_render_overlay_draws_outline_and_box(tmp_path):
    message, mask = _message()
    frame = Image.new("RGB", (40, 30), (0, 0, 0))
    result = np.array(overlay_subscriber.render_overlay(frame, message))
    colour = overlay_subscriber.COLOURS[0]
    assert tuple(result[5, 20]) == colour  # top edge of the mask and of the box
    assert tuple(result[10, 20]) == (0, 0, 0)  # the interior stays untouched
    assert tuple(result[25, 35]) == (0, 0, 0)


def test_render_overlay_rejects_a_mask_of_another_size():
    message, _ = _message(width=40, height=30)
    with pytest.raises(ValueError):
        overlay_subscriber.render_overlay(Image.new("RGB", (20, 20)), message)


def test_frame_mapping_follows_replay_order_and_loops(tmp_path):
    for name in ["b.png", "a.ppm", ".hidden.png", "notes.txt", "c.JPG"]:
        (tmp_path / name).write_bytes(b"x")
    frames = overlay_subscriber.list_frames(tmp_path)
    assert [p.name for p in frames] == ["a.ppm", "b.png", "c.JPG"]
    assert overlay_subscriber.frame_path(frames, 1).name == "a.ppm"
    assert overlay_subscriber.frame_path(frames, 5).name == "b.png"
    assert overlay_subscriber.frame_path(frames, 0) is None


def test_describe_is_readable():
    message, _ = _message()
    line = overlay_subscriber.describe(message, pathlib.Path("x/frame_0002.png"))
    assert line == "frame 2 (frame_0002.png): 1 animal, 4.0 ms | #1 score 0.88 bbox [10 5 20 10] area 200"


def test_subscriber_end_to_end_over_zeromq(tmp_path):
    zmq = pytest.importorskip("zmq")
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("RGB", (40, 30), (0, 0, 40)).save(frames / "frame_0001.png")
    Image.new("RGB", (40, 30), (0, 40, 0)).save(frames / "frame_0002.png")
    out = tmp_path / "out"
    context = zmq.Context()
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    port = publisher.bind_to_random_port("tcp://127.0.0.1")
    message, _ = _message(frame_id=2)
    stop = threading.Event()

    def publish():
        while not stop.is_set():
            publisher.send_multipart([b"det/other", b"{}"])
            publisher.send_multipart([b"det/cam0", json.dumps(message).encode()])
            time.sleep(0.02)

    thread = threading.Thread(target=publish)
    thread.start()
    try:
        status = overlay_subscriber.main(["--endpoint", "tcp://127.0.0.1:%d" % port, "--frames", str(frames),
                                          "--out", str(out), "--count", "1", "--timeout", "10"])
    finally:
        stop.set()
        thread.join()
        publisher.close()
        context.term()
    assert status == 0
    overlay = Image.open(out / "overlay_000002.png")
    assert overlay.size == (40, 30)
    assert tuple(np.array(overlay)[5, 20]) == overlay_subscriber.COLOURS[0]
