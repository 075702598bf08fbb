"""Registry credentials in the Docker CLI's places: a credential helper or config.json.

The config file is ``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json`` when DOCKER_CONFIG
is unset), read at every call so a test or a notebook can switch folders. The rules follow the
docker CLI: ``credHelpers[server]`` names the helper for one registry, else ``credsStore`` names
the helper for all; with a helper the secret goes to ``docker-credential-NAME`` and config.json
keeps an empty ``auths`` entry, without one config.json keeps ``auth`` = base64("user:password").
Docker Hub's entry is keyed ``https://index.docker.io/v1/``, other registries by host[:port].
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker import credentials as docker_credentials

from ..errors import UserError

log = logging.getLogger(__name__)

DOCKER_HUB = "docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io",
                       "registry.hub.docker.com"}

# A credential helper returns this user name when the secret is an identity token.
TOKEN_USERNAME = "<token>"


class CredentialsError(UserError):
    """The Docker config file or a credential helper could not be read or written."""


@dataclass(frozen=True)
class Credentials:
    """Stored credentials for one registry; the secret never appears in ``repr``.

    ``identity_token`` is set instead of ``password`` when the registry issued an OAuth refresh
    token at login. ``source`` names where the entry came from (a helper or the config path).
    """

    server: str
    username: str
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    source: str = ""

    def auth_config(self) -> dict[str, str]:
        """Return the per-request ``auth_config`` that docker-py sends as X-Registry-Auth."""
        config = {"serveraddress": self.server}
        if self.identity_token:
            config["identitytoken"] = self.identity_token
        else:
            config["username"] = self.username
            config["password"] = self.password
        return config


def registry_host(server: str | None) -> str:
    """Return the host[:port] of a server given as host, URL or None (Docker Hub)."""
    if not server:
        return DOCKER_HUB
    host = server.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme):]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def server_key(server: str | None) -> str:
    """Return the key the docker CLI stores a server's credentials under."""
    host = registry_host(server)
    return DOCKER_HUB_KEY if host == DOCKER_HUB else host


def config_dir() -> Path:
    """Return the Docker client config folder: DOCKER_CONFIG, else ~/.docker."""
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured).expanduser() if configured else Path.home() / ".docker"


def config_path() -> Path:
    """Return the path of config.json in the config folder (which may not exist yet)."""
    return config_dir() / "config.json"


def read_config() -> dict[str, Any]:
    """Return the parsed config.json, or an empty dict when it does not exist."""
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise CredentialsError(
            f"Cannot read the Docker config {str(path)!r}: {err.strerror}.") from err
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as err:
        raise CredentialsError(
            f"The Docker config {str(path)!r} is not valid JSON ({err}). Fix or remove the file."
        ) from err
    if not isinstance(data, dict):
        raise CredentialsError(f"The Docker config {str(path)!r} must contain a JSON object.")
    return data


def write_config(data: dict[str, Any]) -> Path:
    """Replace config.json atomically with ``data``, readable only by its owner (mode 0600)."""
    path = config_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".config.json.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file, indent="\t")
                file.write("\n")
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise CredentialsError(
            f"Cannot write the Docker config {str(path)!r}: {err.strerror}.") from err
    return path


def helper_name(server: str | None, config: dict[str, Any] | None = None) -> str | None:
    """Return the credential helper for ``server`` (credHelpers, then credsStore) or None."""
    config = read_config() if config is None else config
    key = server_key(server)
    helpers = config.get("credHelpers") or {}
    for candidate, name in helpers.items():
        if candidate == key or registry_host(candidate) == registry_host(key):
            return str(name)
    store = config.get("credsStore")
    return str(store) if store else None


def _helper(name: str) -> docker_credentials.Store:
    # Store() warns when the program is missing, and its first call then raises StoreError
    # with the same text, which becomes the CredentialsError message.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return docker_credentials.Store(name)


def _helper_label(name: str) -> str:
    return f"the credential helper docker-credential-{name}"


def _helper_failure(name: str, action: str, err: Exception) -> CredentialsError:
    return CredentialsError(
        f"{action} with docker-credential-{name} failed: {err}. Install the helper, or remove "
        f"credsStore/credHelpers from {str(config_path())!r} to keep credentials in that file."
    )


