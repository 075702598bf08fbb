"""Provisioners that run inside the build container: shell, file, sleep and breakpoint.

Each shell script costs one archive upload and one exec: the upload writes the script
with its mode already executable, and the same exec removes it afterwards (unless
``skip_clean``), where Packer spends four docker CLI processes.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import shlex
import subprocess
import sys
import threading
import time
import uuid
from typing import Callable

from ..engine.containers import ExecResult
from ..errors import BuildFailed, Interrupted
from ..template.model import Component
from .archive import Owner, extract_to_host, file_archive, missing_parents, tree_archive
from .context import BuildContext


class LineSplitter:
    """Turn a stream of byte chunks into complete text lines (UTF-8, invalid bytes replaced)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        """Add a chunk and return the lines it completed."""
        text = self._pending + self._decoder.decode(chunk)
        lines = text.split("\n")
        self._pending = lines.pop()
        return [line.rstrip("\r") for line in lines]

    def flush(self) -> list[str]:
        """Return the last, unterminated line, if any."""
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return [text.rstrip("\r")] if text else []


def run_in_container(ctx: BuildContext, command: str, *, user: str = "") -> int:
    """Run ``/bin/sh -c command`` in the build container, streaming output; return exit status."""
    result = ExecResult()
    splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
    stream = ctx.engine.exec(ctx.container_id, ["/bin/sh", "-c", command], user=user,
                             tty=bool(ctx.build.builder.config.get("pty")), result=result)
    for name, chunk in stream:
        for line in splitters[name].feed(chunk):
            ctx.output(line, name)
    for name, splitter in splitters.items():
        for line in splitter.flush():
            ctx.output(line, name)
    ctx.check_cancelled()
    return result.exit_code if result.exit_code is not None else -1


def quote_env(config: dict, ctx: BuildContext) -> dict[str, str]:
    """Collect a provisioner's environment: environment_vars, then env, then Packer's own."""
    env: dict[str, str] = {}
    for entry in config.get("environment_vars") or []:
        key, _, value = entry.partition("=")
        env[key] = value
    env.update({str(k): str(v) for k, v in (config.get("env") or {}).items()})
    env["PACKER_BUILD_NAME"] = ctx.build.name
    env["PACKER_BUILDER_TYPE"] = ctx.build.type
    return env


def format_env(env: dict[str, str], fmt: str) -> str:
    """Format variables as Packer does: keys sorted, single quotes escaped for sh."""
    return "".join(fmt % (key, env[key].replace("'", "'\"'\"'")) for key in sorted(env))


