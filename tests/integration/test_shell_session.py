"""Shell scripts through the long-lived shell session and through one exec each: same results.

Every semantic test runs twice, with the session and without it, so a difference between
the two paths fails one of the pair.
"""

from __future__ import annotations

import json
import tarfile

import pytest

from nbdocker import api
from nbdocker.build import shell_session
from nbdocker.build.events import LogLine, StepFinished
from nbdocker.errors import BuildsFailed

pytestmark = pytest.mark.engine


@pytest.fixture(params=[True, False], ids=["session", "exec-per-script"])
def session_mode(request, monkeypatch):
    """Run the test with the shell session, then with one exec per script."""
    monkeypatch.setattr(shell_session, "USE_SHELL_SESSION", request.param)
    return request.param


def template(*steps: dict, **builder) -> str:
    config = {"type": "docker", "image": "busybox:latest", "pull": False, "discard": True,
              **builder}
    return json.dumps({"builders": [config], "provisioners": list(steps)})


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


def build(engine, text: str, **options) -> list:
    """Build ``text`` without the step cache; return every event."""
    events: list = []
    api.build(text, engine=engine, view=events.append, cache=False, **options)
    return events


def output(events: list, stream: str | None = None) -> list[str]:
    """Return the command output lines of ``events`` (one stream, or stdout and stderr)."""
    return [event.text for event in events if isinstance(event, LogLine)
            and event.stream != "ui" and (stream is None or event.stream == stream)]


@pytest.fixture
def images(engine):
    """Image references to remove after the test."""
    created: list[str] = []
    yield created
    for image in created:
        engine.remove_image(image, force=True)


