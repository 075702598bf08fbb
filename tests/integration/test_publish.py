"""Log in, tag, push, pull and run against the lab's engine and registries.

Every test logs in with its own DOCKER_CONFIG folder, and removes the image tags, registry
manifests and containers it creates. The registry keeps a repository's name after its last
manifest is deleted, so repositories are named nbdocker-test/<random>.
"""

from __future__ import annotations

import base64
import json
import socket
import stat
import time

import pytest

from nbdocker import publish
from nbdocker.build.events import LayerProgress, LogLine
from nbdocker.display.layers import LayerBoard
from nbdocker.engine.credentials import Credentials
from nbdocker.engine.images import InvalidReference
from nbdocker.engine.progress import AuthenticationRequired, StreamError
from nbdocker.errors import EngineError, RegistryError
from nbdocker.registry import RegistryClient

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    """A fresh, empty Docker config folder for every test, and a log folder of its own."""
    folder = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))
    return folder


@pytest.fixture
def registry(lab) -> str:
    return lab["NBDOCKER_LAB_REGISTRY"]


@pytest.fixture
def mirror(lab) -> str:
    return lab["NBDOCKER_LAB_MIRROR"]


@pytest.fixture
def login(lab, registry, monkeypatch):
    """Log in to the password registry; return the result."""
    def log_in():
        monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])
        return publish.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    return log_in


@pytest.fixture
def cleanup(engine, lab, registry):
    """Register local tags and registry manifests to remove after the test."""
    class Cleanup:
        tags: list[str] = []
        manifests: list[tuple[str, str, str]] = []

    Cleanup.tags, Cleanup.manifests = [], []
    yield Cleanup
    for tag in reversed(Cleanup.tags):
        engine.remove_image(tag, force=True)
    lab_credentials = Credentials(registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])
    for host, repository, digest in Cleanup.manifests:
        with RegistryClient(host, credentials=lab_credentials if host == registry else None) as client:
            client.delete_manifest(repository, digest)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def commit_unique_image(engine, reference: str) -> None:
    """Make an image with one new layer (a file of random bytes) on top of busybox."""
    container = engine.api.create_container(
        "busybox:latest", command=["sh", "-c", "head -c 300000 /dev/urandom > /payload"])["Id"]
    try:
        engine.api.start(container)
        engine.api.wait(container)
        repository, _, tag = reference.rpartition(":")
        engine.api.commit(container, repository=repository, tag=tag)
    finally:
        engine.api.remove_container(container, force=True)


# -- the whole walk ----------------------------------------------------------------------------

def test_publish_round_trip(engine, lab, registry, login, cleanup, unique, docker_config):
    reference = f"{registry}/nbdocker-test/{unique}:1.0"
    repository = f"nbdocker-test/{unique}"

    # Log in: the engine checks the password, config.json gets base64 user:password.
    logged_in = login()
    assert logged_in.stored_in == str(docker_config / "config.json")
    entry = json.loads((docker_config / "config.json").read_text())["auths"][registry]
    assert base64.b64decode(entry["auth"]).decode() == (
        f"{lab['NBDOCKER_LAB_USER']}:{lab['NBDOCKER_LAB_PASSWORD']}")
    assert stat.S_IMODE((docker_config / "config.json").stat().st_mode) == 0o600

    # Tag and push.
    tagged = publish.tag("busybox:latest", reference)
    cleanup.tags.append(reference)
    assert tagged.image_id == engine.inspect_image("busybox:latest").id
    events = []
    pushed = publish.push(reference, on_event=events.append)
    cleanup.manifests.append((registry, repository, pushed.digest))
    assert pushed.digest.startswith("sha256:")
    assert any(isinstance(e, LayerProgress) and e.operation == "push" for e in events)
    with RegistryClient(registry) as client:
        assert client.manifest_digest(repository, "1.0") == pushed.digest

    # Remove the local copy and pull it back.
    removed = publish.remove_image(reference)
    assert reference in removed.untagged
    assert engine.inspect_image(reference) is None
    pulled = publish.pull(reference)
    assert pulled.digest == pushed.digest
    assert pulled.image_id == tagged.image_id
    assert "for " + reference in pulled.status

    # Run it, list it, find it in the registry.
    ran = publish.run(reference, ["echo", "hello from the registry"])
    assert ran.tail == ["hello from the registry"]
    assert [row.reference for row in publish.images(reference)] == [reference]
    found = publish.search(unique, registry=registry)
    assert [(hit.name, hit.tags) for hit in found] == [(repository, ("1.0",))]

    # Log out: the next registry call needs a login again.
    assert publish.logout(registry).removed_from == str(docker_config / "config.json")
    with pytest.raises(RegistryError, match="requires authentication"):
        publish.search(unique, registry=registry)


