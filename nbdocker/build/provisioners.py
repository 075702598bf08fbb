"""Provisioners that run inside the build container: shell, file, sleep and breakpoint.

Shell scripts run through one long-lived shell per build container (ShellSession): each
script costs one round trip on an attached exec, where an archive upload plus an exec per
script cost about 160 ms and Packer spends four docker CLI processes. Where the session
cannot be used (``pty``, or the shell could not be attached) each script costs one archive
upload, which writes it already executable, and one exec, which also removes it afterwards
unless ``skip_clean`` is set.
"""

from __future__ import annotations

import codecs
import copy
import logging
import os
import posixpath
import shlex
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Callable

from ..engine.containers import ExecResult
from ..engine.translate import engine_errors
from ..errors import BuildFailed, EngineError, Interrupted
from ..template.model import Component
from .archive import Owner, extract_to_host, file_archive, missing_parents, tree_archive
from .context import BuildContext

log = logging.getLogger(__name__)


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


# -- the shell session --------------------------------------------------------------------

#: Run shell scripts through one ShellSession per build container; False runs each script
#: with its own archive upload and exec.
USE_SHELL_SESSION = True

#: Header of each frame of the engine's multiplexed exec stream: stream id (1 stdout,
#: 2 stderr), three padding bytes, payload length (big-endian).
FRAME_HEADER = struct.Struct(">BxxxL")

#: Open sessions by container id, so a copy of the build context (the error-cleanup
#: provisioner's) finds the same session.
_sessions: dict[str, "ShellSession"] = {}
_sessions_lock = threading.Lock()


class SessionEnded(Exception):
    """The session's shell or its connection ended before a script finished."""


class MarkerScanner:
    """Split one output stream of a session at the end marker printed after each script."""

    def __init__(self, marker: bytes):
        self.marker = marker
        self.buffer = b""
        #: The text after the marker (the exit status), once the marker line is complete.
        self.status: str | None = None

    def feed(self, chunk: bytes) -> bytes:
        """Add a chunk; return the output before the marker that is ready to show."""
        self.buffer += chunk
        if self.status is not None:
            return b""  # later output waits for the next script
        index = self.buffer.find(self.marker)
        if index < 0:
            # Hold back a tail that could be the start of a marker split across chunks.
            keep = next((size for size in range(min(len(self.marker) - 1, len(self.buffer)),
                                                0, -1)
                         if self.buffer.endswith(self.marker[:size])), 0)
            ready = len(self.buffer) - keep
            output, self.buffer = self.buffer[:ready], self.buffer[ready:]
            return output
        output = self.buffer[:index]
        end = self.buffer.find(b"\n", index)
        if end < 0:
            self.buffer = self.buffer[index:]
            return output
        self.status = self.buffer[index + len(self.marker):end].decode("ascii", "replace").strip()
        self.buffer = self.buffer[end + 1:]
        return output

    def reset(self) -> None:
        """Prepare for the next script, keeping output received after the marker."""
        self.status = None


