"""Throttle: limit how often a view redraws, and never lose the last state.

A pull sends hundreds of progress messages a second, and redrawing a widget for each one
floods the kernel's output channel. Jupyter Server limits it to 1000 messages a second by
default (``ZMQChannelsWebsocketConnection.iopub_msg_rate_limit`` in jupyter_server 2.x) and
drops output past that.
A view calls ``throttle.request()`` on every change and redraws only when it returns True,
then calls ``throttle.flush()`` at the end to learn whether a last redraw is owed.
"""

from __future__ import annotations

import time
from typing import Callable


class Throttle:
    """Allow at most ``max_per_second`` redraws a second, with a final flush.

    Parameters
    ----------
    max_per_second : float
        Redraw rate limit; 10 matches tqdm's default ``mininterval`` of 0.1 s.
    clock : callable
        Monotonic time in seconds; tests pass a fake one.
    """

    def __init__(self, max_per_second: float = 10.0, clock: Callable[[], float] = time.monotonic):
        if max_per_second <= 0:
            raise ValueError(f"max_per_second must be positive, got {max_per_second!r}")
        self.interval = 1.0 / max_per_second
        self._clock = clock
        self._last: float | None = None
        self._pending = False

    @property
    def pending(self) -> bool:
        """True when a change arrived after the last allowed redraw."""
        return self._pending

    def request(self) -> bool:
        """Record a change; return True if the caller should redraw now.

        When the result is False, the change stays pending, and ``flush()`` (or a later
        ``request()``) reports it.
        """
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._pending = True
            return False
        self._last = now
        self._pending = False
        return True

    def flush(self) -> bool:
        """Return True if a change is still waiting to be drawn, and clear it."""
        pending, self._pending = self._pending, False
        if pending:
            self._last = self._clock()
        return pending

    def call(self, draw: Callable[[], object]) -> bool:
        """Record a change and call ``draw()`` if allowed now; return whether it was called."""
        if self.request():
            draw()
            return True
        return False

    def finish(self, draw: Callable[[], object]) -> bool:
        """Call ``draw()`` if a change is pending; return whether it was called."""
        if self.flush():
            draw()
            return True
        return False
