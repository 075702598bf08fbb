"""The state that the build views draw, kept apart from any widget: builds and their steps.

Views feed every event to ``RunState.apply`` and draw from the state, so the drawing code
stays small and tests can check the state without a frontend. ``apply`` runs once per event,
including once per output line of a build that prints megabytes, so it does constant work.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..build.events import (ArtifactEvent, BuildFinished, BuildStarted, Event, LayerProgress,
                            LogLine, RunFinished, RunStarted, StepFinished, StepStarted,
                            Warning)

# A step or build in one of these states has nothing left to do.
DONE = frozenset({"ok", "failed", "cached", "skipped", "interrupted"})

# Layer statuses after which the engine sends no more progress for that layer.
LAYER_DONE = ("pull complete", "already exists", "pushed", "layer already exists",
              "mounted from")

# Maximum length of a line kept in a tail, in characters. A provisioner that prints one 10 MB line
# (a minified file, a progress bar without newlines) would otherwise put all of it on screen.
MAX_LINE_CHARS = 400


def clip_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text) - limit} more characters]"


@dataclass
class StepState:
    """One step as shown: ``pending``, ``running``, ``ok``, ``failed``, ``cached`` ..."""

    name: str
    status: str = "pending"
    started: float = 0.0
    duration: float = 0.0
    attempts: int = 1
    detail: str = ""

    @property
    def note(self) -> str:
        """Short remark for the step's row: ``cached``, ``3 attempts``, or the failure."""
        parts = []
        if self.status == "cached":
            parts.append("cached")
        if self.attempts > 1:
            parts.append(f"{self.attempts} attempts")
        if self.status == "failed" and self.detail:
            parts.append(self.detail)
        return ", ".join(parts)

    def elapsed(self, now: float) -> float:
        """Seconds the step ran: its duration when done, the time since it started if running."""
        if self.status == "running":
            return max(0.0, now - self.started)
        return self.duration


@dataclass
class BuildState:
    """One build as shown: its steps, a bounded tail of its output, its layers."""

    name: str
    tail_lines: int = 40
    status: str = "pending"
    started: float = field(default_factory=time.time)
    duration: float = 0.0
    error: str = ""
    steps: dict[str, StepState] = field(default_factory=dict)
    tail: deque = field(default_factory=deque)
    layers: dict[tuple[str, str], LayerProgress] = field(default_factory=dict)
    operation: str = ""
    warnings: list[str] = field(default_factory=list)
    lines: int = 0

    def __post_init__(self) -> None:
        self.tail = deque(maxlen=self.tail_lines)

    @property
    def done(self) -> bool:
        """True once the build finished, failed or was interrupted."""
        return self.status in DONE

    @property
    def progress(self) -> float:
        """Fraction of the planned steps that ended, between 0 and 1."""
        if not self.steps:
            return 0.0
        done = sum(1 for step in self.steps.values() if step.status in DONE)
        return done / len(self.steps)

    @property
    def cached_steps(self) -> int:
        """Number of steps whose result came from the step cache."""
        return sum(1 for step in self.steps.values() if step.status == "cached")

    def elapsed(self, now: float) -> float:
        """Seconds the build ran: its duration when done, the time since it started if not."""
        if self.done:
            return self.duration
        if self.status == "pending":
            return 0.0
        return max(0.0, now - self.started)

    def step(self, name: str) -> StepState:
        """Return the step called ``name``, adding it if it was not planned."""
        if name not in self.steps:
            self.steps[name] = StepState(name)
        return self.steps[name]

    def layer_summary(self) -> str:
        """Return a summary of the latest pull or push: ``pull: 3/5 layers, 12.0/40.0 MB``."""
        layers = [layer for (operation, _), layer in self.layers.items()
                  if operation == self.operation]
        if not layers:
            return ""
        done = sum(1 for layer in layers if layer.status.lower().startswith(LAYER_DONE))
        current = sum(layer.current or 0 for layer in layers)
        total = sum(layer.total or 0 for layer in layers)
        text = f"{self.operation}: {done}/{len(layers)} layers"
        if total:
            text += f", {current / 1e6:.1f}/{total / 1e6:.1f} MB"
        return text

    def finish(self, status: str, duration: float, error: str = "") -> None:
        """Record how the build ended. A step still running ends the same way."""
        self.status, self.duration, self.error = status, duration, error
        for step in self.steps.values():
            if step.status == "running":
                step.status = "interrupted" if status == "interrupted" else "failed"


