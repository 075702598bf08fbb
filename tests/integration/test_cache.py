"""The step cache against the real engine: what a re-run reuses, what it runs again, cleanup.

Each test has its own cache namespace (the autouse ``separate_step_cache`` fixture) and
removes that namespace's cache tags when it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from nbdocker import api
from nbdocker.build import cache, docker_builder
from nbdocker.build.events import LogLine, StepFinished

pytestmark = pytest.mark.engine


def template(*steps: dict, variables: dict | None = None, **builder) -> str:
    config = {"type": "docker", "image": "busybox:latest", "pull": False, "commit": True,
              **builder}
    return json.dumps({"builders": [config], "provisioners": list(steps),
                       "variables": variables or {}}, indent=2)


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


class Result:
    """The events of one build, with the step statuses and the image it made."""

    def __init__(self, events: list, artifacts: list):
        self.events = events
        self.image = artifacts[0].id if artifacts else ""
        self.status = {event.step: event.status for event in events
                       if isinstance(event, StepFinished)}

    def steps(self, prefix: str = "shell") -> list[str]:
        """Return the statuses of the provisioner steps, in order."""
        return [status for step, status in self.status.items() if step.startswith(prefix)]

    def output(self) -> list[str]:
        return [event.text for event in self.events
                if isinstance(event, LogLine) and event.stream != "ui"]


@pytest.fixture
def recorder(engine, monkeypatch, unique):
    """Count the containers builds create and the images they commit; prune after the test."""
    record = {"created": 0, "committed": []}
    create, commit = engine.create_container, engine.commit

    def counting_create(*args, **kwargs):
        record["created"] += 1
        return create(*args, **kwargs)

    def recording_commit(*args, **kwargs):
        image_id = commit(*args, **kwargs)
        record["committed"].append(image_id)
        return image_id

    monkeypatch.setattr(engine, "create_container", counting_create)
    monkeypatch.setattr(engine, "commit", recording_commit)
    yield record
    cache.prune(engine, f"test-{unique}")
    for image_id in record["committed"]:
        if engine.inspect_image(image_id) is not None:
            try:
                engine.remove_image(image_id)
            except Exception:  # noqa: BLE001 - still tagged elsewhere or a parent: the engine keeps it
                pass


@pytest.fixture
def build(engine, recorder):
    """Build a template through the Python API with the test's engine; return a Result."""
    def run(text: str, **options) -> Result:
        events: list = []
        artifacts = api.build(text, engine=engine, view=events.append, **options)
        return Result(events, artifacts)

    return run


@pytest.fixture
def checkpoint_every_step(monkeypatch):
    """Commit a cache checkpoint after every step, so a re-run can start after any of them."""
    monkeypatch.setattr(docker_builder, "CHECKPOINT_SECONDS", 0.0)


# -- re-runs --------------------------------------------------------------------------------


def test_cache_unchanged_rerun_reuses_everything(build, recorder):
    text = template(shell("echo one > /one"), shell("echo two > /two"), shell("echo three"))
    first = build(text)
    created = recorder["created"]
    second = build(text)
    assert second.steps() == ["cached", "cached", "cached"]
    assert recorder["created"] == created
    assert second.image == first.image
    assert "three" not in second.output()


def test_cache_edit_last_step_reruns_only_it(build, engine):
    first = build(template(shell("echo one > /one"), shell("echo two > /two"),
                           shell("echo v1 > /last")))
    second = build(template(shell("echo one > /one"), shell("echo two > /two"),
                            shell("echo v2 > /last", "cat /one /two /last")))
    assert second.steps() == ["cached", "cached", "ok"]
    assert second.output() == ["one", "two", "v2"]
    assert second.image != first.image


def test_cache_edit_middle_step_reruns_it_and_later(build, checkpoint_every_step):
    build(template(shell("echo a"), shell("echo b"), shell("echo c"), shell("echo d")))
    second = build(template(shell("echo a"), shell("echo B"), shell("echo c"), shell("echo d")))
    assert second.steps() == ["cached", "ok", "ok", "ok"]
    assert second.output() == ["B", "c", "d"]


def test_cache_cheap_steps_rerun_from_last_checkpoint(build):
    # Steps cheaper than a commit get no checkpoint, so an edit in the middle re-runs
    # from the base image. Only the last-but-one step is always checkpointed.
    build(template(shell("echo a"), shell("echo b"), shell("echo c"), shell("echo d")))
    second = build(template(shell("echo a"), shell("echo B"), shell("echo c"), shell("echo d")))
    assert second.steps() == ["ok", "ok", "ok", "ok"]


# -- what invalidates a step ----------------------------------------------------------------


