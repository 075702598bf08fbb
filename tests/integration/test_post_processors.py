"""Each post-processor against the real engine and the lab's registries.

Every test gets its own DOCKER_CONFIG folder and log folder, and removes the local images,
registry manifests and step cache tags it creates. Registry repositories are named
nbdocker-test/<random>, because the registry keeps a repository's name after its last
manifest is deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

import nbdocker
from nbdocker.build import cache
from nbdocker.build.events import LayerProgress, LogLine, Warning
from nbdocker.engine.credentials import Credentials
from nbdocker.errors import BuildsFailed, TemplateError
from nbdocker.registry import RegistryClient

pytestmark = pytest.mark.engine


def template(*, post_processors=(), provisioners=(), name: str = "", variables=None,
             sensitive=(), **builder) -> str:
    """Return a JSON template with one docker builder on busybox that commits."""
    config = {"type": "docker", "image": "busybox:latest", "commit": True, **builder}
    if name:
        config["name"] = name
    data = {"builders": [config], "provisioners": list(provisioners),
            "post-processors": list(post_processors)}
    if variables:
        data["variables"] = variables
    if sensitive:
        data["sensitive-variables"] = list(sensitive)
    return json.dumps(data, indent=2)


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch) -> Path:
    """A fresh, empty Docker config folder and a log folder for every test."""
    folder = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))
    return folder


@pytest.fixture
def registry(lab) -> str:
    return lab["NBDOCKER_LAB_REGISTRY"]


@pytest.fixture
def cleanup(engine, lab, registry, unique):
    """Register local images and registry manifests to remove after the test.

    ``images`` takes references or ids; ``manifests`` takes (repository, digest) pairs in the
    password registry. The test's step cache namespace is pruned too.
    """
    class Cleanup:
        images: list[str] = []
        manifests: list[tuple[str, str]] = []

    Cleanup.images, Cleanup.manifests = [], []
    yield Cleanup
    for reference in reversed(Cleanup.images):
        engine.remove_image(reference, force=True)
    cache.prune(engine, f"test-{unique}")
    account = Credentials(registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])
    with RegistryClient(registry, credentials=account) as client:
        for repository, digest in Cleanup.manifests:
            client.delete_manifest(repository, digest)


def track(cleanup, artifacts) -> None:
    """Register every image of ``artifacts`` (ids and tags) for removal."""
    for artifact in artifacts:
        cleanup.images += [*artifact.tags, *([artifact.image_id] if artifact.image_id else [])]


def log_lines(events) -> list[str]:
    return [event.text for event in events if isinstance(event, LogLine)]


# -- docker-tag -----------------------------------------------------------------------------


def test_docker_tag_applies_every_tag(engine, unique, cleanup):
    repository = f"nbdocker-test/tag-{unique}"
    artifacts = nbdocker.build(template(post_processors=[
        {"type": "docker-tag", "repository": repository, "tags": ["1.0", "stable"]}]))
    track(cleanup, artifacts)

    tagged = artifacts[-1]
    assert tagged.tags == [f"{repository}:1.0", f"{repository}:stable"]
    assert tagged.id == f"{repository}:stable"
    assert engine.inspect_image(f"{repository}:1.0").id == tagged.image_id
    assert engine.inspect_image(f"{repository}:stable").id == tagged.image_id


def test_docker_tag_without_tags_uses_latest(engine, unique, cleanup):
    repository = f"nbdocker-test/tag-{unique}"
    artifacts = nbdocker.build(template(post_processors=[
        {"type": "docker-tag", "repository": repository}]))
    track(cleanup, artifacts)

    assert artifacts[-1].tags == [f"{repository}:latest"]
    assert engine.inspect_image(f"{repository}:latest") is not None


@pytest.mark.parametrize("registry_prefix", ["", "127.0.0.1:5001/"])
def test_docker_tag_repository_may_carry_tag(engine, unique, cleanup, registry_prefix):
    repository = f"{registry_prefix}nbdocker-test/tag-{unique}"
    artifacts = nbdocker.build(template(post_processors=[
        {"type": "docker-tag", "repository": f"{repository}:1.0"}]))
    track(cleanup, artifacts)

    assert artifacts[-1].tags == [f"{repository}:1.0"]
    assert engine.inspect_image(f"{repository}:1.0") is not None
    assert engine.inspect_image(f"{repository}:latest") is None


def test_docker_tag_deprecated_tag_merged_with_warning(engine, unique, cleanup):
    repository = f"nbdocker-test/tag-{unique}"
    events = []
    artifacts = nbdocker.build(template(post_processors=[
        {"type": "docker-tag", "repository": repository, "tag": "old", "tags": ["new"]}]),
        view=events.append)
    track(cleanup, artifacts)

    warnings = [event.message for event in events if isinstance(event, Warning)]
    assert any("tag" in message and "tags" in message for message in warnings), warnings
    assert sorted(artifacts[-1].tags) == [f"{repository}:new", f"{repository}:old"]
    assert engine.inspect_image(f"{repository}:old") is not None
    assert engine.inspect_image(f"{repository}:new") is not None


# -- docker-push ----------------------------------------------------------------------------


def push_template(repository: str, registry: str, *, login: bool = True,
                  after=()) -> str:
    """Return a template that tags the commit as ``repository:1.0`` and pushes it."""
    push = {"type": "docker-push"}
    if login:
        push.update(login=True, login_username="{{user `registry_user`}}",
                    login_password="{{user `registry_password`}}", login_server=registry)
    return template(
        post_processors=[[{"type": "docker-tag", "repository": repository, "tags": ["1.0"]},
                          push, *after]],
        variables={"registry_user": "", "registry_password": ""},
        sensitive=["registry_password"])


def account(lab) -> dict[str, str]:
    return {"registry_user": lab["NBDOCKER_LAB_USER"],
            "registry_password": lab["NBDOCKER_LAB_PASSWORD"]}


def test_docker_push_login_keeps_config(engine, lab, registry, unique, cleanup, docker_config,
                                        monkeypatch):
    # A stored login for the same registry must survive: Packer logs out after the push.
    docker_config.mkdir()
    config = docker_config / "config.json"
    config.write_text('{"auths": {"127.0.0.1:5000": {}}, "detachKeys": "ctrl-e,e"}')
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])
    nbdocker.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    before = config.read_bytes()
    assert registry in json.loads(before)["auths"]
    path = f"nbdocker-test/push-{unique}"
    events = []

    artifacts = nbdocker.build(push_template(f"{registry}/{path}", registry),
                               variables=account(lab), view=events.append)
    track(cleanup, artifacts)
    digest = artifacts[-1].data["Digest"]
    cleanup.manifests.append((path, digest))

    assert config.read_bytes() == before
    assert sorted(os.listdir(docker_config)) == ["config.json"]
    assert digest.startswith("sha256:")
    with RegistryClient(registry, credentials=Credentials(
            registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])) as client:
        assert client.manifest_digest(path, "1.0") == digest


def test_docker_push_layer_progress_events(engine, lab, registry, unique, cleanup):
    path = f"nbdocker-test/push-{unique}"
    events = []
    artifacts = nbdocker.build(push_template(f"{registry}/{path}", registry),
                               variables=account(lab), view=events.append)
    track(cleanup, artifacts)
    cleanup.manifests.append((path, artifacts[-1].data["Digest"]))

    pushes = [event for event in events
              if isinstance(event, LayerProgress) and event.operation == "push"]
    assert pushes
    assert {event.build for event in pushes} == {"docker"}
    assert all(event.layer for event in pushes)
    password = lab["NBDOCKER_LAB_PASSWORD"]
    assert not [line for line in log_lines(events) if password in line]


def test_docker_push_digest_in_build_data(engine, lab, registry, unique, cleanup, tmp_path):
    path = f"nbdocker-test/push-{unique}"
    output = tmp_path / "manifest.json"
    text = push_template(f"{registry}/{path}", registry, after=[
        {"type": "manifest", "output": str(output),
         "custom_data": {"digest": "{{build `Digest`}}"}},
        {"type": "shell-local", "inline": ["echo pushed={{build `Digest`}}"]}])
    events = []
    artifacts = nbdocker.build(text, variables=account(lab), view=events.append)
    track(cleanup, artifacts)
    digest = artifacts[-1].data["Digest"]
    cleanup.manifests.append((path, digest))

    entry = json.loads(output.read_text())["builds"][0]
    assert entry["custom_data"]["digest"] == digest
    assert f"pushed={digest}" in log_lines(events)


def test_docker_push_with_stored_login(engine, lab, registry, unique, cleanup, monkeypatch):
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])
    nbdocker.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    path = f"nbdocker-test/push-{unique}"

    artifacts = nbdocker.build(push_template(f"{registry}/{path}", registry, login=False),
                               variables=account(lab))
    track(cleanup, artifacts)
    digest = artifacts[-1].data["Digest"]
    cleanup.manifests.append((path, digest))

    assert digest.startswith("sha256:")


# A credential helper speaking the docker-credential-helpers protocol (the verb as argument,
# the server or a JSON entry on stdin, JSON on stdout), keeping its data in $HELPER_STORE.
CREDENTIAL_HELPER = f"""#!{sys.executable}
import json, os, sys
path = os.environ["HELPER_STORE"]
data = json.load(open(path)) if os.path.exists(path) else {{}}
verb, text = sys.argv[1], sys.stdin.read()
if verb == "store":
    entry = json.loads(text)
    data[entry["ServerURL"]] = {{"Username": entry["Username"], "Secret": entry["Secret"]}}
