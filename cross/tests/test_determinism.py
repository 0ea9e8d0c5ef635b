"""Tests of cross/determinism against a fake daemon (the real one cannot replay frames yet)."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent / "determinism"


def load_module():
    loader = importlib.machinery.SourceFileLoader("determinism", str(SCRIPT))
    spec = importlib.util.spec_from_loader("determinism", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run(tmp_path, port, **env):
    frames = tmp_path / "frames"
    frames.mkdir(exist_ok=True)
    for name in ("a.png", "b.png", "c.jpg"):
        (frames / name).write_bytes(b"not decoded by the fake")
    model = tmp_path / "model.bin"
    model.write_bytes(b"x")
    fake = f"{sys.executable} {HERE / 'fake_daemon.py'}"
    environment = dict(os.environ, DETERMINISM_X86_COMMAND=fake, DETERMINISM_ARM_COMMAND=fake)
    environment.update(env)
    return subprocess.run([sys.executable, str(SCRIPT), "--model", str(model), "--frames", str(frames),
                           "--timeout", "20", "--port", str(port)],
                          env=environment, capture_output=True, text=True, timeout=120)


def test_identical_runs_pass(tmp_path):
    result = run(tmp_path, 25711)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: 3 frames byte-identical" in result.stdout


def test_a_differing_score_fails_naming_the_frame(tmp_path):
    # Only the "aarch64" run gets the shifted score, through a wrapper command.
    wrapper = tmp_path / "arm.sh"
    wrapper.write_text(f"#!/bin/sh\nFAKE_SCORE_SHIFT=b.png exec {sys.executable} {HERE / 'fake_daemon.py'} \"$@\"\n")
    wrapper.chmod(0o755)
    result = run(tmp_path, 25721, DETERMINISM_ARM_COMMAND=str(wrapper))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "frame b.png differs" in result.stdout
    assert "1 of 3 frames differ" in result.stdout


def test_without_a_run_command_it_skips(tmp_path):
    result = run(tmp_path, 25731, FAKE_HELP="old")
    assert result.returncode == 0
    assert "SKIPPED: not yet available" in result.stdout
    assert "PASSED" not in result.stdout


def test_normalise_blanks_volatile_values_only():
    normalise = load_module().normalise
    text = '{"seq": 3, "capture": {"mono_ns": 5}, "latency": {"q": 1.5}, "score": 0.50, "frame_id": "a"}'
    assert normalise(text) == '{"seq": null, "capture": {"mono_ns": null}, "latency": null, "score": 0.50, "frame_id": "a"}'


@pytest.mark.parametrize("a,b", [('{"score": 0.50}', '{"score": 0.5}'), ('{"m": "PPYo1"}', '{"m": "PPYo2"}'),
                                 ('{"b": [1, 2]}', '{"b": [1,2]}')])
def test_normalise_keeps_other_bytes_exact(a, b):
    normalise = load_module().normalise
    assert normalise(a) != normalise(b)