def test_cache_script_file_change(build, tmp_path, checkpoint_every_step):
    script = tmp_path / "setup.sh"
    script.write_text("#!/bin/sh\necho script-v1\n")
    text = template(shell("echo first"), {"type": "shell", "script": str(script)},
                    shell("echo last"))
    build(text)
    script.write_text("#!/bin/sh\necho script-v2\n")
    second = build(text)
    assert second.steps() == ["cached", "ok", "ok"]
    assert second.output() == ["script-v2", "last"]


def test_cache_uploaded_file_change(build, tmp_path, checkpoint_every_step):
    source = tmp_path / "app.conf"
    source.write_text("port=1\n")
    text = template(shell("echo first"),
                    {"type": "file", "source": str(source), "destination": "/etc/app.conf"},
                    shell("cat /etc/app.conf"))
    build(text)
    source.write_text("port=2\n")
    second = build(text)
    assert second.steps("file") == ["ok"]
    assert second.steps() == ["cached", "ok"]
    assert second.output() == ["port=2"]


def test_cache_uploaded_directory_change(build, tmp_path, checkpoint_every_step):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("v1\n")
    text = template(shell("echo first"),
                    {"type": "file", "source": str(site), "destination": "/srv/site"},
                    shell("ls /srv/site"))
    build(text)
    (site / "about.html").write_text("about\n")
    second = build(text)
    assert second.steps("file") == ["ok"]
    assert second.steps() == ["cached", "ok"]
    assert second.output() == ["about.html", "index.html"]


def test_cache_environment_vars_change(build, checkpoint_every_step):
    build(template(shell("echo first"), shell("echo $MODE", environment_vars=["MODE=dev"]),
                   shell("echo last")))
    second = build(template(shell("echo first"),
                            shell("echo $MODE", environment_vars=["MODE=prod"]),
                            shell("echo last")))
    assert second.steps() == ["cached", "ok", "ok"]
    assert second.output() == ["prod", "last"]


def test_cache_variable_value_in_inline(build, checkpoint_every_step):
    text = template(shell("echo first"), shell("echo {{user `greeting`}}"), shell("echo last"),
                    variables={"greeting": "hello"})
    build(text)
    unchanged = build(text, variables={"greeting": "hello"})
    changed = build(text, variables={"greeting": "bonjour"})
    assert unchanged.steps() == ["cached", "cached", "cached"]
    assert changed.steps() == ["cached", "ok", "ok"]
    assert changed.output() == ["bonjour", "last"]


def test_cache_base_image_change(build, engine, unique, recorder):
    base = f"nbdocker-test/cache-base-{unique}:1"
    variants = []
    for content in ("base-one", "base-two"):
        container = engine.create_container("busybox:latest", entrypoint=["/bin/true"])
        try:
            variants.append(engine.commit(container, config={"Cmd": ["sh"], "Entrypoint": [],
                                                             "Labels": {"variant": content}}))
        finally:
            engine.remove_container(container)
    recorder["committed"] += variants
    try:
        engine.tag_image(variants[0], *base.split(":"))
        text = template(shell("echo one"), shell("echo two"), image=base)
        first = build(text)
        engine.tag_image(variants[1], *base.split(":"))
        created = recorder["created"]
        second = build(text)
    finally:
        engine.remove_image(base)
    assert second.steps() == ["ok", "ok"]
    assert second.status["start container"] == "ok"
    assert recorder["created"] == created + 1
    assert second.image != first.image


# -- turning the cache off ------------------------------------------------------------------


def test_cache_disabled_api_runs_everything(build, recorder):
    text = template(shell("echo one"), shell("echo two"))
    first = build(text)
    created = recorder["created"]
    second = build(text, cache=False)
    assert second.steps() == ["ok", "ok"]
    assert recorder["created"] == created + 1
    assert second.output() == ["one", "two"]
    assert second.image != first.image


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m nbdocker`` with this test's environment (and its cache namespace)."""
    return subprocess.run([sys.executable, "-m", "nbdocker", *args], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))


