"""The ``nbdocker`` command against the real engine: exit status, output, interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.engine


def nbdocker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m nbdocker`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "nbdocker", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def write(tmp_path, data: dict) -> str:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def test_cli_build_prints_artifact_summary(tmp_path, engine, unique):
    path = write(tmp_path, {
        "builders": [{"type": "docker", "image": "busybox:latest", "commit": True}],
        "provisioners": [{"type": "shell", "inline": ["echo from-cli"]}],
        "post-processors": [{"type": "docker-tag", "repository": f"nbdocker-cli/{unique}",
                             "tags": ["{{user `tag`}}"]}],
        "variables": {"tag": "dev"},
    })
    result = nbdocker("build", "-var", "tag=v1", path)
    try:
        assert result.returncode == 0, result.stderr
        assert "    docker: from-cli" in result.stdout
        assert "Builds finished. The artifacts of successful builds are:" in result.stdout
        assert f"nbdocker-cli/{unique}:v1" in result.stdout
    finally:
        engine.remove_image(f"nbdocker-cli/{unique}:v1", force=True)


def test_cli_build_failure_exits_one(tmp_path):
    path = write(tmp_path, {
        "builders": [{"type": "docker", "image": "busybox:latest", "discard": True}],
        "provisioners": [{"type": "shell", "inline": ["exit 7"]}],
    })
    result = nbdocker("build", path)
    assert result.returncode == 1
    assert "exit status: 7" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_cli_machine_readable_lists_artifact(tmp_path, engine):
    path = write(tmp_path, {
        "builders": [{"type": "docker", "image": "busybox:latest", "commit": True}],
    })
    result = nbdocker("build", "-machine-readable", path)
    records = [line.split(",") for line in result.stdout.splitlines()]
    ids = [r[5] for r in records if r[2] == "artifact" and r[4] == "id"]
    try:
        assert result.returncode == 0, result.stderr
        assert len(ids) == 1
        assert ids[0].startswith("sha256:")
        assert all(r[0].isdigit() for r in records)
        assert ["0"] == [r[3] for r in records if r[2] == "error-count"]
    finally:
        for image in ids:
            engine.remove_image(image, force=True)


def test_cli_validate_reports_tutorial_typos(tmp_path):
    path = tmp_path / "tutorial.json"
    path.write_text('{\n  "builders": [{\n    "type": "docker",\n'
                    '    "image": "ubuntu: 14.04",\n    "commit": true\n  }],\n'
                    '  "post-processors": [{\n    "type": "docker-tag",\n'
                    '    "repository": "how2dock / packer",\n    "tag": "0.1"\n  }]\n}\n')
    result = nbdocker("validate", str(path))
    assert result.returncode == 1
    assert "ubuntu:14.04" in result.stderr
    assert "how2dock/packer" in result.stderr
    assert "builders[0].image" in result.stderr
    assert f"{path}:4:" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_validate_valid_exits_zero(tmp_path):
    path = write(tmp_path, {"builders": [{"type": "docker", "image": "busybox",
                                          "commit": True}]})
    result = nbdocker("validate", path)
    assert result.returncode == 0, result.stderr
    assert "The configuration is valid." in result.stdout


def test_cli_json_syntax_error_shows_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "builders": [\n    {"type": "docker",}\n  ]\n}\n')
    result = nbdocker("validate", str(path))
    assert result.returncode == 1
    assert ":3:" in result.stderr
    assert '{"type": "docker",}' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_interrupt_removes_container(tmp_path, engine, session_containers, signum):
    path = write(tmp_path, {
        "builders": [{"type": "docker", "image": "busybox:latest", "discard": True}],
        "provisioners": [{"type": "shell", "inline": ["echo sleeping", "sleep 300"]}],
    })
    process = subprocess.Popen([sys.executable, "-m", "nbdocker", "build", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    for line in process.stdout:
        if "sleeping" in line or time.monotonic() > deadline:
            break
    process.send_signal(signum)
    try:
        output, errors = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, errors
    assert "Killing the container" in output, output + errors
    assert session_containers() == []


def test_cli_unreachable_engine_is_clear_error(tmp_path):
    path = write(tmp_path, {"builders": [{"type": "docker", "image": "busybox:latest",
                                          "commit": True}]})
    result = nbdocker("build", path, env={**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:2399"})
    assert result.returncode == 1
    assert "not reachable" in result.stderr
    assert "DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.stderr