elif verb in ("get", "erase"):
    if text not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    if verb == "get":
        print(json.dumps(dict(data[text], ServerURL=text)))
    else:
        del data[text]
json.dump(data, open(path, "w"))
"""


def test_docker_push_with_credential_store(engine, lab, registry, unique, cleanup, tmp_path,
                                           monkeypatch, docker_config):
    programs = tmp_path / "bin"
    programs.mkdir()
    helper = programs / "docker-credential-nbtest"
    helper.write_text(CREDENTIAL_HELPER)
    helper.chmod(0o755)
    secrets = tmp_path / "helper-store.json"
    monkeypatch.setenv("PATH", f"{programs}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HELPER_STORE", str(secrets))
    docker_config.mkdir()
    (docker_config / "config.json").write_text('{"credsStore": "nbtest"}')
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])
    nbdocker.login(registry, lab["NBDOCKER_LAB_USER"], password_env="NBDOCKER_TEST_PASSWORD")
    path = f"nbdocker-test/push-{unique}"

    artifacts = nbdocker.build(push_template(f"{registry}/{path}", registry, login=False),
                               variables=account(lab))
    track(cleanup, artifacts)
    digest = artifacts[-1].data["Digest"]
    cleanup.manifests.append((path, digest))

    assert registry in json.loads(secrets.read_text())
    assert lab["NBDOCKER_LAB_PASSWORD"] not in (docker_config / "config.json").read_text()
    assert digest.startswith("sha256:")


def test_docker_push_untagged_is_validation_error(engine, registry):
    # Packer accepts this template and fails at run time pushing "sha256:...".
    text = template(post_processors=[{"type": "docker-push"}])
    with pytest.raises(TemplateError) as failure:
        nbdocker.validate(text)
    message = str(failure.value)
    assert "docker-tag" in message
    assert "post-processors[0]" in message

    with pytest.raises(TemplateError):
        nbdocker.build(text)


def test_docker_push_without_credentials_keeps_image(engine, registry, unique, cleanup):
    repository = f"{registry}/nbdocker-test/push-{unique}"
    events = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(push_template(repository, registry, login=False), view=events.append)
    track(cleanup, failure.value.artifacts)

    message = str(failure.value.errors["docker"])
    assert "docker-push (post-processors[0][1]) failed" in message
    assert "authentication required" in message
    assert registry in message
    assert "login_password" in message
    assert engine.inspect_image(f"{repository}:1.0") is not None
    builder = failure.value.artifacts[0]
    assert builder.tags == []
    assert engine.inspect_image(builder.image_id) is not None


def test_docker_push_wrong_password_fails_clearly(engine, lab, registry, unique, cleanup):
    repository = f"{registry}/nbdocker-test/push-{unique}"
    wrong = {**account(lab), "registry_password": "not-the-password"}
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(push_template(repository, registry), variables=wrong)
    track(cleanup, failure.value.artifacts)

    message = str(failure.value.errors["docker"])
    assert "docker-push (post-processors[0][1]) failed" in message
    assert "Check login_username and login_password" in message
    assert "not-the-password" not in message
    assert engine.inspect_image(f"{repository}:1.0") is not None


def test_docker_push_keep_false_untags(engine, lab, registry, unique, cleanup):
    path = f"nbdocker-test/push-{unique}"
    repository = f"{registry}/{path}"
    text = template(
        post_processors=[[
            {"type": "docker-tag", "repository": repository, "tags": ["1.0", "2.0"]},
            {"type": "docker-push", "login": True, "login_server": registry,
             "login_username": "{{user `registry_user`}}",
             "login_password": "{{user `registry_password`}}", "keep_input_artifact": False}]],
        variables={"registry_user": "", "registry_password": ""},
        sensitive=["registry_password"])
    artifacts = nbdocker.build(text, variables=account(lab))
    track(cleanup, artifacts)
    cleanup.manifests.append((path, artifacts[-1].data["Digest"]))

    assert engine.inspect_image(f"{repository}:1.0") is None
    assert engine.inspect_image(f"{repository}:2.0") is None
    assert engine.inspect_image(artifacts[0].image_id) is not None
    with RegistryClient(registry, credentials=Credentials(
            registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])) as client:
        assert client.manifest_digest(path, "2.0") == artifacts[-1].data["Digest"]


# -- docker-import --------------------------------------------------------------------------


def import_template(export: Path, repository: str, **import_options) -> str:
    return template(
        commit=False, export_path=str(export),
        provisioners=[{"type": "shell", "inline": ["echo imported > /imported.txt"]}],
        post_processors=[{"type": "docker-import", "repository": repository, "tag": "1.0",
                          "changes": ["ENV STAGE=imported", "WORKDIR /srv",
                                      'CMD ["cat", "/imported.txt"]'], **import_options}])


def test_docker_import_deletes_tar_by_default(engine, unique, cleanup, tmp_path):
    export = tmp_path / "rootfs.tar"
    repository = f"nbdocker-test/import-{unique}"
    artifacts = nbdocker.build(import_template(export, repository))
    track(cleanup, artifacts)

    assert not export.exists()
    assert [artifact.id for artifact in artifacts] == [f"{repository}:1.0"]
    config = engine.api.inspect_image(f"{repository}:1.0")["Config"]
    assert "STAGE=imported" in config["Env"]
    assert config["WorkingDir"] == "/srv"
    assert config["Cmd"] == ["cat", "/imported.txt"]


def test_docker_import_keep_true_keeps_tar(engine, unique, cleanup, tmp_path):
    export = tmp_path / "rootfs.tar"
    repository = f"nbdocker-test/import-{unique}"
    artifacts = nbdocker.build(import_template(export, repository, keep_input_artifact=True))
    track(cleanup, artifacts)

    assert export.exists()
    assert artifacts[0].files == [str(export)]
    assert artifacts[-1].id == f"{repository}:1.0"
    with tarfile.open(export) as tar:
        assert "imported.txt" in {name.lstrip("./") for name in tar.getnames()}


# -- docker-save ----------------------------------------------------------------------------


def test_docker_save_tar_loads_back(engine, unique, cleanup, tmp_path):
    repository = f"nbdocker-test/save-{unique}"
    saved = tmp_path / "out" / "image.tar"
    artifacts = nbdocker.build(template(
        provisioners=[{"type": "shell", "inline": ["echo saved > /saved.txt"]}],
        post_processors=[[{"type": "docker-tag", "repository": repository, "tags": ["1.0"]},
                          {"type": "docker-save", "path": str(saved)}]]))
    track(cleanup, artifacts)
    image_id = artifacts[-1].image_id

    with tarfile.open(saved) as tar:
        index = json.load(tar.extractfile("manifest.json"))
    assert index[0]["RepoTags"] == [f"{repository}:1.0"]
    engine.remove_image(f"{repository}:1.0", force=True)
    engine.remove_image(image_id, force=True)
    cache.prune(engine, os.environ["NBDOCKER_CACHE_NAMESPACE"])
    assert engine.inspect_image(image_id) is None

    with open(saved, "rb") as handle:
        engine.api.load_image(handle.read())
    assert engine.inspect_image(f"{repository}:1.0").id == image_id


def test_docker_save_unwritable_path_fails_clearly(engine, unique, cleanup, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n")
    repository = f"nbdocker-test/save-{unique}"
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[[
            {"type": "docker-tag", "repository": repository},
            {"type": "docker-save", "path": str(blocker / "image.tar")}]]))
    track(cleanup, failure.value.artifacts)

    message = str(failure.value.errors["docker"])
    assert "docker-save" in message
    assert str(blocker) in message
    assert engine.inspect_image(f"{repository}:latest") is not None


# -- manifest -------------------------------------------------------------------------------


def test_manifest_appends_entry_per_run(engine, unique, cleanup, tmp_path):
    output = tmp_path / "manifest.json"
    repository = f"nbdocker-test/manifest-{unique}"
    text = template(
        name="web", variables={"owner": "ada"},
        post_processors=[[
            {"type": "docker-tag", "repository": repository, "tags": ["1.0"]},
            {"type": "manifest", "output": str(output),
             "custom_data": {"image": "{{build `ImageSha256`}}", "owner": "{{user `owner`}}",
                             "build": "{{build_name}}"}}]])
    first = nbdocker.build(text)
    second = nbdocker.build(text, cache=False)
    track(cleanup, [*first, *second])

    document = json.loads(output.read_text())
    entries = document["builds"]
    assert len(entries) == 2
    assert entries[0]["packer_run_uuid"] != entries[1]["packer_run_uuid"]
    assert document["last_run_uuid"] == entries[1]["packer_run_uuid"]
    entry = entries[1]
    assert entry["name"] == "web"
    assert entry["builder_type"] == "docker"
    assert entry["artifact_id"] == f"{repository}:1.0"
    assert entry["files"] == []
    assert entry["build_time"] > 0
    assert entry["custom_data"] == {"image": second[-1].image_id, "owner": "ada",
                                    "build": "web"}


def test_manifest_strip_path_and_time(engine, tmp_path):
    output = tmp_path / "manifest.json"
    export = tmp_path / "exports" / "rootfs.tar"
    nbdocker.build(template(commit=False, export_path=str(export), post_processors=[
        {"type": "manifest", "output": str(output), "strip_path": True, "strip_time": True}]))

    entry = json.loads(output.read_text())["builds"][0]
    assert entry["build_time"] == 0
    assert entry["files"] == [{"name": "rootfs.tar", "size": export.stat().st_size}]
    assert entry["artifact_id"] == "Container"


# -- checksum -------------------------------------------------------------------------------


def test_checksum_writes_export_file_sums(engine, tmp_path):
    export = tmp_path / "rootfs.tar"
    sums = tmp_path / "sums"
    artifacts = nbdocker.build(template(
        name="files", commit=False, export_path=str(export),
        post_processors=[{"type": "checksum", "checksum_types": ["md5", "sha256"],
                          "output": str(sums / "{{.BuildName}}_{{.ChecksumType}}.checksum")}]))

    data = export.read_bytes()
    md5 = (sums / "files_md5.checksum").read_text()
    sha256 = (sums / "files_sha256.checksum").read_text()
    assert md5 == f"{hashlib.md5(data).hexdigest()}\trootfs.tar\n"
    assert sha256 == f"{hashlib.sha256(data).hexdigest()}\trootfs.tar\n"
    assert artifacts[-1].files == [str(export), str(sums / "files_md5.checksum"),
                                   str(sums / "files_sha256.checksum")]


def test_checksum_rejects_unknown_type(tmp_path):
    text = template(commit=False, export_path=str(tmp_path / "rootfs.tar"),
                    post_processors=[{"type": "checksum", "checksum_types": ["crc32"]}])
    with pytest.raises(TemplateError) as failure:
        nbdocker.validate(text)
    assert "crc32" in str(failure.value)


# -- shell-local ----------------------------------------------------------------------------


def test_shell_local_runs_on_host(engine, unique, cleanup, tmp_path):
    marker = tmp_path / "host.txt"
    repository = f"nbdocker-test/local-{unique}"
    artifacts = nbdocker.build(template(name="web", post_processors=[[
        {"type": "docker-tag", "repository": repository},
        {"type": "shell-local",
         "inline": [f'echo "$PACKER_BUILD_NAME $PACKER_BUILDER_TYPE" > {marker}']}]]))
    track(cleanup, artifacts)

    assert marker.read_text() == "web docker\n"
    assert artifacts[-1].id == f"{repository}:latest"
    assert artifacts[-1].build == "web"


def test_shell_local_failure_fails_build(engine, unique, cleanup):
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[{"type": "shell-local", "inline": ["exit 4"]}]))
    track(cleanup, failure.value.artifacts)
    assert "status 4" in str(failure.value.errors["docker"])


# -- artifice -------------------------------------------------------------------------------


def test_artifice_files_become_artifact(engine, tmp_path):
    download = tmp_path / "release.txt"
    sums = tmp_path / "release.sha1"
    artifacts = nbdocker.build(template(
        commit=False, discard=True,
        provisioners=[
            {"type": "shell", "inline": ["echo release > /release.txt"]},
            {"type": "file", "direction": "download", "source": "/release.txt",
             "destination": str(download)}],
        post_processors=[[{"type": "artifice", "files": [str(download)]},
                          {"type": "checksum", "checksum_types": ["sha1"],
                           "output": str(sums)}]]))

    assert download.read_text() == "release\n"
    assert sums.read_text() == f"{hashlib.sha1(b'release' + bytes([10])).hexdigest()}" \
                               f"\trelease.txt\n"
    assert artifacts[-1].files == [str(download), str(sums)]


def test_artifice_missing_file_fails(engine, tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(commit=False, discard=True,
                                post_processors=[{"type": "artifice", "files": [str(missing)]}]))
    assert str(missing) in str(failure.value.errors["docker"])