class ShellProvisioner:
    """The ``shell`` provisioner: upload each script, run it, check its exit status."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.component = component
        self.config = component.config

    def scripts(self) -> list[tuple[str, bytes]]:
        """Return (label, content) for each script to run, rendering inline lines now."""
        config = self.config
        if config.get("inline"):
            lines = [self.ctx.render(line) for line in config["inline"]]
            shebang = config.get("inline_shebang") or "/bin/sh -e"
            if not (lines and lines[0].startswith("#!")):
                lines.insert(0, f"#!{shebang}")
            return [("inline script", ("\n".join(lines) + "\n").encode())]
        paths = list(config.get("scripts") or []) or [config["script"]]
        result = []
        for path in paths:
            with open(path, "rb") as handle:
                content = handle.read()
            if not config.get("binary"):
                content = content.replace(b"\r\n", b"\n")
            result.append((path, content))
        return result

    def remote_path(self) -> str:
        """Return where scripts are uploaded in the container."""
        config = self.config
        if config.get("remote_path"):
            return config["remote_path"]
        folder = config.get("remote_folder") or "/tmp"
        name = config.get("remote_file") or f"script_{uuid.uuid4().int % 9999}.sh"
        return posixpath.join(folder, name)

    def run(self) -> None:
        """Run every script of this provisioner in turn."""
        ctx, config = self.ctx, self.config
        remote = self.remote_path()
        env = quote_env(config, ctx)
        env_file = ""
        if config.get("use_env_var_file"):
            fmt = config.get("env_var_format") or "export %s='%s'\n"
            env_file = posixpath.join(config.get("remote_folder") or "/tmp",
                                      f"varfile_{uuid.uuid4().int % 9999}.sh")
            upload_bytes(ctx, env_file, format_env(env, fmt).encode(), mode=0o600)
            variables = ""
            default_command = "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"
        else:
            variables = format_env(env, config.get("env_var_format") or "%s='%s' ")
            default_command = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
        template = config.get("execute_command") or default_command
        valid = list(config.get("valid_exit_codes") or [0])
        user = ctx.build.builder.config.get("exec_user") or ""

        for label, content in self.scripts():
            ctx.say(f"Provisioning with shell script: {label}")
            upload_bytes(ctx, remote, content, mode=0o755)
            command = ctx.render(template, Path=remote, Vars=variables, EnvVarFile=env_file)
            cleanup = "" if config.get("skip_clean") else \
                f"; rm -f {shlex.quote(remote)}" + (f" {shlex.quote(env_file)}" if env_file else "")
            status = run_in_container(ctx, f"({command}); status=$?{cleanup}; exit $status",
                                      user=user)
            if status not in valid:
                raise ctx.failure(
                    f"Script exited with non-zero exit status: {status}. "
                    f"Allowed exit codes are: {valid}", exit_code=status)
        pause = float(config.get("pause_after") or 0)
        if pause:
            wait_cancellable(ctx, pause)


def wait_cancellable(ctx: BuildContext, seconds: float) -> None:
    """Sleep, returning early (with Interrupted) if the run is cancelled."""
    if ctx.cancel.wait(seconds):
        raise Interrupted("Build cancelled after an interrupt")


# -- uploads and downloads ----------------------------------------------------------------


def upload_owner(ctx: BuildContext) -> Owner:
    """Return the uid and gid uploads should belong to.

    With ``fix_upload_owner`` that is the container's configured user, resolved through the
    container's /etc/passwd and /etc/group; otherwise root.
    """
    if ctx.upload_owner is not None:
        return Owner(*ctx.upload_owner)
    owner = Owner()
    user_spec = (ctx.base_config.get("User") or "").strip()
    if ctx.build.builder.config.get("fix_upload_owner", True) and user_spec \
            and user_spec not in ("root", "0", "0:0"):
        owner = resolve_user(ctx, user_spec)
    ctx.upload_owner = (owner.uid, owner.gid)
    return owner


def _read_container_file(ctx: BuildContext, path: str) -> str:
    try:
        tar = ctx.engine.get_archive(ctx.container_id, path)
    except Exception:  # noqa: BLE001 - a missing passwd file means numeric ids only
        return ""
    member = next((m for m in tar.getmembers() if m.isfile()), None)
    handle = tar.extractfile(member) if member else None
    return handle.read().decode("utf-8", "replace") if handle else ""


def resolve_user(ctx: BuildContext, spec: str) -> Owner:
    """Resolve ``user[:group]`` (names or numbers) inside the container."""
    user, _, group = spec.partition(":")
    passwd = [line.split(":") for line in _read_container_file(ctx, "/etc/passwd").splitlines()]
    uid = gid = None
    for fields in passwd:
        if len(fields) >= 4 and (fields[0] == user or fields[2] == user):
            uid, gid = int(fields[2]), int(fields[3])
            break
    if uid is None:
        if not user.isdigit():
            raise ctx.failure(f"Upload owner {user!r} (the image's USER) is not in the "
                              "container's /etc/passwd; set exec_user or fix the image's USER")
        uid, gid = int(user), int(user)
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            groups = [line.split(":") for line in
                      _read_container_file(ctx, "/etc/group").splitlines()]
            found = next((int(f[2]) for f in groups if len(f) >= 3 and f[0] == group), None)
            if found is None:
                raise ctx.failure(f"Upload group {group!r} is not in the container's /etc/group")
            gid = found
    return Owner(uid, gid if gid is not None else uid)


def deepest_existing(ctx: BuildContext, directory: str) -> str:
    """Return ``directory`` or its nearest ancestor that exists in the container."""
    current = posixpath.normpath(directory)
    if current in ctx.known_directories:
        return current
    while current != "/" and ctx.engine.stat_path(ctx.container_id, current) is None:
        current = posixpath.dirname(current)
    # NOTE: a script that deletes a folder nbdocker uploaded into makes this memo stale;
    # the next upload there then fails with the engine's "not found".
    ctx.known_directories.add(current)
    return current


def upload_bytes(ctx: BuildContext, destination: str, content: bytes, *, mode: int = 0o644,
                 mtime: float | None = None) -> None:
    """Write ``content`` to the file ``destination`` in the container, creating parents."""
    directory, name = posixpath.split(destination)
    directory = directory or "/"
    existing = deepest_existing(ctx, directory)
    relative_parents = missing_parents(existing, directory)
    relative_name = posixpath.join(relative_parents[-1], name) if relative_parents else name
    data = file_archive(relative_name, content, mode=mode, owner=upload_owner(ctx),
                        mtime=mtime, parents=relative_parents)
    ctx.engine.put_archive(ctx.container_id, existing, data)
    ctx.known_directories.add(posixpath.normpath(directory))


def upload_directory(ctx: BuildContext, source: str, destination: str) -> None:
    """Copy a host directory into the container with ``docker cp``'s rules.

    ``src/`` copies the contents into ``destination``; ``src`` copies the directory itself
    into ``destination`` when that exists, and becomes ``destination`` when it does not.
    """
    destination = posixpath.normpath(destination)
    contents_only = source.endswith(("/", os.sep))
    exists = ctx.engine.stat_path(ctx.container_id, destination) is not None
    if exists and not contents_only:
        target = posixpath.join(destination, os.path.basename(os.path.normpath(source)))
    else:
        target = destination
    parent = posixpath.dirname(target) or "/"
    existing = deepest_existing(ctx, parent)
    parents = missing_parents(existing, parent)
    prefix = posixpath.relpath(target, existing)
    data = tree_archive(os.path.normpath(source), prefix, owner=upload_owner(ctx), parents=parents)
    ctx.engine.put_archive(ctx.container_id, existing, data)


class FileProvisioner:
    """The ``file`` provisioner: uploads of files, directories and inline content, and downloads."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def sources(self) -> list[str]:
        """Return every source path, ``source`` first."""
        config = self.config
        sources = list(config.get("sources") or [])
        if config.get("source"):
            sources.insert(0, config["source"])
        return sources

    def run(self) -> None:
        """Upload or download, as ``direction`` says."""
        ctx, config = self.ctx, self.config
        destination = ctx.render(config["destination"])
        if config.get("direction") == "download":
            for source in self.sources():
                self.download(ctx.render(source), destination)
            return
        if config.get("content") is not None:
            ctx.say(f"Uploading inline content => {destination}")
            upload_bytes(ctx, destination, str(config["content"]).encode())
            return
        for source in self.sources():
            self.upload(source, destination)

    def upload(self, source: str, destination: str) -> None:
        """Upload one host file or directory."""
        ctx = self.ctx
        if not os.path.exists(source):
            raise ctx.failure(f"Upload source {source!r} does not exist on the host; "
                              "create it before this step or fix the path")
        ctx.say(f"Uploading {source} => {destination}")
        if os.path.isdir(source):
            upload_directory(ctx, source, destination)
            return
        target = destination
        if destination.endswith("/") or len(self.sources()) > 1:
            target = posixpath.join(destination, os.path.basename(source))
        stat = os.stat(source)
        with open(source, "rb") as handle:
            upload_bytes(ctx, target, handle.read(), mode=stat.st_mode & 0o7777,
                         mtime=stat.st_mtime)

    def download(self, source: str, destination: str) -> None:
        """Download one file or directory from the container to the host."""
        ctx = self.ctx
        ctx.say(f"Downloading {source} => {destination}")
        if ctx.engine.stat_path(ctx.container_id, source.rstrip("/") or "/") is None:
            raise ctx.failure(f"Download source {source!r} does not exist in the container")
        tar = ctx.engine.get_archive(ctx.container_id, source.rstrip("/") or "/")
        into = destination.endswith(("/", os.sep)) or os.path.isdir(destination)
        if source.endswith("/"):
            into = False
        os.makedirs(destination if into else (os.path.dirname(destination) or "."), exist_ok=True)
        extract_to_host(tar, destination, into_directory=into)


