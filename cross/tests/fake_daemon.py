"""A stand-in for edge-daemon in the tests of cross/determinism: --help, check-config and run, where run
replays the frame names of the configured directory as det/ messages with volatile fields that change on
every message. FAKE_HELP=old hides `run`; FAKE_SCORE_SHIFT=FRAME makes that frame's score differ."""
import json
import os
import random
import signal
import sys
import time


def config_values(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def main():
    args = sys.argv[1:]
    if args[:1] == ["--help"]:
        print("usage: edge-daemon COMMAND\n\ncommands:")
        if os.environ.get("FAKE_HELP") != "old":
            print("  run           run the pipeline\n  check-config  check the config")
        print("  version       print the version")
        return 0
    if args[:2] == ["check-config", "--config"]:
        return 0 if "endpoints" in config_values(args[2]) else 64
    if args[:2] != ["run", "--config"]:
        return 64
    import zmq

    values = config_values(args[2])
    frames = sorted(os.listdir(values["path"]))
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(values["endpoints"])
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    seq = 0
    while running[0]:
        for frame in frames:
            score = "0.875" if os.environ.get("FAKE_SCORE_SHIFT") != frame else "0.8750"
            body = ('{"schema": "1.0", "seq": %d, "boot_id": "%x", "frame_id": "%s", '
                    '"capture": {"mono_ns": %d, "real_ns": %d}, "latency_ms": {"inference": %.3f}, '
                    '"instances": [{"id": 1, "score": %s, "bbox": [1, 2, 3, 4], "mask": "PPYo1"}]}'
                    % (seq, random.getrandbits(64), frame, time.monotonic_ns(), time.time_ns(),
                       random.random(), score))
            json.loads(body)
            pub.send_multipart([b"det/determinism", body.encode()])
            seq += 1
            time.sleep(0.05)
            if not running[0]:
                break
    pub.close()
    context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