@dataclass
class RunState:
    """Every build of a run, in the order they were announced, plus the run's outcome.

    Warnings and output lines that name no build (template warnings, for example) go to
    ``warnings`` and ``messages`` instead of a build.

    Parameters
    ----------
    tail_lines
        Output lines kept per build for the screen; 0 keeps none. The full output goes to
        the run's log file, not here.
    """

    tail_lines: int = 40
    builds: dict[str, BuildState] = field(default_factory=dict)
    log_path: str = ""
    finished: RunFinished | None = None
    artifacts: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    messages: deque = field(default_factory=deque)
    cut_short: bool = False

    def __post_init__(self) -> None:
        if self.tail_lines < 0:
            raise ValueError(f"tail_lines must be 0 or more, got {self.tail_lines!r}")
        self.messages = deque(maxlen=self.tail_lines)

    def build(self, name: str) -> BuildState:
        """Return the state of build ``name``, adding it on first sight."""
        if name not in self.builds:
            self.builds[name] = BuildState(name, tail_lines=self.tail_lines)
        return self.builds[name]

    @property
    def status(self) -> str:
        """``running``, ``ok``, ``failed`` or ``interrupted`` for the run as a whole."""
        statuses = {build.status for build in self.builds.values()}
        if self.cut_short or "interrupted" in statuses:
            return "interrupted"
        if self.finished is None:
            return "running"
        return "failed" if self.finished.errors or "failed" in statuses else "ok"

    @property
    def lines(self) -> int:
        """Output lines received from every build."""
        return sum(build.lines for build in self.builds.values())

    def interrupt(self) -> None:
        """Mark a run that ended without RunFinished (an exception in the caller) as interrupted."""
        if self.finished is not None:
            return
        self.cut_short = True
        now = time.time()
        for build in self.builds.values():
            if not build.done:
                build.finish("interrupted", build.elapsed(now))

    def apply(self, event: Event) -> None:
        """Update the state with one event."""
        if isinstance(event, LogLine):
            # The most frequent event by far, so it goes first and does the least.
            if not event.build and "" not in self.builds:
                self.messages.append(clip_line(event.text))
                return
            build = self.build(event.build)
            build.lines += 1
            if build.tail.maxlen:
                build.tail.append((event.stream, clip_line(event.text)))
            return
        if isinstance(event, RunStarted):
            self.log_path = event.log_path
            for name in event.builds:
                self.build(name)
            return
        if isinstance(event, RunFinished):
            self.finished = event
            self.artifacts = list(event.artifacts)
            self.log_path = event.log_path or self.log_path
            return
        if isinstance(event, Warning) and not event.build and "" not in self.builds:
            # Template warnings and other notices that belong to no build.
            self.warnings.append(event.message)
            return
        self._apply_to_build(self.build(event.build), event)

    @staticmethod
    def _apply_to_build(build: BuildState, event: Event) -> None:
        if isinstance(event, LayerProgress):
            build.operation = event.operation
            build.layers[(event.operation, event.layer)] = event
        elif isinstance(event, BuildStarted):
            build.status = "running"
            build.started = event.time
            for name in event.steps:
                build.step(name)
        elif isinstance(event, StepStarted):
            step = build.step(event.step)
            step.status, step.started = "running", event.time
            if build.status == "pending":
                build.status, build.started = "running", event.time
        elif isinstance(event, StepFinished):
            step = build.step(event.step)
            step.status, step.duration = event.status, event.duration
            step.attempts = event.attempts
            step.detail = event.message.splitlines()[0] if event.message else ""
        elif isinstance(event, Warning):
            build.warnings.append(event.message)
            if build.tail.maxlen:
                build.tail.append(("warning", clip_line(f"Warning: {event.message}")))
        elif isinstance(event, ArtifactEvent):
            pass  # RunFinished carries every artifact, in order.
        elif isinstance(event, BuildFinished):
            build.finish(event.status, event.duration, event.error)
