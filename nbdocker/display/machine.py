"""Packer's ``-machine-readable`` output: ``timestamp,target,type,data...`` lines."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..build.events import (BuildFinished, Event, LogLine, RunFinished, StepFinished,
                            Warning)


def escape(value: object) -> str:
    """Escape a field as Packer does: commas as ``%!(PACKER_COMMA)``, newlines as ``\\n``."""
    return (str(value).replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r")
            .replace("\n", "\\n"))


class MachineView:
    """Write one comma-separated record per message, artifact and error count."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def _record(self, target: str, kind: str, *data: object, when: float | None = None) -> None:
        stamp = int(time.time() if when is None else when)
        fields = [str(stamp), escape(target), escape(kind), *map(escape, data)]
        self.stream.write(",".join(fields) + "\n")
        self.stream.flush()

    def handle(self, event: Event) -> None:
        """Write the records for one event, stamped with the event's time."""
        when = event.time
        if isinstance(event, LogLine):
            if event.stream == "ui":
                self._record("", "ui", "say", f"==> {event.build}: {event.text}", when=when)
            else:
                self._record("", "ui", "message", f"    {event.build}: {event.text}", when=when)
        elif isinstance(event, Warning):
            self._record("", "ui", "say", f"==> {event.build}: Warning: {event.message}",
                         when=when)
        elif isinstance(event, StepFinished) and event.status == "failed":
            self._record("", "ui", "error", f"==> {event.build}: {event.message}", when=when)
        elif isinstance(event, StepFinished) and event.status == "cached":
            self._record("", "ui", "say", f"==> {event.build}: {event.step}: using cached result",
                         when=when)
        elif isinstance(event, BuildFinished) and event.status != "ok":
            verb = "was interrupted" if event.status == "interrupted" else "errored"
            self._record("", "ui", "error", f"Build '{event.build}' {verb}: {event.error}",
                         when=when)
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _run_finished(self, event: RunFinished) -> None:
        by_build: dict[str, list] = {}
        for artifact in event.artifacts:
            by_build.setdefault(artifact.build, []).append(artifact)
        for build, artifacts in by_build.items():
            self._record(build, "artifact-count", len(artifacts))
            for index, artifact in enumerate(artifacts):
                self._record(build, "artifact", index, "builder-id", artifact.builder_id)
                self._record(build, "artifact", index, "id", artifact.id)
                self._record(build, "artifact", index, "string", artifact.describe())
                self._record(build, "artifact", index, "files-count", len(artifact.files))
                for number, name in enumerate(artifact.files):
                    self._record(build, "artifact", index, "file", number, name)
                self._record(build, "artifact", index, "end")
        for build, error in event.errors.items():
            self._record("", "error", build, error)
        self._record("", "error-count", len(event.errors))

    def close(self) -> None:
        """Nothing to release."""
