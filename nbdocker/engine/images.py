"""Image operations: pull, push, tag, remove, login, search, list, and throwaway runs.

Pull, push and run are generators of events (``nbdocker.build.events``) whose return value
summarizes the operation, so callers write ``summary = yield from engine.push(...)`` or drain
them with a loop. They talk to the engine through docker-py's low-level APIClient so that the
HTTP response can be closed when the consumer stops early (an interrupt closes the generator),
which makes the engine cancel the transfer.

Credentials are always per call: ``auth_config`` goes into that request's X-Registry-Auth
header and nothing is kept in the client, so two pushes to different registries, or a push
while another cell logs out, never see each other's login.
"""

from __future__ import annotations

import codecs
import os
import logging
import re
from dataclasses import dataclass
from typing import Any, Generator, Iterable, Iterator

import docker.errors
from docker import auth as docker_auth
from docker import utils as docker_utils

from ..build.events import Event, LogLine
from ..errors import EngineError, RegistryError, UserError
from .containers import SESSION_LABEL
from .translate import engine_errors
from .credentials import DOCKER_HUB, registry_host
from .progress import (StreamSummary, connection_problem, is_auth_failure, parse_progress,
                       stream_failure)

log = logging.getLogger(__name__)

# Maximum length of one line of container output. A longer line is cut into pieces, so
# output without newlines (a progress bar drawn with carriage returns) stays bounded.
MAX_LINE_CHARS = 16 * 1024

#: Label on the containers that ``run`` creates, so leftovers can be found.
RUN_LABEL = "io.nbdocker.run"

SEARCH_FILTERS = {"is-official": "bool", "is-automated": "bool", "stars": "int"}


# ---------------------------------------------------------------------------------------------
# References: Docker's grammar (distribution's reference package), with messages that propose
# a fix for the usual mistakes.

class InvalidReference(UserError):
    """An image reference that Docker's reference grammar does not accept."""