class ShellSession:
    """A long-lived ``/bin/sh`` in the build container that runs shell scripts one by one.

    Every archive upload and every exec starts a process in the engine (medians of about
    85 and 70 ms on a 2-core machine with Docker 20.10; bench/run.py times each call). The
    session opens one exec with standard input attached and sends each script through it.
    A here-document writes the script file, and ``( eval '<command>' ) </dev/null`` runs
    it, so each script keeps its own exit status, environment, working directory and empty
    standard input. Then the shell prints a random end marker and the exit status on
    stdout and on stderr, and everything before the two markers is that script's output.

    Differences from one exec per script: in ``execute_command``, ``$$`` is the session
    shell's pid, and output that a background process writes after its script ended is
    shown with a later script.
    """

    def __init__(self, container_id: str):
        self.container_id = container_id
        self.marker = f"nbdocker-end-{uuid.uuid4().hex}".encode()
        self.delimiter = f"NBDOCKER_EOF_{uuid.uuid4().hex}".encode()
        self.broken = False
        self._socket: Any = None
        self._response: Any = None
        self._frames = bytearray()
        self._scanners = {1: MarkerScanner(self.marker), 2: MarkerScanner(self.marker)}

    def open(self, engine: Any, user: str) -> None:
        """Start ``/bin/sh`` reading commands from an attached standard input."""
        # NOTE: this reaches the docker SDK client behind the Engine (engine.api) because
        # the Engine has no attached exec; that part belongs in engine/containers.py.
        with engine_errors(f"Starting a shell in container {self.container_id[:12]}"):
            exec_id = engine.api.exec_create(self.container_id, ["/bin/sh"], stdin=True,
                                              stdout=True, stderr=True, tty=False,
                                              user=user)["Id"]
            self._response = engine.api.exec_start(exec_id, socket=True)
        # A Unix or plain TCP connection comes wrapped in socket.SocketIO; TLS and SSH
        # connections are socket-like already.
        self._socket = getattr(self._response, "_sock", self._response)
        # A script may print nothing for longer than the client's request timeout.
        self._socket.settimeout(None)

    def close(self) -> None:
        """End the shell and the connection."""
        if self._socket is None:
            return
        try:
            self._socket.sendall(b"exit 0\n")
        except OSError:
            pass
        for closable in (self._socket, self._response):
            try:
                closable.close()
            except OSError:
                pass
        self._socket = None

    # -- running scripts -----------------------------------------------------------------

    def can_write(self, content: bytes) -> bool:
        """Tell whether a here-document reproduces ``content`` byte for byte."""
        return (content.endswith(b"\n") and b"\0" not in content
                and b"\n" + self.delimiter + b"\n" not in b"\n" + content)

    def run(self, ctx: BuildContext, command: str, *, removed: list[str],
            script: tuple[str, bytes] | None = None) -> int | None:
        """Run ``command`` in a subshell, streaming its output; return its exit status.

        With ``script`` (path, content) the shell first writes that file with mode 0755
        and returns None, running nothing, when it cannot. ``removed`` lists files to
        delete after the command, whatever its status.
        """
        message = bytearray()
        if script is not None:
            path = shlex.quote(script[0])
            message += (f"{{ cat > {path} && chmod 0755 {path}; }} 2>/dev/null "
                        f"<<'{self.delimiter.decode()}'\n").encode()
            message += script[1] + self.delimiter + b"\n"
            message += b"if [ $? -eq 0 ]; then\n"
        message += f"set --; ( eval {shlex.quote(command)} ) </dev/null; set -- $?\n".encode()
        if removed:
            message += f"rm -f {' '.join(shlex.quote(path) for path in removed)}\n".encode()
        if script is not None:
            message += b"else set -- write-failed; fi\n"
        report = f"printf '%s %s\\n' {self.marker.decode()} \"$1\""
        message += f"{report}; {report} >&2\n".encode()

        try:
            self._socket.sendall(bytes(message))
            status = self._read_output(ctx)
        except SessionEnded as err:
            self.broken = True
            ctx.check_cancelled()
            raise ctx.failure(f"The shell running the script in container "
                              f"{self.container_id[:12]} ended ({err}); the script may have "
                              "stopped the container or killed its shell") from err
        except BaseException:
            self.broken = True
            raise
        if status == "write-failed":
            return None
        try:
            return int(status)
        except ValueError:
            self.broken = True
            raise ctx.failure(f"Unexpected end marker {status!r} from the build container's "
                              "shell") from None

    def _read_output(self, ctx: BuildContext) -> str:
        """Show the output up to both end markers; return the status the markers carry."""
        names = {1: "stdout", 2: "stderr"}
        splitters = {1: LineSplitter(), 2: LineSplitter()}
        while any(scanner.status is None for scanner in self._scanners.values()):
            stream_id, payload = self._next_frame()
            stream_id = 2 if stream_id == 2 else 1
            for line in splitters[stream_id].feed(self._scanners[stream_id].feed(payload)):
                ctx.output(line, names[stream_id])
        for stream_id, splitter in splitters.items():
            for line in splitter.flush():
                ctx.output(line, names[stream_id])
        status = self._scanners[1].status or ""
        for scanner in self._scanners.values():
            scanner.reset()
        return status

    def _next_frame(self) -> tuple[int, bytes]:
        """Return the next (stream id, payload) frame of the exec's output."""
        while True:
            if len(self._frames) >= FRAME_HEADER.size:
                stream_id, size = FRAME_HEADER.unpack_from(self._frames)
                end = FRAME_HEADER.size + size
                if len(self._frames) >= end:
                    payload = bytes(self._frames[FRAME_HEADER.size:end])
                    del self._frames[:end]
                    return stream_id, payload
            try:
                chunk = self._socket.recv(65536)
            except OSError as err:
                raise SessionEnded(str(err)) from err
            if not chunk:
                raise SessionEnded("end of stream")
            self._frames += chunk


