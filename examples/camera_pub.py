#!/usr/bin/env python3
"""A stand-in camera driver: publishes raw frames for edge-daemon's camera source (docs/WIRE.md, "Camera frames (input)").

Each message has three frames: the topic (default "frame"), a 42-byte little-endian header plus the
frame_id, and the pixel rows. Frames come from image files (PNG/JPEG/PPM, via Pillow) or are synthetic.

    examples/camera_pub.py --endpoint tcp://127.0.0.1:5550 --frames samples/ --rate 5 --loop
    examples/camera_pub.py --synthetic 640x480 --encoding bgr8 --count 100

The daemon connects to this endpoint (config [camera] endpoint) and subscribes to the topic.
"""
import argparse
import pathlib
import struct
import sys
import time

MAGIC = b"EDGF"
VERSION = 1
ENCODINGS = {"rgb8": (0, 3), "bgr8": (1, 3), "mono8": (2, 1), "yuyv": (3, 2)}
HEADER = struct.Struct("<4sHHIIIIQQH")  # 42 bytes, then frame_id
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm")


def pack_header(encoding, width, height, step, seq, stamp_ns, frame_id):
    """The header frame: fixed fields then the UTF-8 frame_id (at most 255 bytes)."""
    code, _ = ENCODINGS[encoding]
    ident = frame_id.encode("utf-8")
    if len(ident) > 255:
        raise ValueError("frame_id longer than 255 bytes")
    return HEADER.pack(MAGIC, VERSION, code, width, height, step, 0, seq, stamp_ns, len(ident)) + ident


def unpack_header(data):
    """Parses a header frame into a dict (the inverse of pack_header)."""
    if len(data) < HEADER.size:
        raise ValueError("header shorter than %d bytes" % HEADER.size)
    magic, version, code, width, height, step, _, seq, stamp, n = HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ValueError("not an EDGF v1 header")
    names = {c: name for name, (c, _) in ENCODINGS.items()}
    if code not in names or len(data) != HEADER.size + n:
        raise ValueError("bad encoding code or frame_id length")
    return {"encoding": names[code], "width": width, "height": height, "step": step, "seq": seq,
            "capture_stamp_ns": stamp, "frame_id": data[HEADER.size:].decode("utf-8")}


def to_pixels(image, encoding):
    """Pillow image -> (width, height, step, bytes) in the requested encoding."""
    if encoding == "mono8":
        image = image.convert("L")
        data = image.tobytes()
    elif encoding == "yuyv":
        import numpy as np
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        if rgb.shape[1] % 2:
            rgb = rgb[:, :-1]
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = 0.299 * r + 0.587 * g + 0.114 * b
        u = 128 + 0.492 * (b - y)
        v = 128 + 0.877 * (r - y)
        out = np.empty((rgb.shape[0], rgb.shape[1] * 2), dtype=np.uint8)
        out[:, 0::2] = np.clip(y, 0, 255)
        out[:, 1::4] = np.clip((u[:, 0::2] + u[:, 1::2]) / 2, 0, 255)
        out[:, 3::4] = np.clip((v[:, 0::2] + v[:, 1::2]) / 2, 0, 255)
        return rgb.shape[1], rgb.shape[0], rgb.shape[1] * 2, out.tobytes()
    else:
        image = image.convert("RGB")
        data = image.tobytes()
        if encoding == "bgr8":
            import numpy as np
            data = np.ascontiguousarray(np.asarray(image)[..., ::-1]).tobytes()
    _, bpp = ENCODINGS[encoding]
    return image.width, image.height, image.width * bpp, data


def frames_from(args):
    """Yields (frame_id, Pillow image) forever or until the files run out."""
    from PIL import Image
    if args.synthetic:
        width, height = (int(v) for v in args.synthetic.lower().split("x"))
        index = 0
        while True:
            image = Image.new("RGB", (width, height), (0, 40, 80))
            # A bright disc that moves, so something changes from frame to frame.
            from PIL import ImageDraw
            cx = (index * 7) % width
            ImageDraw.Draw(image).ellipse((cx - 20, height // 2 - 20, cx + 20, height // 2 + 20), fill=(240, 200, 60))
            yield "synthetic_%06d" % index, image
            index += 1
    path = pathlib.Path(args.frames)
    files = [path] if path.is_file() else sorted(
        (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
        key=lambda p: p.name.encode())
    if not files:
        sys.exit("camera_pub: no images in %s" % path)
    while True:
        for file in files:
            yield file.name, Image.open(file)
        if not args.loop:
            return


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5550", help="endpoint to bind (PUB)")
    parser.add_argument("--topic", default="frame")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", help="an image file or a directory of images")
    source.add_argument("--synthetic", metavar="WxH", help="generate frames of this size")
    parser.add_argument("--encoding", choices=sorted(ENCODINGS), default="rgb8")
    parser.add_argument("--rate", type=float, default=5.0, help="frames per second")
    parser.add_argument("--count", type=int, default=0, help="stop after this many frames (0: no limit)")
    parser.add_argument("--loop", action="store_true", help="repeat the files")
    parser.add_argument("--camera-frame-id", default="", help="frame_id to send (default: the file name)")
    args = parser.parse_args(argv)

    import zmq
    context = zmq.Context()
    socket = context.socket(zmq.PUB)
    socket.setsockopt(zmq.LINGER, 500)
    socket.setsockopt(zmq.SNDHWM, 2)
    socket.bind(args.endpoint)
    time.sleep(0.3)  # let subscribers connect (ZeroMQ drops messages sent before they join)
    period = 1.0 / args.rate if args.rate > 0 else 0.0
    next_due = time.monotonic()
    seq = 0
    try:
        for name, image in frames_from(args):
            seq += 1
            width, height, step, data = to_pixels(image, args.encoding)
            header = pack_header(args.encoding, width, height, step, seq, time.time_ns(), args.camera_frame_id or name)
            socket.send_multipart([args.topic.encode(), header, data])
            print("sent seq %d %s %dx%d %s" % (seq, name, width, height, args.encoding), flush=True)
            if args.count and seq >= args.count:
                break
            next_due += period
            time.sleep(max(0.0, next_due - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        socket.close()
        context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
