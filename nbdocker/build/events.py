"""The events that builds, pulls and pushes yield and that every view consumes.

A long operation is a generator of these events; it never prints. Every event carries the
name of the build it belongs to (empty for a pull or push outside a build) and the time it
was made, so views can keep parallel builds apart and show durations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    """Base of every event: the build it belongs to and when it happened."""

    build: str = field(default="", kw_only=True)
    time: float = field(default_factory=time.time, kw_only=True)


@dataclass
class RunStarted(Event):
    """A run began; ``builds`` lists the names of the builds it will run."""

    builds: list[str]
    log_path: str = ""


@dataclass
class BuildStarted(Event):
    """One build began; ``steps`` names the steps it plans to run, in order."""

    steps: list[str] = field(default_factory=list)


@dataclass
class StepStarted(Event):
    """A step of a build began (pull, start, a provisioner, commit, a post-processor)."""

    step: str
    index: int = 0
    kind: str = ""


@dataclass
class StepFinished(Event):
    """A step ended; ``status`` is one of ``ok``, ``failed``, ``cached``, ``skipped``."""

    step: str
    status: str = "ok"
    duration: float = 0.0
    message: str = ""
    attempts: int = 1


@dataclass
class LogLine(Event):
    """One line of output; ``stream`` is ``stdout``, ``stderr`` or ``ui`` (nbdocker's own)."""

    text: str
    stream: str = "ui"
    step: str = ""


@dataclass
class LayerProgress(Event):
    """Progress of one image layer in a pull or push, as the engine reports it.

    ``status`` is the engine's text ("Pushing", "Pull complete" ...); ``current`` and
    ``total`` are bytes, or None when the engine sent no byte counts.
    """

    operation: str
    layer: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass
class Warning(Event):  # noqa: A001 - the event type, not the builtin
    """A non-fatal notice."""

    message: str


@dataclass
class ArtifactEvent(Event):
    """A build produced an artifact (or a post-processor produced a new one)."""

    artifact: Any


@dataclass
class BuildFinished(Event):
    """One build ended; ``status`` is ``ok``, ``failed`` or ``interrupted``."""

    status: str
    duration: float = 0.0
    error: str = ""


@dataclass
class RunFinished(Event):
    """The whole run ended, with every artifact and the error of each failed build."""

    artifacts: list[Any] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    log_path: str = ""
