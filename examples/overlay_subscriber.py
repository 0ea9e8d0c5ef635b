#!/usr/bin/env python3
"""Subscribes to edge-daemon's detections, prints one line per frame and writes overlay images.

For each `det/<camera>` message (JSON, docs/WIRE.md) it prints the frame, each instance's score, box
and area, and, given the replay directory, draws every instance's mask outline and box on the
source frame and writes it to the output directory as overlay_<frame_id>.png.

    examples/overlay_subscriber.py --endpoint ipc:///run/edge-daemon/detections.sock \\
        --frames /usr/share/dualsam-edge/samples --out overlays/ --count 10

Frames are matched by frame_id: the replay source numbers frames 1, 2, ... in file-name (byte) order,
so frame_id N is the ((N - 1) mod number-of-files)-th image of the directory.
"""
import argparse
import json
import pathlib
import sys

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm")
COLOURS = [(255, 64, 64), (64, 255, 64), (64, 160, 255), (255, 220, 0), (255, 0, 255), (0, 255, 255)]


def list_frames(directory):
    """The replay directory's images in the daemon's order (byte order of names, no dot files)."""
    path = pathlib.Path(directory)
    if path.is_file():
        return [path]
    return sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                  key=lambda p: p.name.encode())


def frame_path(frames, frame_id):
    """The image a replayed frame_id came from (frame ids start at 1 and keep counting when looping)."""
    if not frames or frame_id < 1:
        return None
    return frames[(frame_id - 1) % len(frames)]


def decode_mask(mask):
    """A wire mask {"size": [h, w], "counts": "<COCO compressed RLE>"} -> HxW uint8 array of 0/1."""
    from pycocotools import mask as coco
    h, w = mask["size"]
    if h == 0 or w == 0:
        import numpy as np
        return np.zeros((h, w), dtype=np.uint8)
    return coco.decode({"size": [h, w], "counts": mask["counts"].encode("ascii")})


def outline(mask):
    """Pixels of the mask with a 4-neighbour outside the mask (or on the image border)."""
    import numpy as np
    m = mask.astype(bool)
    padded = np.pad(m, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return m & ~interior


def describe(message, source=None):
    """One readable line for a detection message."""
    instances = message.get("instances", [])
    latency = message.get("latency_us", {})
    total_ms = sum(latency.get(k, 0) for k in ("queue", "preprocess", "inference", "postprocess")) / 1000.0
    head = "frame %d%s: %d animal%s, %.1f ms" % (
        message["frame_id"], " (%s)" % source.name if source else "", len(instances), "" if len(instances) == 1 else "s",
        total_ms)
    parts = ["#%d score %.2f bbox [%d %d %d %d] area %d" % (
        i["id"], i["score"], i["bbox"][0], i["bbox"][1], i["bbox"][2], i["bbox"][3], i["area"]) for i in instances]
    if message.get("dropped_frames"):
        parts.append("%d frames dropped before it" % message["dropped_frames"])
    return " | ".join([head] + parts)


def render_overlay(image, message):
    """Draws each instance's mask outline (thickened) and box, with id and score, on a copy of `image`."""
    import numpy as np
    from PIL import Image, ImageDraw
    canvas = np.array(image.convert("RGB"))
    for index, instance in enumerate(message.get("instances", [])):
        colour = COLOURS[index % len(COLOURS)]
        mask = decode_mask(instance["mask"])
        if mask.shape != canvas.shape[:2]:
            raise ValueError("mask size %s does not match the frame %s" % (mask.shape, canvas.shape[:2]))
        edge = outline(mask)
        # Thicken the outline by one pixel so it is visible on large frames.
        thick = edge.copy()
        thick[1:, :] |= edge[:-1, :]
        thick[:, 1:] |= edge[:, :-1]
        canvas[thick] = colour
    result = Image.fromarray(canvas)
    draw = ImageDraw.Draw(result)
    for index, instance in enumerate(message.get("instances", [])):
        colour = COLOURS[index % len(COLOURS)]
        x, y, w, h = instance["bbox"]
        if w > 0 and h > 0:
            draw.rectangle((x, y, x + w - 1, y + h - 1), outline=colour, width=1)
            draw.text((x + 2, max(0, y - 11)), "%d: %.2f" % (instance["id"], instance["score"]), fill=colour)
    return result


def handle(message, frames, out_dir):
    """Prints the line for one message and writes its overlay; returns the overlay path or None."""
    from PIL import Image
    source = frame_path(frames, message["frame_id"]) if frames else None
    print(describe(message, source), flush=True)
    if source is None or out_dir is None:
        return None
    image = Image.open(source)
    if (image.width, image.height) != (message["image"]["width"], message["image"]["height"]):
        print("  skipped overlay: %s is %dx%d, the detections are for %dx%d" % (
            source.name, image.width, image.height, message["image"]["width"], message["image"]["height"]), flush=True)
        return None
    target = pathlib.Path(out_dir) / ("overlay_%06d.png" % message["frame_id"])
    render_overlay(image, message).save(target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="ipc:///run/edge-daemon/detections.sock")
    parser.add_argument("--camera", default="cam0", help="subscribes to det/<camera>")
    parser.add_argument("--frames", help="the replay directory (or file) the daemon reads")
    parser.add_argument("--out", help="directory for overlay PNGs (needs --frames)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (0: no limit)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many seconds without a message")
    args = parser.parse_args(argv)

    import signal
    import zmq

    def stop(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:
        pass  # not the main thread (called from a test): SIGTERM keeps its default

    frames = list_frames(args.frames) if args.frames else []
    if args.out:
        pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, ("det/" + args.camera).encode())
    socket.connect(args.endpoint)
    received = 0
    try:
        while not args.count or received < args.count:
            if args.timeout and not socket.poll(int(args.timeout * 1000)):
                print("no detections for %.1f s, stopping" % args.timeout, file=sys.stderr)
                break
            parts = socket.recv_multipart()
            if len(parts) != 2 or parts[0] != ("det/" + args.camera).encode():
                continue
            message = json.loads(parts[1])
            if str(message.get("schema", "")).split(".")[0] != "1":
                print("skipping message with unknown schema %r" % message.get("schema"), file=sys.stderr)
                continue
            handle(message, frames, args.out)
            received += 1
    except KeyboardInterrupt:
        pass
    finally:
        socket.close()
        context.term()
    return 0 if received or not args.count else 1


if __name__ == "__main__":
    sys.exit(main())
