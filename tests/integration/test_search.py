"""Search through the engine (against the loopback Docker Hub stand-in) and registry catalogs."""

from __future__ import annotations

import socket

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from nbdocker import publish
from nbdocker.engine.credentials import Credentials
from nbdocker.errors import RegistryError, UserError
from nbdocker.magics.docker import DockerMagics
from nbdocker.magics.errors import CellError
from nbdocker.registry import RegistryClient

from hub_standin import HubStandin  # tests/ is on sys.path: the folder above the test package

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture
def hub():
    with HubStandin() as standin:
        yield standin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- index search through the engine -----------------------------------------------------------

def test_search_engine_queries_the_standin(engine, hub):
    found = publish.search(f"{hub.index}/busybox")
    assert [hit.name for hit in found] == ["busybox", "nbdocker/busybox-tools"]
    [request] = hub.searches()
    assert request.query == {"q": ["busybox"], "n": ["25"]}


def test_search_engine_result_fields(engine, hub):
    [hit] = publish.search(f"{hub.index}/debian-python")
    assert hit.name == "student/debian-python"
    assert hit.stars == 12
    assert hit.official is False
    assert hit.description.startswith("Debian bookworm")


def test_search_engine_limit(engine, hub):
    found = publish.search(f"{hub.index}/nbdocker", limit=1)
    assert len(found) == 1
    assert hub.searches()[0].query["n"] == ["1"]


def test_search_engine_filters_official(engine, hub):
    found = publish.search(f"{hub.index}/busybox", filters=["is-official=true"])
    assert [hit.name for hit in found] == ["busybox"]


def test_search_engine_filters_stars(engine, hub):
    found = publish.search(f"{hub.index}/e", filters={"stars": 10})
    assert sorted(hit.name for hit in found) == ["busybox", "debian", "student/debian-python"]


def test_search_engine_filters_automated(engine, hub):
    found = publish.search(f"{hub.index}/busybox", filters=["is-automated=true"])
    assert [hit.name for hit in found] == ["nbdocker/busybox-tools"]


def test_search_engine_no_match(engine, hub):
    found = publish.search(f"{hub.index}/zzz-nothing")
    assert len(found) == 0
    assert repr(found).endswith("No matches.")


def test_search_bad_filter(engine, hub):
    with pytest.raises(UserError) as caught:
        publish.search(f"{hub.index}/busybox", filters=["is-offical=true"])
    assert str(caught.value) == ("Invalid search filter 'is-offical': use is-official=true|false, "
                                 "is-automated=true|false or stars=N.")
    assert hub.searches() == []


def test_search_engine_rejects_bad_filter_value_too(engine, hub):
    # A value that passes no client-side check still fails with one clear error from the engine.
    with pytest.raises(UserError, match="Invalid filter 'stars=many'"):
        engine.search(f"{hub.index}/busybox", filters={"stars": "many"})


def test_search_unreachable_index(engine):
    index = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as caught:
        publish.search(f"{index}/busybox")
    assert str(caught.value) == (f"Searching {index} failed: the index is not reachable "
                                 "(connection refused). Check the host and port, or search a "
                                 "registry with --registry HOST.")


def test_search_registry_as_index_proposes_registry_search(engine, lab):
    mirror = lab["NBDOCKER_LAB_MIRROR"]
    with pytest.raises(RegistryError) as caught:
        publish.search(f"{mirror}/busybox")
    assert str(caught.value).endswith(f"%docker_search busybox --registry {mirror}")


# -- registry catalog search -------------------------------------------------------------------

def test_search_registry_anonymous(lab):
    mirror = lab["NBDOCKER_LAB_MIRROR"]
    found = publish.search("busy", registry=mirror)
    assert [(hit.reference, hit.tags) for hit in found] == [(f"{mirror}/library/busybox", ("latest",))]


def test_search_registry_with_stored_login(engine, lab, unique, monkeypatch):
    registry = lab["NBDOCKER_LAB_REGISTRY"]
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])
    publish.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    reference = f"{registry}/nbdocker-test/{unique}:found"
    publish.tag("busybox:latest", reference)
    try:
        pushed = publish.push(reference)
        try:
            found = publish.search(unique, registry=registry)
            assert [(hit.name, hit.tags) for hit in found] == [(f"nbdocker-test/{unique}", ("found",))]
        finally:
            lab_login = Credentials(registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])
            with RegistryClient(registry, credentials=lab_login) as client:
                client.delete_manifest(f"nbdocker-test/{unique}", pushed.digest)
    finally:
        engine.remove_image(reference, force=True)


def test_search_registry_without_login(lab):
    registry = lab["NBDOCKER_LAB_REGISTRY"]
    with pytest.raises(RegistryError) as caught:
        publish.search("hello", registry=registry)
    assert str(caught.value) == (f"Registry {registry} requires authentication. "
                                 f"Run %docker_login {registry} first.")


def test_search_registry_unknown_port():
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=rf"Registry {host} is not reachable \(Connection refused\)"):
        publish.search("x", registry=host)


def test_search_registry_rejects_filters(lab):
    with pytest.raises(UserError, match="apply to an index search only"):
        publish.search("x", registry=lab["NBDOCKER_LAB_MIRROR"], filters=["stars=1"])


# -- the magic -----------------------------------------------------------------------------------

def test_search_magic_against_standin(engine, hub):
    start_ipython()
    shell = get_ipython()
    shell.register_magics(DockerMagics(shell=shell))
    shell.user_ns["index"] = hub.index
    result = shell.run_cell("%docker_search {index}/busybox --filter is-official=true --limit 3 -o hits")
    assert result.error_in_exec is None
    assert [hit.name for hit in shell.user_ns["hits"]] == ["busybox"]
    assert hub.searches()[0].query["n"] == ["3"]


def test_search_magic_unreachable_is_one_line(engine):
    start_ipython()
    shell = get_ipython()
    shell.register_magics(DockerMagics(shell=shell))
    error = shell.run_cell(f"%docker_search 127.0.0.1:{free_port()}/busybox").error_in_exec
    assert isinstance(error, CellError)
    assert "\n" not in str(error)
