"""Every core and useful option of the docker builder, against the real engine.

Each test builds a small template on busybox and checks what the option changes where a
user would look: the committed image's config and files, the exported tar, the build's
events, the host, or the error message.
"""

from __future__ import annotations

import json
import os
import tarfile

import pytest

import nbdocker
from nbdocker.build import cache
from nbdocker.build.artifacts import EXPORT_ID, IMPORT_ID
from nbdocker.build.events import LogLine, StepFinished, StepStarted, Warning
from nbdocker.engine.credentials import Credentials
from nbdocker.errors import BuildsFailed, EngineError, TemplateError
from nbdocker.registry import RegistryClient

pytestmark = pytest.mark.engine

#: Bits of /proc/self/status CapEff (see capabilities(7)).
CAP_CHOWN = 0
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


# -- helpers -------------------------------------------------------------------------------


def template(*provisioners: dict, post_processors=(), **builder) -> str:
    """Return a JSON template with one docker builder on the local busybox image."""
    config = {"type": "docker", "image": "busybox:latest", "pull": False, "commit": True,
              **builder}
    return json.dumps({"builders": [config], "provisioners": list(provisioners),
                       "post-processors": list(post_processors)}, indent=2)


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


def build(engine, text: str, **options):
    """Build ``text`` without reusing cached steps; return (artifacts, events)."""
    events: list = []
    artifacts = nbdocker.build(text, view=events.append, engine=engine, cache=False, **options)
    return artifacts, events


def build_failure(engine, text: str, **options):
    """Build ``text``, expecting it to fail; return (error of the build, events)."""
    events: list = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(text, view=events.append, engine=engine, cache=False, **options)
    return failure.value.errors["docker"], events


def output(events: list) -> list[str]:
    """Return the lines commands printed (stdout and stderr), without nbdocker's own."""
    return [e.text for e in events if isinstance(e, LogLine) and e.stream != "ui"]


def messages(events: list) -> list[str]:
    """Return nbdocker's own progress lines."""
    return [e.text for e in events if isinstance(e, LogLine) and e.stream == "ui"]


def warnings(events: list) -> list[str]:
    return [e.message for e in events if isinstance(e, Warning)]


def config_of(engine, image: str) -> dict:
    return engine.api.inspect_image(image)["Config"]


