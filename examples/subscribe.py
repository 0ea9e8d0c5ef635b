#!/usr/bin/env python3
"""Subscribe to dualsam-edge detections (docs/WIRE.md) and print one readable line per message.

Needs pyzmq and pycocotools (masks are COCO RLE). Reports seq gaps (messages this subscriber missed)
and rejects messages whose schema major it does not know.

    python3 examples/subscribe.py --endpoint tcp://robot.local:5555
    python3 examples/subscribe.py --endpoint tcp://robot.local:5555 --topic det/cam0 --count 100
    # CURVE: the publisher's public key file, and this subscriber's secret key file (listed on the robot)
    python3 examples/subscribe.py --endpoint tcp://robot.local:5555 --server-key server.pub --client-key me.key
    # make a key pair for this subscriber (give me.pub to the robot's allow-list)
    python3 examples/subscribe.py --keygen me.pub me.key
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import zmq
from pycocotools import mask as mask_utils

SCHEMA_MAJOR = 1
Z85 = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


def read_key(path):
    """The single Z85 key in a dualsam-edge key file (lines starting with '#' are comments)."""
    keys = []
    with open(path) as f:
        for line in f:
            tokens = line.split()
            if tokens and len(tokens[0]) == 40 and set(tokens[0]) <= Z85:
                keys.append(tokens[0])
    if len(keys) != 1:
        raise SystemExit(f"{path}: expected exactly one Z85 key, found {len(keys)}")
    return keys[0].encode()


def write_key_pair(public_path, secret_path):
    public, secret = zmq.curve_keypair()
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"# dualsam-edge CURVE secret key: keep private\n{secret.decode()}\n")
    with open(public_path, "x") as f:
        f.write(f"# dualsam-edge CURVE public key: add to the robot's allow-list\n{public.decode()}\n")
    print(public.decode())


def decode_mask(rle):
    """The COCO RLE of docs/WIRE.md as a (height, width) uint8 array."""
    h, w = rle["size"]
    return mask_utils.decode({"size": [h, w], "counts": rle["counts"].encode()})


class Printer:
    """Turns (topic, body) into lines; keeps the last seq per topic to report gaps."""

    def __init__(self, masks=True):
        self.last = {}  # topic -> (boot_id, seq)
        self.masks = masks
        self.gaps = 0

    def lines(self, topic, body):
        try:
            message = json.loads(body)
            major = int(str(message["schema"]).split(".")[0])
        except (ValueError, KeyError, TypeError):
            return [f"{topic}: unreadable message ({len(body)} bytes)"]
        if major != SCHEMA_MAJOR:
            return [f"{topic}: schema {message['schema']} not supported (this subscriber reads {SCHEMA_MAJOR}.x)"]
        out = []
        key = (message["boot_id"], message["seq"])
        previous = self.last.get(topic)
        if previous and previous[0] == key[0] and key[1] > previous[1] + 1:
            missed = key[1] - previous[1] - 1
            self.gaps += missed
            out.append(f"GAP {topic}: missed {missed} message(s), seq {previous[1] + 1}..{key[1] - 1}")
        self.last[topic] = key
        kind = message.get("type")
        if kind == "detection":
            lat = message["latency_us"]
            total_ms = (lat["queue"] + lat["preprocess"] + lat["inference"] + lat["postprocess"]) / 1000
            age_ms = (time.clock_gettime_ns(time.CLOCK_REALTIME) - message["capture_realtime_ns"]) / 1e6
            out.append(f"{topic} seq={message['seq']} frame={message['frame_id']} "
                       f"image={message['image']['width']}x{message['image']['height']} "
                       f"instances={len(message['instances'])} dropped={message['dropped_frames']} "
                       f"pipeline={total_ms:.1f}ms age={age_ms:.0f}ms")
            for inst in message["instances"]:
                line = (f"  #{inst['id']} label={inst['label']} score={inst['score']:.3f} bbox={inst['bbox']} "
                        f"area={inst['area']} centroid=({inst['centroid'][0]:.1f},{inst['centroid'][1]:.1f})")
                if self.masks:
                    pixels = int(np.count_nonzero(decode_mask(inst["mask"])))
                    line += f" mask_px={pixels}" + ("" if pixels == inst["area"] else " (AREA MISMATCH)")
                out.append(line)
        elif kind == "health":
            lat = message["latency_us"]
            out.append(f"health seq={message['seq']} state={message['state']} fps={message['fps']:.2f} "
                       f"p50={lat['p50'] / 1000:.1f}ms p99={lat['p99'] / 1000:.1f}ms "
                       f"dropped={message['dropped_frames']} errors={message['errors']['count']}")
        elif kind == "meta":
            labels = ",".join(f"{l['id']}:{l['name']}" for l in message["labels"])
            out.append(f"meta seq={message['seq']} model={message['model']['id']} "
                       f"input={message['input']['width']}x{message['input']['height']} labels={labels}")
        else:
            out.append(f"{topic}: unknown message type {kind!r}")
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    parser.add_argument("--topic", action="append", help="topic prefix (repeatable); default: det/, health, meta")
    parser.add_argument("--count", type=int, default=0, help="exit after this many detection messages")
    parser.add_argument("--timeout", type=float, default=0, help="exit after this many seconds without a message")
    parser.add_argument("--server-key", help="the publisher's public key file (enables CURVE)")
    parser.add_argument("--client-key", help="this subscriber's secret key file (CURVE)")
    parser.add_argument("--no-masks", action="store_true", help="do not decode masks")
    parser.add_argument("--keygen", nargs=2, metavar=("PUBLIC", "SECRET"), help="write a client key pair and exit")
    args = parser.parse_args(argv)
    if args.keygen:
        write_key_pair(*args.keygen)
        return 0

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if args.server_key:
        if not args.client_key:
            parser.error("--server-key needs --client-key")
        secret = read_key(args.client_key)
        sub.curve_serverkey = read_key(args.server_key)
        sub.curve_secretkey = secret
        sub.curve_publickey = zmq.curve_public(secret)
    for topic in args.topic or ["det/", "health", "meta"]:
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sub.connect(args.endpoint)

    printer = Printer(masks=not args.no_masks)
    detections = 0
    try:
        while True:
            if args.timeout and not sub.poll(int(args.timeout * 1000)):
                print(f"no message for {args.timeout} s", file=sys.stderr)
                return 1
            frames = sub.recv_multipart()
            if len(frames) != 2:
                print(f"ignoring a message of {len(frames)} frames", file=sys.stderr)
                continue
            topic = frames[0].decode(errors="replace")
            for line in printer.lines(topic, frames[1]):
                print(line, flush=True)
            if topic.startswith("det/"):
                detections += 1
                if args.count and detections >= args.count:
                    return 0
    except KeyboardInterrupt:
        return 0
    finally:
        sub.close()
        context.term()


if __name__ == "__main__":
    sys.exit(main())