def shell_session(ctx: BuildContext) -> ShellSession | None:
    """Return the build container's shell session, opening it on first use.

    Returns None where scripts must run with one exec each: a ``pty`` build, a container
    that is not running, or a session that failed to open or broke.
    """
    config = ctx.build.builder.config
    if not USE_SHELL_SESSION or config.get("pty") or not ctx.container_started \
            or not ctx.container_id:
        return None
    with _sessions_lock:
        session = _sessions.get(ctx.container_id)
    if session is None:
        session = ShellSession(ctx.container_id)
        try:
            session.open(ctx.engine, config.get("exec_user") or "")
        except (EngineError, OSError, AttributeError) as err:
            # AttributeError: a transport whose raw socket lacks settimeout or recv.
            log.debug("no shell session in container %s, running one exec per script: %s",
                      ctx.container_id[:12], err)
            session.broken = True
        with _sessions_lock:
            _sessions[ctx.container_id] = session
    return None if session.broken else session


def close_shell_session(ctx: BuildContext) -> None:
    """Close the build container's shell session, if one is open."""
    if not ctx.container_id:
        return
    with _sessions_lock:
        session = _sessions.pop(ctx.container_id, None)
    if session is not None:
        session.close()


def _writes_as_upload_owner(ctx: BuildContext) -> bool:
    """Tell whether files the session's shell writes get the owner an upload would give.

    Uploads belong to root, or to the image's USER with ``fix_upload_owner``, while the
    shell runs as ``exec_user`` or the image's USER. Only when all of them are root do
    the two owners surely match.
    """
    def is_root(spec: str) -> bool:
        return spec.strip() in ("", "root", "0", "0:0", "root:root")

    image_user = ctx.base_config.get("User") or ""
    session_user = ctx.build.builder.config.get("exec_user") or image_user
    return is_root(session_user) and is_root(image_user)


