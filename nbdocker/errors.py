"""Exception hierarchy: every error nbdocker raises on purpose derives from NbDockerError.

User mistakes (a bad template, an unreachable engine, a wrong password) are subclasses of
UserError. The magics show those as one message without a traceback; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class NbDockerError(Exception):
    """Root of every exception that nbdocker raises on purpose."""


class UserError(NbDockerError):
    """A mistake the user can fix: shown as a message, never as a traceback."""


@dataclass(frozen=True)
class Position:
    """Position of a value in a template file: 1-based line and column."""

    file: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file or '<template>'}:{self.line}:{self.column}"


@dataclass
class Problem:
    """One template mistake: what is wrong, at which key path and position."""

    message: str
    path: str = ""
    position: Position | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = str(self.position) if self.position else "<template>"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class TemplateError(UserError):
    """A template that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        if len(errors) == 1:
            return str(errors[0])
        lines = [f"{len(errors)} errors in the template:"]
        lines += [f"  * {p}" for p in errors]
        return "\n".join(lines)


class EngineError(UserError):
    """The Docker engine could not be reached or rejected a request."""


class RegistryError(UserError):
    """A registry could not be reached, rejected credentials or a request."""


class BuildFailed(UserError):
    """A build step failed; carries the build name, step and the last lines of output."""

    def __init__(self, message: str, *, build: str = "", step: str = "",
                 exit_code: int | None = None, tail: list[str] | None = None):
        self.build = build
        self.step = step
        self.exit_code = exit_code
        self.tail = list(tail or [])
        super().__init__(message)


class BuildsFailed(UserError):
    """One or more builds of a run failed; `errors` maps build name to its error."""

    def __init__(self, errors: dict[str, Exception], artifacts: list | None = None):
        self.errors = errors
        self.artifacts = list(artifacts or [])
        parts = [f"Build {name!r} errored: {err}" for name, err in errors.items()]
        super().__init__("\n".join(parts))


class Interrupted(UserError):
    """The run was cancelled by a keyboard interrupt or a kernel interrupt."""