def read_file(engine, image: str, path: str) -> bytes | None:
    """Return the content of ``path`` in ``image``, or None when it does not exist."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        if engine.stat_path(container, path) is None:
            return None
        tar = engine.get_archive(container, path)
        handle = tar.extractfile(tar.getmembers()[0])
        return handle.read() if handle else b""
    finally:
        engine.remove_container(container)


def path_exists(engine, image: str, path: str) -> bool:
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        return engine.stat_path(container, path) is not None
    finally:
        engine.remove_container(container)


def run_image(engine, image: str, command: list[str] | None = None) -> str:
    """Run ``image`` as ``docker run`` would (its own entrypoint and CMD); return its output."""
    container = engine.api.create_container(image, command=command)["Id"]
    try:
        engine.api.start(container)
        engine.api.wait(container, timeout=30)
        return engine.api.logs(container).decode()
    finally:
        engine.remove_container(container)


def capabilities(line: str) -> int:
    """Return the CapEff bit mask of a ``CapEff:\\t...`` line."""
    return int(line.split()[-1], 16)


def spy_host_config(engine, monkeypatch) -> list[dict]:
    """Record the HostConfig of each build container, and stop each build before its start.

    For options whose effect this engine cannot show, such as ``privileged`` where the
    engine itself runs without the capabilities to grant.
    """
    recorded: list[dict] = []

    def start(container_id):
        recorded.append(engine.api.inspect_container(container_id)["HostConfig"])
        raise EngineError("Starting the container was stopped by the test")

    monkeypatch.setattr(engine, "start", start)
    return recorded


@pytest.fixture
def entrypoint_base(engine, images, unique) -> str:
    """A local image with ENTRYPOINT ["/bin/echo", "from-base"] and CMD ["base-cmd"]."""
    reference = f"nbdocker-test/entrypoint-{unique}:1"
    artifacts, _ = build(engine, template(
        changes=['ENTRYPOINT ["/bin/echo", "from-base"]', 'CMD ["base-cmd"]']))
    images.append(artifacts[0].id)
    engine.tag_image(artifacts[0].id, f"nbdocker-test/entrypoint-{unique}", "1")
    images.append(reference)
    return reference


# -- image and pull ------------------------------------------------------------------------


def test_image_by_id(engine, images):
    base_id = engine.inspect_image("busybox:latest").id
    artifacts, _ = build(engine, template(shell("echo by-id > /by-id.txt"), image=base_id))
    images.append(artifacts[0].id)
    assert read_file(engine, artifacts[0].id, "/by-id.txt") == b"by-id\n"
    assert artifacts[0].data["SourceImageSha256"] == base_id


def test_pull_true_pulls_before_start(engine, images):
    artifacts, events = build(engine, template(pull=True))
    images.append(artifacts[0].id)
    started = [e.step for e in events if isinstance(e, StepStarted)]
    assert started[:2] == ["pull busybox:latest", "start container"]
    assert "Pulling Docker image: busybox:latest" in messages(events)
    finished = {e.step: e.status for e in events if isinstance(e, StepFinished)}
    assert finished["pull busybox:latest"] == "ok"


def test_pull_true_records_source_digest(engine, images):
    artifacts, _ = build(engine, template(pull=True))
    images.append(artifacts[0].id)
    assert artifacts[0].data["SourceImageSha256"] == engine.inspect_image("busybox:latest").id
    assert artifacts[0].data["SourceImageDigest"].startswith("busybox@sha256:")


def test_pull_false_skips_pull(engine, images):
    artifacts, events = build(engine, template(pull=False))
    images.append(artifacts[0].id)
    assert not [e for e in events if isinstance(e, StepStarted) and e.kind == "pull"]
    assert artifacts[0].data["SourceImageSha256"] == engine.inspect_image("busybox:latest").id


def test_pull_missing_image_is_clear_error(engine, lab, unique):
    name = f"{lab['NBDOCKER_LAB_MIRROR']}/nbdocker-test/missing-{unique}:1"
    error, events = build_failure(engine, template(image=name, pull=True))
    assert str(error).startswith(f"Pulling {name} failed: ")
    assert "not found" in str(error)
    finished = {e.step: e.status for e in events if isinstance(e, StepFinished)}
    assert finished[f"pull {name}"] == "failed"


def test_pull_unreachable_registry_is_clear_error(engine, unique):
    # Docker Hub is not reachable from the lab; the message names the failed pull.
    name = f"nbdocker-test/missing-{unique}:1"
    error, _ = build_failure(engine, template(image=name, pull=True))
    assert str(error).startswith(f"Pulling {name} failed: ")


def test_pull_false_missing_image_names_fix(engine, unique):
    name = f"nbdocker-test/missing-{unique}:1"
    error, _ = build_failure(engine, template(image=name, pull=False))
    assert f"Image {name!r} is not present in the engine." in str(error)
    assert '"pull": true' in str(error)


# -- platform ------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["linux/amd64", "engine"])
def test_platform_runs_and_commits(engine, images, platform):
    version = engine.api.version()
    own = f"{version['Os']}/{version['Arch']}"
    if platform == "engine":
        platform = own
    if platform != own:
        pytest.fail(f"the lab engine runs {own}; this test expects linux/amd64")
    artifacts, events = build(engine, template(shell("uname -m"), platform=platform))
    images.append(artifacts[0].id)
    info = engine.api.inspect_image(artifacts[0].id)
    assert f"{info['Os']}/{info['Architecture']}" == platform
    assert output(events) == ["x86_64"]


def test_platform_with_pull(engine, images):
    artifacts, _ = build(engine, template(pull=True, platform="linux/amd64"))
    images.append(artifacts[0].id)
    assert engine.api.inspect_image(artifacts[0].id)["Architecture"] == "amd64"


@pytest.mark.parametrize("pull", [False, True])
def test_platform_bogus_is_clear_error(engine, pull):
    error, _ = build_failure(engine, template(platform="linux/bogus", pull=pull))
    assert "wanted linux/bogus, actual: linux/amd64" in str(error)


# -- commit, discard, export_path ----------------------------------------------------------


def test_commit_artifact_is_image(engine, images):
    artifacts, events = build(engine, template(shell("echo committed > /c.txt")))
    images.append(artifacts[0].id)
    artifact = artifacts[0]
    assert artifact.builder_id == IMPORT_ID
    assert artifact.id.startswith("sha256:")
    assert artifact.data["ImageSha256"] == artifact.id
    assert f"Image ID: {artifact.id}" in messages(events)
    assert read_file(engine, artifact.id, "/c.txt") == b"committed\n"


def test_commit_adds_one_layer(engine, images):
    artifacts, _ = build(engine, template(shell("echo a > /a"), shell("echo b > /b")))
    images.append(artifacts[0].id)
    base_layers = engine.api.inspect_image("busybox:latest")["RootFS"]["Layers"]
    layers = engine.api.inspect_image(artifacts[0].id)["RootFS"]["Layers"]
    assert layers[:len(base_layers)] == base_layers
    assert len(layers) == len(base_layers) + 1


def test_commit_image_has_no_build_labels(engine, images):
    artifacts, _ = build(engine, template(shell("true")))
    images.append(artifacts[0].id)
    labels = config_of(engine, artifacts[0].id).get("Labels") or {}
    assert not [key for key in labels if key.startswith("io.nbdocker.")]


def test_discard_makes_no_image(engine):
    artifacts, events = build(engine, template(shell("echo x > /x"), commit=False,
                                               discard=True))
    artifact = artifacts[0]
    assert artifact.builder_id == EXPORT_ID
    assert artifact.id == "Container"
    assert artifact.files == []
    assert not [e for e in events if isinstance(e, StepStarted) and e.kind in ("commit",
                                                                               "export")]
    assert "Discarding the container" in messages(events)


def test_export_path_creates_parents(engine, tmp_path):
    target = tmp_path / "a" / "b" / "rootfs.tar"
    artifacts, _ = build(engine, template(shell("echo exported > /exported.txt"),
                                          commit=False, export_path=str(target)))
    assert artifacts[0].files == [str(target)]
    assert artifacts[0].builder_id == EXPORT_ID
    with tarfile.open(target) as tar:
        member = tar.extractfile("exported.txt")
        assert member is not None and member.read() == b"exported\n"
        names = {name.rstrip("/") for name in tar.getnames()}
    assert "bin/busybox" in names
    assert "packer-files" not in names


def test_export_path_partial_file_removed(engine, tmp_path, monkeypatch):
    target = tmp_path / "out" / "rootfs.tar"

    def failing_export(container_id, chunk_size=1 << 20):
        yield b"x" * 1024
        raise EngineError(f"Exporting container {container_id[:12]} failed: test failure")

    monkeypatch.setattr(engine, "export", failing_export)
    error, _ = build_failure(engine, template(commit=False, export_path=str(target)))
    assert "test failure" in str(error)
    assert not target.exists()


def test_export_path_existing_directory_rejected(engine, tmp_path):
    with pytest.raises(TemplateError) as failure:
        build(engine, template(commit=False, export_path=str(tmp_path)))
    assert "export_path" in str(failure.value)


# -- changes -------------------------------------------------------------------------------

ALL_CHANGES = [
    'CMD ["/bin/echo", "from-cmd"]',
    'ENTRYPOINT ["/bin/env"]',
    "ENV LEGACY legacy value",
    "ENV MODERN=modern OTHER=other",
    "ENV PATH=/opt/tool/bin:$PATH",
    "EXPOSE 8080 53/udp",
    "LABEL version=1.0 \"two words\"=yes",
    "LABEL legacy-form old style",
    "ONBUILD RUN echo child",
    "USER nobody",
    "VOLUME /data",
    'VOLUME ["/cache"]',
    "WORKDIR /srv",
    "WORKDIR app",
    "MAINTAINER Ada Lovelace <ada@example.com>",
]

CHANGE_CHECKS = {
    "CMD": lambda c: c["Cmd"] == ["/bin/echo", "from-cmd"],
    "ENTRYPOINT": lambda c: c["Entrypoint"] == ["/bin/env"],
    "ENV key value": lambda c: "LEGACY=legacy value" in c["Env"],
    "ENV key=value": lambda c: {"MODERN=modern", "OTHER=other"} <= set(c["Env"]),
    "ENV PATH extended": lambda c: "PATH=/opt/tool/bin:/usr/local/sbin:/usr/local/bin:"
                                   "/usr/sbin:/usr/bin:/sbin:/bin" in c["Env"],
    "ENV PATH once": lambda c: len([e for e in c["Env"] if e.startswith("PATH=")]) == 1,
    "EXPOSE": lambda c: set(c["ExposedPorts"]) == {"8080/tcp", "53/udp"},
    "LABEL key=value": lambda c: c["Labels"]["version"] == "1.0",
    "LABEL quoted key": lambda c: c["Labels"]["two words"] == "yes",
    "LABEL key value": lambda c: c["Labels"]["legacy-form"] == "old style",
    "ONBUILD": lambda c: c["OnBuild"] == ["RUN echo child"],
    "USER": lambda c: c["User"] == "nobody",
    "VOLUME": lambda c: set(c["Volumes"]) == {"/data", "/cache"},
    "WORKDIR relative": lambda c: c["WorkingDir"] == "/srv/app",
}


@pytest.fixture(scope="module")
def changed_image(engine):
    """Image id of a build that sets every instruction ``changes`` accepts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBDOCKER_CACHE_NAMESPACE", "test-changes")
        patch.setenv("NBDOCKER_SESSION", "test-changes")
        artifacts, _ = build(engine, template(shell("true"), changes=ALL_CHANGES,
                                              author="", message=""))
        yield artifacts[0].id
        engine.remove_image(artifacts[0].id, force=True)
        for entry in cache.list_entries(engine, "test-changes"):
            engine.remove_image(entry.reference, force=True)


