"""Publish and find images from Python: login, logout, tag, push, pull, search, images, run.

Each function connects to the engine (or uses the ``engine`` it is given), does one thing the
docker CLI verb of the same name does, and returns a result object. The long ones (push, pull,
run) take a ``view`` (an object from ``nbdocker.display.layers``, or ``"auto"`` for the widget
in a notebook and text elsewhere) and an ``on_event`` callback. They return once every event
has been consumed.

Credentials live where the docker CLI keeps them (``nbdocker.engine.credentials``). Push and
pull read them for the one registry they talk to and send them with that request only.
Passwords come from ``getpass`` or an environment variable, never from an argument, so they
cannot end up in a cell's source or the notebook's history.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import shlex
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterable

from .build.events import Event, LogLine
from .build.runner import default_log_dir
from .display.layers import View, layers_view, output_view
from .display.tables import (ImageRow, ImageTable, RegistrySearchTable, RepositoryHit, SearchHit,
                             SearchTable)
from .engine import Engine, connect
from .engine import credentials
from .engine.images import parse_reference, search_filters
from .errors import UserError
from .registry import RegistryClient

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], None]

DEFAULT_SEARCH_LIMIT = 25
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------------------------
# Results.

@dataclass(frozen=True)
class LoginResult:
    """A verified login: the registry, the user, and where the credentials were stored."""

    server: str
    username: str
    stored_in: str
    status: str = "Login Succeeded"

    def __str__(self) -> str:
        return (f"{self.status}: {self.username} at {self.server}; "
                f"credentials stored in {self.stored_in}")


@dataclass(frozen=True)
class LogoutResult:
    """A logout: the registry and where its credentials were removed from (None if nowhere)."""

    server: str
    removed_from: str | None

    def __str__(self) -> str:
        if self.removed_from is None:
            return f"Not logged in to {self.server}"
        return f"Removed the credentials for {self.server} from {self.removed_from}"


@dataclass(frozen=True)
class TagResult:
    """A new tag: the source as given, the full target reference and the image id."""

    source: str
    target: str
    image_id: str

    def __str__(self) -> str:
        return f"Tagged {self.source} as {self.target}"


@dataclass(frozen=True)
class PushResult:
    """A finished push: the reference, its manifest digest and size in bytes.

    ``digests`` maps each pushed tag to its digest (several with ``all_tags``); ``layers`` maps
    each layer id to the engine's last status for it ("Pushed", "Layer already exists").
    """

    reference: str
    digest: str
    size: int | None = None
    digests: dict[str, str] = field(default_factory=dict)
    layers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Pushed {self.reference}: digest {self.digest}"


@dataclass(frozen=True)
class PullResult:
    """A finished pull: the reference, its manifest digest and the local image id.

    ``status`` is the engine's closing line, e.g. "Image is up to date for busybox:latest".
    """

    reference: str
    digest: str
    image_id: str = ""
    status: str = ""
    layers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Pulled {self.reference}: digest {self.digest}"


@dataclass(frozen=True)
class RemoveResult:
    """The outcome of ``docker rmi``: the tags removed and the images deleted."""

    reference: str
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"Removed {self.reference}: {len(self.untagged)} tags untagged, "
                f"{len(self.deleted)} images deleted")


@dataclass(frozen=True)
class RunResult:
    """A finished throwaway container: exit status and the last lines of its output.

    ``tail`` contains at most the number of lines requested. ``log_path`` is a file with
    every line, where stderr lines start with "stderr: ".
    """

    image: str
    command: list[str]
    exit_code: int
    tail: list[str] = field(default_factory=list)
    line_count: int = 0
    log_path: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_code == 0

    def __repr__(self) -> str:
        return (f"RunResult(image={self.image!r}, command={self.command!r}, "
                f"exit_code={self.exit_code}, line_count={self.line_count}, "
                f"log_path={self.log_path!r})")


class RunFailed(UserError):
    """A throwaway container exited with a non-zero status; carries the RunResult."""

    def __init__(self, result: RunResult, shown_lines: int = 10):
        self.result = result
        self.exit_code = result.exit_code
        self.tail = result.tail
        command = f" {shlex.join(result.command)}" if result.command else ""
        message = f"Container of {result.image}{command} exited with status {result.exit_code}."
        last = result.tail[-shown_lines:]
        if last:
            message += " Last lines of output:\n" + "\n".join(f"  {line}" for line in last)
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Driving event streams into views.

def _resolve_view(view: View | str | None, make: Callable[[], View]) -> View | None:
    if view == "auto":
        return make()
    if isinstance(view, str):
        raise UserError(f"Unknown view {view!r}: pass a view object, 'auto' or None.")
    return view


def _drain(events: Generator[Event, None, Any], view: View | None,
           on_event: EventCallback | None) -> Any:
    """Send every event to the view and the callback; return the generator's return value.

    The generator is closed however this ends, which releases what it holds (the engine
    connection of a pull or push, the container of a run).
    """
    sinks = [sink for sink in (view, on_event) if sink is not None]
    try:
        while True:
            try:
                event = next(events)
            except StopIteration as stop:
                return stop.value
            for sink in sinks:
                sink(event)
    finally:
        events.close()


def _fail_view(view: View | None) -> None:
    if view is not None:
        view.fail(sys.exc_info()[1] or Exception("failed"))


# ---------------------------------------------------------------------------------------------
# Login and logout.

def login(server: str | None = None, username: str | None = None, *,
          password_env: str | None = None, engine: Engine | None = None,
          prompt: Callable[[str], str] | None = None) -> LoginResult:
    """Log in to a registry and store the credentials like ``docker login``.

    The password is read from the environment variable ``password_env`` when given, else
    asked for with ``getpass`` (``prompt``). The engine checks it against the registry before
    anything is stored. The credentials then go to the configured credential helper
    (``credsStore``/``credHelpers`` in config.json), or into ``$DOCKER_CONFIG/config.json``.

    Parameters
    ----------
    server : str, optional
        Registry as ``HOST[:PORT]`` (or a URL); Docker Hub when None.
    username : str, optional
        Defaults to the user stored for ``server``, else it is asked for with ``input``.
    password_env : str, optional
        Name of an environment variable that contains the password, for places where no prompt
        is possible (nbclient, CI).
    engine : Engine, optional
        The engine to check the login with; ``nbdocker.engine.connect()`` when None.
    prompt : callable, optional
        Replaces ``getpass.getpass`` to read the password.

    Returns
    -------
    LoginResult
        The server, the user and where the credentials were stored.

    Raises
    ------
    RegistryError
        The registry rejected the user or password, or is not reachable.
    UserError
        No password: the variable is unset or empty, or the frontend cannot prompt.

    Examples
    --------
    >>> nbdocker.login("127.0.0.1:5001", "nbdocker", password_env="REGISTRY_PASSWORD")
    LoginResult(server='127.0.0.1:5001', username='nbdocker', stored_in='...', ...)
    """
    host = credentials.registry_host(server)
    address = credentials.server_key(server)

    # Ask for what is missing before touching the engine.
    if not username:
        stored = credentials.find(server)
        username = stored.username if stored and not stored.identity_token else _ask_username(host)
    password = _read_password(password_env, username, host, prompt)

    # Check the credentials, then store them.
    engine = engine or connect()
    try:
        answer = engine.login(address, username, password)
        token = str(answer.get("IdentityToken") or "")
        if token:
            stored_in = credentials.store(server, username, token, identity_token=True)
        else:
            stored_in = credentials.store(server, username, password)
    finally:
        del password
    log.debug("logged in to %s as %s; credentials in %s", host, username, stored_in)
    return LoginResult(host, username, stored_in, str(answer.get("Status") or "Login Succeeded"))


def _ask_username(host: str) -> str:
    from IPython.core.error import StdinNotImplementedError

    try:
        username = input(f"Username for {host}: ").strip()
    except (StdinNotImplementedError, EOFError, OSError):
        raise UserError(f"No user name for {host}, and this frontend cannot prompt for one: "
                        "give it (-u USERNAME in %docker_login).") from None
    if not username:
        raise UserError(f"Empty user name for {host}: give one (-u USERNAME in %docker_login).")
    return username


def _read_password(password_env: str | None, username: str, host: str,
                   prompt: Callable[[str], str] | None) -> str:
    if password_env is not None:
        if not _ENV_NAME.fullmatch(password_env):
            raise UserError(f"Invalid environment variable name {password_env!r}: "
                            "use letters, digits and '_', not starting with a digit.")
        password = os.environ.get(password_env)
        if password is None:
            raise UserError(f"Environment variable {password_env!r} is not set: set it to the "
                            "password of the registry, or leave out --password-env to be asked.")
        if not password:
            raise UserError(f"Environment variable {password_env!r} is empty: set it to the "
                            "password of the registry.")
        return password

    from IPython.core.error import StdinNotImplementedError

    ask = prompt or getpass.getpass
    try:
        password = ask(f"Password for {username} at {host}: ")
    except (StdinNotImplementedError, EOFError, OSError):
        raise UserError(f"This frontend cannot prompt for the password of {username} at {host}: "
                        "put it in an environment variable and pass --password-env VAR.") from None
    if not password:
        raise UserError(f"Empty password for {username} at {host}; nothing was stored.")
    return password


def logout(server: str | None = None) -> LogoutResult:
    """Remove the stored credentials for a registry, like ``docker logout``.

    Parameters
    ----------
    server : str, optional
        Registry as ``HOST[:PORT]``; Docker Hub when None.

    Returns
    -------
    LogoutResult
        Where the credentials were removed from; ``removed_from`` is None when there were none.
    """
    host = credentials.registry_host(server)
    return LogoutResult(host, credentials.erase(server))


# ---------------------------------------------------------------------------------------------
# Local images.

def tag(source: str, target: str, *, engine: Engine | None = None) -> TagResult:
    """Give the local image ``source`` the new name ``target``, like ``docker tag``.

    ``target`` is checked against Docker's reference grammar first, so a space or an
    uppercase letter fails with a proposed fix instead of an engine error.

    Parameters
    ----------
    source : str
        A local image: name[:tag], or an image id.
    target : str
        The new ``[HOST[:PORT]/]NAME[:TAG]``; the tag defaults to ``latest``.
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    TagResult
        The full target reference and the image id.

    Raises
    ------
    InvalidReference
        ``target`` is not a valid reference.
    EngineError
        ``source`` does not exist locally.
    """
    reference = parse_reference(target, what="target", allow_digest=False)
    reference = reference.with_tag(reference.tag or "latest")
    engine = engine or connect()
    engine.tag(source, reference.repository, reference.tag)
    details = engine.inspect_image(str(reference))
    return TagResult(source, str(reference), details.id if details else "")


def remove_image(reference: str, *, force: bool = False,
                 engine: Engine | None = None) -> RemoveResult:
    """Remove a local image or one of its tags, like ``docker rmi``.

    Parameters
    ----------
    reference : str
        name[:tag] or image id.
    force : bool
        Remove the image even when several tags or a stopped container use it.
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    RemoveResult
        The tags untagged and the image ids deleted.
    """
    engine = engine or connect()
    entries = engine.rmi(reference, force=force)
    untagged = [entry["Untagged"] for entry in entries if "Untagged" in entry]
    deleted = [entry["Deleted"] for entry in entries if "Deleted" in entry]
    return RemoveResult(reference, untagged, deleted)


def images(name: str | None = None, *, all: bool = False,
           engine: Engine | None = None) -> ImageTable:
    """List local images, one row per repository:tag, like ``docker images``.

    Parameters
    ----------
    name : str, optional
        Only images whose reference matches, e.g. ``busybox``, ``busybox:1.*`` or
        ``127.0.0.1:5001/*/*``.
    all : bool
        Include intermediate images.
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    ImageTable
        A sequence of ImageRow rows that renders as a sortable table in a notebook.
    """
    engine = engine or connect()
    rows = ImageRow.from_summaries(engine.images(name, all=all))
    title = f"Images matching {name!r}" if name else ""
    return ImageTable(rows, title=title)


# ---------------------------------------------------------------------------------------------
# Push and pull.

def push(reference: str, *, all_tags: bool = False, view: View | str | None = None,
         on_event: EventCallback | None = None, engine: Engine | None = None) -> PushResult:
    """Push an image to its registry, like ``docker push``, with per-call credentials.

    The credentials stored for the reference's registry (see ``login``) go with this request
    only; nothing is logged in or out around it.

    Parameters
    ----------
    reference : str
        ``[HOST[:PORT]/]NAME[:TAG]``; the tag defaults to ``latest``.
    all_tags : bool
        Push every local tag of the repository; ``reference`` must then have no tag.
    view : View or "auto", optional
        Receives the events and the result; "auto" shows per-layer progress.
    on_event : callable, optional
        Called with every event (LayerProgress, LogLine, Warning).
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    PushResult
        The manifest digest and size, per tag and per layer status.

    Raises
    ------
    AuthenticationRequired
        The registry wants credentials that are missing or wrong.
    StreamError, RegistryError, EngineError
        The push failed; the message carries the engine's reason.
    """
    ref = parse_reference(reference, allow_digest=False)
    if all_tags and ref.tag:
        raise UserError(f"Cannot push {reference!r} with all tags: give the repository without "
                        f"':{ref.tag}' ({ref.repository}) to push every tag, or leave out "
                        "--all-tags.")
    tag_name = None if all_tags else (ref.tag or "latest")
    full_reference = ref.repository if all_tags else str(ref.with_tag(tag_name or "latest"))
    auth = _auth_config(ref.registry)

    engine = engine or connect()
    view = _resolve_view(view, lambda: layers_view("push", full_reference))
    try:
        summary = _drain(engine.push(ref.repository, tag_name, auth_config=auth), view, on_event)
        result = PushResult(full_reference, summary.digest, summary.size,
                            dict(summary.digests), dict(summary.layers))
    except:  # noqa: E722 - NB: bare like tqdm's, so an interrupt also turns the view red
        _fail_view(view)
        raise
    if view is not None:
        view.finish(result)
    return result


def pull(reference: str, *, all_tags: bool = False, view: View | str | None = None,
         on_event: EventCallback | None = None, engine: Engine | None = None) -> PullResult:
    """Pull an image from its registry, like ``docker pull``, with per-call credentials.

    Parameters
    ----------
    reference : str
        ``[HOST[:PORT]/]NAME[:TAG|@DIGEST]``; the tag defaults to ``latest``.
    all_tags : bool
        Pull every tag of the repository; ``reference`` must then have no tag.
    view : View or "auto", optional
        Receives the events and the result; "auto" shows per-layer progress where download
        and extraction each count half of the overall bar.
    on_event : callable, optional
        Called with every event.
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    PullResult
        The manifest digest, the local image id and the engine's closing status.

    Raises
    ------
    AuthenticationRequired
        The registry wants credentials that are missing or wrong.
    StreamError, RegistryError, EngineError
        The pull failed; the message carries the engine's reason.
    """
    ref = parse_reference(reference)
    if all_tags and (ref.tag or ref.digest):
        raise UserError(f"Cannot pull {reference!r} with all tags: give the repository without "
                        f"a tag or digest ({ref.repository}), or leave out --all-tags.")
    if ref.digest:
        tag_name, full_reference = ref.digest, str(ref)
    elif all_tags:
        tag_name, full_reference = None, ref.repository
    else:
        tag_name = ref.tag or "latest"
        full_reference = str(ref.with_tag(tag_name))
    auth = _auth_config(ref.registry)

    engine = engine or connect()
    view = _resolve_view(view, lambda: layers_view("pull", full_reference))
    try:
        summary = _drain(engine.pull(ref.repository, tag_name, auth_config=auth, all_tags=all_tags),
                         view, on_event)
        details = None if all_tags else engine.inspect_image(full_reference)
        image_id = details.id if details else ""
        result = PullResult(full_reference, summary.digest, image_id, summary.status,
                            dict(summary.layers))
    except:  # noqa: E722 - NB: bare like tqdm's, so an interrupt also turns the view red
        _fail_view(view)
        raise
    if view is not None:
        view.finish(result)
    return result


def _auth_config(registry: str) -> dict[str, str] | None:
    stored = credentials.find(registry)
    return stored.auth_config() if stored else None


# ---------------------------------------------------------------------------------------------
# Search.

def search(term: str, *, limit: int = DEFAULT_SEARCH_LIMIT,
           filters: dict[str, Any] | Iterable[str] | None = None, registry: str | None = None,
           engine: Engine | None = None) -> SearchTable | RegistrySearchTable:
    """Search an index through the engine like ``docker search``, or a registry's catalog.

    Without ``registry`` the engine queries the index named by the term's host prefix
    (``127.0.0.1:8080/busybox``), or Docker Hub without one. With ``registry`` the registry's
    ``/v2/_catalog`` is listed (with the stored credentials) and every repository whose name
    contains ``term`` is returned with its tags.

    Parameters
    ----------
    term : str
        Text to look for.
    limit : int
        Maximum number of results, 1 to 100 (the engine's range); 25 like the docker CLI.
    filters : dict or list of "KEY=VALUE", optional
        Index searches only: ``is-official`` and ``is-automated`` (true/false), ``stars``
        (minimum count).
    registry : str, optional
        ``HOST[:PORT]`` (or ``http://HOST:PORT``) of a registry to search instead of an index.
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``; unused with ``registry``.

    Returns
    -------
    SearchTable or RegistrySearchTable
        Rows of SearchHit (index) or RepositoryHit (registry), shown as a sortable table.

    Raises
    ------
    RegistryError
        The index or registry is not reachable, or rejects the credentials.
    UserError
        A bad filter or limit.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise UserError(f"Invalid search limit {limit!r}: give a number from 1 to 100.")
    if registry is not None:
        if filters:
            raise UserError("Search filters (is-official, is-automated, stars) apply to an index "
                            "search only; a registry catalog has no stars or official flags. "
                            "Leave out --filter or --registry.")
        return _search_registry(term, registry, limit)

    checked = search_filters(filters)
    engine = engine or connect()
    results = engine.search(term, limit=limit, filters=checked)
    index, _, query = term.partition("/") if _has_index(term) else ("Docker Hub", "", term)
    return SearchTable(SearchHit.from_results(results), title=f"Search of {index} for {query!r}")


def _has_index(term: str) -> bool:
    first, sep, _ = term.partition("/")
    return bool(sep) and (any(c in first for c in ".:") or first == "localhost")


def _search_registry(term: str, registry: str, limit: int) -> RegistrySearchTable:
    with RegistryClient(registry) as client:
        matches = client.search(term, limit=limit)
        host = client.host
    rows = [RepositoryHit(match.registry, match.name, tuple(match.tags)) for match in matches]
    return RegistrySearchTable(rows, title=f"Repositories in {host} matching {term!r}")


# ---------------------------------------------------------------------------------------------
# Run.

def run(image: str, command: str | list[str] | None = None, *, view: View | str | None = None,
        on_event: EventCallback | None = None, tail: int = 200, check: bool = True,
        log_dir: str | None = None, engine: Engine | None = None) -> RunResult:
    """Run a command in a throwaway container, like ``docker run --rm``, streaming its output.

    The container is removed afterwards, also when the command fails or the call is
    interrupted. Every line also goes to a log file (``RunResult.log_path``) in ``log_dir``.

    Parameters
    ----------
    image : str
        A local image.
    command : str or list of str, optional
        The command; a string is split like a shell would. The image's CMD when None.
    view : View or "auto", optional
        Receives the output lines and the result; "auto" shows the last lines live.
    on_event : callable, optional
        Called with every LogLine.
    tail : int
        How many of the last lines the result (and the view) keeps.
    check : bool
        Raise RunFailed when the command exits with a non-zero status.
    log_dir : str, optional
        Folder for the log file; the build logs' folder when None ($NBDOCKER_LOG_DIR, else
        nbdocker-logs in the temporary directory).
    engine : Engine, optional
        Defaults to ``nbdocker.engine.connect()``.

    Returns
    -------
    RunResult
        The exit status, the last lines and the log file path.

    Raises
    ------
    RunFailed
        With ``check``, when the exit status is not 0; the error carries the result.
    EngineError
        The image is not available locally, or the engine failed.
    """
    argv = shlex.split(command) if isinstance(command, str) else list(command or [])
    if tail < 1:
        raise UserError(f"Invalid tail {tail!r}: keep at least 1 line.")
    engine = engine or connect()
    view = _resolve_view(view, lambda: output_view(image, shlex.join(argv), tail=tail))
    lines: deque[str] = deque(maxlen=tail)
    counter = {"lines": 0}

    folder = log_dir or default_log_dir()
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", prefix="run-", suffix=".log", dir=folder, delete=False,
                                     encoding="utf-8") as log_file:

        def record(event: Event) -> None:
            if isinstance(event, LogLine):
                lines.append(event.text)
                counter["lines"] += 1
                prefix = "stderr: " if event.stream == "stderr" else ""
                log_file.write(f"{prefix}{event.text}\n")
            if on_event is not None:
                on_event(event)

        try:
            exit_code = _drain(engine.run(image, argv or None), view, record)
            result = RunResult(image, argv, exit_code, list(lines), counter["lines"], log_file.name)
            if check and exit_code != 0:
                raise RunFailed(result)
        except:  # noqa: E722 - NB: bare like tqdm's, so an interrupt also turns the view red
            _fail_view(view)
            raise
    if view is not None:
        view.finish(result)
    return result


__all__ = [
    "LoginResult", "LogoutResult", "PullResult", "PushResult", "RemoveResult", "RunFailed",
    "RunResult", "TagResult", "images", "login", "logout", "pull", "push", "remove_image",
    "run", "search", "tag",
]