class SleepProvisioner:
    """The ``sleep`` provisioner: wait, cancellable."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Wait for ``duration`` seconds."""
        wait_cancellable(self.ctx, float(self.config.get("duration") or 0))


class BreakpointProvisioner:
    """The ``breakpoint`` provisioner: wait for Enter where input is possible."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Pause until the user presses Enter, or continue with a notice where no one can."""
        ctx, config = self.ctx, self.config
        if config.get("disable"):
            ctx.say("Breakpoint disabled, continuing")
            return
        note = config.get("note") or ""
        ctx.say(f"Pausing at breakpoint: {note}. Container id: {ctx.container_id}")
        if ctx.ask is None:
            ctx.warn("Breakpoint reached where no input is possible; continuing")
            return
        ctx.ask("Press Enter to continue the build")


class ShellLocalProvisioner:
    """The ``shell-local`` provisioner: run a command or scripts on the host."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Run the configured command on the host, streaming its output."""
        run_shell_local(self.ctx, self.config, data={})


def run_shell_local(ctx: BuildContext, config: dict, data: dict) -> None:
    """Run shell-local's command, inline lines or scripts on the host (also used as a post-processor)."""
    import tempfile

    env = quote_env(config, ctx)
    variables = format_env(env, config.get("env_var_format") or "%s='%s' ")
    valid = list(config.get("valid_exit_codes") or [0])
    only_on = config.get("only_on") or []
    if only_on and sys.platform not in only_on and not (sys.platform.startswith("linux")
                                                         and "linux" in only_on):
        ctx.say(f"Skipping shell-local: only_on {only_on} does not include this host")
        return
    scripts: list[str] = []
    temporary: list[str] = []
    if config.get("command"):
        lines = [ctx.render(config["command"], **data)]
    elif config.get("inline"):
        lines = [ctx.render(line, **data) for line in config["inline"]]
    else:
        lines = []
        scripts = list(config.get("scripts") or []) or [config["script"]]
    if lines:
        shebang = config.get("inline_shebang") or "/bin/sh -e"
        handle = tempfile.NamedTemporaryFile("w", suffix=config.get("tempfile_extension") or ".sh",
                                             delete=False)
        with handle:
            handle.write(f"#!{shebang}\n" + "\n".join(lines) + "\n")
        os.chmod(handle.name, 0o700)
        scripts = [handle.name]
        temporary.append(handle.name)
    command_template = config.get("execute_command") or ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]
    if isinstance(command_template, str):
        command_template = [command_template]
    if len(command_template) == 1:
        command_template = ["sh", "-c", command_template[0]]
    try:
        for script in scripts:
            argv = [ctx.render(part, **data, Vars=variables, Script=script, Command=script)
                    for part in command_template]
            ctx.say(f"Running local shell script: {script}")
            status = stream_host_process(ctx, argv, env={**os.environ, **env})
            if status not in valid:
                raise ctx.failure(f"Local command exited with status {status}. "
                                  f"Allowed exit codes are: {valid}", exit_code=status)
    finally:
        for path in temporary:
            os.unlink(path)


