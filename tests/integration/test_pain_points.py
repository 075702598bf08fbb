"""Where Packer's docker builder and its provisioners are known to hurt, nbdocker does better.

There is one test per behaviour, against the real engine, named for what nbdocker does.
Packer leaves an empty /packer-files folder in every image, cannot clear an inherited
ENTRYPOINT, download a directory or provision an image without /bin/sh, lets pause_before
switch off timeout, and renders a misspelled variable as "".
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest

import nbdocker
from nbdocker.build.events import LogLine, StepFinished, Warning
from nbdocker.errors import BuildsFailed, TemplateError

pytestmark = pytest.mark.engine


# -- helpers -------------------------------------------------------------------------------


def template(*provisioners: dict, **builder) -> str:
    """Return a JSON template with one docker builder on busybox that commits."""
    config = {"type": "docker", "image": "busybox:latest", "pull": False, "commit": True,
              **builder}
    if builder.get("discard") or builder.get("export_path"):
        config.pop("commit")
    return json.dumps({"builders": [config], "provisioners": list(provisioners)}, indent=2)


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


def build(engine, text: str):
    """Build ``text`` without reusing cached steps; return (artifacts, events)."""
    events: list = []
    artifacts = nbdocker.build(text, view=events.append, engine=engine, cache=False)
    return artifacts, events


def output(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, LogLine) and e.stream != "ui"]


def tree(engine, image: str, path: str) -> dict[str, tarfile.TarInfo]:
    """Return the tar headers under ``path`` in ``image`` by name ({} when it does not exist)."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        if engine.stat_path(container, path) is None:
            return {}
        return {m.name: m for m in engine.get_archive(container, path).getmembers()}
    finally:
        engine.remove_container(container)


def run_image(engine, image: str, command: list[str] | None = None) -> str:
    """Run ``image`` with its own entrypoint and CMD; return what it printed."""
    container = engine.api.create_container(image, command=command)["Id"]
    try:
        engine.api.start(container)
        engine.api.wait(container, timeout=30)
        return engine.api.logs(container).decode()
    finally:
        engine.remove_container(container)


def committed(engine, images, *provisioners: dict, **builder) -> tuple[str, list]:
    """Build with commit; return (image id, events)."""
    artifacts, events = build(engine, template(*provisioners, **builder))
    images.append(artifacts[0].id)
    return artifacts[0].id, events


def base_image(engine, images, name: str, changes: list[str]) -> str:
    """Commit busybox with ``changes`` and tag it ``name:1``; return the reference."""
    image, _ = committed(engine, images, changes=changes)
    repository = f"nbdocker-test/{name}"
    engine.tag_image(image, repository, "1")
    images.append(f"{repository}:1")
    return f"{repository}:1"


# -- no /packer-files folder ---------------------------------------------------------------


def test_no_packer_files_folder_in_committed_image(engine, images, tmp_path):
    source = tmp_path / "app.conf"
    source.write_text("x\n")
    image, _ = committed(engine, images, shell("true"),
                         {"type": "file", "source": str(source), "destination": "/etc/app.conf"})
    assert tree(engine, image, "/packer-files") == {}


def test_no_packer_files_folder_in_export(engine, tmp_path):
    target = tmp_path / "rootfs.tar"
    build(engine, template(shell("true"), export_path=str(target)))
    with tarfile.open(target) as tar:
        assert not [n for n in tar.getnames() if n.strip("./").startswith("packer-files")]


def test_no_host_folder_mounted_unless_volumes(engine, monkeypatch, tmp_path):
    # Nothing from the host is bind-mounted, so a remote engine (DOCKER_HOST=ssh://...)
    # builds the same way.
    mounts: list[list[dict]] = []
    start = engine.start

    def recording_start(container_id):
        mounts.append(engine.api.inspect_container(container_id)["Mounts"])
        start(container_id)

    monkeypatch.setattr(engine, "start", recording_start)
    build(engine, template(shell("true"), discard=True))
    (tmp_path / "asked").mkdir()
    build(engine, template(shell("true"), discard=True,
                           volumes={str(tmp_path / "asked"): "/asked"}))
    assert mounts[0] == []
    assert [(m["Type"], m["Source"], m["Destination"]) for m in mounts[1]] == \
        [("bind", str(tmp_path / "asked"), "/asked")]


