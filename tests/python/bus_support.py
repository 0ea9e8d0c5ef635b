"""Helpers for the bus tests: build and drive bus-testpub (Sources/bus-testpub), pyzmq subscribers.

Everything runs on loopback (tcp://127.0.0.1, ipc in a temp dir) with bounded timeouts.
"""
import functools
import pathlib
import subprocess
import time

import pytest
import zmq

ROOT = pathlib.Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=1)
def bus_testpub_binary():
    """Builds bus-testpub (a no-op when up to date) and returns its path; fails the test if it cannot."""
    build = subprocess.run(["swift", "build", "--product", "bus-testpub"], cwd=ROOT, capture_output=True,
                           text=True, timeout=900)
    if build.returncode != 0:
        pytest.fail("swift build --product bus-testpub failed:\n" + build.stdout[-3000:] + build.stderr[-3000:])
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120).stdout.strip()
    path = pathlib.Path(bin_dir) / "bus-testpub"
    if not path.exists():
        pytest.fail(f"bus-testpub not found at {path}")
    return path


def run_testpub(*args, input=None, timeout=120):
    """Runs a one-shot bus-testpub command and returns its stdout (fails the test on a non-zero exit)."""
    result = subprocess.run([str(bus_testpub_binary()), *args], input=input, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"bus-testpub {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result.stdout


class PublisherProcess:
    """A running `bus-testpub publish`: publishes meta until `go()`, then its detections."""

    def __init__(self, *args):
        self.process = subprocess.Popen([str(bus_testpub_binary()), "publish", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.endpoints = []
        line = self.process.stdout.readline()
        while line.startswith("bound "):
            self.endpoints.append(line.split()[1])
            if len(self.endpoints) == args.count("--endpoint"):
                break
            line = self.process.stdout.readline()
        if not self.endpoints:
            self.process.kill()
            raise AssertionError("bus-testpub did not bind: " + self.process.stderr.read())

    @property
    def endpoint(self):
        return self.endpoints[0]

    def go(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self, timeout=60):
        """Waits for the publisher to exit (bounded); returns its "done" and "closed" fields as a dict."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError(f"bus-testpub did not exit within {timeout} s (blocked?)")
        assert self.process.returncode == 0, err
        fields = {}
        for line in out.splitlines():
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                fields[key] = int(value)
        return fields

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def subscriber(context, endpoint, topics=("det/", "meta"), curve=None, rcvhwm=0):
    """A pyzmq SUB socket; `curve` = (server_public, client_public, client_secret) as Z85 bytes."""
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, rcvhwm)
    if curve:
        sub.curve_serverkey, sub.curve_publickey, sub.curve_secretkey = curve
    for topic in topics:
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sub.connect(endpoint)
    return sub


def wait_for_topic(sub, topic, timeout=10.0):
    """Receives until a message on `topic` arrives (the slow-joiner handshake); fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sub.poll(50):
            frames = sub.recv_multipart()
            if frames[0] == topic.encode():
                return frames
    raise AssertionError(f"no {topic} message within {timeout} s")


def drain(sub, seconds):
    """Everything `sub` receives during `seconds`."""
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sub.poll(max(1, int(left * 1000))):
            frames.append(sub.recv_multipart())
    return frames
