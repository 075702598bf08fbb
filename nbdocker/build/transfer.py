"""Pulls and pushes inside a build: per-call credentials and the engine's progress events."""

from __future__ import annotations

from typing import Any, Callable, Generator

from ..engine import credentials
from ..engine.images import parse_reference
from .context import BuildContext


def drain(events: Generator[Any, None, Any], emit: Callable[[Any], None],
          check: Callable[[], None]) -> Any:
    """Send every event of ``events`` to ``emit`` and return the generator's return value."""
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        emit(event)
        try:
            check()
        except BaseException:
            events.close()
            raise


def auth_for(registry: str, login: dict[str, str] | None) -> dict[str, str] | None:
    """Return the credentials for one request: the template's ``login*`` options, or those
    stored by ``docker login`` / ``%docker_login`` for that registry, or none."""
    if login:
        return {key: value for key, value in login.items() if value}
    stored = credentials.find(registry)
    return stored.auth_config() if stored else None


def pull_image(ctx: BuildContext, reference: str, *, platform: str | None,
               login: dict[str, str] | None) -> Any:
    """Pull ``reference`` for a build, emitting layer progress; return the stream summary."""
    parsed = parse_reference(reference, what="image")
    tag = parsed.digest or parsed.tag or "latest"
    events = ctx.engine.pull(parsed.repository, tag, auth_config=auth_for(parsed.registry, login),
                             build=ctx.build.name, platform=platform)
    return drain(events, ctx.emit, ctx.check_cancelled)


def push_image(ctx: BuildContext, reference: str, *, login: dict[str, str] | None) -> str:
    """Push ``repository:tag`` for a build, emitting layer progress; return the digest."""
    parsed = parse_reference(reference, what="image")
    events = ctx.engine.push(parsed.repository, parsed.tag or "latest",
                             auth_config=auth_for(parsed.registry, login), build=ctx.build.name)
    summary = drain(events, ctx.emit, ctx.check_cancelled)
    return getattr(summary, "digest", "") or ""