def quote_env(config: dict, ctx: BuildContext) -> dict[str, str]:
    """Collect a provisioner's environment: environment_vars, then env, then Packer's own."""
    env: dict[str, str] = {}
    for entry in config.get("environment_vars") or []:
        # Build data such as {{build `ID`}} is still a {{.ID}} placeholder here.
        key, _, value = ctx.render(entry).partition("=")
        env[key] = value
    env.update({str(k): ctx.render(str(v)) for k, v in (config.get("env") or {}).items()})
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

        session = shell_session(ctx)
        removed = [] if config.get("skip_clean") else [remote] + ([env_file] if env_file else [])
        for label, content in self.scripts():
            ctx.say(f"Provisioning with shell script: {label}")
            command = ctx.render(template, Path=remote, Vars=variables, EnvVarFile=env_file)
            if session is not None:
                status = self.run_in_session(session, remote, content, command, removed)
            else:
                upload_bytes(ctx, remote, content, mode=0o755)
                cleanup = "".join(f"; rm -f {shlex.quote(path)}" for path in removed)
                status = run_in_container(ctx, f"({command}); status=$?{cleanup}; exit $status",
                                          user=user)
            if status not in valid:
                raise ctx.failure(
                    f"Script exited with non-zero exit status: {status}. "
                    f"Allowed exit codes are: {valid}", exit_code=status)
        pause = float(config.get("pause_after") or 0)
        if pause:
            wait_cancellable(ctx, pause)

    def run_in_session(self, session: ShellSession, remote: str, content: bytes, command: str,
                       removed: list[str]) -> int:
        """Write the script through the session's shell when possible, then run ``command``.

        The archive API writes the script instead when the shell cannot reproduce it
        exactly: content a here-document cannot carry, a non-root owner, a missing folder.
        """
        ctx = self.ctx
        if session.can_write(content) and _writes_as_upload_owner(ctx):
            status = session.run(ctx, command, removed=removed, script=(remote, content))
            if status is not None:
                return status
            log.debug("the shell could not write %s; uploading it instead", remote)
        upload_bytes(ctx, remote, content, mode=0o755)
        status = session.run(ctx, command, removed=removed)
        assert status is not None  # only a script write returns None
        return status


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
        self.runtime_keys = component.runtime_keys

    def sources(self) -> list[str]:
        """Return every source path, ``source`` first."""
        config = self.config
        sources = list(config.get("sources") or [])
        if config.get("source"):
            sources.insert(0, config["source"])
        return list(dict.fromkeys(sources))

    def run(self) -> None:
        """Upload or download, as ``direction`` says."""
        ctx, config = self.ctx, self.config
        destination = ctx.render(config["destination"])
        if config.get("direction") == "download":
            for source in self.sources():
                self.download(ctx.render(source), destination)
            return
        if not self.sources() and config.get("content") is not None:
            ctx.say(f"Uploading inline content => {destination}")
            content = str(config["content"])
            if "content" in self.runtime_keys:
                content = ctx.render(content)
            upload_bytes(ctx, destination, content.encode())
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
    # A session of its own lets a cancel kill the commands the script started too; they
    # would otherwise keep the output pipe open until they end.
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               start_new_session=hasattr(os, "killpg"))
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
            if hasattr(os, "killpg"):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # the whole group has ended already
            else:
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


class StepCancel:
    """Cancellation of one provisioner run: set by its timeout, or by cancelling the run.

    It replaces the run's cancel event in the provisioner's context, so that a sleep or a
    host command (shell-local) stops at its timeout without cancelling the whole run.
    """

    def __init__(self, run_cancel: threading.Event):
        self.run_cancel = run_cancel
        self.expired = threading.Event()

    def set(self) -> None:
        self.expired.set()

    def is_set(self) -> bool:
        return self.expired.is_set() or self.run_cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until either is set or ``timeout`` seconds pass; notices the run's within 0.1 s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if remaining <= 0:
                break
            self.expired.wait(remaining)
        return self.is_set()


#: Provisioners that run commands in the build container.
IN_CONTAINER = ("shell", "file")


def _run_with_timeout(ctx: BuildContext, component: Component) -> None:
    if not component.timeout:
        PROVISIONERS[component.type](ctx, component).run()
        return
    step_ctx = copy.copy(ctx)
    step_ctx.cancel = cancel = StepCancel(ctx.cancel)  # type: ignore[assignment]
    provisioner = PROVISIONERS[component.type](step_ctx, component)
    expired = cancel.expired

    def expire() -> None:
        cancel.set()
        if component.type in IN_CONTAINER and ctx.container_id:
            # NOTE: an exec cannot be killed through the Engine API, so a timeout in the
            # container kills the whole build container; the build then fails and a
            # retry cannot reuse it.
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
        # An expired timer may still be removing the container; the build's cleanup must
        # not see it half removed ("removal already in progress") and return early.
        timer.join()
    if expired.is_set() and time.monotonic() - started >= component.timeout:
        raise ctx.failure(f"Provisioner timed out after {component.timeout:g}s")
