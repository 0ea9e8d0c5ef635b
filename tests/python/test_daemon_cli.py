"""The edge-daemon binary's command line: exit codes and messages (docs/DAEMON.md)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "edge-daemon"

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="build edge-daemon first (swift build)")


def run(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EDGE_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    environment.update(env or {})
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=30, env=environment)


@pytest.fixture
def setup(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "a.ppm").write_bytes(b"P6\n2 2\n255\n" + bytes(12))
    model = tmp_path / "model.dsam"
    model.write_bytes(b"model")
    config = tmp_path / "edge.conf"
    config.write_text("[model]\npath = %s\n[replay]\npath = %s\n[security]\nplaintext = true\n" % (model, frames))
    return tmp_path, config


def test_version_and_help():
    assert run("version").stdout.startswith("edge-daemon ")
    help_text = run("--help").stdout
    for word in ("run [--config FILE]", "check-config", "64", "65", "70", "SIGHUP"):
        assert word in help_text


def test_usage_errors_exit_64():
    result = run("frobnicate")
    assert result.returncode == 64
    assert "unknown command 'frobnicate'" in result.stderr
    assert run("run", "--config").returncode == 64


def test_check_config_ok(setup):
    _, config = setup
    result = run("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_bad_value_names_file_line_and_key(setup):
    tmp, config = setup
    config.write_text(config.read_text() + "[model]\nthreads = lots\n")
    result = run("check-config", "--config", str(config))
    assert result.returncode == 64
    assert result.stderr.startswith("<3>config: %s:8: key 'model.threads': expected an integer" % config), result.stderr


def test_unknown_key_is_an_error(setup):
    _, config = setup
    config.write_text(config.read_text() + "[log]\nlevle = debug\n")
    result = run("run", "--config", str(config))
    assert result.returncode == 64
    assert "key 'log.levle': unknown key" in result.stderr


def test_environment_override_is_named(setup):
    _, config = setup
    result = run("check-config", "--config", str(config), env={"EDGE_THREADS": "0"})
    assert result.returncode == 64
    assert "environment EDGE_THREADS: key 'model.threads'" in result.stderr


def test_missing_model_exits_65(setup):
    tmp, config = setup
    result = run("check-config", "--config", str(config), env={"EDGE_MODEL": str(tmp / "absent.dsam")})
    assert result.returncode == 65
    assert "absent.dsam" in result.stderr


def test_run_with_a_file_that_is_not_a_model_exits_65(setup):
    tmp, config = setup
    result = run("run", "--config", str(config))
    assert result.returncode == 65
    assert result.stderr.startswith("<3>model: cannot load model %s: model file: truncated file" % (tmp / "model.dsam")), \
        result.stderr


def test_sample_config_checks_with_overrides(setup):
    tmp, _ = setup
    result = run("check-config", "--config", str(ROOT / "systemd" / "edge-daemon.conf"),
                 env={"EDGE_MODEL": str(tmp / "model.dsam"), "EDGE_REPLAY": str(tmp / "frames")})
    assert result.returncode == 0, result.stderr
