"""Every option of the shell, file, shell-local, breakpoint and sleep provisioners, and the
options all provisioners share, against the real engine.

Each test checks what the option changes where a user would look: the command output in
the build's events, files in the committed image or on the host, step timings, or the
error message.
"""

from __future__ import annotations

import json
import os
import tarfile
import time

import pytest

import nbdocker
from nbdocker import api
from nbdocker.build.events import LogLine, StepFinished, Warning
from nbdocker.errors import BuildsFailed

pytestmark = pytest.mark.engine


# -- helpers -------------------------------------------------------------------------------


def template(*provisioners: dict, **builder) -> str:
    """Return a JSON template with one docker builder on busybox that discards its container."""
    config = {"type": "docker", "image": "busybox:latest", "pull": False, "discard": True,
              **builder}
    if builder.get("commit"):
        config.pop("discard")
    return json.dumps({"builders": [config], "provisioners": list(provisioners)}, indent=2)


def shell(*lines: str, **options) -> dict:
    return {"type": "shell", "inline": list(lines), **options}


def upload(source, destination: str, **options) -> dict:
    return {"type": "file", "source": str(source), "destination": destination, **options}


def download(source: str, destination, **options) -> dict:
    return {"type": "file", "direction": "download", "source": source,
            "destination": str(destination), **options}


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


def output(events: list, step: str | None = None) -> list[str]:
    """Return the lines commands printed (stdout and stderr), optionally of one step."""
    return [e.text for e in events if isinstance(e, LogLine) and e.stream != "ui"
            and (step is None or e.step.startswith(step))]


def stdout(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, LogLine) and e.stream == "stdout"]


def messages(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, LogLine) and e.stream == "ui"]


def warnings(events: list) -> list[str]:
    return [e.message for e in events if isinstance(e, Warning)]


def finished(events: list) -> dict[str, StepFinished]:
    return {e.step: e for e in events if isinstance(e, StepFinished)}