@pytest.mark.parametrize("check", CHANGE_CHECKS, ids=list(CHANGE_CHECKS))
def test_changes_instruction(engine, changed_image, check):
    config = config_of(engine, changed_image)
    assert CHANGE_CHECKS[check](config), json.dumps(config, indent=1)


def test_changes_maintainer_sets_author(engine, changed_image):
    info = engine.api.inspect_image(changed_image)
    assert info["Author"] == "Ada Lovelace <ada@example.com>"


def test_changes_entrypoint_runs(engine, images):
    artifacts, _ = build(engine, template(
        changes=['ENTRYPOINT ["/bin/echo", "hello"]', 'CMD ["world"]']))
    images.append(artifacts[0].id)
    assert run_image(engine, artifacts[0].id) == "hello world\n"


def test_changes_cmd_shell_form(engine, images):
    artifacts, _ = build(engine, template(changes=["CMD echo $HOME"]))
    images.append(artifacts[0].id)
    assert config_of(engine, artifacts[0].id)["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]


def test_changes_env_path_at_run_time(engine, images):
    artifacts, _ = build(engine, template(
        shell("mkdir -p /opt/tool/bin", "printf '#!/bin/sh\\necho tool ran\\n' > "
              "/opt/tool/bin/mytool", "chmod +x /opt/tool/bin/mytool"),
        changes=["ENV PATH=/opt/tool/bin:$PATH", 'CMD ["mytool"]']))
    images.append(artifacts[0].id)
    assert run_image(engine, artifacts[0].id) == "tool ran\n"
    assert run_image(engine, artifacts[0].id, ["ls", "/bin/busybox"]) == "/bin/busybox\n"


def test_changes_entrypoint_empty_clears_inherited(engine, images, entrypoint_base):
    artifacts, _ = build(engine, template(image=entrypoint_base, changes=["ENTRYPOINT []"]))
    images.append(artifacts[0].id)
    config = config_of(engine, artifacts[0].id)
    assert not config["Entrypoint"]
    assert config["Cmd"] == ["base-cmd"]


def test_changes_entrypoint_empty_with_cmd(engine, images, entrypoint_base):
    artifacts, _ = build(engine, template(image=entrypoint_base,
                                          changes=["ENTRYPOINT []", 'CMD ["echo", "plain"]']))
    images.append(artifacts[0].id)
    assert run_image(engine, artifacts[0].id) == "plain\n"


def test_changes_entrypoint_alone_drops_inherited_cmd(engine, images, entrypoint_base):
    artifacts, _ = build(engine, template(image=entrypoint_base,
                                          changes=['ENTRYPOINT ["/bin/echo", "only"]']))
    images.append(artifacts[0].id)
    assert not config_of(engine, artifacts[0].id)["Cmd"]
    assert run_image(engine, artifacts[0].id) == "only\n"


def test_changes_unset_keep_base_cmd_and_entrypoint(engine, images, entrypoint_base):
    artifacts, _ = build(engine, template(shell("true"), image=entrypoint_base,
                                          changes=["ENV EXTRA=1"]))
    images.append(artifacts[0].id)
    config = config_of(engine, artifacts[0].id)
    assert config["Entrypoint"] == ["/bin/echo", "from-base"]
    assert config["Cmd"] == ["base-cmd"]
    assert run_image(engine, artifacts[0].id) == "from-base base-cmd\n"


def test_changes_cmd_only_keeps_base_entrypoint(engine, images, entrypoint_base):
    artifacts, _ = build(engine, template(image=entrypoint_base, changes=['CMD ["new-cmd"]']))
    images.append(artifacts[0].id)
    assert run_image(engine, artifacts[0].id) == "from-base new-cmd\n"


def test_changes_without_changes_keep_busybox_cmd(engine, images):
    artifacts, _ = build(engine, template(shell("true")))
    images.append(artifacts[0].id)
    config = config_of(engine, artifacts[0].id)
    assert config["Cmd"] == ["sh"]
    assert not config["Entrypoint"]


def test_changes_render_build_data(engine, images):
    artifacts, _ = build(engine, template(changes=["LABEL source={{build `SourceImageSha256`}}"]))
    images.append(artifacts[0].id)
    labels = config_of(engine, artifacts[0].id)["Labels"]
    assert labels["source"] == engine.inspect_image("busybox:latest").id


def test_changes_invalid_json_is_clear_error(engine):
    error, _ = build_failure(engine, template(changes=['CMD ["unterminated"']))
    assert "changes" in str(error)
    assert "unterminated" in str(error)


def test_changes_run_instruction_rejected(engine):
    with pytest.raises(TemplateError) as failure:
        build(engine, template(changes=["RUN echo no"]))
    assert "RUN" in str(failure.value)


# -- author and message --------------------------------------------------------------------


def test_author_and_message_recorded(engine, images):
    artifacts, _ = build(engine, template(author="Grace Hopper", message="built by a test"))
    images.append(artifacts[0].id)
    info = engine.api.inspect_image(artifacts[0].id)
    assert info["Author"] == "Grace Hopper"
    assert info["Comment"] == "built by a test"


def test_author_wins_over_maintainer(engine, images):
    artifacts, _ = build(engine, template(author="Grace Hopper", changes=["MAINTAINER Ada"]))
    images.append(artifacts[0].id)
    assert engine.api.inspect_image(artifacts[0].id)["Author"] == "Grace Hopper"


# -- run_command ---------------------------------------------------------------------------


def test_run_command_custom_flags(engine):
    _, events = build(engine, template(
        shell('echo "FOO=$FOO"', "pwd", "hostname"), commit=False, discard=True,
        run_command=["-d", "-i", "-t", "-e", "FOO=bar", "--workdir", "/tmp",
                     "--hostname=nbdocker-test", "--entrypoint=/bin/sh", "--", "{{.Image}}"]))
    assert output(events) == ["FOO=bar", "/tmp", "nbdocker-test"]


def test_run_command_settings_kept_in_image(engine, images):
    # The engine's commit merges the container's settings into the image, as docker
    # commit does for Packer: -e always, -w and -u where the base image sets none.
    artifacts, _ = build(engine, template(run_command=[
        "-d", "-i", "-t", "-e", "FROM_RUN=1", "-w", "/tmp", "-u", "nobody",
        "--entrypoint=/bin/sh", "--", "{{.Image}}"]))
    images.append(artifacts[0].id)
    config = config_of(engine, artifacts[0].id)
    assert "FROM_RUN=1" in config["Env"]
    assert (config["WorkingDir"], config["User"]) == ("/tmp", "nobody")


def test_run_command_default_matches_packer(engine):
    _, events = build(engine, template(shell("cat /proc/1/cmdline | tr '\\0' ' '"),
                                       commit=False, discard=True))
    assert output(events) == ["/bin/sh "]


def test_run_command_user_function(engine):
    text = json.dumps({
        "variables": {"greeting": "hi-from-var"},
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "discard": True,
                      "run_command": ["-d", "-i", "-t", "-e", "GREETING={{user `greeting`}}",
                                      "--entrypoint=/bin/sh", "--", "{{.Image}}"]}],
        "provisioners": [shell("echo $GREETING")]})
    _, events = build(engine, text)
    assert output(events) == ["hi-from-var"]


