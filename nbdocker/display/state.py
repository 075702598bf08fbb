"""What the build views show, kept apart from any widget: one record per build and step.

Views feed every event to ``RunState.apply`` and draw from the state, so the drawing code
stays small and tests can check the state without a frontend.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..build.events import (ArtifactEvent, BuildFinished, BuildStarted, Event, LayerProgress,
                            LogLine, RunFinished, RunStarted, StepFinished, StepStarted,
                            Warning)


@dataclass
class StepState:
    """One step as shown: ``pending``, ``running``, ``ok``, ``failed``, ``cached`` ..."""

    name: str
    status: str = "pending"
    started: float = 0.0
    duration: float = 0.0
    attempts: int = 1
    detail: str = ""


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
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    lines: int = 0

    def __post_init__(self) -> None:
        self.tail = deque(maxlen=self.tail_lines)

    @property
    def progress(self) -> float:
        """Fraction of the planned steps that ended, between 0 and 1."""
        if not self.steps:
            return 0.0
        done = sum(1 for step in self.steps.values()
                   if step.status not in ("pending", "running"))
        return done / len(self.steps)

    def step(self, name: str) -> StepState:
        """Return the step called ``name``, adding it if it was not planned."""
        if name not in self.steps:
            self.steps[name] = StepState(name)
        return self.steps[name]

    def layer_summary(self) -> str:
        """Summarise layer progress: ``3/5 layers, 12.0/40.0 MB``."""
        if not self.layers:
            return ""
        done = sum(1 for layer in self.layers.values()
                   if layer.status.lower().startswith(("pull complete", "already exists",
                                                       "pushed", "layer already exists",
                                                       "download complete")))
        current = sum(layer.current or 0 for layer in self.layers.values())
        total = sum(layer.total or 0 for layer in self.layers.values())
        text = f"{done}/{len(self.layers)} layers"
        if total:
            text += f", {current / 1e6:.1f}/{total / 1e6:.1f} MB"
        return text


@dataclass
class RunState:
    """Every build of a run, in the order they were announced, plus the run's outcome."""

    tail_lines: int = 40
    builds: dict[str, BuildState] = field(default_factory=dict)
    log_path: str = ""
    finished: RunFinished | None = None
    artifacts: list = field(default_factory=list)

    def build(self, name: str) -> BuildState:
        """Return the state of build ``name``, adding it on first sight."""
        if name not in self.builds:
            self.builds[name] = BuildState(name, tail_lines=self.tail_lines)
        return self.builds[name]

    @property
    def status(self) -> str:
        """``running``, ``ok``, ``failed`` or ``interrupted`` for the run as a whole."""
        if self.finished is None:
            return "running"
        statuses = {build.status for build in self.builds.values()}
        if "interrupted" in statuses:
            return "interrupted"
        return "failed" if self.finished.errors else "ok"

    def apply(self, event: Event) -> None:
        """Update the state with one event."""
        if isinstance(event, RunStarted):
            self.log_path = event.log_path
            for name in event.builds:
                self.build(name)
            return
        if isinstance(event, RunFinished):
            self.finished = event
            self.artifacts = list(event.artifacts)
            return
        build = self.build(event.build)
        if isinstance(event, BuildStarted):
            build.status = "running"
            build.started = event.time
            for name in event.steps:
                build.step(name)
        elif isinstance(event, StepStarted):
            step = build.step(event.step)
            step.status, step.started = "running", event.time
        elif isinstance(event, StepFinished):
            step = build.step(event.step)
            step.status, step.duration = event.status, event.duration
            step.attempts = event.attempts
            step.detail = event.message.splitlines()[0] if event.message else ""
        elif isinstance(event, LogLine):
            build.lines += 1
            build.tail.append((event.stream, event.text))
        elif isinstance(event, LayerProgress):
            build.layers[event.layer] = event
        elif isinstance(event, Warning):
            build.warnings.append(event.message)
            build.tail.append(("warning", f"Warning: {event.message}"))
        elif isinstance(event, ArtifactEvent):
            pass
        elif isinstance(event, BuildFinished):
            build.status, build.duration, build.error = event.status, event.duration, event.error
            for step in build.steps.values():
                if step.status == "running":
                    step.status = "interrupted" if event.status == "interrupted" else "failed"
