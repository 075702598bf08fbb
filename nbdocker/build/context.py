"""The state one build carries through its steps, and the step bookkeeping every step uses."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

from ..engine import Engine
from ..errors import BuildFailed, Interrupted
from ..template.model import Build
from .events import Event, LogLine, StepFinished, StepStarted, Warning

#: How many output lines a failure message quotes.
TAIL_LINES = 10


class BuildContext:
    """One build's state: engine, shared build data, container, and the event sink.

    ``emit`` receives every event; it stamps the build name, masks secrets and forwards
    the event to the run's queue. ``data`` is the shared build data that
    ``{{build `X`}}`` reads (ID, PackerRunUUID, SourceImageSha256, ImageSha256 ...).
    """

    def __init__(self, build: Build, engine: Engine, emit: Callable[[Event], None], *,
                 run_uuid: str, cancel: threading.Event, on_error: str = "cleanup",
                 run_label: str = "", ask: Callable[[str], str] | None = None,
                 use_cache: bool = True, write_cache: bool = True, cache_namespace: str = "",
                 secrets: list[str] | None = None):
        self.build = build
        self.engine = engine
        self._emit = emit
        self.cancel = cancel
        self.on_error = on_error
        self.run_label = run_label
        self.ask = ask
        self.use_cache = use_cache
        self.write_cache = write_cache
        self.cache_namespace = cache_namespace
        #: Values of sensitive variables: events are masked by the run, and anything a
        #: step writes itself (a manifest) masks them with these.
        self.secrets = list(secrets or [])
        self.container_id: str | None = None
        self.container_started = False
        self.base_config: dict[str, Any] = {}
        self.upload_owner: tuple[int, int] | None = None
        self.known_directories: set[str] = set()
        self.step_index = 0
        self.current_step = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.data: dict[str, Any] = {
            "ID": "",
            "ConnType": "docker",
            "PackerRunUUID": run_uuid,
            "SourceImageSha256": "ERR_SOURCE_IMAGE_SHA256_NOT_FOUND",
            "SourceImageDigest": "ERR_SOURCE_IMAGE_DIGEST_NOT_FOUND",
            "ImageSha256": "ERR_IMAGE_SHA256_NOT_FOUND",
            "Host": "",
            "Port": 0,
            "User": "",
            "Password": "",
            "PackerHTTPIP": "ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER",
            "PackerHTTPPort": "ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER",
            "PackerHTTPAddr": "ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER",
        }

    # -- events ----------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Send an event of this build to the run."""
        event.build = self.build.name
        self._emit(event)

    def say(self, text: str) -> None:
        """Emit one of nbdocker's own progress messages."""
        self.emit(LogLine(text, stream="ui", step=self.current_step))

    def output(self, text: str, stream: str = "stdout") -> None:
        """Emit one line of a command's output and remember it for failure messages."""
        self.tail.append(text)
        self.emit(LogLine(text, stream=stream, step=self.current_step))

    def warn(self, message: str) -> None:
        """Emit a non-fatal notice."""
        self.emit(Warning(message))

    # -- rendering -------------------------------------------------------------------------

    def render(self, text: str, **extra: Any) -> str:
        """Render a run-time template string with the build data and ``extra`` dot fields."""
        return self.build.render(text, {**self.data, **extra})

    # -- steps -----------------------------------------------------------------------------

    def check_cancelled(self) -> None:
        """Raise Interrupted when the run was cancelled."""
        if self.cancel.is_set():
            raise Interrupted("Build cancelled after an interrupt")

    @contextlib.contextmanager
    def step(self, name: str, kind: str) -> Iterator[dict[str, Any]]:
        """Run a step: emit its start, time it, and emit how it finished.

        The body may set ``info["status"]`` (``cached``, ``skipped``) and
        ``info["attempts"]``; an exception marks the step failed and propagates.
        """
        self.check_cancelled()
        self.step_index += 1
        self.current_step = name
        self.tail.clear()
        info: dict[str, Any] = {"status": "ok", "attempts": 1, "message": ""}
        self.emit(StepStarted(name, index=self.step_index, kind=kind))
        started = time.monotonic()
        try:
            yield info
        except BaseException as err:
            status = "interrupted" if isinstance(err, (Interrupted, KeyboardInterrupt)) else "failed"
            self.emit(StepFinished(name, status=status, duration=time.monotonic() - started,
                                   message=str(err), attempts=info["attempts"]))
            raise
        self.emit(StepFinished(name, status=info["status"], duration=time.monotonic() - started,
                               message=info["message"], attempts=info["attempts"]))

    def failure(self, message: str, *, exit_code: int | None = None) -> BuildFailed:
        """Make a BuildFailed for the current step, quoting the last lines of output."""
        return BuildFailed(message, build=self.build.name, step=self.current_step,
                           exit_code=exit_code, tail=list(self.tail))
