"""Plain-text view of build events, in Packer's style, for terminals and plain IPython.

In a terminal every line is printed, as ``packer build`` does. In a notebook cell the printed
text is saved with the notebook, so there the view is made with ``max_output_lines``. Once a
build has printed that many lines of command output, further lines are held back and counted.
When the step ends, the view prints the count and the last ``tail_lines`` of them.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import TextIO

from ..build.events import (BuildFinished, Event, LayerProgress, LogLine, RunFinished,
                            RunStarted, StepFinished, StepStarted, Warning)
from .state import RunState, clip_line
from .summary import BuildSummary, human_duration

__all__ = ["TextView", "human_duration"]


class TextView:
    """Print events as lines: ``==> build: message`` for nbdocker's own messages,
    ``    build: line`` for command output, and Packer's closing artifact summary.

    Parameters
    ----------
    stream
        Where to print; standard output by default.
    color
        Print failures in red with ANSI escapes.
    max_output_lines
        Lines of command output printed per build before the rest is held back; None
        prints everything.
    tail_lines
        Held-back lines printed when their step ends (the last ones only).
    summary
        Print a table of every step with its status and duration when the view closes.
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool = False,
                 max_output_lines: int | None = None, tail_lines: int = 20,
                 summary: bool = False):
        if max_output_lines is not None and max_output_lines < 0:
            raise ValueError(f"max_output_lines must be 0 or more, got {max_output_lines!r}")
        if tail_lines < 0:
            raise ValueError(f"tail_lines must be 0 or more, got {tail_lines!r}")
        self.stream = stream or sys.stdout
        self.color = color
        self.max_output_lines = max_output_lines
        self.tail_lines = tail_lines
        self.summary = summary
        self.state = RunState(tail_lines=0)
        self._layer_status: dict[tuple[str, str, str], str] = {}
        self._printed: dict[str, int] = {}
        self._held_back: dict[str, deque] = {}
        self._held_back_count: dict[str, int] = {}
        self._closed = False

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _red(self, text: str) -> str:
        return f"\x1b[31m{text}\x1b[0m" if self.color else text

    def handle(self, event: Event) -> None:
        """Print the lines for one event, if it has any."""
        self.state.apply(event)
        name = event.build or "nbdocker"
        if isinstance(event, LogLine):
            self._log_line(name, event)
        elif isinstance(event, RunStarted):
            if event.log_path:
                self._write(f"Build log: {event.log_path}")
        elif isinstance(event, Warning):
            self._write(f"==> {name}: Warning: {event.message}")
        elif isinstance(event, StepStarted):
            self._release_held(name)
        elif isinstance(event, StepFinished):
            self._step_finished(name, event)
        elif isinstance(event, LayerProgress):
            self._layer(event)
        elif isinstance(event, BuildFinished):
            self._release_held(name)
            self._build_finished(event)
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _log_line(self, name: str, event: LogLine) -> None:
        if event.stream == "ui":
            self._write(f"==> {name}: {event.text}")
            return
        line = f"    {name}: {event.text}"
        if self.max_output_lines is None:
            self._write(line)
            return
        printed = self._printed.get(name, 0)
        if printed < self.max_output_lines:
            self._printed[name] = printed + 1
            self._write(clip_line(line))
            return
        if name not in self._held_back:
            self._held_back[name] = deque(maxlen=self.tail_lines)
            self._held_back_count[name] = 0
            where = f" to {self.state.log_path}" if self.state.log_path else " to the log file"
            self._write(f"==> {name}: {self.max_output_lines} lines of output printed. Further "
                        f"lines go only{where}, and the last {self.tail_lines} of each step "
                        "are printed when the step ends.")
        self._held_back[name].append(clip_line(line))
        self._held_back_count[name] += 1

    def _release_held(self, name: str) -> None:
        """Print how many lines were held back, then the last of them."""
        held = self._held_back.get(name)
        if not held and not self._held_back_count.get(name):
            return
        left_out = self._held_back_count[name] - len(held)
        if left_out:
            self._write(f"    {name}: [{left_out} lines left out]")
        for line in held:
            self._write(line)
        held.clear()
        self._held_back_count[name] = 0

    def _step_finished(self, name: str, event: StepFinished) -> None:
        self._release_held(name)
        if event.status == "failed":
            first = event.message.splitlines()[0] if event.message else ""
            self._write(self._red(f"==> {name}: {event.step} failed: {first}"))
        elif event.status == "cached":
            self._write(f"==> {name}: {event.step}: using cached result")
        elif event.attempts > 1:
            self._write(f"==> {name}: {event.step}: succeeded after {event.attempts} attempts")

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
        """Print held-back lines and, with ``summary``, the table of steps."""
        if self._closed:
            return
        self._closed = True
        for name in list(self._held_back):
            self._release_held(name)
        if self.summary and self.state.builds:
            self.state.interrupt()
            self._write("")
            # Packer's closing lines above already list the artifacts.
            self._write(BuildSummary(self.state).to_text(artifacts=False))
