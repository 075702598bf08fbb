"""Time every Engine API call a build makes, by wrapping the docker SDK's APIClient methods.

``CallProfile`` patches the class, so it records the calls of every client in the
process, including the clients nbdocker creates itself. A streamed ``exec_start`` is timed until its
output is exhausted, so its time includes the command's run time. The shell session's
round trips are not API calls; they are timed by wrapping ``ShellSession.run``.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import Any, Callable, Iterator

from docker.api.client import APIClient

from nbdocker.build import provisioners

#: APIClient methods to time, with the name the report gives each.
CALLS = {
    "create_container": "create", "start": "start", "put_archive": "put_archive",
    "exec_create": "exec_create", "exec_start": "exec_start", "exec_inspect": "exec_inspect",
    "head": "stat (HEAD archive)", "commit": "commit", "remove_container": "remove",
    "inspect_image": "inspect_image", "inspect_container": "inspect_container",
    "tag": "tag", "remove_image": "remove_image", "images": "images",
    "version": "version", "ping": "ping",
}
SESSION_CALL = "session round trip"


class CallProfile:
    """A context manager that records the duration of each timed call, by report name."""

    def __init__(self) -> None:
        self.durations: dict[str, list[float]] = defaultdict(list)
        self._saved: list[tuple[Any, str, Any, bool]] = []

    def __enter__(self) -> "CallProfile":
        for method, name in CALLS.items():
            self._patch(APIClient, method, name)
        self._patch(provisioners.ShellSession, "run", SESSION_CALL)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for owner, method, original, own in reversed(self._saved):
            if own:
                setattr(owner, method, original)
            else:
                delattr(owner, method)  # inherited (APIClient.head is requests.Session.head)
        self._saved.clear()

    def _patch(self, owner: Any, method: str, name: str) -> None:
        original = getattr(owner, method)
        self._saved.append((owner, method, original, method in vars(owner)))
        durations = self.durations[name]

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = original(*args, **kwargs)
            if method == "exec_start" and kwargs.get("stream"):
                return _timed_stream(result, started, durations.append)
            durations.append(time.perf_counter() - started)
            return result

        setattr(owner, method, timed)

    def rows(self) -> list[tuple[str, int, float, float]]:
        """Return (call, count, total seconds, median seconds), slowest total first."""
        rows = [(name, len(values), sum(values), statistics.median(values))
                for name, values in self.durations.items() if values]
        return sorted(rows, key=lambda row: row[2], reverse=True)


def _timed_stream(stream: Any, started: float, record: Callable[[float], None]) -> Iterator:
    try:
        yield from stream
    finally:
        record(time.perf_counter() - started)


def profile(work: Callable[[], Any]) -> tuple[float, list[tuple[str, int, float, float]], Any]:
    """Run ``work`` with every call timed; return its wall time, the call rows, its result."""
    with CallProfile() as calls:
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
    return elapsed, calls.rows(), result