def read_from_image(engine, image: str, path: str) -> tuple[tarfile.TarInfo, bytes]:
    """Return the tar header and the content of the file ``path`` in ``image``."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        tar = engine.get_archive(container, path)
        member = tar.getmembers()[0]
        handle = tar.extractfile(member)
        return member, handle.read() if handle else b""
    finally:
        engine.remove_container(container)


# -- each script keeps its own status, environment, directory and input ---------------------


def test_session_exit_status_per_script(engine, session_mode):
    events = build(engine, template(shell("exit 3", valid_exit_codes=[3]),
                                    shell("echo next")))
    assert "next" in output(events)


def test_session_failing_script_reports_status(engine, session_mode):
    with pytest.raises(BuildsFailed) as failure:
        build(engine, template(shell("echo before", "exit 5", "echo after")))
    assert "non-zero exit status: 5" in str(failure.value)


def test_session_environment_isolated(engine, session_mode):
    events = build(engine, template(
        shell("true", execute_command="export LEAK=yes; {{.Vars}} {{.Path}}"),
        shell("true", execute_command="echo leak=${LEAK-unset}; {{.Vars}} {{.Path}}")))
    assert "leak=unset" in output(events)


def test_session_environment_vars_per_script(engine, session_mode):
    events = build(engine, template(shell("echo mode=$MODE", environment_vars=["MODE=one"]),
                                    shell("echo mode=${MODE-unset}")))
    assert output(events) == ["mode=one", "mode=unset"]


def test_session_environment_vars_build_data(engine, session_mode):
    events = build(engine, template(shell("echo $CONTAINER",
                                          environment_vars=["CONTAINER={{build `ID`}}"])))
    [line] = output(events)
    assert len(line) == 64
    assert set(line) <= set("0123456789abcdef")


def test_session_working_directory_isolated(engine, session_mode):
    events = build(engine, template(
        shell("true", execute_command="cd /tmp && {{.Vars}} {{.Path}}"),
        shell("pwd")))
    assert output(events) == ["/"]


def test_session_stdin_is_empty(engine, session_mode):
    events = build(engine, template(shell("cat", "echo after-cat"), shell("echo second")))
    assert output(events) == ["after-cat", "second"]


def test_session_read_sees_end_of_file(engine, session_mode):
    events = build(engine, template(shell("read line || echo no-input")))
    assert output(events) == ["no-input"]


# -- output ----------------------------------------------------------------------------------


def test_session_stdout_and_stderr_apart(engine, session_mode):
    events = build(engine, template(shell("echo to-out", "echo to-err >&2")))
    assert output(events, "stdout") == ["to-out"]
    assert output(events, "stderr") == ["to-err"]


def test_session_last_line_without_newline(engine, session_mode):
    events = build(engine, template(shell("printf partial"), shell("printf 'x\\ny'")))
    assert output(events) == ["partial", "x", "y"]


def test_session_long_output_complete(engine, session_mode):
    events = build(engine, template(shell("seq 1 20000")))
    assert output(events) == [str(number) for number in range(1, 20001)]


def test_session_marker_lookalike_is_output(engine, session_mode):
    events = build(engine, template(shell("echo nbdocker-end-0000 9")))
    assert output(events) == ["nbdocker-end-0000 9"]


def test_session_utf8_and_invalid_bytes(engine, session_mode):
    events = build(engine, template(shell("echo 'héllo ✓'", "printf 'bad\\377byte\\n'")))
    assert output(events) == ["héllo ✓", "bad\ufffdbyte"]


# -- the script file ---------------------------------------------------------------------------


def test_session_script_removed_after_run(engine, session_mode):
    events = build(engine, template(shell("true", remote_path="/tmp/first.sh"),
                                    shell("ls /tmp")))
    assert "first.sh" not in output(events)


def test_session_skip_clean_keeps_exact_script(engine, session_mode, images):
    text = template(shell("echo kept", remote_path="/opt/scripts/kept.sh", skip_clean=True),
                    commit=True, discard=False)
    artifacts = api.build(text, engine=engine, cache=False)
    images.append(artifacts[0].id)
    member, content = read_from_image(engine, artifacts[0].id, "/opt/scripts/kept.sh")
    assert content == b"#!/bin/sh -e\necho kept\n"
    assert member.mode & 0o7777 == 0o755
    assert (member.uid, member.gid) == (0, 0)


def test_session_script_without_final_newline(engine, session_mode, tmp_path):
    script = tmp_path / "no-newline.sh"
    script.write_bytes(b"#!/bin/sh\necho no-newline")
    events = build(engine, template({"type": "shell", "script": str(script)}))
    assert output(events) == ["no-newline"]


def test_session_scripts_run_in_order(engine, session_mode, tmp_path):
    paths = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.sh"
        path.write_text(f"#!/bin/sh\necho script-{name}\n")
        paths.append(str(path))
    events = build(engine, template({"type": "shell", "scripts": paths}))
    assert output(events) == ["script-a", "script-b", "script-c"]


def test_session_missing_remote_folder_created(engine, session_mode):
    events = build(engine, template(shell("echo ran", remote_folder="/opt/new/scripts")))
    assert output(events) == ["ran"]


def test_session_exec_user(engine, session_mode):
    # As in Packer, the default execute_command's chmod fails for a non-root exec_user on
    # the root-owned script (a message on stderr); the script still runs.
    events = build(engine, template(shell("id -u"), exec_user="65534"))
    assert output(events, "stdout") == ["65534"]


def test_session_image_user_owns_script(engine, session_mode, images, unique):
    # An image whose USER is not root: uploads belong to that user (fix_upload_owner).
    base = f"nbdocker-test/session-user-{unique}"
    container = engine.create_container("busybox:latest", entrypoint=["/bin/true"])
    try:
        committed = engine.commit(container, config={"User": "nobody", "Entrypoint": []})
    finally:
        engine.remove_container(container)
    engine.tag_image(committed, base, "1")
    images.append(f"{base}:1")
    text = template(shell("id -un", remote_path="/tmp/owned.sh", skip_clean=True),
                    image=f"{base}:1", commit=True, discard=False)
    artifacts = api.build(text, engine=engine, cache=False)
    images.append(artifacts[0].id)
    member, _ = read_from_image(engine, artifacts[0].id, "/tmp/owned.sh")
    assert member.uid == 65534


# -- failures ----------------------------------------------------------------------------------


def test_session_syntax_error_in_command(engine, session_mode):
    events = build(engine, template(
        shell("true", execute_command="( {{.Path}}", valid_exit_codes=[2]),
        shell("echo still-running")))
    assert "still-running" in output(events)


def test_session_script_kills_its_shell(engine, session_mode, session_containers):
    with pytest.raises(BuildsFailed):
        build(engine, template(shell("true", execute_command="kill -9 $$"),
                               shell("echo never")))
    assert session_containers() == []


def test_session_timeout_fails_step(engine, session_mode):
    with pytest.raises(BuildsFailed) as failure:
        build(engine, template(shell("sleep 30", timeout="2s")))
    assert "timed out" in str(failure.value)


def test_session_pty_uses_one_exec_per_script(engine, session_mode):
    events = build(engine, template(shell("echo with-tty"), pty=True))
    assert output(events) == ["with-tty"]


# -- cost --------------------------------------------------------------------------------------


def test_session_one_exec_no_upload(engine, monkeypatch):
    monkeypatch.setattr(shell_session, "USE_SHELL_SESSION", True)
    calls: dict[str, int] = {"exec_create": 0, "put_archive": 0}
    for name in calls:
        original = getattr(engine.api, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(engine.api, name, counted)
    events = build(engine, template(*[shell(f"echo step-{index}") for index in range(5)]))
    assert output(events) == [f"step-{index}" for index in range(5)]
    assert calls == {"exec_create": 1, "put_archive": 0}
    assert all(event.status == "ok" for event in events if isinstance(event, StepFinished))
