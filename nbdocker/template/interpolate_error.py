"""The error that the template engine raises for text it cannot parse or render."""

from __future__ import annotations


class InterpolationError(Exception):
    """A template string that cannot be parsed or rendered.

    ``offset`` is the 0-based character offset, in the template text, of the ``{{`` that
    opens the failing action, or -1 when no single action is to blame.
    """

    def __init__(self, message: str, offset: int = -1):
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message