_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:__|[._]|-+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``[domain/]path[:tag][@digest]``.

    ``domain`` is empty when the reference names none (Docker Hub).
    """

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """The name without tag or digest, as given: ``127.0.0.1:5001/nbdocker/hello``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def registry(self) -> str:
        """The registry host[:port] this reference lives in; ``docker.io`` without a domain."""
        return registry_host(self.domain) if self.domain else DOCKER_HUB

    def with_tag(self, tag: str) -> Reference:
        """Return the same repository with ``tag`` and no digest."""
        return Reference(self.domain, self.path, tag, "")

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, what: str = "image reference",
                    allow_digest: bool = True) -> Reference:
    """Parse ``text`` with Docker's reference grammar; raise InvalidReference with a fix.

    ``what`` names the value in messages ("target", "image reference").
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(f"Missing {what}: give a name such as 'busybox:latest'.")
    problem = _reference_problem(text, allow_digest)
    if problem is None:
        return _split_reference(text)

    message = f"Invalid {what} {text!r}: {problem}."
    suggestion = _suggest_reference(text)
    if suggestion and suggestion != text and _reference_problem(suggestion, allow_digest) is None:
        message += f" Did you mean {suggestion!r}?"
    raise InvalidReference(message)


def _split_reference(text: str) -> Reference:
    name, _, digest = text.partition("@")
    tag = ""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    domain, path = "", name
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        domain, path = first, rest
    return Reference(domain, path, tag, digest)


def _reference_problem(text: str, allow_digest: bool) -> str | None:
    """Return what is wrong with ``text`` as a phrase, or None when it is valid."""
    if any(char.isspace() for char in text):
        return "it contains whitespace, which image names cannot have; use '-' or '_' instead"
    if "://" in text:
        return "a reference has no scheme; drop the 'http://' or 'https://'"
    if "@" in text and not allow_digest:
        return "it has a digest ('@sha256:...'), which this operation does not take"

    ref = _split_reference(text)
    if ref.digest and not _DIGEST.fullmatch(ref.digest):
        return f"digest {ref.digest!r} is not of the form 'sha256:' followed by hex digits"
    if ref.tag and not _TAG.fullmatch(ref.tag):
        return (f"tag {ref.tag!r} is invalid: up to 128 letters, digits, '_', '.' and '-', "
                "not starting with '.' or '-'")
    if text.endswith(":"):
        return "the tag after ':' is empty"
    if ref.domain and not _DOMAIN.fullmatch(ref.domain):
        return f"registry host {ref.domain!r} is invalid"
    if not ref.path:
        return "the repository name is empty"
    if ref.path != ref.path.lower():
        return "repository names must be lowercase"
    for component in ref.path.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            return (f"name component {component!r} is invalid: use lowercase letters and digits, "
                    "joined by '.', '_', '__' or '-'")
    if len(ref.repository) > _MAX_NAME_LENGTH:
        return f"the repository name is longer than {_MAX_NAME_LENGTH} characters"
    return None


def _suggest_reference(text: str) -> str | None:
    """Propose a valid reference close to ``text``: whitespace to '-', lowercase names."""
    text = re.sub(r"\s+", "-", text.strip())
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
    ref = _split_reference(text)
    components = []
    for component in ref.path.lower().split("/"):
        component = re.sub(r"[^a-z0-9._-]+", "-", component)
        component = re.sub(r"-{2,}", "-", component).strip("-._")
        if component:
            components.append(component)
    if not components:
        return None
    tag = re.sub(r"[^\w.-]+", "-", ref.tag).lstrip(".-")[:128]
    return str(Reference(ref.domain, "/".join(components), tag, ref.digest))


def _api_detail(err: docker.errors.APIError) -> str:
    return " ".join(str(err.explanation or err).split())


# ---------------------------------------------------------------------------------------------
# The mixin.

class ImageOps:
    """Image verbs of the Engine, mixed into ``Engine``; uses ``self.client`` and ``self.api``."""

    api: Any
    client: Any

    # -- login ----------------------------------------------------------------------------------

    def login(self, server: str, username: str, password: str) -> dict[str, Any]:
        """Check ``username`` and ``password`` against ``server`` through the engine.

        Returns the engine's response: ``Status`` ("Login Succeeded") and ``IdentityToken`` (a
        refresh token to store in place of the password, or empty). Nothing is stored, neither
        here nor in the docker client: docker-py's ``login()`` would also keep the credentials
        in memory for later requests, so this posts to ``/auth`` directly, which is what
        ``login(..., reauth=True)`` sends.

        Raises RegistryError for a rejected password or an unreachable registry.
        """
        host = registry_host(server)
        request = {"username": username, "password": password, "serveraddress": server}
        try:
            with engine_errors(f"Logging in to {host}"):
                try:
                    response = self.api._post_json(self.api._url("/auth"), data=request)
                    return self.api._result(response, json=True)
                except docker.errors.APIError as err:
                    raise _login_failure(host, username, err) from None
        finally:
            request.clear()

    # -- pull and push -----------------------------------------------------------------------------

    def pull(self, repository: str, tag: str | None = None, *, auth_config: dict | None = None,
             all_tags: bool = False, build: str = "",
             platform: str | None = None) -> Generator[Event, None, StreamSummary]:
        """Pull an image; yield LayerProgress and LogLine events; return the StreamSummary.

        ``tag`` may also be a digest. ``all_tags`` pulls every tag of ``repository``.
        Raises AuthenticationRequired, StreamError or EngineError.
        """
        # A tag cannot contain ':', a digest always does.
        if all_tags:
            reference = repository
        elif tag and ":" in tag:
            reference = f"{repository}@{tag}"
        else:
            reference = f"{repository}:{tag or 'latest'}"
        params = {"fromImage": repository, "tag": None if all_tags else (tag or "latest")}
        if platform:
            params["platform"] = platform
        registry = _registry_of(repository)
        response = self._open_stream("pull", reference, registry, "/images/create", params,
                                     auth_config)
        return (yield from self._progress(response, "pull", reference, registry, build))

    def push(self, repository: str, tag: str | None = None, *, auth_config: dict | None = None,
             build: str = "") -> Generator[Event, None, StreamSummary]:
        """Push one tag (or every tag when ``tag`` is None); yield events; return the summary.

        The summary's ``digests`` maps each pushed tag to its manifest digest.
        Raises AuthenticationRequired, StreamError or EngineError.
        """
        reference = f"{repository}:{tag}" if tag else repository
        registry = _registry_of(repository)
        params = {"tag": tag} if tag else {}
        path = self.api._url("/images/{0}/push", repository)
        response = self._open_stream("push", reference, registry, path, params, auth_config)
        return (yield from self._progress(response, "push", reference, registry, build))

    def _open_stream(self, operation: str, reference: str, registry: str, path: str,
                     params: dict[str, Any], auth_config: dict | None):
        url = path if "://" in path else self.api._url(path)
        # An empty dict sends "no credentials" explicitly; None would make docker-py read
        # config.json and its own in-memory logins, which is the shared state we avoid.
        headers = {"X-Registry-Auth": docker_auth.encode_header(auth_config or {})}
        verb = "Pulling" if operation == "pull" else "Pushing"
        with engine_errors(f"{verb} {reference}"):
            try:
                response = self.api._post(url, params=params, headers=headers, stream=True,
                                          timeout=None)
                self.api._raise_for_status(response)
            except docker.errors.APIError as err:
                detail = _api_detail(err)
                if (err.status_code in (401, 403, 404) or is_auth_failure(detail)
                        or connection_problem(detail)):
                    raise stream_failure(operation, reference, registry, detail) from None
                raise
        return response

    def _progress(self, response, operation: str, reference: str, registry: str,
                  build: str) -> Generator[Event, None, StreamSummary]:
        try:
            with engine_errors(f"Reading the {operation} progress of {reference}"):
                chunks = self.api._stream_helper(response, decode=False)
                summary = yield from parse_progress(chunks, operation, reference, registry, build)
        finally:
            # Closing the connection tells the engine that the client went away, so an
            # interrupted pull or push stops instead of running on in the background.
            response.close()
        return summary

    # -- local images --------------------------------------------------------------------------

    def tag(self, source: str, repository: str, tag: str | None = None) -> None:
        """Tag the local image ``source`` as ``repository:tag``, like ``docker tag``."""
        with engine_errors(f"Tagging {source} as {repository}:{tag or 'latest'}"):
            try:
                self.api.tag(source, repository, tag or "latest")
            except docker.errors.ImageNotFound:
                raise EngineError(
                    f"Image {source!r} not found locally: pull it (%docker_pull {source}) "
                    "or build it first."
                ) from None

    def rmi(self, reference: str, *, force: bool = False) -> list[dict[str, str]]:
        """Remove a local image or one of its tags, like ``docker rmi``.

        Returns the engine's list of ``{"Untagged": ...}`` and ``{"Deleted": ...}`` entries.
        Unlike ``remove_image``, a missing image is an error, because the user named it.
        """
        with engine_errors(f"Removing image {reference}"):
            try:
                # docker-py's remove_image() discards the engine's response, so call the endpoint.
                response = self.api._delete(self.api._url("/images/{0}", reference),
                                            params={"force": force, "noprune": False})
                return self.api._result(response, json=True) or []
            except docker.errors.ImageNotFound:
                raise EngineError(
                    f"Image {reference!r} not found locally; nothing to remove.") from None

    def images(self, name: str | None = None, *, all: bool = False) -> list[dict[str, Any]]:
        """List local images (the engine's ImageSummary dicts), like ``docker images``.

        ``name`` is a ``reference`` filter, so ``busybox``, ``busybox:1.*`` and
        ``127.0.0.1:5001/*/*`` work; ``all`` includes intermediate images.
        """
        with engine_errors("Listing images"):
            return self.api.images(name=name or None, all=all)

    # -- search ------------------------------------------------------------------------------------

    def search(self, term: str, *, limit: int = 25, filters: dict[str, Any] | None = None,
               auth_config: dict | None = None) -> list[dict[str, Any]]:
        """Search an index through the engine, like ``docker search``.

        ``term`` may start with an index host (``127.0.0.1:8080/busybox``); without one the
        engine queries Docker Hub. ``filters`` may set ``is-official``, ``is-automated`` (bool) and
        ``stars`` (minimum, int). docker-py's ``images.search`` sends no filters, so this calls
        ``GET /images/search`` itself. Raises RegistryError when the index cannot be reached.
        """
        params: dict[str, Any] = {"term": term, "limit": limit}
        if filters:
            params["filters"] = docker_utils.convert_filters(
                {key: str(value).lower() if isinstance(value, bool) else str(value)
                 for key, value in filters.items()}
            )
        headers = {"X-Registry-Auth": docker_auth.encode_header(auth_config)} if auth_config else {}
        index = _search_index(term)
        with engine_errors(f"Searching {index} for {term!r}"):
            try:
                url = self.api._url("/images/search")
                response = self.api._get(url, params=params, headers=headers)
                return self.api._result(response, json=True)
            except docker.errors.APIError as err:
                raise _search_failure(index, term, err) from None

    # -- throwaway containers ------------------------------------------------------------------

    def run(self, image: str, command: str | list[str] | None = None, *,
            build: str = "") -> Generator[LogLine, None, int]:
        """Run ``command`` in a new container of ``image``, yielding its output lines.

        The return value is the command's exit status. Each complete line of stdout and stderr becomes a LogLine (``stream`` "stdout" or
        "stderr"). The container is removed afterwards whether the command succeeds, fails, or
        the consumer stops early (close() on this generator, e.g. on a keyboard interrupt).
        Raises EngineError when the image is not available locally.
        """
        with engine_errors(f"Creating a container from {image}"):
            try:
                created = self.api.create_container(image, command=command or None,
                                                    labels={RUN_LABEL: "throwaway",
                                                            SESSION_LABEL: os.environ.get(
                                                                "NBDOCKER_SESSION", "")})
            except docker.errors.ImageNotFound:
                raise EngineError(
                    f"Image {image!r} not found locally: pull it first (%docker_pull {image})."
                ) from None
        container_id = created["Id"]
        log.debug("created throwaway container %s from %s", container_id[:12], image)

        exit_code: int | None = None
        try:
            exit_code = yield from self._attach_and_wait(container_id, build)
        finally:
            self._remove_throwaway(container_id, failing=exit_code is None)
        return exit_code

    def _attach_and_wait(self, container_id: str, build: str) -> Generator[LogLine, None, int]:
        stream = None
        try:
            with engine_errors("Running the container"):
                # Attach before start, as `docker run` does, so no early output is lost.
                stream = self.api.attach(container_id, stdout=True, stderr=True, stream=True,
                                         logs=True, demux=True)
                self.api.start(container_id)
                yield from _output_lines(stream, build)
                status = self.api.wait(container_id)
        finally:
            if stream is not None:
                stream.close()
        return int(status.get("StatusCode", -1))

    def _remove_throwaway(self, container_id: str, *, failing: bool) -> None:
        try:
            self.api.remove_container(container_id, force=True)
            log.debug("removed throwaway container %s", container_id[:12])
        except docker.errors.NotFound:
            pass
        except Exception as err:  # noqa: BLE001 - reported below, never dropped
            message = (f"Removing the container {container_id[:12]} failed ({err}); "
                       f"remove it with: docker rm -f {container_id[:12]}")
            if failing:
                # Another error is already on its way up; do not hide it behind this one.
                log.warning("%s", message)
                return
            raise EngineError(message) from err


def _registry_of(repository: str) -> str:
    return _split_reference(repository).registry


def _search_index(term: str) -> str:
    first, sep, _ = term.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost"):
        return registry_host(first)
    return DOCKER_HUB


def _login_failure(host: str, username: str, err: docker.errors.APIError) -> UserError:
    detail = _api_detail(err)
    problem = connection_problem(detail)
    if problem:
        return RegistryError(
            f"Logging in to {host} failed: the registry is not reachable ({problem}). "
            "Check the host and port, and that the registry runs."
        )
    if err.status_code == 401 or is_auth_failure(detail):
        return RegistryError(
            f"Logging in to {host} as {username!r} failed: the registry rejected the user name "
            "or password."
        )
    return RegistryError(f"Logging in to {host} as {username!r} failed: {detail}")


def _search_failure(index: str, term: str, err: docker.errors.APIError) -> UserError:
    detail = _api_detail(err)
    if err.status_code == 400 or "invalid filter" in detail.lower():
        return UserError(f"Searching {index} for {term!r} failed: {detail}. "
                         f"Valid filters: {', '.join(SEARCH_FILTERS)}.")
    if err.status_code in (404, 500) and "unexpected status code 404" in detail.lower():
        return RegistryError(
            f"Searching {index} failed: it has no search API (GET /v1/search returned 404). "
            f"A registry lists its repositories instead: %docker_search {term.split('/', 1)[-1]} "
            f"--registry {index}"
        )
    problem = connection_problem(detail)
    if problem and index == DOCKER_HUB:
        return RegistryError(f"Searching Docker Hub failed: it is not reachable from the engine "
                             f"({problem}). Search a registry instead with --registry HOST.")
    if problem:
        return RegistryError(f"Searching {index} failed: the index is not reachable ({problem}). "
                             "Check the host and port, or search a registry with --registry HOST.")
    return RegistryError(f"Searching {index} for {term!r} failed: {detail}")


def _output_lines(stream: Iterable[tuple[bytes | None, bytes | None]],
                  build: str) -> Iterator[LogLine]:
    """Split demultiplexed (stdout, stderr) chunks into LogLine events, one per line."""
    splitters = {"stdout": _LineSplitter(), "stderr": _LineSplitter()}
    for stdout, stderr in stream:
        for name, data in (("stdout", stdout), ("stderr", stderr)):
            if data:
                for line in splitters[name].feed(data):
                    yield LogLine(text=line, stream=name, build=build)
    for name, splitter in splitters.items():
        for line in splitter.flush():
            yield LogLine(text=line, stream=name, build=build)


class _LineSplitter:
    """Bytes in, complete text lines out; keeps a partial line (and UTF-8 sequence) for later."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""

    def feed(self, data: bytes) -> list[str]:
        text = self._partial + self._decoder.decode(data)
        lines = text.split("\n")
        self._partial = lines.pop()
        while len(self._partial) > MAX_LINE_CHARS:
            lines.append(self._partial[:MAX_LINE_CHARS])
            self._partial = self._partial[MAX_LINE_CHARS:]
        return [line.rstrip("\r") for line in lines]

    def flush(self) -> list[str]:
        text = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        return [text.rstrip("\r")] if text else []


def search_filters(items: Iterable[str] | dict[str, Any] | None) -> dict[str, str]:
    """Check ``KEY=VALUE`` search filters (or a dict) and return them as a dict of strings.

    Raises UserError naming the bad filter and the valid ones.
    """
    if not items:
        return {}
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        pairs = [_split_filter(item) for item in items]
    filters: dict[str, str] = {}
    for key, value in pairs:
        kind = SEARCH_FILTERS.get(key)
        if kind is None:
            raise UserError(f"Invalid search filter {key!r}: use is-official=true|false, "
                            "is-automated=true|false or stars=N.")
        text = str(value).strip()
        if kind == "bool":
            text = text.lower()
        if kind == "bool" and text not in ("true", "false"):
            raise UserError(f"Invalid value {text!r} for the search filter {key!r}: "
                            "use true or false.")
        if kind == "int" and not re.fullmatch(r"[0-9]+", text):
            raise UserError(f"Invalid value {text!r} for the search filter {key!r}: "
                            "give the minimum number of stars, e.g. stars=3.")
        filters[key] = text
    return filters


def _split_filter(item: str) -> tuple[str, str]:
    key, sep, value = str(item).partition("=")
    if not sep:
        raise UserError(f"Invalid search filter {item!r}: write KEY=VALUE, e.g. is-official=true.")
    return key.strip(), value.strip()


__all__ = [
    "ImageOps", "InvalidReference", "Reference", "SEARCH_FILTERS", "parse_reference",
    "search_filters",
]