def find(server: str | None) -> Credentials | None:
    """Return the stored credentials for ``server``, or None when there are none."""
    config = read_config()
    key = server_key(server)
    name = helper_name(server, config)
    if name:
        found = _find_in_helper(name, key)
        if found:
            return found
    return _find_in_file(config, key)


def _find_in_helper(name: str, key: str) -> Credentials | None:
    try:
        data = _helper(name).get(key)
    except docker_credentials.CredentialsNotFound:
        return None
    except docker_credentials.StoreError as err:
        raise _helper_failure(name, f"Reading the credentials for {key}", err) from None
    username, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
    if username == TOKEN_USERNAME:
        return Credentials(key, username, identity_token=secret, source=_helper_label(name))
    return Credentials(key, username, password=secret, source=_helper_label(name))


def _find_in_file(config: dict[str, Any], key: str) -> Credentials | None:
    auths = config.get("auths") or {}
    entry = auths.get(key)
    if entry is None:
        entry = next((value for candidate, value in auths.items()
                      if registry_host(candidate) == registry_host(key)), None)
    if not isinstance(entry, dict):
        return None
    source = str(config_path())
    if entry.get("identitytoken"):
        username = _decode_auth(entry.get("auth", ""), key)[0] if entry.get("auth") else ""
        return Credentials(key, username, identity_token=str(entry["identitytoken"]), source=source)
    if not entry.get("auth"):
        return None
    username, password = _decode_auth(entry["auth"], key)
    return Credentials(key, username, password=password, source=source)


def _decode_auth(value: str, key: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=False).decode("utf-8")
        username, password = text.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CredentialsError(
            f"The 'auth' entry for {key} in {str(config_path())!r} is not base64 of "
            "'user:password'. Run %docker_login again to replace it."
        ) from None
    return username, password


def store(server: str | None, username: str, secret: str, *, identity_token: bool = False) -> str:
    """Store credentials the way ``docker login`` does; return where they went.

    The return value is a phrase for messages: "the credential helper docker-credential-pass"
    or the path of config.json. With ``identity_token`` the secret is an OAuth refresh token
    that the registry issued at login, stored in place of the password.
    """
    config = read_config()
    key = server_key(server)
    name = helper_name(server, config)
    auths = config.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise CredentialsError(f"'auths' in {str(config_path())!r} must be a JSON object.")

    if name:
        helper_user = TOKEN_USERNAME if identity_token else username
        try:
            _helper(name).store(key, helper_user, secret)
        except docker_credentials.StoreError as err:
            raise _helper_failure(name, f"Storing the credentials for {key}", err) from None
        # Like the docker CLI: the file keeps an empty entry so `docker login` lists the server.
        auths[key] = {}
        write_config(config)
        log.debug("stored credentials for %s in docker-credential-%s", key, name)
        return _helper_label(name)

    if identity_token:
        auths[key] = {"auth": _encode_auth(username, ""), "identitytoken": secret}
    else:
        auths[key] = {"auth": _encode_auth(username, secret)}
    path = write_config(config)
    log.debug("stored credentials for %s in %s", key, path)
    return str(path)


def _encode_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")


def erase(server: str | None) -> str | None:
    """Remove the stored credentials for ``server``; return where they were, or None."""
    config = read_config()
    key = server_key(server)
    name = helper_name(server, config)
    removed_from = None

    if name:
        try:
            _helper(name).erase(key)
            removed_from = _helper_label(name)
        except docker_credentials.CredentialsNotFound:
            pass
        except docker_credentials.StoreError as err:
            # Helpers differ: some exit non-zero for an unknown server with a message of their own.
            if "not found" not in str(err).lower():
                raise _helper_failure(name, f"Erasing the credentials for {key}", err) from None

    auths = config.get("auths")
    if isinstance(auths, dict):
        host = registry_host(key)
        matching = [candidate for candidate in auths if registry_host(candidate) == host]
        for candidate in matching:
            entry = auths.pop(candidate)
            if removed_from is None and isinstance(entry, dict) and entry:
                removed_from = str(config_path())
        if matching:
            write_config(config)
    return removed_from
