"""Fail a cell on a user mistake with one clear message and no traceback."""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..errors import UserError


class CellError(Exception):
    """Raised from a magic for a user mistake: IPython shows only its message.

    IPython calls ``_render_traceback_`` instead of formatting a traceback, so the cell
    fails (nbclient and CI see an error) and the reader sees a sentence.
    """

    def __init__(self, message: str, kind: str = "Error"):
        super().__init__(message)
        self.kind = kind

    def _render_traceback_(self) -> list[str]:
        red, reset = "\x1b[31m", "\x1b[0m"
        lines = str(self).splitlines() or [""]
        return [f"{red}{self.kind}:{reset} {lines[0]}", *lines[1:]]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise nbdocker's UserError as CellError; let every other exception through."""
    try:
        yield
    except UserError as err:
        raise CellError(str(err), kind=type(err).__name__) from None
