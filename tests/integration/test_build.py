"""Builds against the real engine: lifecycle, results, failures and cleanup."""

from __future__ import annotations

import json
import tarfile

import pytest

import nbdocker
from nbdocker.build.events import LogLine, StepFinished
from nbdocker.errors import BuildsFailed

pytestmark = pytest.mark.engine


def template(*, provisioners=(), post_processors=(), **builder) -> str:
    """Return a JSON template with one docker builder on busybox."""
    config = {"type": "docker", "image": "busybox:latest", "commit": True, **builder}
    return json.dumps({"builders": [config], "provisioners": list(provisioners),
                       "post-processors": list(post_processors)}, indent=2)


def image_files(engine, image: str, path: str) -> list[str]:
    """List the names under ``path`` in ``image``, by exporting a created container."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        tar = engine.get_archive(container, path)
        return [member.name for member in tar.getmembers()]
    finally:
        engine.remove_container(container)


@pytest.fixture
def built_images(engine):
    """Collect image references to remove after the test."""
    images: list[str] = []
    yield images
    for image in reversed(images):
        engine.remove_image(image, force=True)


def test_build_commit_tags_and_keeps_cmd(engine, unique, built_images):
    events = []
    text = template(
        provisioners=[{"type": "shell", "inline": ["echo built > /built.txt", "echo done"]}],
        post_processors=[{"type": "docker-tag", "repository": f"nbdocker-test/{unique}",
                          "tags": ["1.0", "latest"]}],
        changes=["ENV GREETING=hello", "LABEL stage=test"])
    artifacts = nbdocker.build(text, view=events.append)
    built_images += artifacts[-1].tags

    assert artifacts[-1].tags == [f"nbdocker-test/{unique}:1.0", f"nbdocker-test/{unique}:latest"]
    info = engine.api.inspect_image(f"nbdocker-test/{unique}:1.0")
    base = engine.api.inspect_image("busybox:latest")
    assert info["Config"]["Cmd"] == base["Config"]["Cmd"]
    assert not info["Config"]["Entrypoint"]
    assert "GREETING=hello" in info["Config"]["Env"]
    assert info["Config"]["Labels"]["stage"] == "test"
    assert any(isinstance(e, LogLine) and e.text == "done" for e in events)


def test_build_leaves_no_packer_files_folder(engine, unique, built_images):
    artifacts = nbdocker.build(template(
        provisioners=[{"type": "shell", "inline": ["true"]}],
        post_processors=[{"type": "docker-tag", "repository": f"nbdocker-test/{unique}"}]))
    built_images += artifacts[-1].tags
    root = image_files(engine, artifacts[-1].tags[0], "/")
    assert "packer-files" not in {name.split("/")[1] for name in root if "/" in name}


def test_build_failing_inline_stops_at_failing_line(engine):
    events = []
    text = template(provisioners=[{"type": "shell",
                                   "inline": ["echo before", "exit 3", "echo after"]}])
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(text, view=events.append)

    error = failure.value.errors["docker"]
    assert "exit status: 3" in str(error)
    assert error.step.startswith("shell (provisioners[0])")
    lines = [e.text for e in events if isinstance(e, LogLine) and e.stream != "ui"]
    assert "before" in lines
    assert "after" not in lines


def test_build_failure_removes_container(engine, session_containers):
    with pytest.raises(BuildsFailed):
        nbdocker.build(template(provisioners=[{"type": "shell", "inline": ["false"]}]))
    assert session_containers() == []


def test_build_success_removes_container(engine, session_containers):
    nbdocker.build(template(discard=True, commit=False,
                            provisioners=[{"type": "shell", "inline": ["true"]}]))
    assert session_containers() == []


def test_build_abort_keeps_container(engine, session_containers):
    with pytest.raises(BuildsFailed):
        nbdocker.build(template(provisioners=[{"type": "shell", "inline": ["false"]}]),
                       on_error="abort")
    left = [c["Id"] for c in session_containers()]
    for container in left:
        engine.remove_container(container)
    assert len(left) == 1


def test_build_valid_exit_codes_accept_status(engine):
    nbdocker.build(template(discard=True, commit=False, provisioners=[
        {"type": "shell", "inline": ["exit 2"], "valid_exit_codes": [0, 2]}]))


def test_build_stdin_is_closed_for_scripts(engine):
    events = []
    nbdocker.build(template(discard=True, commit=False, provisioners=[
        {"type": "shell", "inline": ["read line || echo no-input"]},
        {"type": "shell", "inline": ["echo second"]}]), view=events.append)
    lines = [e.text for e in events if isinstance(e, LogLine)]
    assert "no-input" in lines
    assert "second" in lines


def test_build_environment_vars_are_quoted(engine):
    events = []
    nbdocker.build(template(discard=True, commit=False, provisioners=[
        {"type": "shell", "environment_vars": ["QUOTE=it's fine", "EMPTY="],
         "inline": ["echo \"[$QUOTE][$EMPTY][$PACKER_BUILD_NAME]\""]}]), view=events.append)
    assert "[it's fine][][docker]" in [e.text for e in events if isinstance(e, LogLine)]


def test_build_file_upload_creates_parents(engine, tmp_path, unique, built_images):
    source = tmp_path / "site"
    (source / "empty").mkdir(parents=True)
    (source / "index.html").write_text("<h1>hi</h1>\n")
    single = tmp_path / "note.txt"
    single.write_text("note\n")
    text = json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "commit": True}],
        "provisioners": [
            {"type": "file", "source": str(single), "destination": "/opt/a/b/note.txt"},
            {"type": "file", "source": str(source), "destination": "/srv/site"},
            {"type": "file", "content": "inline\n", "destination": "/etc/inline.conf"},
        ],
        "post-processors": [{"type": "docker-tag", "repository": f"nbdocker-test/{unique}"}],
    })
    artifacts = nbdocker.build(text)
    built_images += artifacts[-1].tags
    image = artifacts[-1].tags[0]
    assert "b/note.txt" in image_files(engine, image, "/opt/a/b")
    site = image_files(engine, image, "/srv/site")
    assert "site/index.html" in site
    assert "site/empty" in site
    assert image_files(engine, image, "/etc/inline.conf") == ["inline.conf"]


def test_build_download_directory(engine, tmp_path):
    destination = tmp_path / "out"
    nbdocker.build(template(discard=True, commit=False, provisioners=[
        {"type": "shell", "inline": ["mkdir -p /data/sub", "echo x > /data/sub/x.txt"]},
        {"type": "file", "direction": "download", "source": "/data",
         "destination": str(destination)}]))
    assert (destination / "sub" / "x.txt").read_text() == "x\n"


def test_build_export_path_writes_tar(engine, tmp_path):
    target = tmp_path / "exports" / "rootfs.tar"
    artifacts = nbdocker.build(template(commit=False, export_path=str(target), provisioners=[
        {"type": "shell", "inline": ["echo exported > /exported.txt"]}]))
    assert artifacts[0].files == [str(target)]
    with tarfile.open(target) as tar:
        assert "exported.txt" in {name.lstrip("./") for name in tar.getnames()}


def test_build_events_mark_steps_ok(engine):
    events = []
    nbdocker.build(template(discard=True, commit=False,
                            provisioners=[{"type": "shell", "inline": ["true"]}]),
                   view=events.append)
    finished = {e.step: e.status for e in events if isinstance(e, StepFinished)}
    assert finished["shell (provisioners[0])"] == "ok"
    assert finished["start container"] == "ok"


def test_build_missing_image_is_clear_error(engine, unique):
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(image=f"nbdocker-missing-{unique}:1", pull=False))
    assert f"nbdocker-missing-{unique}:1" in str(failure.value)
    assert "not present" in str(failure.value)