def test_run_command_unsupported_flag(engine, session_containers):
    error, _ = build_failure(engine, template(
        commit=False, discard=True,
        run_command=["-d", "-i", "-t", "--memory", "1g", "--entrypoint=/bin/sh", "--",
                     "{{.Image}}"]))
    assert "run_command flag '--memory' is not supported" in str(error)
    assert "builders[0].run_command" in str(error)
    assert session_containers() == []


def test_run_command_without_image(engine):
    error, _ = build_failure(engine, template(commit=False, discard=True,
                                              run_command=["-d", "-i", "-t"]))
    assert "run_command names no image" in str(error)


@pytest.mark.parametrize("run_command", [
    ["-d", "--entrypoint=/bin/sh", "--", "{{.Image}}"],
    ["-d", "-i", "-t", "--entrypoint=/bin/true", "--", "{{.Image}}"],
], ids=["no-stdin", "true"])
def test_run_command_exiting_container(engine, session_containers, run_command):
    error, _ = build_failure(engine, template(shell("echo never"), commit=False, discard=True,
                                              run_command=run_command))
    assert "status 0" in str(error)
    assert "keep it running (e.g. -d -i -t with a shell entrypoint)" in str(error)
    assert session_containers() == []


def test_run_command_missing_entrypoint_warns(engine):
    error, events = build_failure(engine, template(
        shell("true"), commit=False, discard=True,
        run_command=["-d", "-i", "-t", "--entrypoint=/nonexistent/sh", "--", "{{.Image}}"]))
    assert "/nonexistent/sh does not exist" in " ".join(warnings(events))
    assert "needs /bin/sh" in str(error)