def tree(engine, image: str, path: str) -> dict[str, tarfile.TarInfo]:
    """Return the tar headers under ``path`` in ``image`` by name ({} when it does not exist)."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        if engine.stat_path(container, path) is None:
            return {}
        return {m.name: m for m in engine.get_archive(container, path).getmembers()}
    finally:
        engine.remove_container(container)


def read_file(engine, image: str, path: str) -> bytes | None:
    """Return the content of the file ``path`` in ``image``, or None when it does not exist."""
    container = engine.create_container(image, entrypoint=["/bin/true"])
    try:
        if engine.stat_path(container, path) is None:
            return None
        tar = engine.get_archive(container, path)
        handle = tar.extractfile(tar.getmembers()[0])
        return handle.read() if handle else b""
    finally:
        engine.remove_container(container)


def committed(engine, images, *provisioners: dict, **builder) -> tuple[str, list]:
    """Build with commit; return (image id, events)."""
    artifacts, events = build(engine, template(*provisioners, commit=True, **builder))
    images.append(artifacts[0].id)
    return artifacts[0].id, events


# -- shell: what runs ----------------------------------------------------------------------


def test_shell_inline_lines_in_order(engine):
    _, events = build(engine, template(shell("echo one", "echo two", "echo three")))
    assert output(events) == ["one", "two", "three"]


def test_shell_inline_one_script(engine):
    _, events = build(engine, template(shell("VALUE=kept", 'echo "$VALUE"')))
    assert output(events) == ["kept"]


def test_shell_inline_renders_build_data(engine):
    _, events = build(engine, template(shell("echo {{build `ID`}}", "hostname")))
    container_id, hostname = output(events)
    assert container_id.startswith(hostname)
    assert len(container_id) == 64


def test_shell_script_file(engine, tmp_path):
    script = tmp_path / "setup.sh"
    script.write_text('#!/bin/sh\necho "script $0"\n')
    _, events = build(engine, template({"type": "shell", "script": str(script),
                                        "remote_path": "/tmp/setup.sh"}))
    assert output(events) == ["script /tmp/setup.sh"]


def test_shell_scripts_in_order_each_own_status(engine, tmp_path):
    first = tmp_path / "first.sh"
    first.write_text("#!/bin/sh\necho first\nexit 3\n")
    second = tmp_path / "second.sh"
    second.write_text("#!/bin/sh\necho second\n")
    _, events = build(engine, template({"type": "shell", "scripts": [str(first), str(second)],
                                        "valid_exit_codes": [0, 3]}))
    assert output(events) == ["first", "second"]


def test_shell_scripts_stop_at_failing_script(engine, tmp_path):
    first = tmp_path / "first.sh"
    first.write_text("#!/bin/sh\nexit 4\n")
    second = tmp_path / "second.sh"
    second.write_text("#!/bin/sh\necho second\n")
    error, events = build_failure(engine, template(
        {"type": "shell", "scripts": [str(first), str(second)]}))
    assert "second" not in output(events)
    assert "Script exited with non-zero exit status: 4. Allowed exit codes are: [0]" \
        in str(error)


def test_shell_script_crlf_converted(engine, tmp_path):
    script = tmp_path / "windows.sh"
    script.write_bytes(b"#!/bin/sh\r\necho crlf-ok\r\n")
    _, events = build(engine, template({"type": "shell", "script": str(script)}))
    assert output(events) == ["crlf-ok"]


def test_shell_binary_keeps_bytes(engine, images, tmp_path):
    script = tmp_path / "binary.sh"
    content = b"#!/bin/sh\necho binary\n# a comment with CRLF and other bytes \xff\r\n"
    script.write_bytes(content)
    image, events = committed(engine, images, {
        "type": "shell", "script": str(script), "binary": True,
        "remote_path": "/tmp/binary.sh", "skip_clean": True})
    assert output(events) == ["binary"]
    assert read_file(engine, image, "/tmp/binary.sh") == content


def test_shell_not_binary_converts_kept_script(engine, images, tmp_path):
    script = tmp_path / "text.sh"
    script.write_bytes(b"#!/bin/sh\r\necho text\r\n")
    image, _ = committed(engine, images, {"type": "shell", "script": str(script),
                                          "remote_path": "/tmp/text.sh", "skip_clean": True})
    assert read_file(engine, image, "/tmp/text.sh") == b"#!/bin/sh\necho text\n"


# -- shell: environment ----------------------------------------------------------------------


def test_shell_environment_vars(engine):
    _, events = build(engine, template(shell(
        'echo "[$PLAIN][$QUOTE][$EQUALS][$PACKER_BUILD_NAME][$PACKER_BUILDER_TYPE]"',
        environment_vars=["PLAIN=plain", "QUOTE=it's", "EQUALS=a=b"])))
    assert output(events) == ["[plain][it's][a=b][docker][docker]"]


def test_shell_env_overrides_environment_vars(engine):
    _, events = build(engine, template(shell(
        'echo "$SHARED $ONLY_ENV"', environment_vars=["SHARED=from-list"],
        env={"SHARED": "from-env", "ONLY_ENV": "$(not run)"})))
    assert output(events) == ["from-env $(not run)"]


def test_shell_env_var_format(engine):
    _, events = build(engine, template(shell(
        'echo "$CUSTOM_GREETING"', environment_vars=["GREETING=hi"],
        env_var_format="CUSTOM_%s='%s' ")))
    assert output(events) == ["hi"]


def test_shell_use_env_var_file(engine, images):
    image, events = committed(engine, images, shell(
        'echo "$FROM_FILE"', 'ls /tmp | grep -c varfile_ || true',
        environment_vars=["FROM_FILE=it's in a file"], use_env_var_file=True))
    assert output(events) == ["it's in a file", "1"]
    assert not [name for name in tree(engine, image, "/tmp") if "varfile_" in name]


def test_shell_use_env_var_file_mode(engine, images):
    image, _ = committed(engine, images, shell(
        "true", environment_vars=["SECRET_LIKE=x"], use_env_var_file=True,
        skip_clean=True))
    varfiles = [m for name, m in tree(engine, image, "/tmp").items() if "varfile_" in name]
    assert len(varfiles) == 1
    assert varfiles[0].mode & 0o777 == 0o600


def test_shell_execute_command_custom(engine):
    _, events = build(engine, template(shell(
        'echo "script sees $WHO"', environment_vars=["WHO=vars"],
        execute_command="echo 'before {{.Path}}'; {{.Vars}} sh {{.Path}}; echo after",
        remote_path="/tmp/custom.sh")))
    assert output(events) == ["before /tmp/custom.sh", "script sees vars", "after"]


def test_shell_execute_command_env_var_file(engine):
    _, events = build(engine, template(shell(
        'echo "$A"', environment_vars=["A=sourced"], use_env_var_file=True,
        execute_command="cat {{.EnvVarFile}}; . {{.EnvVarFile}} && sh {{.Path}}")))
    assert output(events) == ["export A='sourced'", "export PACKER_BUILDER_TYPE='docker'",
                              "export PACKER_BUILD_NAME='docker'", "sourced"]


# -- shell: the script file ------------------------------------------------------------------


def test_shell_inline_shebang_default_stops_on_error(engine):
    error, events = build_failure(engine, template(shell("echo before", "false",
                                                         "echo after")))
    assert output(events) == ["before"]
    assert "exit status: 1" in str(error)


def test_shell_inline_shebang_without_e(engine):
    _, events = build(engine, template(shell("false", "echo after", inline_shebang="/bin/sh")))
    assert output(events) == ["after"]


def test_shell_inline_shebang_line_kept(engine):
    _, events = build(engine, template(shell("#!/bin/sh -x", "echo traced")))
    # The trace goes to stderr and the echo to stdout; the engine does not keep their order.
    assert sorted(output(events)) == ["+ echo traced", "traced"]


@pytest.mark.parametrize("options,expected", [
    ({"remote_folder": "/opt/scripts/deep"}, "/opt/scripts/deep/"),
    ({"remote_file": "named.sh"}, "/tmp/named.sh"),
    ({"remote_folder": "/var", "remote_file": "named.sh"}, "/var/named.sh"),
    ({"remote_path": "/root/exact.sh", "remote_folder": "/var"}, "/root/exact.sh"),
], ids=["remote_folder", "remote_file", "folder-and-file", "remote_path"])
def test_shell_remote_location(engine, options, expected):
    _, events = build(engine, template(shell('echo "$0"', **options)))
    assert output(events)[0].startswith(expected)


def test_shell_script_removed_by_default(engine, images):
    image, _ = committed(engine, images, shell("true", remote_path="/tmp/removed.sh"))
    assert read_file(engine, image, "/tmp/removed.sh") is None


def test_shell_skip_clean_keeps_script(engine, images):
    image, _ = committed(engine, images, shell("echo kept", remote_path="/tmp/kept.sh",
                                               skip_clean=True))
    content = read_file(engine, image, "/tmp/kept.sh")
    assert content == b"#!/bin/sh -e\necho kept\n"
    assert tree(engine, image, "/tmp/kept.sh")["kept.sh"].mode & 0o111


@pytest.mark.parametrize("status,valid,passes", [
    (0, [0], True), (3, [0, 3], True), (4, [0, 3], False), (0, [1], False)])
def test_shell_valid_exit_codes(engine, status, valid, passes):
    text = template(shell(f"exit {status}", valid_exit_codes=valid))
    if passes:
        build(engine, text)
        return
    error, _ = build_failure(engine, text)
    assert str(error).endswith(f"Script exited with non-zero exit status: {status}. "
                               f"Allowed exit codes are: {valid}")


def test_shell_pause_after(engine):
    _, events = build(engine, template(shell("true", pause_after="1500ms")))
    assert finished(events)["shell (provisioners[0])"].duration >= 1.5


def test_shell_start_retry_timeout_accepted(engine):
    _, events = build(engine, template(shell("echo started", start_retry_timeout="2s")))
    assert output(events) == ["started"]


def test_shell_expect_disconnect_accepted(engine):
    _, events = build(engine, template(shell("echo connected", expect_disconnect=True)))
    assert output(events) == ["connected"]


def test_shell_stdin_closed(engine):
    _, events = build(engine, template(shell("cat", "echo cat-returned",
                                             "read line || echo end-of-input")))
    assert output(events) == ["cat-returned", "end-of-input"]


def test_shell_working_directory_per_step(engine):
    _, events = build(engine, template(shell("cd /tmp", "pwd"), shell("pwd")))
    assert output(events) == ["/tmp", "/"]


def test_shell_exported_variables_per_step(engine):
    _, events = build(engine, template(shell("export LEAK=yes"),
                                       shell('echo "[${LEAK:-unset}]"')))
    assert output(events) == ["[unset]"]


def test_shell_exit_status_per_step(engine):
    _, events = build(engine, template(shell("exit 3", valid_exit_codes=[3]),
                                       shell("echo ran"), shell("exit 0")))
    assert output(events) == ["ran"]
    assert [e.status for e in finished(events).values() if e.step.startswith("shell")] == \
        ["ok", "ok", "ok"]


def test_shell_stderr_kept_apart(engine):
    _, events = build(engine, template(shell("echo out", "echo err >&2")))
    streams = {e.text: e.stream for e in events if isinstance(e, LogLine)}
    assert (streams["out"], streams["err"]) == ("stdout", "stderr")


def test_shell_failure_quotes_last_lines(engine):
    error, _ = build_failure(engine, template(shell("echo context-line", "exit 9")))
    assert error.tail[-1] == "context-line"
    assert error.exit_code == 9


# -- file: uploads ---------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path):
    """A host folder ``site`` with a file, a nested file, an empty folder and a symlink."""
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.html").write_text("<p>index</p>\n")
    (root / "css" / "main.css").write_text("body {}\n")
    (root / "current").symlink_to("index.html")
    return root


def test_file_source_to_file(engine, images, tmp_path):
    source = tmp_path / "app.conf"
    source.write_text("key=value\n")
    source.chmod(0o640)
    image, _ = committed(engine, images, upload(source, "/etc/renamed.conf"))
    assert read_file(engine, image, "/etc/renamed.conf") == b"key=value\n"
    assert tree(engine, image, "/etc/renamed.conf")["renamed.conf"].mode & 0o777 == 0o640


def test_file_destination_trailing_slash(engine, images, tmp_path):
    source = tmp_path / "app.conf"
    source.write_text("x\n")
    image, _ = committed(engine, images, upload(source, "/etc/app/"))
    assert read_file(engine, image, "/etc/app/app.conf") == b"x\n"


def test_file_executable_mode_kept(engine, images, tmp_path):
    source = tmp_path / "tool"
    source.write_text("#!/bin/sh\necho tool\n")
    source.chmod(0o755)
    image, events = committed(engine, images, upload(source, "/usr/local/bin/tool"),
                              shell("tool"))
    assert output(events) == ["tool"]
    assert tree(engine, image, "/usr/local/bin/tool")["tool"].mode & 0o777 == 0o755


def test_file_sources_into_folder(engine, images, tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("a\n")
    second = tmp_path / "b.txt"
    second.write_text("b\n")
    image, _ = committed(engine, images, {"type": "file", "sources": [str(first), str(second)],
                                          "destination": "/data/"})
    assert read_file(engine, image, "/data/a.txt") == b"a\n"
    assert read_file(engine, image, "/data/b.txt") == b"b\n"


def test_file_source_and_sources(engine, images, tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("a\n")
    second = tmp_path / "b.txt"
    second.write_text("b\n")
    image, _ = committed(engine, images, {"type": "file", "source": str(first),
                                          "sources": [str(second)], "destination": "/data/"})
    assert sorted(tree(engine, image, "/data")) == ["data", "data/a.txt", "data/b.txt"]


def test_file_content(engine, images):
    image, _ = committed(engine, images, {"type": "file", "content": "line 1\nline 2\n",
                                          "destination": "/etc/motd.d/welcome"})
    assert read_file(engine, image, "/etc/motd.d/welcome") == b"line 1\nline 2\n"


def test_file_content_renders_build_data(engine, images):
    image, _ = committed(engine, images, {"type": "file",
                                          "content": "run {{build `PackerRunUUID`}}\n",
                                          "destination": "/etc/run-id"})
    text = read_file(engine, image, "/etc/run-id").decode()
    assert text.startswith("run ")
    assert len(text.strip().split(" ")[1]) == 36
    assert "{{" not in text


def test_file_destination_renders_build_data(engine, images):
    image, _ = committed(engine, images, {"type": "file", "content": "x",
                                          "destination": "/runs/{{build `PackerRunUUID`}}"})
    names = [name for name in tree(engine, image, "/runs") if name != "runs"]
    assert len(names) == 1
    assert len(names[0].split("/")[1]) == 36


def test_file_directory_into_existing_destination(engine, images, site):
    image, _ = committed(engine, images, shell("mkdir /srv"), upload(site, "/srv"))
    names = tree(engine, image, "/srv")
    assert "srv/site/index.html" in names
    assert "srv/site/css/main.css" in names


def test_file_directory_to_new_destination(engine, images, site):
    image, _ = committed(engine, images, upload(site, "/srv/www"))
    names = tree(engine, image, "/srv/www")
    assert "www/index.html" in names
    assert "www/site" not in names


def test_file_directory_trailing_slash_copies_contents(engine, images, site):
    image, _ = committed(engine, images, shell("mkdir /srv"), upload(f"{site}/", "/srv"))
    names = tree(engine, image, "/srv")
    assert "srv/index.html" in names
    assert "srv/css/main.css" in names
    assert "srv/site" not in names


def test_file_directory_destination_trailing_slash(engine, images, site):
    image, _ = committed(engine, images, upload(site, "/home/"))
    assert "home/site/index.html" in tree(engine, image, "/home")


def test_file_directory_new_destination_trailing_slash(engine, images, site):
    # As docker cp: a missing destination receives the contents, slash or not.
    image, _ = committed(engine, images, upload(site, "/srv/new/"))
    assert "new/index.html" in tree(engine, image, "/srv/new")


def test_file_directory_keeps_empty_folder(engine, images, site):
    image, _ = committed(engine, images, upload(site, "/srv/www"))
    member = tree(engine, image, "/srv/www")["www/empty"]
    assert member.isdir()


def test_file_empty_directory(engine, images, tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    image, _ = committed(engine, images, upload(empty, "/opt/nothing"))
    names = tree(engine, image, "/opt/nothing")
    assert list(names) == ["nothing"]
    assert names["nothing"].isdir()


def test_file_directory_keeps_symlinks(engine, images, site):
    image, events = committed(engine, images, upload(site, "/srv/www"),
                              shell("cat /srv/www/current"))
    member = tree(engine, image, "/srv/www")["www/current"]
    assert member.issym()
    assert member.linkname == "index.html"
    assert output(events) == ["<p>index</p>"]


def test_file_generated_by_shell_local(engine, images, tmp_path):
    generated = tmp_path / "made-during-build.txt"
    image, _ = committed(engine, images,
                         {"type": "shell-local", "inline": [f"echo generated > {generated}"]},
                         upload(generated, "/generated.txt", generated=True))
    assert read_file(engine, image, "/generated.txt") == b"generated\n"


def test_file_missing_generated_source(engine, tmp_path):
    missing = tmp_path / "never-made.txt"
    error, _ = build_failure(engine, template(upload(missing, "/x", generated=True)))
    assert f"Upload source {str(missing)!r} does not exist on the host" in str(error)


# -- file: downloads -------------------------------------------------------------------------


def test_file_download_file(engine, tmp_path):
    destination = tmp_path / "out" / "hostname.txt"
    build(engine, template(shell("echo downloaded > /tmp/d.txt"),
                           download("/tmp/d.txt", destination)))
    assert destination.read_text() == "downloaded\n"


def test_file_download_file_into_folder(engine, tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    build(engine, template(shell("echo downloaded > /tmp/d.txt"),
                           download("/tmp/d.txt", folder)))
    assert (folder / "d.txt").read_text() == "downloaded\n"


def test_file_download_directory(engine, tmp_path):
    destination = tmp_path / "out"
    build(engine, template(shell("mkdir -p /data/sub /data/empty", "echo x > /data/sub/x.txt",
                                 "ln -s sub/x.txt /data/link"),
                           download("/data", destination)))
    assert (destination / "sub" / "x.txt").read_text() == "x\n"
    assert (destination / "empty").is_dir()
    assert os.readlink(destination / "link") == "sub/x.txt"


def test_file_download_directory_into_existing_folder(engine, tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "keep.txt").write_text("kept\n")
    build(engine, template(shell("mkdir -p /data", "echo x > /data/x.txt"),
                           download("/data", folder)))
    assert (folder / "data" / "x.txt").read_text() == "x\n"
    assert (folder / "keep.txt").read_text() == "kept\n"


def test_file_download_directory_contents(engine, tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    build(engine, template(shell("mkdir -p /data", "echo x > /data/x.txt"),
                           download("/data/", folder)))
    assert (folder / "x.txt").read_text() == "x\n"
    assert not (folder / "data").exists()


def test_file_download_missing_source(engine, tmp_path):
    error, _ = build_failure(engine, template(download("/no/such/file", tmp_path / "x")))
    assert "Download source '/no/such/file' does not exist in the container" in str(error)


# -- shell-local -----------------------------------------------------------------------------


def test_shell_local_command(engine, tmp_path):
    marker = tmp_path / "marker"
    _, events = build(engine, template({"type": "shell-local",
                                        "command": f"echo on-host > {marker}; echo done"}))
    assert marker.read_text() == "on-host\n"
    assert output(events) == ["done"]


def test_shell_local_inline(engine, tmp_path):
    _, events = build(engine, template({"type": "shell-local",
                                        "inline": ["cd /", "pwd", f"test -d {tmp_path}",
                                                   "echo host-folder"]}))
    assert output(events) == ["/", "host-folder"]


def test_shell_local_script(engine, tmp_path):
    script = tmp_path / "local.sh"
    script.write_text("#!/bin/sh\necho \"local $1$LOCAL\"\n")
    script.chmod(0o755)
    _, events = build(engine, template({"type": "shell-local", "script": str(script),
                                        "environment_vars": ["LOCAL=-env"]}))
    assert output(events) == ["local -env"]


def test_shell_local_scripts(engine, tmp_path):
    first = tmp_path / "first.sh"
    first.write_text("echo first\n")
    second = tmp_path / "second.sh"
    second.write_text("echo second\n")
    for script in (first, second):
        script.chmod(0o755)
    _, events = build(engine, template({"type": "shell-local",
                                        "scripts": [str(first), str(second)]}))
    assert output(events) == ["first", "second"]


def test_shell_local_environment_vars(engine):
    _, events = build(engine, template({
        "type": "shell-local", "inline": ['echo "[$ONE][$TWO][$PACKER_BUILD_NAME]"'],
        "environment_vars": ["ONE=1", "TWO=it's"]}))
    assert output(events) == ["[1][it's][docker]"]


def test_shell_local_execute_command(engine):
    _, events = build(engine, template({
        "type": "shell-local", "inline": ['echo "inner $X"'], "environment_vars": ["X=x"],
        "execute_command": ["/bin/sh", "-c", "echo outer; {{.Vars}} /bin/sh {{.Script}}"]}))
    assert output(events) == ["outer", "inner x"]


def test_shell_local_build_id_reaches_container(engine):
    _, events = build(engine, template(shell("echo in-container > /tmp/escape.txt"), {
        "type": "shell-local",
        "command": "echo container {{build `ID`}}"}))
    line = output(events, "shell-local")[0]
    assert line.startswith("container ")
    assert len(line.split()[1]) == 64


def test_shell_local_script_not_executable(engine, tmp_path):
    # As in Packer, the default execute_command runs the script itself.
    script = tmp_path / "plain.sh"
    script.write_text("echo never\n")
    error, events = build_failure(engine, template({"type": "shell-local",
                                                    "script": str(script)}))
    assert "Permission denied" in " ".join(output(events))
    assert "Local command exited with status 126" in str(error)


@pytest.mark.parametrize("status,valid,passes", [(5, [0, 5], True), (5, [0], False)])
def test_shell_local_valid_exit_codes(engine, status, valid, passes):
    text = template({"type": "shell-local", "command": f"exit {status}",
                     "valid_exit_codes": valid})
    if passes:
        build(engine, text)
        return
    error, _ = build_failure(engine, text)
    assert f"Local command exited with status {status}. Allowed exit codes are: {valid}" \
        in str(error)


@pytest.mark.parametrize("only_on,runs", [(["linux"], True), (["linux", "darwin"], True),
                                          (["darwin", "windows"], False)])
def test_shell_local_only_on(engine, only_on, runs):
    _, events = build(engine, template({"type": "shell-local", "command": "echo ran",
                                        "only_on": only_on}))
    assert (output(events) == ["ran"]) is runs
    skipped = [m for m in messages(events) if m.startswith("Skipping shell-local")]
    assert bool(skipped) is not runs


def test_shell_local_stdin_closed(engine):
    _, events = build(engine, template({"type": "shell-local",
                                        "inline": ["read line || echo no-input"]}))
    assert output(events) == ["no-input"]


# -- breakpoint and sleep --------------------------------------------------------------------


def test_breakpoint_without_input_continues(engine):
    _, events = build(engine, template({"type": "breakpoint", "note": "look around"},
                                       shell("echo after")))
    assert "Breakpoint reached where no input is possible; continuing" in warnings(events)
    assert any(m.startswith("Pausing at breakpoint: look around") for m in messages(events))
    assert output(events) == ["after"]


def test_breakpoint_waits_for_answer(engine):
    questions: list[str] = []
    template_ = api.load(template({"type": "breakpoint", "note": "check"}, shell("echo after")))
    events: list = []
    api.consume(api.start(template_, engine=engine, cache=False,
                          ask=lambda question: questions.append(question) or ""),
                view=events.append)
    assert questions == ["Press Enter to continue the build"]
    assert output(events) == ["after"]


def test_breakpoint_disable(engine):
    questions: list[str] = []
    template_ = api.load(template({"type": "breakpoint", "disable": True}))
    events: list = []
    api.consume(api.start(template_, engine=engine, cache=False,
                          ask=lambda question: questions.append(question) or ""),
                view=events.append)
    assert questions == []
    assert "Breakpoint disabled, continuing" in messages(events)


def test_sleep_duration(engine):
    started = time.monotonic()
    _, events = build(engine, template({"type": "sleep", "duration": "1500ms"}))
    assert finished(events)["sleep (provisioners[0])"].duration >= 1.5
    assert time.monotonic() - started >= 1.5


# -- options every provisioner shares --------------------------------------------------------


def two_builds(*provisioners: dict) -> str:
    builders = [{"type": "docker", "name": name, "image": "busybox:latest", "pull": False,
                 "discard": True} for name in ("first", "second")]
    return json.dumps({"builders": builders, "provisioners": list(provisioners)})


def output_by_build(events: list) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {"first": [], "second": []}
    for event in events:
        if isinstance(event, LogLine) and event.stream != "ui":
            lines[event.build].append(event.text)
    return lines


def test_common_only(engine):
    _, events = build(engine, two_builds(shell("echo only-first", only=["first"]),
                                         shell("echo everywhere")))
    assert output_by_build(events) == {"first": ["only-first", "everywhere"],
                                       "second": ["everywhere"]}


def test_common_except(engine):
    _, events = build(engine, two_builds(shell("echo not-first", **{"except": ["first"]})))
    assert output_by_build(events) == {"first": [], "second": ["not-first"]}


def test_common_override(engine):
    _, events = build(engine, two_builds(shell(
        "echo base", override={"second": {"inline": ["echo overridden"]}})))
    assert output_by_build(events) == {"first": ["base"], "second": ["overridden"]}


def test_common_override_environment(engine):
    _, events = build(engine, two_builds(shell(
        'echo "$WHERE"', environment_vars=["WHERE=default"],
        override={"first": {"environment_vars": ["WHERE=overridden"]}})))
    assert output_by_build(events) == {"first": ["overridden"], "second": ["default"]}


def test_common_pause_before(engine):
    _, events = build(engine, template(shell("true", pause_before="1500ms")))
    step = finished(events)["shell (provisioners[0])"]
    assert step.duration >= 1.5
    assert "Pausing 1.5s before the next provisioner..." in messages(events)


def test_common_pause_before_and_timeout_both_apply(engine, session_containers):
    started = time.monotonic()
    error, events = build_failure(engine, template(
        shell("sleep 60", pause_before="1s", timeout="2s")))
    elapsed = time.monotonic() - started
    assert "timed out after 2s" in str(error)
    assert finished(events)["shell (provisioners[0])"].duration >= 3
    assert elapsed < 30
    assert session_containers() == []


def test_common_pause_before_timeout_not_counted(engine):
    _, events = build(engine, template(shell("sleep 1", "echo in-time", pause_before="2s",
                                             timeout="2s")))
    assert output(events) == ["in-time"]


@pytest.mark.parametrize("provisioner", [
    {"type": "shell-local", "command": "sleep 60"},
    {"type": "sleep", "duration": "60s"},
], ids=["shell-local", "sleep"])
def test_common_timeout_other_types(engine, provisioner):
    started = time.monotonic()
    error, _ = build_failure(engine, template({**provisioner, "timeout": "1s"}))
    assert "timed out after 1s" in str(error)
    assert time.monotonic() - started < 30


def test_common_timeout_shell_local_retry_reuses_container(engine, tmp_path):
    counter = tmp_path / "attempts"
    command = (f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; "
               f'[ "$n" -ge 1 ] || sleep 60')
    _, events = build(engine, template({"type": "shell-local", "command": command,
                                        "timeout": "1s", "max_retries": 1},
                                       shell("echo container-still-there")))
    assert counter.read_text() == "2\n"
    assert output(events, "shell (") == ["container-still-there"]


COUNTER = ('n=$(cat /tmp/attempts 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /tmp/attempts; '
           'echo "attempt $n"; [ $n -ge 3 ]')


def test_common_max_retries_succeeds(engine):
    _, events = build(engine, template(shell(COUNTER, max_retries=2)))
    step = finished(events)["shell (provisioners[0])"]
    assert (step.status, step.attempts) == ("ok", 3)
    assert output(events) == ["attempt 1", "attempt 2", "attempt 3"]
    assert len([w for w in warnings(events) if "retrying" in w]) == 2


def test_common_max_retries_exhausted(engine):
    error, events = build_failure(engine, template(shell(COUNTER, max_retries=1)))
    step = finished(events)["shell (provisioners[0])"]
    assert (step.status, step.attempts) == ("failed", 2)
    assert "exit status: 1" in str(error)


def test_common_max_retries_counter_in_volume(engine, tmp_path):
    (tmp_path / "count").mkdir()
    counter = COUNTER.replace("/tmp/attempts", "/count/attempts")
    _, events = build(engine, template(shell(counter, max_retries="2"),
                                       volumes={str(tmp_path / "count"): "/count"}))
    assert (tmp_path / "count" / "attempts").read_text() == "3\n"
    assert finished(events)["shell (provisioners[0])"].attempts == 3
