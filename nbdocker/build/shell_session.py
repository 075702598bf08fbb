"""Shell commands in the build container: one long-lived shell per container, or one exec each.

Shell scripts run through one long-lived shell per build container (ShellSession): each
script costs one round trip on an attached exec, where an archive upload plus an exec per
script cost about 160 ms and Packer spends four docker CLI processes. Where the session
cannot be used (``pty``, or the shell could not be attached) each script costs one archive
upload, which writes it already executable, and one exec, which also removes it afterwards
unless ``skip_clean`` is set.
"""

from __future__ import annotations

import codecs
import logging
import shlex
import struct
import threading
import uuid
from typing import Any

from ..engine.containers import ExecResult
from ..engine.translate import engine_errors
from ..errors import EngineError
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


def writes_as_upload_owner(ctx: BuildContext) -> bool:
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