def test_pause_before_connecting(engine):
    _, events = build(engine, template(shell("true"), commit=False, discard=True,
                                       pause_before_connecting="1500ms"))
    step = next(e for e in events if isinstance(e, StepFinished) and e.step == "start container")
    assert step.duration >= 1.5
    assert "Pausing 1.5s before provisioning..." in messages(events)


def test_communicator_none_still_provisions(engine):
    _, events = build(engine, template(shell("echo provisioned"), commit=False, discard=True,
                                       communicator="none"))
    assert output(events) == ["provisioned"]


# -- volumes and container_dir -------------------------------------------------------------


def test_volumes_mount_host_folder(engine, images, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "from-host.txt").write_text("host data\n")
    artifacts, events = build(engine, template(
        shell("cat /mnt/shared/from-host.txt", "echo from container > /mnt/shared/out.txt"),
        volumes={str(shared): "/mnt/shared"}))
    images.append(artifacts[0].id)
    assert output(events) == ["host data"]
    assert (shared / "out.txt").read_text() == "from container\n"
    assert read_file(engine, artifacts[0].id, "/mnt/shared/from-host.txt") is None
    assert read_file(engine, artifacts[0].id, "/mnt/shared/out.txt") is None


def test_volumes_home_folder_expanded(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.txt").write_text("home\n")
    _, events = build(engine, template(shell("cat /mnt/x.txt"), commit=False, discard=True,
                                       volumes={"~/data": "/mnt"}))
    assert output(events) == ["home"]


def test_volumes_read_only_mode(engine, tmp_path):
    (tmp_path / "ro").mkdir()
    error, events = build_failure(engine, template(
        shell("touch /mnt/ro/new"), commit=False, discard=True,
        volumes={str(tmp_path / "ro"): "/mnt/ro:ro"}))
    assert "Read-only file system" in " ".join(output(events))
    assert not (tmp_path / "ro" / "new").exists()


def test_container_dir_accepted_not_created(engine, images):
    artifacts, events = build(engine, template(shell("ls -d /custom-dir || echo absent"),
                                               container_dir="/custom-dir"))
    images.append(artifacts[0].id)
    # ls reports on stderr and echo on stdout; the engine does not keep their order.
    assert "absent" in output(events)
    assert not path_exists(engine, artifacts[0].id, "/custom-dir")
    assert not path_exists(engine, artifacts[0].id, "/packer-files")


def test_no_host_folder_mounted_by_default(engine):
    _, events = build(engine, template(shell("cat /proc/self/mountinfo"), commit=False,
                                       discard=True))
    mounts = [line.split()[4] for line in output(events)]
    assert "/packer-files" not in mounts
    assert not [m for m in mounts if m not in ("/", "/etc/hosts", "/etc/hostname",
                                                "/etc/resolv.conf")
                and not m.startswith(("/proc", "/sys", "/dev"))]


# -- privileges, devices, tmpfs, runtime ---------------------------------------------------


def effective_capabilities(engine, **builder) -> int:
    _, events = build(engine, template(shell("grep CapEff /proc/self/status"), commit=False,
                                       discard=True, **builder))
    return capabilities(output(events)[0])


def test_privileged_reaches_engine(engine, monkeypatch):
    recorded = spy_host_config(engine, monkeypatch)
    error, _ = build_failure(engine, template(commit=False, discard=True, privileged=True))
    assert "stopped by the test" in str(error)
    assert recorded[0]["Privileged"] is True


def test_privileged_default_off(engine, monkeypatch):
    recorded = spy_host_config(engine, monkeypatch)
    build_failure(engine, template(commit=False, discard=True))
    assert recorded[0]["Privileged"] is False


def test_unprivileged_lacks_sys_admin(engine):
    assert not effective_capabilities(engine) & (1 << CAP_SYS_ADMIN)


def test_cap_add_net_admin(engine):
    assert effective_capabilities(engine, cap_add=["NET_ADMIN"]) & (1 << CAP_NET_ADMIN)


def test_cap_drop_chown_makes_chown_fail(engine):
    error, events = build_failure(engine, template(
        shell("touch /tmp/owned", "chown nobody /tmp/owned"), commit=False, discard=True,
        cap_drop=["CHOWN"]))
    assert "Operation not permitted" in " ".join(output(events))
    assert "exit status: 1" in str(error)


def test_cap_drop_removes_capability(engine):
    assert not effective_capabilities(engine, cap_drop=["CHOWN"]) & (1 << CAP_CHOWN)


def test_device_mapped(engine):
    _, events = build(engine, template(shell("test -c /dev/xnull && echo char-device",
                                             "echo gone > /dev/xnull"),
                                       commit=False, discard=True,
                                       device=["/dev/null:/dev/xnull"]))
    assert output(events) == ["char-device"]


def test_tmpfs_mounted_and_not_committed(engine, images):
    artifacts, events = build(engine, template(
        shell("grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
              "echo temporary > /scratch/t.txt"),
        tmpfs=["/scratch:size=1m"]))
    images.append(artifacts[0].id)
    assert output(events) == ["tmpfs"]
    assert read_file(engine, artifacts[0].id, "/scratch/t.txt") is None


def test_runtime_runc(engine):
    _, events = build(engine, template(shell("echo ran"), commit=False, discard=True,
                                       runtime="runc"))
    assert output(events) == ["ran"]


def test_runtime_unknown_is_clear_error(engine, session_containers):
    error, events = build_failure(engine, template(commit=False, discard=True,
                                                   runtime="nbdocker-no-such-runtime"))
    assert "Unknown runtime specified nbdocker-no-such-runtime" in str(error)
    finished = {e.step: e.status for e in events if isinstance(e, StepFinished)}
    assert finished["start container"] == "failed"
    assert session_containers() == []


def test_runtime_reaches_engine(engine, monkeypatch):
    recorded = spy_host_config(engine, monkeypatch)
    build_failure(engine, template(commit=False, discard=True, runtime="runc"))
    assert recorded[0]["Runtime"] == "runc"


# -- exec_user and fix_upload_owner --------------------------------------------------------


@pytest.mark.parametrize("exec_user,expected", [
    ("nobody", "65534:65534"),
    ("nobody:nogroup", "65534:65534"),
    ("65534:0", "65534:0"),
    ("", "0:0"),
])
def test_exec_user_runs_commands(engine, exec_user, expected):
    _, events = build(engine, template(shell('echo "$(id -u):$(id -g)"'), commit=False,
                                       discard=True, exec_user=exec_user))
    stdout = [e.text for e in events if isinstance(e, LogLine) and e.stream == "stdout"]
    assert stdout == [expected]


def test_exec_user_does_not_change_upload_owner(engine, images):
    artifacts, _ = build(engine, template(
        {"type": "file", "content": "x\n", "destination": "/tmp/uploaded.txt"},
        exec_user="nobody"))
    images.append(artifacts[0].id)
    member = stat_in_image(engine, artifacts[0].id, "/tmp/uploaded.txt")
    assert (member.uid, member.gid) == (0, 0)


def stat_in_image(engine, image: str, path: str) -> tarfile.TarInfo:
    """Return the tar header (owner, mode) of ``path`` in ``image``."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        return engine.get_archive(container, path).getmembers()[0]
    finally:
        engine.remove_container(container)


@pytest.fixture
def nobody_base(engine, images, unique) -> str:
    """A local busybox image whose USER is nobody."""
    artifacts, _ = build(engine, template(changes=["USER nobody"]))
    images.append(artifacts[0].id)
    engine.tag_image(artifacts[0].id, f"nbdocker-test/nobody-{unique}", "1")
    images.append(f"nbdocker-test/nobody-{unique}:1")
    return f"nbdocker-test/nobody-{unique}:1"


@pytest.mark.parametrize("setting", [{}, {"fix_upload_owner": True},
                                     {"fix_upload_owner": "true"}],
                         ids=["default", "true", "string-true"])
def test_fix_upload_owner_gives_files_to_image_user(engine, images, nobody_base, tmp_path,
                                                    setting):
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "css" / "main.css").write_text("body {}\n")
    artifacts, events = build(engine, template(
        {"type": "file", "content": "note\n", "destination": "/tmp/note.txt"},
        {"type": "file", "source": str(site), "destination": "/home/"},
        shell("id -u", "echo written > /tmp/note.txt", "echo more > /home/site/css/new.css"),
        image=nobody_base, **setting))
    images.append(artifacts[0].id)
    assert output(events) == ["65534"]
    for path in ("/tmp/note.txt", "/home/site", "/home/site/css", "/home/site/css/main.css"):
        member = stat_in_image(engine, artifacts[0].id, path)
        assert (path, member.uid, member.gid) == (path, 65534, 65534)


def test_fix_upload_owner_keeps_parent_owner(engine, images, nobody_base, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>hi</p>\n")
    artifacts, _ = build(engine, template(
        {"type": "file", "source": str(site), "destination": "/home/"},
        {"type": "file", "content": "x\n", "destination": "/etc/app.conf"},
        image=nobody_base))
    images.append(artifacts[0].id)
    for path, owner in (("/home", 0), ("/etc", 0), ("/etc/passwd", 0), ("/etc/app.conf", 65534),
                        ("/home/site/index.html", 65534)):
        assert (path, stat_in_image(engine, artifacts[0].id, path).uid) == (path, owner)


def test_fix_upload_owner_missing_parents_owned_by_user(engine, images, nobody_base):
    artifacts, _ = build(engine, template(
        {"type": "file", "content": "x\n", "destination": "/srv/app/conf/app.conf"},
        image=nobody_base))
    images.append(artifacts[0].id)
    for path in ("/srv", "/srv/app", "/srv/app/conf", "/srv/app/conf/app.conf"):
        assert (path, stat_in_image(engine, artifacts[0].id, path).uid) == (path, 65534)


def test_fix_upload_owner_false_uploads_as_root(engine, images, nobody_base):
    artifacts, events = build(engine, template(
        {"type": "file", "content": "x\n", "destination": "/tmp/root-owned.txt"},
        shell("echo denied >> /tmp/root-owned.txt || echo cannot-write"),
        image=nobody_base, fix_upload_owner=False))
    images.append(artifacts[0].id)
    member = stat_in_image(engine, artifacts[0].id, "/tmp/root-owned.txt")
    assert (member.uid, member.gid) == (0, 0)
    assert "cannot-write" in output(events)


def test_fix_upload_owner_same_from_file(engine, images, nobody_base, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(template({"type": "file", "content": "x\n", "destination": "/tmp/f.txt"},
                             image=nobody_base))
    events: list = []
    artifacts = nbdocker.build(str(path), view=events.append, engine=engine, cache=False)
    images.append(artifacts[0].id)
    assert stat_in_image(engine, artifacts[0].id, "/tmp/f.txt").uid == 65534


# -- login ---------------------------------------------------------------------------------


@pytest.fixture
def private_image(engine, lab, unique):
    """A busybox copy pushed to the password registry and removed from the engine."""
    registry = lab["NBDOCKER_LAB_REGISTRY"]
    repository = f"{registry}/nbdocker-test/private-{unique}"
    auth = {"username": lab["NBDOCKER_LAB_USER"], "password": lab["NBDOCKER_LAB_PASSWORD"],
            "serveraddress": registry}
    engine.tag_image("busybox:latest", repository, "1")
    try:
        for message in engine.api.push(repository, "1", auth_config=auth, stream=True,
                                       decode=True):
            assert "error" not in message, message
    finally:
        engine.remove_image(f"{repository}:1")
    yield f"{repository}:1"
    engine.remove_image(f"{repository}:1", force=True)
    credentials = Credentials(registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])
    with RegistryClient(registry, credentials=credentials) as client:
        digest = client.manifest_digest(f"nbdocker-test/private-{unique}", "1")
        if digest:
            client.delete_manifest(f"nbdocker-test/private-{unique}", digest)


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """A DOCKER_CONFIG folder containing a config.json with another registry's login."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(
        {"auths": {"registry.example.invalid": {"auth": "dXNlcjpwYXNz"}}}, indent="\t"))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder / "config.json"


