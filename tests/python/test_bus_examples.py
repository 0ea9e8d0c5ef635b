"""examples/subscribe.py and examples/subscribe.c against the Swift publisher (bus-testpub)."""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time

import pytest

from bus_support import ROOT, PublisherProcess, run_testpub

EXAMPLES = ROOT / "examples"


def load_subscribe_py():
    spec = importlib.util.spec_from_file_location("subscribe_example", EXAMPLES / "subscribe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def message(seq, boot="b1", schema="1.0"):
    return json.dumps({"schema": schema, "type": "meta", "seq": seq, "boot_id": boot,
                       "model": {"id": "m"}, "input": {"width": 1, "height": 1}, "labels": []}).encode()


def test_subscribe_py_reports_gaps_and_rejects_unknown_majors():
    printer = load_subscribe_py().Printer(masks=False)
    assert not any("GAP" in l for l in printer.lines("meta", message(0)) + printer.lines("meta", message(1)))
    lines = printer.lines("meta", message(4))
    assert lines[0] == "GAP meta: missed 2 message(s), seq 2..3"
    assert printer.gaps == 2
    # A restarted publisher (new boot id) starts seq again: not a gap.
    assert not any("GAP" in l for l in printer.lines("meta", message(0, boot="b2")))
    assert "not supported" in printer.lines("meta", message(5, schema="2.0"))[0]
    assert "unreadable" in printer.lines("meta", b"{not json")[0]


def start_example(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_subscribe_py_prints_every_detection_without_gaps():
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "40", "--interval-us", "2000")
    example = start_example([sys.executable, str(EXAMPLES / "subscribe.py"), "--endpoint", pub.endpoint,
                             "--count", "40", "--timeout", "20"])
    try:
        first = example.stdout.readline()  # meta arrives every 20 ms once connected
        assert first.startswith("meta "), first + example.stderr.read()
        pub.go()
        out, err = example.communicate(timeout=60)
        assert example.returncode == 0, err
        detections = [l for l in out.splitlines() if l.startswith("det/cam0 ")]
        assert [int(re.search(r"seq=(\d+)", l).group(1)) for l in detections] == list(range(40))
        assert "GAP" not in out and "MISMATCH" not in out
        assert re.search(r"^  #1 label=0 score=\d\.\d{3} bbox=\[.*\] area=\d+ .* mask_px=\d+$", out, re.M)
        pub.finish()
    finally:
        example.kill()
        pub.kill()


@pytest.fixture(scope="module")
def subscribe_c(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert compiler, "no C compiler on PATH"
    binary = tmp_path_factory.mktemp("c") / "subscribe"
    build = subprocess.run([compiler, "-O2", "-Wall", "-Werror", "-o", str(binary), str(EXAMPLES / "subscribe.c"),
                            "-lzmq"], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    return binary


def run_c_example(subscribe_c, pub, count, env=None):
    example = subprocess.Popen([str(subscribe_c), pub.endpoint, "det/", str(count)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)  # the C example prints nothing until detections arrive: give it time to connect
        pub.go()
        out, err = example.communicate(timeout=60)
        assert example.returncode == 0, err
        return out
    finally:
        example.kill()


def test_subscribe_c_builds_and_receives_contiguous_detections(subscribe_c):
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "300", "--interval-us", "5000")
    try:
        out = run_c_example(subscribe_c, pub, 30)
        lines = out.splitlines()
        assert len(lines) == 30 and "GAP" not in out
        seqs = [int(re.search(r"seq=(\d+)", l).group(1)) for l in lines]
        assert seqs == list(range(seqs[0], seqs[0] + 30))
        assert all(re.fullmatch(r"det/cam0 seq=\d+ frame=\d+ instances=[0-3] bytes=\d+", l) for l in lines)
        pub.finish()
    finally:
        pub.kill()


def test_subscribe_c_over_curve_with_a_key_made_by_subscribe_py(subscribe_c, tmp_path):
    run_testpub("keygen", "--public", str(tmp_path / "server.pub"), "--secret", str(tmp_path / "server.key"))
    subprocess.run([sys.executable, str(EXAMPLES / "subscribe.py"), "--keygen", str(tmp_path / "me.pub"),
                    str(tmp_path / "me.key")], check=True, capture_output=True, timeout=60)
    shutil.copy(tmp_path / "me.pub", tmp_path / "allow")
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "300", "--interval-us", "5000",
                           "--curve-secret", str(tmp_path / "server.key"), "--allow", str(tmp_path / "allow"))
    try:
        env = {"SERVER_KEY": str(tmp_path / "server.pub"), "CLIENT_KEY": str(tmp_path / "me.key")}
        out = run_c_example(subscribe_c, pub, 10, env=env)
        assert len(out.splitlines()) == 10
        pub.finish()
    finally:
        pub.kill()
