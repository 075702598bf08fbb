"""A loopback HTTP server that speaks Docker Hub's index search API, for tests.

The engine's ``GET /images/search`` with a term such as ``127.0.0.1:PORT/busybox`` pings
``/v1/_ping`` on that index and then requests ``/v1/search?q=busybox&n=25``. This server
serves both, records every request, and returns the entries of ``DEFAULT_REPOSITORIES`` (or the ones
it is given) whose name or description contains the query. It serves plain HTTP on 127.0.0.1
only.

Run it alone with ``python tests/hub_standin.py [PORT]`` to try ``docker search`` by hand.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_REPOSITORIES: list[dict[str, Any]] = [
    {"name": "busybox", "description": "Busybox base image.", "star_count": 3100,
     "is_official": True, "is_automated": False},
    {"name": "nbdocker/busybox-tools", "description": "Busybox with extra applets for classes.",
     "star_count": 4, "is_official": False, "is_automated": True},
    {"name": "debian", "description": "Debian is a Linux distribution built from free software.",
     "star_count": 5000, "is_official": True, "is_automated": False},
    {"name": "nbdocker/hello", "description": "The image that the nbdocker tutorial pushes.",
     "star_count": 0, "is_official": False, "is_automated": False},
    {"name": "student/debian-python",
     "description": "Debian bookworm with Python 3.11 for teaching.", "star_count": 12,
     "is_official": False, "is_automated": False},
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received: method, path and decoded query parameters."""

    method: str
    path: str
    query: dict[str, list[str]]


class HubStandin:
    """Serve Docker Hub's ``/v1/search`` on 127.0.0.1 in a background thread.

    Use it as a context manager. ``index`` is the ``127.0.0.1:PORT`` prefix for search terms.
    ``requests`` lists what the server received, so a test can check that the engine really
    sent its search here.
    """

    def __init__(self, repositories: list[dict[str, Any]] | None = None, port: int = 0):
        self.repositories = list(DEFAULT_REPOSITORIES if repositories is None else repositories)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._server.server_address[1]

    @property
    def index(self) -> str:
        """The index host for search terms: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def searches(self) -> list[RecordedRequest]:
        """Return the recorded requests to ``/v1/search``."""
        with self._lock:
            return [request for request in self.requests if request.path == "/v1/search"]

    def start(self) -> HubStandin:
        """Start serving in a daemon thread; return self."""
        # A short poll interval makes stop() return quickly.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="hub-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def search(self, query: str, limit: int) -> dict[str, Any]:
        """Return the search response: entries whose name or description contains ``query``."""
        lowered = query.lower()
        matches = [repo for repo in self.repositories
                   if lowered in repo["name"].lower() or lowered in repo["description"].lower()]
        return {"num_results": len(matches), "query": query, "page": 1, "page_size": limit,
                "results": matches[:limit]}

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "hub-standin/1"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                standin._record(RecordedRequest("GET", url.path, query))
                if url.path == "/v1/_ping":
                    self._send_json(200, True, {"X-Docker-Registry-Standalone": "true"})
                elif url.path == "/v1/search":
                    self._search(query)
                else:
                    self._send_json(404, {"error": f"{url.path} not found"})

            def _search(self, query: dict[str, list[str]]) -> None:
                term = query.get("q", [""])[0]
                try:
                    limit = int(query.get("n", ["25"])[0])
                except ValueError:
                    self._send_json(400, {"error": "n must be an integer"})
                    return
                self._send_json(200, standin.search(term, limit))

            def _send_json(self, status: int, body: Any,
                           headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def main(argv: list[str]) -> None:
    """Serve until interrupted: ``python tests/hub_standin.py [PORT]``."""
    port = int(argv[1]) if len(argv) > 1 else 0
    with HubStandin(port=port) as standin:
        print(f"hub stand-in on http://{standin.index}; try: docker search {standin.index}/busybox")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv)