def test_login_pulls_private_image(engine, images, lab, private_image, docker_config):
    before = docker_config.read_bytes()
    artifacts, events = build(engine, template(
        shell("echo private"), image=private_image, pull=True, login=True,
        login_username=lab["NBDOCKER_LAB_USER"], login_password=lab["NBDOCKER_LAB_PASSWORD"],
        login_server=lab["NBDOCKER_LAB_REGISTRY"]))
    images.append(artifacts[0].id)
    assert output(events) == ["private"]
    assert artifacts[0].data["SourceImageDigest"].startswith(private_image.rsplit(":", 1)[0])
    assert docker_config.read_bytes() == before
    assert sorted(os.listdir(docker_config.parent)) == ["config.json"]


def test_login_password_masked(engine, images, lab, private_image, docker_config):
    artifacts, events = build(engine, template(
        shell("echo $SECRET"), image=private_image, pull=True, login=True,
        login_username=lab["NBDOCKER_LAB_USER"], login_password=lab["NBDOCKER_LAB_PASSWORD"],
        login_server=lab["NBDOCKER_LAB_REGISTRY"],
        run_command=["-d", "-i", "-t", "-e", f"SECRET={lab['NBDOCKER_LAB_PASSWORD']}",
                     "--entrypoint=/bin/sh", "--", "{{.Image}}"]))
    images.append(artifacts[0].id)
    texts = [getattr(e, "text", "") or getattr(e, "message", "") for e in events]
    assert output(events) == ["<sensitive>"]
    assert not [text for text in texts if lab["NBDOCKER_LAB_PASSWORD"] in text]


