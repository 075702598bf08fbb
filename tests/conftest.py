"""Shared fixtures: the lab's engine and registries, and the check that no test leaves containers."""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lab_settings() -> dict[str, str]:
    """Return the NBDOCKER_LAB_* settings, from the environment or from ``scripts/lab env``."""
    keys = ("NBDOCKER_LAB_MIRROR", "NBDOCKER_LAB_REGISTRY", "NBDOCKER_LAB_USER",
            "NBDOCKER_LAB_PASSWORD")
    if all(os.environ.get(key) for key in keys):
        return {key: os.environ[key] for key in keys}
    output = subprocess.run([str(ROOT / "scripts" / "lab"), "env"], check=True,
                            capture_output=True, text=True).stdout
    settings = {}
    for line in output.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("NBDOCKER_LAB_"):
            settings[key] = shlex.split(value)[0] if value else ""
    return settings


@pytest.fixture(scope="session")
def lab() -> dict[str, str]:
    """The lab's registry addresses and credentials; fails when the lab is not up."""
    try:
        settings = lab_settings()
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.fail(f"the lab is not available ({err}); run scripts/lab up")
    for key, value in settings.items():
        os.environ.setdefault(key, value)
    return settings


@pytest.fixture(scope="session")
def engine():
    """A connection to the lab's Docker engine; fails (never skips) when it is unreachable."""
    from nbdocker.engine import connect
    from nbdocker.errors import EngineError

    try:
        return connect()
    except EngineError as err:
        pytest.fail(f"{err}")


@pytest.fixture
def unique() -> str:
    """A short random suffix for image and repository names."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def session_containers(engine, monkeypatch, unique):
    """Return a function listing the build containers this test created, running or not.

    Each test gets its own $NBDOCKER_SESSION, which nbdocker writes into the name of every
    build container and a label of every throwaway container (subprocesses and notebook
    kernels inherit it), so containers of other processes on the same engine never count.
    """
    from nbdocker.engine.containers import SESSION_LABEL, build_container_name

    session = f"test-{unique}"
    monkeypatch.setenv("NBDOCKER_SESSION", session)
    prefix = build_container_name("", "", session) + "-"

    def containers() -> list[dict]:
        builds = engine.list_containers(prefix)
        runs = engine.api.containers(all=True, filters={"label": f"{SESSION_LABEL}={session}"})
        return builds + runs

    return containers


@pytest.fixture(autouse=True)
def no_leftover_containers(request):
    """Fail an engine test that leaves a build container behind."""
    if request.node.get_closest_marker("engine") is None:
        yield
        return
    engine = request.getfixturevalue("engine")
    containers = request.getfixturevalue("session_containers")
    yield
    left = containers()
    for container in left:
        engine.remove_container(container["Id"])
    assert not left, f"test left {len(left)} build container(s) behind: " + \
        ", ".join(c["Id"][:12] for c in left)


@pytest.fixture(autouse=True)
def separate_step_cache(request, monkeypatch, unique):
    """Give each test its own step cache, and remove an engine test's cache tags after it."""
    namespace = f"test-{unique}"
    monkeypatch.setenv("NBDOCKER_CACHE_NAMESPACE", namespace)
    yield
    if request.node.get_closest_marker("engine") is not None:
        from nbdocker.build import cache

        cache.prune(request.getfixturevalue("engine"), namespace)
