"""Parse the engine's JSON progress stream (pull, push) into LayerProgress and LogLine events.

The engine responds to a pull or push with HTTP 200 before it starts, so a failure halfway (a
registry that rejects the credentials, a missing manifest, a full disk) arrives as a message
with ``errorDetail`` inside the stream. docker-py yields that message like any other and raises
nothing, so every message goes through ``ProgressParser.feed``, which raises on it.

Message fields, as the engine's ``jsonmessage`` package writes them: ``status``, ``id`` (a layer,
or a tag for header lines such as "Pulling from library/busybox"), ``progressDetail`` with
``current`` and ``total`` bytes, ``aux`` (the pushed tag, digest and size), and ``errorDetail``
(``code``, ``message``) with its older twin ``error``. The pre-rendered ``progress`` string is
deprecated and ignored here.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Generator, Iterable, Iterator

from ..build.events import Event, LayerProgress, LogLine
from ..build.events import Warning as WarningEvent
from ..errors import EngineError, RegistryError

log = logging.getLogger(__name__)

_json_decoder = json.JSONDecoder()

# Fragments of the messages that registries and the engine send when credentials are missing
# or rejected. The engine passes the registry's text through, so there is no single code.
# Distribution sends "unauthorized: authentication required", or the engine writes "no basic
# auth credentials". Docker Hub sends "denied: requested access to the resource is denied".
# A pull of a private repository ends with "may require 'docker login'".
_AUTH_FAILURE_FRAGMENTS = (
    "unauthorized",
    "authentication required",
    "no basic auth credentials",
    "requested access to the resource is denied",
    "may require 'docker login'",
)

# Phrases of Go network errors that the engine passes on when a registry cannot be reached.
_CONNECTION_PROBLEMS = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "connection reset by peer",
    "network is unreachable",
    "no route to host",
    "context deadline exceeded",
    "client.timeout exceeded",
)

_DIGEST_IN_STATUS = re.compile(r"(?:^|\s)(sha256:[0-9a-f]{64})\b")


class StreamError(EngineError):
    """An error that the engine reported inside a pull or push stream."""

    def __init__(self, message: str, *, detail: str = "", code: int | None = None):
        super().__init__(message)
        self.detail = detail
        self.code = code


class AuthenticationRequired(RegistryError):
    """A registry rejected a pull or push because credentials are missing or wrong."""

    def __init__(self, message: str, *, registry: str, detail: str = ""):
        super().__init__(message)
        self.registry = registry
        self.detail = detail


def is_auth_failure(text: str, code: int | None = None) -> bool:
    """Return True when an engine or registry message means "log in first"."""
    if code == 401:
        return True
    lowered = text.lower()
    return any(fragment in lowered for fragment in _AUTH_FAILURE_FRAGMENTS)


def connection_problem(detail: str) -> str | None:
    """Return the phrase of ``detail`` that means a host could not be reached, or None."""
    lowered = detail.lower()
    for phrase in _CONNECTION_PROBLEMS:
        if phrase in lowered:
            return phrase
    return None


def stream_failure(operation: str, reference: str, registry: str, detail: str,
                   code: int | None = None) -> EngineError | RegistryError:
    """Build the error for a failed pull or push.

    Returns AuthenticationRequired when credentials are missing or wrong, RegistryError when
    the registry cannot be reached, else StreamError. ``operation`` is "pull" or "push";
    ``registry`` is the host that ``%docker_login`` takes.
    """
    verb = {"pull": "Pulling", "push": "Pushing"}.get(operation, operation.capitalize())
    detail = " ".join(detail.split())
    problem = connection_problem(detail)
    if problem:
        return RegistryError(
            f"{verb} {reference} failed: the registry {registry} is not reachable ({problem}). "
            "Check the host and port, and that the registry runs."
        )
    if is_auth_failure(detail, code):
        return AuthenticationRequired(
            f"{verb} {reference} failed: authentication required by {registry} ({detail}). "
            f"Run %docker_login {registry}, then try again.",
            registry=registry, detail=detail,
        )
    return StreamError(f"{verb} {reference} failed: {detail}", detail=detail, code=code)


def decode_stream(chunks: Iterable[bytes | str]) -> Iterator[dict[str, Any] | str]:
    """Split a byte stream of concatenated JSON objects into dicts.

    Chunks may cut an object anywhere, even inside a UTF-8 sequence, and one chunk may carry
    several objects. A line that is not JSON comes out as a ``str``, so the caller can report
    it. A JSON value that is not an object comes out as its JSON text.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    for chunk in chunks:
        buffer += decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        buffer = yield from _split_objects(buffer, final=False)
    buffer += decoder.decode(b"", final=True)
    yield from _split_objects(buffer, final=True)