def stream_host_process(ctx: BuildContext, argv: list[str], env: dict[str, str]) -> int:
    """Run a host process with stdin closed, streaming its merged output; return its status."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env)
    watcher = threading.Thread(target=_kill_on_cancel, args=(ctx, process), daemon=True)
    watcher.start()
    splitter = LineSplitter()
    assert process.stdout is not None
    for chunk in iter(lambda: process.stdout.read1(65536), b""):
        for line in splitter.feed(chunk):
            ctx.output(line)
    for line in splitter.flush():
        ctx.output(line)
    status = process.wait()
    ctx.check_cancelled()
    return status


def _kill_on_cancel(ctx: BuildContext, process: subprocess.Popen) -> None:
    while process.poll() is None:
        if ctx.cancel.wait(0.2):
            process.kill()
            return


PROVISIONERS: dict[str, Callable[[BuildContext, Component], object]] = {
    "shell": ShellProvisioner,
    "file": FileProvisioner,
    "sleep": SleepProvisioner,
    "breakpoint": BreakpointProvisioner,
    "shell-local": ShellLocalProvisioner,
}


def run_provisioner(ctx: BuildContext, component: Component) -> None:
    """Run one provisioner with its pause_before, timeout and max_retries, as one step."""
    name = f"{component.label} ({component.path})"
    with ctx.step(name, kind="provision") as info:
        if component.pause_before:
            ctx.say(f"Pausing {component.pause_before:g}s before the next provisioner...")
            wait_cancellable(ctx, component.pause_before)
        attempts = 1 + max(0, int(component.max_retries or 0))
        for attempt in range(1, attempts + 1):
            info["attempts"] = attempt
            try:
                _run_with_timeout(ctx, component)
                return
            except BuildFailed as err:
                if attempt == attempts:
                    raise
                ctx.warn(f"{name} failed ({err}); retrying ({attempt}/{attempts - 1})")
                wait_cancellable(ctx, min(2.0 * attempt, 10.0))


def _run_with_timeout(ctx: BuildContext, component: Component) -> None:
    provisioner = PROVISIONERS[component.type](ctx, component)
    if not component.timeout:
        provisioner.run()
        return
    expired = threading.Event()

    def expire() -> None:
        # NOTE: an exec cannot be killed through the Engine API, so a timeout kills the
        # whole build container; the build then fails and a retry cannot reuse it.
        expired.set()
        if ctx.container_id:
            ctx.engine.remove_container(ctx.container_id)

    timer = threading.Timer(component.timeout, expire)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        provisioner.run()
    except Exception as err:
        if expired.is_set():
            raise ctx.failure(f"Provisioner timed out after {component.timeout:g}s "
                              f"(timeout in {component.path})") from err
        raise
    finally:
        timer.cancel()
    if expired.is_set() and time.monotonic() - started >= component.timeout:
        raise ctx.failure(f"Provisioner timed out after {component.timeout:g}s")