def test_publish_pull_reports_download_and_extract(engine, mirror, cleanup, unique):
    reference = f"{mirror}/nbdocker-test/{unique}:1"
    commit_unique_image(engine, reference)
    cleanup.tags.append(reference)
    pushed = publish.push(reference)
    cleanup.manifests.append((mirror, f"nbdocker-test/{unique}", pushed.digest))
    publish.remove_image(reference)

    events = []
    board = LayerBoard("pull", reference)
    pulled = publish.pull(reference, on_event=lambda e: (events.append(e), board.apply(e)))
    statuses = {e.status.split()[0] for e in events if isinstance(e, LayerProgress)}
    assert {"Downloading", "Extracting", "Pull"} <= statuses
    assert "Already" in statuses
    assert board.fraction() == 1.0
    assert pulled.digest == pushed.digest


def test_publish_push_all_tags(engine, login, registry, cleanup, unique):
    login()
    repository = f"{registry}/nbdocker-test/{unique}"
    for tag_name in ("1", "2"):
        publish.tag("busybox:latest", f"{repository}:{tag_name}")
        cleanup.tags.append(f"{repository}:{tag_name}")
    pushed = publish.push(repository, all_tags=True)
    for digest in set(pushed.digests.values()):
        cleanup.manifests.append((registry, f"nbdocker-test/{unique}", digest))
    assert set(pushed.digests) == {"1", "2"}


# -- one clear error each ----------------------------------------------------------------------

def test_publish_login_wrong_password(registry, lab, monkeypatch, docker_config):
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", "not-the-password")
    with pytest.raises(RegistryError) as caught:
        publish.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    assert str(caught.value) == (f"Logging in to {registry} as {lab['NBDOCKER_LAB_USER']!r} "
                                 "failed: the registry rejected the user name or password.")
    assert not (docker_config / "config.json").exists()


def test_publish_login_unknown_port(monkeypatch):
    host = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", "x")
    with pytest.raises(RegistryError) as caught:
        publish.login(host, "someone", password_env="NBDOCKER_TEST_PASSWORD")
    assert str(caught.value) == (f"Logging in to {host} failed: the registry is not reachable "
                                 "(connection refused). Check the host and port, and that the "
                                 "registry runs.")


def test_publish_push_without_login(registry, cleanup, unique):
    reference = f"{registry}/nbdocker-test/{unique}:1"
    publish.tag("busybox:latest", reference)
    cleanup.tags.append(reference)
    with pytest.raises(AuthenticationRequired) as caught:
        publish.push(reference)
    message = str(caught.value)
    assert message.startswith(f"Pushing {reference} failed: authentication required by {registry}")
    assert message.endswith(f"Run %docker_login {registry}, then try again.")
    assert "\n" not in message


def test_publish_push_unknown_registry_port(cleanup, unique):
    reference = f"127.0.0.1:{free_port()}/nbdocker-test/{unique}:1"
    publish.tag("busybox:latest", reference)
    cleanup.tags.append(reference)
    with pytest.raises(RegistryError, match=r"is not reachable \(connection refused\)"):
        publish.push(reference)


def test_publish_pull_without_login(registry):
    with pytest.raises(AuthenticationRequired, match=f"Run %docker_login {registry}"):
        publish.pull(f"{registry}/nbdocker/anything:1")


def test_publish_pull_unknown_tag(mirror):
    with pytest.raises(StreamError, match="manifest unknown"):
        publish.pull(f"{mirror}/library/busybox:no-such-tag")


def test_publish_tag_bad_reference(engine, registry):
    target = f"{registry}/NBdocker/Hello World:1.0"
    with pytest.raises(InvalidReference) as caught:
        publish.tag("busybox:latest", target)
    assert str(caught.value) == (
        f"Invalid target {target!r}: it contains whitespace, which image names cannot have; "
        f"use '-' or '_' instead. Did you mean '{registry}/nbdocker/hello-world:1.0'?")


def test_publish_tag_missing_source(unique):
    with pytest.raises(EngineError, match=f"Image 'nbdocker-test/{unique}:none' not found locally"):
        publish.tag(f"nbdocker-test/{unique}:none", f"nbdocker-test/{unique}:copy")


# -- throwaway containers ----------------------------------------------------------------------

def test_publish_run_streams_both_streams():
    events = []
    result = publish.run("busybox:latest", "sh -c 'echo out; echo err >&2'", on_event=events.append)
    assert {(e.stream, e.text) for e in events if isinstance(e, LogLine)} == {
        ("stdout", "out"), ("stderr", "err")}
    assert result.exit_code == 0


def test_publish_run_nonzero_exit_removes_container():
    with pytest.raises(publish.RunFailed) as caught:
        publish.run("busybox:latest", ["sh", "-c", "echo last words; exit 7"])
    assert caught.value.exit_code == 7
    assert "Last lines of output:\n  last words" in str(caught.value)


def test_publish_run_interrupt_removes_container():
    def interrupt(event):
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        publish.run("busybox:latest", ["sh", "-c", "echo started; sleep 60"], on_event=interrupt)
    assert time.monotonic() - started < 30


def test_publish_run_missing_image(unique):
    with pytest.raises(EngineError, match="not found locally: pull it first"):
        publish.run(f"nbdocker-test/{unique}:missing", ["true"])


def test_publish_run_long_output_keeps_tail():
    result = publish.run("busybox:latest", ["seq", "1", "5000"], tail=100)
    assert result.line_count == 5000
    assert result.tail[-1] == "5000"
    assert len(result.tail) == 100
