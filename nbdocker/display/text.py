"""Plain-text view of build events, in Packer's style, for terminals and plain IPython."""

from __future__ import annotations

import sys
from typing import TextIO

from ..build.events import (ArtifactEvent, BuildFinished, Event, LayerProgress, LogLine,
                            RunFinished, RunStarted, StepFinished, Warning)


def human_duration(seconds: float) -> str:
    """Format seconds as Packer does: ``1 minute 2 seconds``, ``950 milliseconds``."""
    if seconds < 1:
        return f"{int(seconds * 1000)} milliseconds"
    minutes, rest = divmod(int(round(seconds)), 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


class TextView:
    """Print events as lines: ``==> build: message`` for nbdocker's own messages,
    ``    build: line`` for command output, and Packer's closing artifact summary."""

    def __init__(self, stream: TextIO | None = None, *, color: bool = False):
        self.stream = stream or sys.stdout
        self.color = color
        self._layer_status: dict[tuple[str, str, str], str] = {}

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _red(self, text: str) -> str:
        return f"\x1b[31m{text}\x1b[0m" if self.color else text

    def handle(self, event: Event) -> None:
        """Print what the event says, if anything."""
        name = event.build or "nbdocker"
        if isinstance(event, RunStarted):
            self._write(f"Build log: {event.log_path}" if event.log_path else "")
        elif isinstance(event, LogLine):
            if event.stream == "ui":
                self._write(f"==> {name}: {event.text}")
            else:
                self._write(f"    {name}: {event.text}")
        elif isinstance(event, Warning):
            self._write(f"==> {name}: Warning: {event.message}")
        elif isinstance(event, StepFinished) and event.status == "failed":
            self._write(self._red(f"==> {name}: {event.step} failed: "
                                  f"{event.message.splitlines()[0] if event.message else ''}"))
        elif isinstance(event, StepFinished) and event.status == "cached":
            self._write(f"==> {name}: {event.step}: using cached result")
        elif isinstance(event, LayerProgress):
            self._layer(event)
        elif isinstance(event, BuildFinished):
            self._build_finished(event)
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _layer(self, event: LayerProgress) -> None:
        # Byte counts would print a line per chunk: show each status change once instead.
        key = (event.build, event.operation, event.layer)
        if self._layer_status.get(key) == event.status:
            return
        self._layer_status[key] = event.status
        name = event.build or event.operation
        layer = f"{event.layer}: " if event.layer else ""
        self._write(f"    {name}: {layer}{event.status}")

    def _build_finished(self, event: BuildFinished) -> None:
        took = human_duration(event.duration)
        if event.status == "ok":
            self._write(f"Build '{event.build}' finished after {took}.")
        else:
            verb = "was interrupted" if event.status == "interrupted" else "errored"
            self._write(self._red(f"Build '{event.build}' {verb} after {took}: {event.error}"))

    def _run_finished(self, event: RunFinished) -> None:
        self._write("")
        self._write(f"==> Wait completed after {human_duration(event.duration)}")
        if event.errors:
            self._write("")
            self._write(self._red("==> Some builds didn't complete successfully and had errors:"))
            for build, error in event.errors.items():
                self._write(self._red(f"--> {build}: {error.splitlines()[0] if error else ''}"))
        if event.artifacts:
            self._write("")
            self._write("==> Builds finished. The artifacts of successful builds are:")
            for artifact in event.artifacts:
                self._write(f"--> {artifact.build}: {artifact.describe()}")
        elif not event.errors:
            self._write("==> Builds finished but no artifacts were created.")

    def close(self) -> None:
        """Nothing to release for a text view."""