def _split_objects(buffer: str, *, final: bool) -> Generator[dict[str, Any] | str, None, str]:
    """Yield each complete value at the start of ``buffer``; return the unparsed rest."""
    while True:
        buffer = buffer.lstrip()
        if not buffer:
            return ""
        try:
            value, end = _json_decoder.raw_decode(buffer)
        except ValueError:
            # Either an object cut by the chunk boundary (wait for more) or a line that is not
            # JSON at all (report it and go on after its newline).
            newline = buffer.find("\n")
            if newline == -1 and not final:
                return buffer
            if newline == -1:
                yield buffer.strip()
                return ""
            yield buffer[:newline].strip()
            buffer = buffer[newline + 1:]
            continue
        yield value if isinstance(value, dict) else json.dumps(value)
        buffer = buffer[end:]


@dataclass
class StreamSummary:
    """What a finished pull or push stream reported besides layer progress.

    ``digests`` maps each tag to its manifest digest (several with ``--all-tags``), and
    ``digest`` and ``size`` are those of the last tag. ``layers`` maps each layer id to its
    last status. ``status`` is the engine's closing line, e.g. "Downloaded newer image for
    busybox:latest".
    """

    digest: str = ""
    size: int | None = None
    digests: dict[str, str] = field(default_factory=dict)
    layers: dict[str, str] = field(default_factory=dict)
    status: str = ""


class ProgressParser:
    """Turn the engine's progress messages into events, one message at a time.

    ``operation`` is "pull" or "push" and goes into every LayerProgress; ``reference`` and
    ``registry`` only go into error messages. ``feed`` raises on an in-band error.
    """

    def __init__(self, operation: str, reference: str = "", registry: str = "", build: str = ""):
        self.operation = operation
        self.reference = reference
        self.registry = registry
        self.build = build
        self.summary = StreamSummary()

    def feed(self, message: dict[str, Any]) -> list[Event]:
        """Return the events for one decoded message; raise on ``errorDetail`` or ``error``."""
        self._raise_on_error(message)
        self._record_aux(message.get("aux"))

        status = str(message.get("status") or "").strip()
        if not status:
            return []
        layer = str(message.get("id") or "")
        if layer and not status.startswith("Pulling from"):
            return [self._layer_event(layer, status, message.get("progressDetail"))]

        self._record_status(status)
        text = f"{layer}: {status}" if layer else status
        return [LogLine(text=text, stream="ui", build=self.build)]

    def _raise_on_error(self, message: dict[str, Any]) -> None:
        detail_obj = message.get("errorDetail")
        if not detail_obj and not message.get("error"):
            return
        detail_obj = detail_obj if isinstance(detail_obj, dict) else {}
        detail = str(detail_obj.get("message") or message.get("error") or "unknown error")
        code = detail_obj.get("code")
        log.debug("in-band error in %s stream of %s: %s", self.operation, self.reference, detail)
        raise stream_failure(self.operation, self.reference, self.registry or "the registry",
                             detail, code if isinstance(code, int) else None)

    def _record_aux(self, aux: Any) -> None:
        # A push ends each tag with aux {"Tag": ..., "Digest": ..., "Size": ...}.
        if not isinstance(aux, dict) or not aux.get("Digest"):
            return
        self.summary.digest = str(aux["Digest"])
        self.summary.digests[str(aux.get("Tag") or "")] = self.summary.digest
        size = aux.get("Size")
        self.summary.size = size if isinstance(size, int) else None

    def _record_status(self, status: str) -> None:
        if status.startswith("Status: "):
            self.summary.status = status[len("Status: "):]
        if status.startswith("Digest: "):
            match = _DIGEST_IN_STATUS.search(status)
            if match:
                self.summary.digest = match.group(1)
                self.summary.digests.setdefault("", self.summary.digest)

    def _layer_event(self, layer: str, status: str, detail: Any) -> LayerProgress:
        current = total = None
        if isinstance(detail, dict):
            current = _non_negative_int(detail.get("current"))
            total = _non_negative_int(detail.get("total")) or None
        self.summary.layers[layer] = status
        return LayerProgress(operation=self.operation, layer=layer, status=status,
                             current=current, total=total, build=self.build)


def _non_negative_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return int(value)


def parse_progress(chunks: Iterable[bytes | str], operation: str, reference: str = "",
                   registry: str = "", build: str = "") -> Generator[Event, None, StreamSummary]:
    """Yield the events of a raw progress stream and return its StreamSummary.

    Raises StreamError or AuthenticationRequired on the first in-band error. Text that is not
    JSON becomes a Warning event instead of stopping the stream.
    """
    parser = ProgressParser(operation, reference, registry, build)
    for item in decode_stream(chunks):
        if isinstance(item, str):
            if item:
                yield WarningEvent(message=f"unreadable progress message from the engine: {item!r}",
                                   build=build)
            continue
        yield from parser.feed(item)
    return parser.summary
