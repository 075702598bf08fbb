"""Packer's artifact chain against the real engine: sequences, keeps, failures, selection.

Each sequence starts from the builder's artifact, and each step's output is the next step's
input. An input that no step keeps is destroyed: a committed image is removed, an exported
or artifice file deleted. Unlike Packer, a failed first step keeps the committed image.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import nbdocker
from nbdocker.build import cache
from nbdocker.build.events import ArtifactEvent, LogLine, StepFinished, StepStarted
from nbdocker.errors import BuildsFailed

pytestmark = pytest.mark.engine


def template(*, post_processors=(), provisioners=(), builders=None, **builder) -> str:
    """Return a JSON template; by default one docker builder on busybox that commits."""
    config = {"type": "docker", "image": "busybox:latest", "commit": True, **builder}
    return json.dumps({"builders": builders or [config], "provisioners": list(provisioners),
                       "post-processors": list(post_processors)}, indent=2)


def tag(repository: str, **options) -> dict:
    return {"type": "docker-tag", "repository": repository, **options}


def failing(status: int = 3, **options) -> dict:
    return {"type": "shell-local", "inline": [f"exit {status}"], **options}


@pytest.fixture(autouse=True)
def log_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture
def images(engine, unique):
    """Register image references or ids to remove after the test; prune the step cache."""
    references: list[str] = []
    yield references
    for reference in reversed(references):
        engine.remove_image(reference, force=True)
    cache.prune(engine, f"test-{unique}")


def track(images: list[str], artifacts) -> None:
    for artifact in artifacts:
        images += [*artifact.tags, *([artifact.image_id] if artifact.image_id else [])]


def step_status(events) -> dict[str, str]:
    return {event.step: event.status for event in events if isinstance(event, StepFinished)}


def exists(engine, reference: str) -> bool:
    return engine.inspect_image(reference) is not None


# -- sequences ------------------------------------------------------------------------------


def test_chain_sequences_start_from_builder(engine, unique, images):
    first, second = f"nbdocker-test/first-{unique}", f"nbdocker-test/second-{unique}"
    artifacts = nbdocker.build(template(post_processors=[[tag(first)], [tag(second)]]))
    track(images, artifacts)

    builder = artifacts[0]
    assert builder.tags == []
    assert [artifact.id for artifact in artifacts[1:]] == [f"{first}:latest",
                                                           f"{second}:latest"]
    assert engine.inspect_image(f"{first}:latest").id == builder.image_id
    assert engine.inspect_image(f"{second}:latest").id == builder.image_id


def test_chain_output_feeds_next_step(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/feed-{unique}"
    saved = tmp_path / "image.tar"
    artifacts = nbdocker.build(template(post_processors=[[
        tag(repository, tags=["1.0"]), {"type": "docker-save", "path": str(saved)}]]))
    track(images, artifacts)

    with tarfile.open(saved) as tar:
        index = json.load(tar.extractfile("manifest.json"))
    assert index[0]["RepoTags"] == [f"{repository}:1.0"]


def test_chain_pass_through_keeps_image(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/through-{unique}"
    saved = tmp_path / "image.tar"
    artifacts = nbdocker.build(template(post_processors=[[
        tag(repository),
        {"type": "checksum", "output": str(tmp_path / "sums.md5")},
        {"type": "manifest", "output": str(tmp_path / "manifest.json")},
        {"type": "shell-local", "inline": ["true"]},
        {"type": "docker-save", "path": str(saved)}]]))
    track(images, artifacts)

    assert saved.exists()
    assert artifacts[-1].tags == [f"{repository}:latest"]
    assert not (tmp_path / "sums.md5").exists()


def test_chain_lists_each_artifact_once(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/once-{unique}"
    artifacts = nbdocker.build(template(post_processors=[[
        tag(repository), {"type": "shell-local", "inline": ["true"]},
        {"type": "manifest", "output": str(tmp_path / "manifest.json")}]]))
    track(images, artifacts)

    assert [artifact.id for artifact in artifacts] == [artifacts[0].image_id,
                                                       f"{repository}:latest"]


# -- keep_input_artifact --------------------------------------------------------------------


def test_chain_keep_false_removes_builder_image(engine, images, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("release notes\n")
    events = []
    artifacts = nbdocker.build(template(post_processors=[
        {"type": "artifice", "files": [str(notes)], "keep_input_artifact": False}]),
        view=events.append)
    committed = [event.text.removeprefix("Image ID: ") for event in events
                 if isinstance(event, LogLine) and event.text.startswith("Image ID: ")]
    images += committed

    assert [artifact.files for artifact in artifacts] == [[str(notes)]]
    assert [event.artifact.files for event in events
            if isinstance(event, ArtifactEvent)] == [[str(notes)]]
    assert len(committed) == 1
    assert not exists(engine, committed[0])
    assert notes.exists()


def test_chain_keep_true_lists_intermediate(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/keep-{unique}"
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n")
    artifacts = nbdocker.build(template(post_processors=[[
        tag(repository), {"type": "artifice", "files": [str(notes)],
                          "keep_input_artifact": True}]]))
    track(images, artifacts)

    assert [artifact.id for artifact in artifacts[1:2]] == [f"{repository}:latest"]
    assert artifacts[-1].files == [str(notes)]
    assert exists(engine, f"{repository}:latest")


def test_chain_keep_false_removes_intermediate(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/drop-{unique}"
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n")
    artifacts = nbdocker.build(template(post_processors=[[
        tag(repository, tags=["1.0", "2.0"]),
        {"type": "artifice", "files": [str(notes)], "keep_input_artifact": False}]]))
    track(images, artifacts)

    assert not exists(engine, f"{repository}:1.0")
    assert not exists(engine, f"{repository}:2.0")
    assert exists(engine, artifacts[0].image_id)
    assert [artifact.id for artifact in artifacts] == [artifacts[0].image_id, str(notes)]


@pytest.mark.parametrize("step", [
    tag("nbdocker-test/forced"),
    {"type": "manifest"},
    {"type": "checksum"},
    {"type": "shell-local", "inline": ["true"]},
], ids=lambda step: step["type"])
def test_chain_forced_keep_ignores_false(engine, images, tmp_path, step):
    step = {**step, "keep_input_artifact": False}
    if step["type"] in ("manifest", "checksum"):
        step["output"] = str(tmp_path / "output")
    artifacts = nbdocker.build(template(post_processors=[step]))
    track(images, artifacts)

    builder = artifacts[0]
    assert builder.tags == []
    assert exists(engine, builder.image_id)


def test_chain_docker_import_deletes_artifice_files(engine, unique, images, tmp_path):
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, fileobj=io.BytesIO(b"hello\n"))
    repository = f"nbdocker-test/artifice-{unique}"
    artifacts = nbdocker.build(template(commit=False, discard=True, post_processors=[[
        {"type": "artifice", "files": [str(rootfs)]},
        {"type": "docker-import", "repository": repository, "tag": "1.0"}]]))
    track(images, artifacts)

    assert exists(engine, f"{repository}:1.0")
    assert not rootfs.exists()


# -- failures -------------------------------------------------------------------------------


def test_chain_failed_sequence_does_not_stop_others(engine, unique, images):
    repository = f"nbdocker-test/other-{unique}"
    events = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[[failing(3), tag(f"{repository}-skipped")],
                                                 [tag(repository)]]), view=events.append)
    artifacts = failure.value.artifacts
    track(images, artifacts)

    assert "status 3" in str(failure.value.errors["docker"])
    assert exists(engine, f"{repository}:latest")
    assert not exists(engine, f"{repository}-skipped:latest")
    assert [artifact.id for artifact in artifacts] == [artifacts[0].image_id,
                                                       f"{repository}:latest"]
    statuses = step_status(events)
    assert statuses["shell-local (post-processors[0][0])"] == "failed"
    assert "docker-tag (post-processors[0][1])" not in statuses
    assert statuses["docker-tag (post-processors[1][0])"] == "ok"


def test_chain_failed_step_skips_rest_of_sequence(engine, unique, images):
    repository = f"nbdocker-test/rest-{unique}"
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[[
            tag(repository), failing(5), tag(f"{repository}-after")]]))
    track(images, failure.value.artifacts)

    assert exists(engine, f"{repository}:latest")
    assert not exists(engine, f"{repository}-after:latest")


def test_chain_reports_every_failed_sequence(engine, images):
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[[failing(3)], [failing(4)]]))
    track(images, failure.value.artifacts)

    message = str(failure.value.errors["docker"])
    assert "status 3" in message
    assert "status 4" in message


def test_chain_failed_first_step_keeps_image(engine, images):
    # Packer removes the committed image when the first step of every sequence fails.
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(post_processors=[failing(1, keep_input_artifact=False)]))
    artifacts = failure.value.artifacts
    track(images, artifacts)

    assert len(artifacts) == 1
    assert artifacts[0].image_id.startswith("sha256:")
    assert exists(engine, artifacts[0].image_id)


# -- selection: only, except, -except -------------------------------------------------------


def two_builds(*, post_processors) -> str:
    builders = [{"type": "docker", "name": name, "image": "busybox:latest", "commit": True}
                for name in ("alpha", "beta")]
    return template(builders=builders, post_processors=post_processors)


def test_chain_post_processor_only_and_except(engine, unique, images):
    only, skipped = f"nbdocker-test/only-{unique}", f"nbdocker-test/except-{unique}"
    artifacts = nbdocker.build(two_builds(post_processors=[
        tag(only, only=["alpha"]), tag(skipped, **{"except": ["alpha"]})]))
    track(images, artifacts)

    tagged = {(artifact.build, artifact.id) for artifact in artifacts if artifact.tags}
    assert tagged == {("alpha", f"{only}:latest"), ("beta", f"{skipped}:latest")}


def test_chain_except_skips_rest_of_sequence(engine, unique, images, tmp_path):
    marker = tmp_path / "announced"
    first, second = f"nbdocker-test/first-{unique}", f"nbdocker-test/second-{unique}"
    events = []
    artifacts = nbdocker.build(template(post_processors=[
        [tag(first, name="release-tag"),
         {"type": "shell-local", "name": "announce", "inline": [f"touch {marker}"]}],
        [tag(second)]]), except_=["release-tag"], view=events.append)
    track(images, artifacts)

    assert not exists(engine, f"{first}:latest")
    assert not marker.exists()
    assert exists(engine, f"{second}:latest")
    started = [event.step for event in events if isinstance(event, StepStarted)]
    assert not [step for step in started if "post-processors[0]" in step]


# -- the command line -----------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbdocker", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=os.environ.copy())


def test_cli_chain_prints_packer_summary(engine, unique, images, tmp_path):
    first, second = f"nbdocker-test/first-{unique}", f"nbdocker-test/second-{unique}"
    path = tmp_path / "template.json"
    path.write_text(template(post_processors=[[tag(first, tags=["1.0"])], [tag(second)]]))
    result = cli("build", str(path), cwd=tmp_path)
    images += [f"{first}:1.0", f"{second}:latest"]

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("==> Builds finished. The artifacts of successful builds are:")
    summary = lines[start + 1:]
    assert len(summary) == 3, summary
    assert summary[0].startswith("--> docker: Imported Docker image: sha256:")
    image_id = summary[0].split(": ")[-1]
    images.append(image_id)
    assert summary[1] == f"--> docker: Imported Docker image: {image_id} with tags {first}:1.0"
    assert summary[2] == f"--> docker: Imported Docker image: {image_id} " \
                         f"with tags {second}:latest"
    assert "==> docker: Running post-processor: docker-tag" in lines


def test_cli_except_post_processor(engine, unique, images, tmp_path):
    first, second = f"nbdocker-test/first-{unique}", f"nbdocker-test/second-{unique}"
    path = tmp_path / "template.json"
    path.write_text(template(post_processors=[
        [tag(first, name="release-tag"), {"type": "shell-local", "inline": ["echo announced"]}],
        [tag(second)]]))
    result = cli("build", "-except=release-tag", str(path), cwd=tmp_path)
    images += [f"{first}:latest", f"{second}:latest"]
    summary = [line for line in result.stdout.splitlines() if line.startswith("--> docker: ")]
    images += [line.split(": ")[-1] for line in summary if "with tags" not in line]

    assert result.returncode == 0, result.stderr
    assert "announced" not in result.stdout
    assert not exists(engine, f"{first}:latest")
    assert [line.rsplit(" ", 1)[-1] for line in summary[1:]] == [f"{second}:latest"]


def test_cli_failed_chain_summary(engine, unique, images, tmp_path):
    repository = f"nbdocker-test/kept-{unique}"
    path = tmp_path / "template.json"
    path.write_text(template(post_processors=[[failing(6)], [tag(repository)]]))
    result = cli("build", str(path), cwd=tmp_path)
    images.append(f"{repository}:latest")
    lines = result.stdout.splitlines()
    images += [line.split(": ")[-1] for line in lines
               if line.startswith("--> docker: Imported") and "with tags" not in line]

    assert result.returncode == 1
    assert "==> Some builds didn't complete successfully and had errors:" in lines
    errors = [line for line in lines if line.startswith("--> docker: ") and "status 6" in line]
    assert len(errors) == 1
    assert any(line.endswith(f"with tags {repository}:latest") for line in lines)
    assert "Traceback" not in result.stderr
