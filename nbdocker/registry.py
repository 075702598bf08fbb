"""A small client of the registry HTTP API v2: ping, catalog, tags, manifest digests.

Registries such as CNCF distribution have no search endpoint, so searching one means listing
``/v2/_catalog`` and ``/v2/NAME/tags/list``. Authentication follows the registry's challenge
in ``WWW-Authenticate``: ``Basic`` sends the stored user and password, ``Bearer`` fetches a
token from the realm it names (with those credentials, or anonymously) for the scope of the
request. Credentials come from ``nbdocker.engine.credentials``, the same store that
``%docker_login`` writes.

A server given without a scheme is reached over HTTPS; on a loopback address (127.0.0.0/8,
::1, localhost) the client falls back to plain HTTP when HTTPS fails, as the Docker engine does
for the registries it treats as insecure. Give ``http://HOST:PORT`` to use plain HTTP elsewhere.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from .engine.credentials import Credentials, find as find_credentials, registry_host
from .errors import RegistryError

log = logging.getLogger(__name__)

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)

_CHALLENGE_PARAMETER = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class RepositoryMatch:
    """A repository found in a registry catalog, with its tags (sorted)."""

    registry: str
    name: str
    tags: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        """The repository as ``docker pull`` takes it: ``HOST:PORT/NAME``."""
        return f"{self.registry}/{self.name}"


def is_loopback(host: str) -> bool:
    """Return True for localhost and addresses in 127.0.0.0/8 or ::1 (a port may follow)."""
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _short_reason(err: requests.RequestException) -> str:
    """Return the last meaningful phrase of a requests/urllib3 error, e.g. 'Connection refused'."""
    text = str(err)
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip()
    if isinstance(err, requests.Timeout):
        return "timed out"
    if isinstance(err, requests.exceptions.SSLError):
        return "TLS handshake failed"
    return type(err).__name__


class RegistryClient:
    """Talk to one registry's HTTP API v2.

    Parameters
    ----------
    server : str
        ``HOST[:PORT]``, or a URL with ``http://`` or ``https://`` to fix the scheme.
    credentials : Credentials or None or "stored"
        The user and password (or identity token) to send when the registry challenges. The default,
        ``"stored"``, looks them up in the Docker credential store; None sends none.
    timeout : float
        Seconds to wait for the registry to connect and to answer each request.
    """

    def __init__(self, server: str, *, credentials: Credentials | None | str = "stored",
                 timeout: float = 10.0):
        text = server.strip().rstrip("/")
        self.scheme = ""
        for scheme in ("https", "http"):
            if text.lower().startswith(f"{scheme}://"):
                self.scheme = scheme
                text = text[len(scheme) + 3:]
        self.host = registry_host(text)
        if credentials == "stored":
            credentials = find_credentials(self.host)
        self.credentials: Credentials | None = credentials  # type: ignore[assignment]
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "nbdocker"
        if is_loopback(self.host):
            # Loopback traffic must never go through an HTTP proxy from the environment.
            self.session.proxies = {"http": None, "https": None}  # type: ignore[dict-item]
            self.session.trust_env = False
        self._tokens: dict[str, str] = {}

    def __repr__(self) -> str:
        user = self.credentials.username if self.credentials else None
        return f"RegistryClient({self.host!r}, user={user!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- API -------------------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that the server speaks the registry API v2 and accepts the credentials."""
        self._request("GET", "/v2/", scope="")

    def catalog(self, page_size: int = 100) -> list[str]:
        """Return every repository name in the registry, following the ``Link`` pages."""
        names: list[str] = []
        path: str | None = f"/v2/_catalog?n={page_size}"
        while path:
            response = self._request("GET", path, scope="registry:catalog:*")
            names.extend(self._json(response, path).get("repositories") or [])
            path = _next_page(response)
        return names

    def tags(self, repository: str) -> list[str]:
        """Return the tags of ``repository`` (a name without the host), sorted."""
        path = f"/v2/{repository}/tags/list"
        response = self._request("GET", path, scope=f"repository:{repository}:pull",
                                 not_found_ok=True)
        if response.status_code == 404:
            return []
        return sorted(self._json(response, path).get("tags") or [])

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """Return the digest of the manifest ``repository:reference``, or None if absent."""
        path = f"/v2/{repository}/manifests/{reference}"
        response = self._request("HEAD", path, scope=f"repository:{repository}:pull",
                                 headers={"Accept": ", ".join(MANIFEST_TYPES)}, not_found_ok=True)
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest")

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete the manifest ``digest`` from ``repository``; return False if it was absent.

        The registry must allow deletes (distribution: ``storage.delete.enabled``). Its tags
        go with it; the repository name stays in the catalog with no tags.
        """
        path = f"/v2/{repository}/manifests/{digest}"
        response = self._request("DELETE", path, scope=f"repository:{repository}:delete",
                                 not_found_ok=True)
        return response.status_code != 404

    def search(self, term: str, *, limit: int | None = None) -> list[RepositoryMatch]:
        """Return the repositories whose name contains ``term`` (any case), with their tags.

        An empty term matches every repository. Repositories without tags are left out, since
        nothing in them can be pulled (a registry keeps the name after its last tag is
        deleted). ``limit`` caps how many matches are returned.
        """
        needle = term.strip().lower()
        matches = []
        for name in self.catalog():
            if limit is not None and len(matches) >= limit:
                break
            if needle not in name.lower():
                continue
            tags = self.tags(name)
            if tags:
                matches.append(RepositoryMatch(self.host, name, tags))
        return matches

    # -- HTTP ----------------------------------------------------------------------------------

    def _base_urls(self) -> list[str]:
        if self.scheme:
            return [f"{self.scheme}://{self.host}"]
        if is_loopback(self.host):
            return [f"https://{self.host}", f"http://{self.host}"]
        return [f"https://{self.host}"]

    def _send(self, method: str, path: str, headers: dict[str, str]) -> requests.Response:
        """Send one request, choosing the scheme on first contact; raise when unreachable."""
        last_error: requests.RequestException | None = None
        for base in self._base_urls():
            try:
                response = self.session.request(method, base + path, headers=headers,
                                                timeout=self.timeout, allow_redirects=True)
            except (requests.ConnectionError, requests.Timeout) as err:
                log.debug("%s %s%s failed: %s", method, base, path, err)
                last_error = err
                continue
            self.scheme = base.split("://", 1)[0]
            return response
        assert last_error is not None
        raise RegistryError(
            f"Registry {self.host} is not reachable ({_short_reason(last_error)}). Check the host "
            "and port, and that the registry runs."
        ) from None

    def _request(self, method: str, path: str, *, scope: str, headers: dict[str, str] | None = None,
                 not_found_ok: bool = False) -> requests.Response:
        headers = dict(headers or {})
        if scope in self._tokens:
            headers["Authorization"] = self._tokens[scope]
        response = self._send(method, path, headers)

        if response.status_code == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            authorization = self._answer_challenge(challenge, scope)
            if authorization is None:
                raise self._login_needed()
            self._tokens[scope] = authorization
            headers["Authorization"] = authorization
            response = self._send(method, path, headers)
            if response.status_code == 401:
                raise self._login_needed()

        return self._check(response, method, path, not_found_ok)

    def _check(self, response: requests.Response, method: str, path: str,
               not_found_ok: bool) -> requests.Response:
        status = response.status_code
        if status < 400 or (status == 404 and not_found_ok):
            return response
        if status == 403:
            raise RegistryError(
                f"Registry {self.host} denied {method} {path.split('?')[0]} for "
                f"{self._user_phrase()}: the account lacks access."
            )
        if status == 404 and path.startswith("/v2/_catalog"):
            raise RegistryError(
                f"Registry {self.host} does not list its repositories (GET /v2/_catalog "
                "returned 404). Search it by full repository name instead."
            )
        if status == 404 and path == "/v2/":
            raise RegistryError(f"{self.host} is not a Docker registry (GET /v2/ returned 404).")
        raise RegistryError(
            f"Registry {self.host} returned HTTP {status} for {method} {path.split('?')[0]}: "
            f"{_error_text(response)}"
        )

    def _user_phrase(self) -> str:
        return f"user {self.credentials.username!r}" if self.credentials else "anonymous access"

    def _login_needed(self) -> RegistryError:
        if self.credentials:
            return RegistryError(
                f"Registry {self.host} rejected the stored credentials of "
                f"{self.credentials.username!r}. Run %docker_login {self.host} again."
            )
        return RegistryError(
            f"Registry {self.host} requires authentication. Run %docker_login {self.host} first."
        )

    def _answer_challenge(self, challenge: str, scope: str) -> str | None:
        """Return the Authorization header value for a 401 challenge, or None if there is none."""
        kind = challenge.split(" ", 1)[0].lower()
        if kind == "basic":
            if not self.credentials or not self.credentials.password:
                return None
            pair = f"{self.credentials.username}:{self.credentials.password}".encode("utf-8")
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if kind == "bearer":
            token = self._fetch_token(dict(_CHALLENGE_PARAMETER.findall(challenge)), scope)
            return f"Bearer {token}" if token else None
        return None

    def _fetch_token(self, parameters: dict[str, str], scope: str) -> str | None:
        """Fetch a bearer token from the challenge's realm (Docker's token authentication spec)."""
        realm = parameters.get("realm")
        if not realm:
            return None
        query = {"service": parameters.get("service", "")}
        scope = parameters.get("scope") or scope
        if scope:
            query["scope"] = scope
        credentials = self.credentials
        try:
            if credentials and credentials.identity_token:
                response = self.session.post(realm, timeout=self.timeout, data={
                    "grant_type": "refresh_token", "refresh_token": credentials.identity_token,
                    "client_id": "nbdocker", **query,
                })
            else:
                auth = (credentials.username, credentials.password) if credentials else None
                response = self.session.get(realm, params=query, auth=auth, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as err:
            raise RegistryError(
                f"The token service {realm} of registry {self.host} is not reachable "
                f"({_short_reason(err)})."
            ) from None
        if response.status_code in (401, 403):
            return None
        if response.status_code >= 400:
            raise RegistryError(
                f"The token service {realm} of registry {self.host} returned HTTP "
                f"{response.status_code}: {_error_text(response)}"
            )
        body = self._json(response, realm)
        return body.get("token") or body.get("access_token")

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise RegistryError(
                f"Registry {self.host} sent a response to {what} that is not JSON.") from None
        if not isinstance(body, dict):
            raise RegistryError(
                f"Registry {self.host} sent a response to {what} that is not a JSON object.")
        return body


def _next_page(response: requests.Response) -> str | None:
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    # The Link header contains a path ("/v2/_catalog?last=x&n=100") or a full URL.
    return "/" + link.split("://", 1)[1].split("/", 1)[1] if "://" in link else link


def _error_text(response: requests.Response) -> str:
    """Return the registry's error messages (its JSON ``errors`` list), or the body's start."""
    try:
        errors = response.json().get("errors") or []
        messages = [str(error.get("message") or error.get("code")) for error in errors]
        if messages:
            return "; ".join(messages)
    except (ValueError, AttributeError):
        pass
    return response.text.strip()[:200] or response.reason or "no details"