def test_cache_force_flag_runs_everything(build, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(template(shell("echo one"), shell("echo two")))
    build(str(path))
    cached = cli("build", str(path))
    forced = cli("build", "-force", str(path))
    assert cached.returncode == 0, cached.stderr
    assert forced.returncode == 0, forced.stderr
    assert "using cached result" in cached.stdout
    assert "using cached result" not in forced.stdout
    assert "docker: two" in forced.stdout


@pytest.fixture
def ipython():
    """An InteractiveShell with nbdocker loaded, as a terminal IPython would have it."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    shell.run_cell("%load_ext nbdocker").raise_error()
    return shell


def test_cache_no_cache_magic_runs_everything(build, ipython, capsys):
    cell = template(shell("echo one"), shell("echo two"))
    first = build(cell)
    capsys.readouterr()
    ipython.run_cell("%%packer -o cached\n" + cell).raise_error()
    cached_output = capsys.readouterr().out
    ipython.run_cell("%%packer --no-cache -o forced\n" + cell).raise_error()
    forced_output = capsys.readouterr().out
    assert "using cached result" in cached_output
    assert ipython.user_ns["cached"][0].id == first.image
    assert "using cached result" not in forced_output
    assert ipython.user_ns["forced"][0].id != first.image


# -- steps that are never cached, and the end of the cached prefix --------------------------


@pytest.mark.parametrize("value", ["{{build `ID`}}", "{{build `PackerRunUUID`}}"])
def test_cache_build_data_step_never_cached(build, checkpoint_every_step, value):
    text = template(shell("echo first"), shell(f"echo {value} > /run-value"), shell("echo last"))
    build(text)
    second = build(text)
    assert second.steps() == ["cached", "ok", "ok"]
    assert second.output() == ["last"]


def test_cache_download_ends_prefix(build, tmp_path, checkpoint_every_step):
    target = tmp_path / "hostname.txt"
    text = template(shell("echo first > /data.txt"),
                    {"type": "file", "direction": "download", "source": "/data.txt",
                     "destination": str(target)},
                    shell("echo last"))
    build(text)
    target.unlink()
    second = build(text)
    assert second.steps("shell") == ["cached", "ok"]
    assert second.steps("file") == ["ok"]
    assert target.read_text() == "first\n"


def test_cache_shell_local_ends_prefix(build, tmp_path, checkpoint_every_step):
    marker = tmp_path / "ran.txt"
    text = template(shell("echo first"),
                    {"type": "shell-local", "inline": [f"echo ran >> {marker}"]},
                    shell("echo last"))
    build(text)
    second = build(text)
    assert second.steps("shell (") == ["cached", "ok"]
    assert second.steps("shell-local") == ["ok"]
    assert marker.read_text() == "ran\nran\n"


# -- listing, pruning, and no dangling images -------------------------------------------------


def test_cache_ls_and_prune(build, engine, unique):
    first = build(template(shell("echo one"), shell("echo two"), shell("echo three")))
    entries = cache.list_entries(engine, f"test-{unique}")
    listed = cli("cache", "ls")
    pruned = cli("cache", "prune")
    after = cli("cache", "ls")

    assert listed.returncode == 0, listed.stderr
    assert len(entries) == 2  # the checkpoint before the last step and the committed image
    assert first.image in {entry.image_id for entry in entries}
    for entry in entries:
        assert entry.key[:16] in listed.stdout
    assert pruned.returncode == 0, pruned.stderr
    assert "Removed 2 cache image tag(s)." in pruned.stdout
    assert cache.list_entries(engine, f"test-{unique}") == []
    for entry in entries:
        assert entry.key[:16] not in after.stdout
        assert engine.inspect_image(entry.reference) is None


def test_cache_prune_then_rebuild_runs_everything(build, engine, unique):
    text = template(shell("echo one"), shell("echo two"))
    build(text)
    cache.prune(engine, f"test-{unique}")
    second = build(text)
    assert second.steps() == ["ok", "ok"]


def dangling(engine) -> set[str]:
    return {image["Id"] for image in engine.api.images(filters={"dangling": True})}


def test_cache_superseded_entries_not_dangling(build, engine, recorder, checkpoint_every_step):
    steps = [shell("echo one"), shell("echo two"), shell("echo three")]
    build(template(*steps))
    build(template(*steps), cache=False)  # the same keys: every entry is superseded
    build(template(*steps[:2], shell("echo THREE")))
    build(template(*steps), cache=False)
    left = dangling(engine) & set(recorder["committed"])
    assert left == set()


@pytest.mark.xfail(strict=True, reason=(
    "A superseded committed image that still carries the docker-tag post-processor's tag is "
    "kept when its cache tag moves; the post-processor then moves that tag to the new image "
    "and leaves the old one dangling. Removing it belongs after the post-processors run."))
def test_cache_superseded_tagged_image_not_dangling(build, engine, recorder, unique):
    repository = f"nbdocker-test/cache-tagged-{unique}"
    text = json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "commit": True}],
        "provisioners": [shell("echo one"), shell("echo two")],
        "post-processors": [{"type": "docker-tag", "repository": repository, "tags": ["1"]}]})
    try:
        build(text)
        build(text, cache=False)
        build(text, cache=False)
        left = dangling(engine) & set(recorder["committed"])
    finally:
        engine.remove_image(f"{repository}:1")
    assert left == set()
