"""The registry API v2 client against loopback stand-ins: basic and token auth, paging, errors."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nbdocker.engine.credentials import Credentials
from nbdocker.errors import RegistryError
from nbdocker.registry import RegistryClient, is_loopback

USER, PASSWORD = "student", "pa55-word"
REPOSITORIES = {"nbdocker/hello": ["1.0", "0.9"], "library/busybox": ["latest"],
                "nbdocker/empty": [], "team/hello-web": ["2.0"]}
DIGEST = "sha256:" + "cd" * 32


class FakeRegistry:
    """A registry stand-in: ``auth`` is None, "basic" or "bearer"; records what it receives."""

    def __init__(self, auth: str | None = None, page_size: int | None = None,
                 catalog_enabled: bool = True):
        self.auth = auth
        self.page_size = page_size
        self.catalog_enabled = catalog_enabled
        self.requests: list[tuple[str, str, str]] = []
        self.token_requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """Plain HTTP, which skips the HTTPS attempt that a bare loopback host gets first."""
        return f"http://{self.host}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _authorized(self, header: str) -> bool:
        if self.auth is None:
            return True
        if self.auth == "basic":
            expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return header == f"Basic {expected}"
        return header == "Bearer good-token"

    def _handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self._serve("GET")

            def do_HEAD(self):  # noqa: N802
                self._serve("HEAD")

            def do_DELETE(self):  # noqa: N802
                self._serve("DELETE")

            def _serve(self, method):
                url = urlsplit(self.path)
                header = self.headers.get("Authorization", "")
                registry.requests.append((method, self.path, header))
                if url.path == "/token":
                    return self._token(parse_qs(url.query), header)
                if not registry._authorized(header):
                    return self._challenge()
                if url.path == "/v2/":
                    return self._json(200, {})
                if url.path == "/v2/_catalog":
                    return self._catalog(parse_qs(url.query))
                parts = url.path.split("/")
                name = "/".join(parts[2:-2])
                if url.path.endswith("/tags/list") and name in REPOSITORIES:
                    return self._json(200, {"name": name, "tags": REPOSITORIES[name] or None})
                if "/manifests/" in url.path and name == "nbdocker/hello" and parts[-1] in ("1.0", DIGEST):
                    return self._json(202 if method == "DELETE" else 200, {},
                                      {"Docker-Content-Digest": DIGEST})
                unknown = {"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}
                return self._json(404, {"errors": [unknown]})

            def _challenge(self):
                if registry.auth == "basic":
                    value = 'Basic realm="test"'
                else:
                    value = (f'Bearer realm="http://{registry.host}/token",service="test-registry",'
                             'scope="registry:catalog:*"')
                self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                           {"WWW-Authenticate": value})

            def _token(self, query, header):
                registry.token_requests.append({"query": query, "authorization": header})
                expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if header != f"Basic {expected}":
                    return self._json(401, {"details": "bad credentials"})
                self._json(200, {"token": "good-token"})

            def _catalog(self, query):
                if not registry.catalog_enabled:
                    return self._json(404, {"errors": [{"code": "UNSUPPORTED", "message": "catalog disabled"}]})
                names = sorted(REPOSITORIES)
                last = query.get("last", [""])[0]
                names = [name for name in names if name > last]
                headers = {}
                if registry.page_size and len(names) > registry.page_size:
                    names = names[: registry.page_size]
                    headers["Link"] = f'</v2/_catalog?last={names[-1]}&n={registry.page_size}>; rel="next"'
                self._json(200, {"repositories": names}, headers)

            def _json(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def good() -> Credentials:
    return Credentials("h", USER, PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:5001", True), ("127.8.9.10", True), ("localhost:80", True), ("[::1]:5000", True),
    ("registry.example.org", False), ("10.0.0.1:5000", False),
])
def test_registry_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_registry_anonymous_catalog():
    with FakeRegistry() as fake:
        assert RegistryClient(fake.url, credentials=None).catalog() == sorted(REPOSITORIES)


def test_registry_falls_back_to_http_on_loopback():
    with FakeRegistry() as fake, RegistryClient(fake.host, credentials=None) as client:
        client.ping()
        assert client.scheme == "http"


def test_registry_explicit_http_scheme():
    with FakeRegistry() as fake, RegistryClient(f"http://{fake.host}", credentials=None) as client:
        client.ping()
        assert client.scheme == "http"


def test_registry_catalog_follows_pages():
    with FakeRegistry(page_size=1) as fake:
        assert RegistryClient(fake.url, credentials=None).catalog(page_size=1) == sorted(REPOSITORIES)
        catalog_requests = [path for _, path, _ in fake.requests if path.startswith("/v2/_catalog")]
        assert len(catalog_requests) == len(REPOSITORIES)


def test_registry_basic_auth():
    with FakeRegistry(auth="basic") as fake:
        assert RegistryClient(fake.url, credentials=good()).tags("nbdocker/hello") == ["0.9", "1.0"]


def test_registry_basic_auth_reuses_header():
    with FakeRegistry(auth="basic") as fake:
        client = RegistryClient(fake.url, credentials=good())
        client.catalog()
        client.catalog()
        challenged = [r for r in fake.requests if r[2] == ""]
        assert len(challenged) == 1


def test_registry_bearer_token_auth():
    with FakeRegistry(auth="bearer") as fake:
        assert RegistryClient(fake.url, credentials=good()).catalog() == sorted(REPOSITORIES)
        [request] = fake.token_requests
        assert request["query"]["service"] == ["test-registry"]
        assert request["query"]["scope"] == ["registry:catalog:*"]


def test_registry_without_credentials_asks_for_login():
    with FakeRegistry(auth="basic") as fake:
        with pytest.raises(RegistryError) as caught:
            RegistryClient(fake.host, credentials=None).catalog()
        assert str(caught.value) == (f"Registry {fake.host} requires authentication. "
                                     f"Run %docker_login {fake.host} first.")


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_registry_wrong_password(auth):
    with FakeRegistry(auth=auth) as fake:
        with pytest.raises(RegistryError, match="rejected the stored credentials of 'student'"):
            RegistryClient(fake.url, credentials=Credentials("h", USER, "wrong")).catalog()


def test_registry_error_hides_password():
    with FakeRegistry(auth="basic") as fake:
        with pytest.raises(RegistryError) as caught:
            RegistryClient(fake.url, credentials=Credentials("h", USER, "wrong-secret")).catalog()
        assert "wrong-secret" not in str(caught.value)


def test_registry_unreachable_port():
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as caught:
        RegistryClient(host, credentials=None).catalog()
    assert str(caught.value) == (f"Registry {host} is not reachable (Connection refused). "
                                 "Check the host and port, and that the registry runs.")


def test_registry_catalog_disabled():
    with FakeRegistry(catalog_enabled=False) as fake:
        with pytest.raises(RegistryError, match="does not list its repositories"):
            RegistryClient(fake.url, credentials=None).catalog()


def test_registry_tags_of_unknown_repository():
    with FakeRegistry() as fake:
        assert RegistryClient(fake.url, credentials=None).tags("no/such") == []


def test_registry_search_substring_with_tags():
    with FakeRegistry() as fake:
        matches = RegistryClient(fake.url, credentials=None).search("HELLO")
    assert [(m.name, m.tags) for m in matches] == [("nbdocker/hello", ["0.9", "1.0"]),
                                                   ("team/hello-web", ["2.0"])]
    assert matches[0].reference == f"{fake.host}/nbdocker/hello"


def test_registry_search_leaves_out_repositories_without_tags():
    with FakeRegistry() as fake:
        names = [m.name for m in RegistryClient(fake.url, credentials=None).search("")]
    assert "nbdocker/empty" not in names


def test_registry_search_limit():
    with FakeRegistry() as fake:
        assert len(RegistryClient(fake.url, credentials=None).search("", limit=1)) == 1


def test_registry_manifest_digest():
    with FakeRegistry() as fake:
        client = RegistryClient(fake.url, credentials=None)
        assert client.manifest_digest("nbdocker/hello", "1.0") == DIGEST
        assert client.manifest_digest("nbdocker/hello", "nope") is None


def test_registry_delete_manifest():
    with FakeRegistry() as fake:
        client = RegistryClient(fake.url, credentials=None)
        assert client.delete_manifest("nbdocker/hello", DIGEST) is True
        assert client.delete_manifest("other/repo", DIGEST) is False


def test_registry_repr_hides_password():
    assert PASSWORD not in repr(RegistryClient("127.0.0.1:1", credentials=good()))


def test_registry_stored_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with FakeRegistry(auth="basic") as fake:
        (tmp_path / "config.json").write_text(json.dumps({"auths": {fake.host: {"auth": auth}}}))
        assert RegistryClient(fake.host).tags("nbdocker/hello") == ["0.9", "1.0"]


def test_registry_ignores_proxy_for_loopback(monkeypatch):
    # A proxy from the environment must not see loopback traffic: this one does not exist.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    with FakeRegistry() as fake:
        assert RegistryClient(fake.url, credentials=None).catalog() == sorted(REPOSITORIES)