# -- the base image's CMD and ENTRYPOINT ---------------------------------------------------


@pytest.fixture
def entrypoint_base(engine, images, unique) -> str:
    return base_image(engine, images, f"pain-entrypoint-{unique}",
                      ['ENTRYPOINT ["/bin/echo", "base-entrypoint"]', 'CMD ["base-cmd"]'])


def test_base_cmd_and_entrypoint_kept(engine, images, entrypoint_base):
    image, _ = committed(engine, images, shell("echo provisioned > /p.txt"),
                         image=entrypoint_base, changes=["LABEL unrelated=yes"])
    assert run_image(engine, image) == "base-entrypoint base-cmd\n"


def test_base_cmd_kept_without_changes(engine, images):
    image, _ = committed(engine, images, shell("true"))
    config = engine.api.inspect_image(image)["Config"]
    assert config["Cmd"] == ["sh"]
    assert not config["Entrypoint"]


def test_entrypoint_empty_clears_inherited(engine, images, entrypoint_base):
    image, _ = committed(engine, images, image=entrypoint_base,
                         changes=["ENTRYPOINT []", 'CMD ["echo", "no entrypoint"]'])
    assert not engine.api.inspect_image(image)["Config"]["Entrypoint"]
    assert run_image(engine, image) == "no entrypoint\n"


# -- ENV in both forms, and extending PATH -------------------------------------------------


def test_env_both_forms(engine, images):
    image, _ = committed(engine, images,
                         changes=["ENV SPACE_FORM value with spaces", "ENV EQUALS_FORM=value"])
    printed = run_image(engine, image, ["sh", "-c", 'echo "$SPACE_FORM|$EQUALS_FORM"'])
    assert printed == "value with spaces|value\n"


def test_env_path_extension(engine, images):
    image, _ = committed(engine, images, shell(
        "mkdir -p /opt/tool/bin", "printf '#!/bin/sh\\necho tool\\n' > /opt/tool/bin/tool",
        "chmod +x /opt/tool/bin/tool"), changes=["ENV PATH=/opt/tool/bin:$PATH"])
    assert run_image(engine, image, ["sh", "-c", "tool; echo $PATH"]) == (
        "tool\n/opt/tool/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")


# -- directory downloads and empty directory uploads ---------------------------------------


def test_directory_download(engine, tmp_path):
    destination = tmp_path / "downloaded"
    build(engine, template(
        shell("mkdir -p /var/report/logs", "echo line > /var/report/logs/app.log"),
        {"type": "file", "direction": "download", "source": "/var/report",
         "destination": str(destination)}, discard=True))
    assert (destination / "logs" / "app.log").read_text() == "line\n"