def test_login_wrong_password_is_clear_error(engine, lab, private_image, docker_config):
    before = docker_config.read_bytes()
    error, _ = build_failure(engine, template(
        image=private_image, pull=True, login=True, login_username=lab["NBDOCKER_LAB_USER"],
        login_password="not-the-password", login_server=lab["NBDOCKER_LAB_REGISTRY"]))
    assert private_image in str(error)
    assert "authentication" in str(error) or "unauthorized" in str(error)
    assert docker_config.read_bytes() == before


def test_login_missing_without_credentials(engine, private_image, docker_config):
    error, _ = build_failure(engine, template(image=private_image, pull=True))
    assert private_image in str(error)
    assert "authentication required" in str(error)


# -- build block: bootstrap from a Dockerfile ----------------------------------------------


@pytest.fixture
def dockerfile(tmp_path):
    """A Dockerfile on busybox whose ARG ends up in /greeting.txt, with a file from its context."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "added.txt").write_text("from the context\n")
    path = tmp_path / "Dockerfile.test"
    path.write_text("FROM busybox:latest\n"
                    "ARG GREETING=unset\n"
                    "COPY added.txt /added.txt\n"
                    'RUN echo "$GREETING" > /greeting.txt\n')
    return path


def bootstrap_template(dockerfile, *provisioners, settings=None, **builder) -> str:
    config = {"type": "docker", "commit": True,
              "build": {"path": str(dockerfile), "build_dir": str(dockerfile.parent / "context"),
                        "arguments": {"GREETING": "hello-arg"}, "pull": False, **(settings or {})},
              **builder}
    return json.dumps({"builders": [config], "provisioners": list(provisioners)})


def test_build_block_uses_dockerfile(engine, images, dockerfile):
    artifacts, events = build(engine, bootstrap_template(dockerfile, shell("cat /greeting.txt")))
    images.append(artifacts[0].data["SourceImageSha256"])
    images.append(artifacts[0].id)
    shell_output = [e.text for e in events if isinstance(e, LogLine) and e.stream != "ui"
                    and e.step.startswith("shell")]
    assert shell_output == ["hello-arg"]
    assert read_file(engine, artifacts[0].id, "/added.txt") == b"from the context\n"


def test_build_block_streams_output(engine, images, dockerfile):
    artifacts, events = build(engine, bootstrap_template(dockerfile))
    images.append(artifacts[0].data["SourceImageSha256"])
    images.append(artifacts[0].id)
    lines = [e.text for e in events if isinstance(e, LogLine) and e.step == "build base image"
             and e.stream != "ui"]
    assert "Step 1/4 : FROM busybox:latest" in lines
    assert any(line.startswith("Step 4/4 : RUN") for line in lines)


@pytest.mark.parametrize("settings", [{"compress": True}, {"pull": True}],
                         ids=["compress", "pull"])
def test_build_block_settings(engine, images, dockerfile, settings):
    artifacts, _ = build(engine, bootstrap_template(dockerfile, settings=settings))
    images.append(artifacts[0].data["SourceImageSha256"])
    images.append(artifacts[0].id)
    assert read_file(engine, artifacts[0].id, "/greeting.txt") == b"hello-arg\n"


def test_build_block_settings_reach_engine(engine, images, dockerfile, monkeypatch):
    calls: list[dict] = []
    original = engine.api.build

    def recording_build(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(engine.api, "build", recording_build)
    artifacts, _ = build(engine, bootstrap_template(
        dockerfile, settings={"compress": True, "pull": False}, platform="linux/amd64"))
    images.append(artifacts[0].data["SourceImageSha256"])
    images.append(artifacts[0].id)
    assert {key: calls[0][key] for key in ("gzip", "pull", "platform", "buildargs")} == {
        "gzip": True, "pull": False, "platform": "linux/amd64",
        "buildargs": {"GREETING": "hello-arg"}}
    assert calls[0]["dockerfile"] == str(dockerfile)
    assert calls[0]["path"] == str(dockerfile.parent / "context")


def test_build_block_kept_with_commit(engine, images, dockerfile):
    artifacts, _ = build(engine, bootstrap_template(dockerfile))
    images.append(artifacts[0].data["SourceImageSha256"])
    images.append(artifacts[0].id)
    assert engine.inspect_image(artifacts[0].data["SourceImageSha256"]) is not None


def test_build_block_removed_with_discard(engine, dockerfile):
    artifacts, events = build(engine, bootstrap_template(
        dockerfile, shell("true"), shell("true"), commit=False, discard=True))
    bootstrap = artifacts[0].data["SourceImageSha256"]
    assert bootstrap.startswith("sha256:")
    assert engine.inspect_image(bootstrap) is None
    assert not warnings(events)


def test_build_block_failing_dockerfile(engine, tmp_path, session_containers):
    (tmp_path / "context").mkdir()
    path = tmp_path / "Dockerfile.bad"
    path.write_text("FROM busybox:latest\nRUN echo breaking && exit 7\n")
    error, events = build_failure(engine, bootstrap_template(path))
    assert "Dockerfile.bad" in str(error)
    assert "returned a non-zero code: 7" in str(error)
    assert "breaking" in [e.text for e in events if isinstance(e, LogLine)]
    assert session_containers() == []
