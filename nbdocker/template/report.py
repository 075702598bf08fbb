"""Collect the errors and warnings found in a template, once each, in the order found."""

from __future__ import annotations

from ..errors import Position, Problem


class Report:
    """Problems found so far, without duplicates, in the order found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[tuple] = set()

    def add(self, problem: Problem) -> None:
        key = (problem.severity, problem.path, problem.message, problem.position)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(problem)

    def error(self, message: str, path: str = "", position: Position | None = None) -> None:
        self.add(Problem(message, path=path, position=position))

    def warning(self, message: str, path: str = "", position: Position | None = None) -> None:
        self.add(Problem(message, path=path, position=position, severity="warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]