def test_empty_directory_upload(engine, images, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    image, _ = committed(engine, images,
                         {"type": "file", "source": str(empty), "destination": "/var/empty-dir"})
    names = tree(engine, image, "/var/empty-dir")
    assert list(names) == ["empty-dir"]


def test_directory_upload_to_missing_destination(engine, images, tmp_path):
    source = tmp_path / "conf"
    source.mkdir()
    (source / "a.conf").write_text("a\n")
    image, _ = committed(engine, images,
                         {"type": "file", "source": str(source), "destination": "/opt/new/conf"})
    assert "conf/a.conf" in tree(engine, image, "/opt/new/conf")


# -- non-root images -----------------------------------------------------------------------


def test_non_root_image_uploads_owned_by_user(engine, images, unique, tmp_path):
    base = base_image(engine, images, f"pain-nobody-{unique}", ["USER nobody"])
    source = tmp_path / "data"
    source.mkdir()
    (source / "data.txt").write_text("data\n")
    # fix_upload_owner is left out: its default (true) applies, as Packer documents.
    image, events = committed(engine, images,
                              {"type": "file", "source": str(source), "destination": "/tmp/"},
                              shell("echo appended >> /tmp/data/data.txt", "id -un"),
                              image=base)
    assert output(events) == ["nobody"]
    member = tree(engine, image, "/tmp/data/data.txt")["data.txt"]
    assert (member.uid, member.gid) == (65534, 65534)
    assert tree(engine, image, "/tmp")["tmp"].uid == 0


# -- images without /bin/sh ----------------------------------------------------------------


@pytest.fixture
def shell_less_image(engine, images, unique) -> str:
    """An image made with ``docker import`` from a tar holding one file, /hello.txt."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        content = b"hello from a scratch image\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    repository = f"nbdocker-test/no-shell-{unique}"
    image_id = engine.import_image(buffer.getvalue(), repository=repository, tag="1")
    images.append(image_id)
    return f"{repository}:1"


def test_no_shell_image_uploads_and_commits(engine, images, shell_less_image, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>static</p>\n")
    artifacts, events = build(engine, template(
        {"type": "file", "content": "setting=1\n", "destination": "/etc/app/app.conf"},
        {"type": "file", "source": str(site), "destination": "/srv/site"},
        image=shell_less_image, changes=['CMD ["/serve"]']))
    images.append(artifacts[0].id)
    names = tree(engine, artifacts[0].id, "/")
    assert {"/hello.txt", "/etc/app/app.conf", "/srv/site/index.html"} <= \
        {"/" + name.split("/", 1)[1] for name in names if "/" in name}
    assert "/bin/sh does not exist" in " ".join(e.message for e in events
                                                 if isinstance(e, Warning))
    assert engine.api.inspect_image(artifacts[0].id)["Config"]["Cmd"] == ["/serve"]


def test_no_shell_image_container_not_started(engine, images, shell_less_image, monkeypatch):
    started: list[str] = []
    monkeypatch.setattr(engine, "start", started.append)
    artifacts, _ = build(engine, template(
        {"type": "file", "content": "x\n", "destination": "/x.txt"}, image=shell_less_image))
    images.append(artifacts[0].id)
    assert started == []


def test_no_shell_image_download(engine, shell_less_image, tmp_path):
    build(engine, template({"type": "file", "direction": "download", "source": "/hello.txt",
                            "destination": str(tmp_path / "hello.txt")},
                           image=shell_less_image, discard=True))
    assert (tmp_path / "hello.txt").read_text() == "hello from a scratch image\n"


def test_no_shell_image_shell_step_is_clear_error(engine, shell_less_image, session_containers):
    events: list = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template({"type": "file", "content": "x\n", "destination": "/x.txt"},
                                shell("echo never"), image=shell_less_image, discard=True),
                       view=events.append, engine=engine, cache=False)
    message = str(failure.value.errors["docker"])
    assert message == (f"The shell provisioner (provisioners[1]) needs /bin/sh, which "
                       f"{shell_less_image} does not have; use file provisioners for this image")
    assert session_containers() == []


# -- pause_before together with timeout ----------------------------------------------------


def test_pause_before_keeps_timeout(engine):
    started = time.monotonic()
    events: list = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(shell("sleep 60", pause_before="1s", timeout="2s"),
                                discard=True),
                       view=events.append, engine=engine, cache=False)
    assert "timed out after 2s" in str(failure.value)
    step = next(e for e in events if isinstance(e, StepFinished) and e.step.startswith("shell"))
    assert step.duration >= 3
    assert time.monotonic() - started < 30


# -- a misspelled variable is an error -----------------------------------------------------


@pytest.mark.parametrize("where", ["inline", "image", "run_command"])
def test_user_variable_typo_names_close_matches(where):
    builder = {"type": "docker", "image": "busybox:latest", "discard": True}
    provisioner = shell("echo hi")
    if where == "inline":
        provisioner = shell("echo {{user `greting`}}")
    elif where == "image":
        builder["image"] = "busybox:{{user `greting`}}"
    else:
        builder["run_command"] = ["-d", "-i", "-t", "-e", "X={{user `greting`}}",
                                  "--entrypoint=/bin/sh", "--", "{{.Image}}"]
    text = json.dumps({"variables": {"greeting": "hi", "greetings": "all"},
                       "builders": [builder], "provisioners": [provisioner]})
    with pytest.raises(TemplateError) as failure:
        nbdocker.validate(text)
    message = str(failure.value)
    assert "undefined variable 'greting'" in message
    assert "did you mean 'greeting' or 'greetings'?" in message


def test_user_variable_typo_fails_before_any_container(engine, session_containers):
    text = template(shell("echo {{user `greting`}}"))
    text = json.dumps({**json.loads(text), "variables": {"greeting": "hi"}})
    with pytest.raises(TemplateError) as failure:
        nbdocker.build(text, engine=engine, cache=False)
    assert failure.value.problems[0].path == "provisioners[0].inline[0]"
    assert session_containers() == []
