"""Credentials in config.json and in credential helpers, the way the docker CLI keeps them."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from nbdocker.engine import credentials
from nbdocker.engine.credentials import Credentials, CredentialsError

SECRET = "s3cret-Pa55"

# A credential helper speaking the docker-credential-helpers protocol: the verb as argument,
# the server (or JSON for store) on stdin, JSON on stdout; data in $HELPER_STORE.
HELPER = f"""#!{sys.executable}
import json, os, sys
path = os.environ["HELPER_STORE"]
data = json.load(open(path)) if os.path.exists(path) else {{}}
verb = sys.argv[1]
text = sys.stdin.read()
if verb == "store":
    entry = json.loads(text)
    data[entry["ServerURL"]] = {{"Username": entry["Username"], "Secret": entry["Secret"]}}
elif verb == "get":
    if text not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(dict(data[text], ServerURL=text)))
elif verb == "erase":
    if text not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    del data[text]
elif verb == "list":
    print(json.dumps({{k: v["Username"] for k, v in data.items()}}))
json.dump(data, open(path, "w"))
"""


@pytest.fixture
def docker_config(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@pytest.fixture
def helper(tmp_path, monkeypatch) -> Path:
    """Install docker-credential-nbtest on PATH; return the file where it keeps secrets."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "docker-credential-nbtest"
    program.write_text(HELPER)
    program.chmod(0o755)
    store = tmp_path / "helper-store.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HELPER_STORE", str(store))
    return store


def write_config(folder: Path, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(data))


def read_config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


# -- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("server, host, key", [
    (None, "docker.io", "https://index.docker.io/v1/"),
    ("docker.io", "docker.io", "https://index.docker.io/v1/"),
    ("https://index.docker.io/v1/", "docker.io", "https://index.docker.io/v1/"),
    ("127.0.0.1:5001", "127.0.0.1:5001", "127.0.0.1:5001"),
    ("http://127.0.0.1:5001/v2/", "127.0.0.1:5001", "127.0.0.1:5001"),
    ("Registry.Example.org", "registry.example.org", "registry.example.org"),
])
def test_credentials_server_names(server, host, key):
    assert credentials.registry_host(server) == host
    assert credentials.server_key(server) == key


def test_credentials_config_dir_from_env(docker_config):
    assert credentials.config_path() == docker_config / "config.json"


def test_credentials_config_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials.config_path() == tmp_path / ".docker" / "config.json"


# -- config.json ---------------------------------------------------------------------------------

def test_credentials_store_in_file(docker_config):
    where = credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    assert where == str(docker_config / "config.json")
    entry = read_config(docker_config)["auths"]["127.0.0.1:5001"]
    assert base64.b64decode(entry["auth"]).decode() == f"nbdocker:{SECRET}"


def test_credentials_file_mode_is_private(docker_config):
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    mode = stat.S_IMODE((docker_config / "config.json").stat().st_mode)
    assert mode == 0o600


def test_credentials_store_keeps_other_settings(docker_config):
    write_config(docker_config, {"proxies": {"default": {}}, "auths": {"other:1": {"auth": "eDp5"}}})
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    config = read_config(docker_config)
    assert config["proxies"] == {"default": {}}
    assert "other:1" in config["auths"]


def test_credentials_find_from_file(docker_config):
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    found = credentials.find("127.0.0.1:5001")
    assert (found.username, found.password) == ("nbdocker", SECRET)
    assert found.source == str(docker_config / "config.json")


def test_credentials_find_matches_url_keys(docker_config):
    auth = base64.b64encode(f"u:{SECRET}".encode()).decode()
    write_config(docker_config, {"auths": {"http://127.0.0.1:5001/v2/": {"auth": auth}}})
    assert credentials.find("127.0.0.1:5001").password == SECRET


def test_credentials_find_none_without_file(docker_config):
    assert credentials.find("127.0.0.1:5001") is None


def test_credentials_find_empty_entry_is_none(docker_config):
    write_config(docker_config, {"auths": {"127.0.0.1:5001": {}}})
    assert credentials.find("127.0.0.1:5001") is None


def test_credentials_identity_token_from_file(docker_config):
    write_config(docker_config, {"auths": {"h:1": {"auth": base64.b64encode(b"u:").decode(),
                                                   "identitytoken": "tok"}}})
    found = credentials.find("h:1")
    assert found.identity_token == "tok"
    assert found.auth_config() == {"serveraddress": "h:1", "identitytoken": "tok"}


def test_credentials_invalid_json_is_clear_error(docker_config):
    docker_config.mkdir()
    (docker_config / "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="is not valid JSON"):
        credentials.find("h:1")


def test_credentials_bad_base64_is_clear_error(docker_config):
    write_config(docker_config, {"auths": {"h:1": {"auth": "!!!"}}})
    with pytest.raises(CredentialsError, match="not base64"):
        credentials.find("h:1")


def test_credentials_erase_from_file(docker_config):
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    assert credentials.erase("127.0.0.1:5001") == str(docker_config / "config.json")
    assert read_config(docker_config)["auths"] == {}


def test_credentials_erase_nothing_stored(docker_config):
    assert credentials.erase("127.0.0.1:5001") is None


def test_credentials_repr_hides_secret():
    text = repr(Credentials("h:1", "user", password=SECRET, identity_token="tok-" + SECRET))
    assert SECRET not in text


def test_credentials_auth_config_with_password():
    assert Credentials("h:1", "u", SECRET).auth_config() == {
        "serveraddress": "h:1", "username": "u", "password": SECRET}


# -- credential helpers ------------------------------------------------------------------------

def test_credentials_creds_store_helper(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    where = credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    assert where == "the credential helper docker-credential-nbtest"
    assert json.loads(helper.read_text())["127.0.0.1:5001"]["Secret"] == SECRET


def test_credentials_helper_leaves_no_secret_in_file(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    assert read_config(docker_config)["auths"] == {"127.0.0.1:5001": {}}


def test_credentials_find_in_helper(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    found = credentials.find("127.0.0.1:5001")
    assert (found.username, found.password) == ("nbdocker", SECRET)
    assert found.source == "the credential helper docker-credential-nbtest"


def test_credentials_cred_helpers_per_registry(docker_config, helper):
    write_config(docker_config, {"credHelpers": {"127.0.0.1:5001": "nbtest"}})
    assert credentials.store("127.0.0.1:5001", "a", SECRET).startswith("the credential helper")
    assert credentials.store("127.0.0.1:5000", "b", SECRET) == str(docker_config / "config.json")


def test_credentials_helper_token_username(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    credentials.store("h:1", "user", "refresh-token", identity_token=True)
    found = credentials.find("h:1")
    assert found.identity_token == "refresh-token"
    assert found.password == ""


def test_credentials_erase_from_helper(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    credentials.store("127.0.0.1:5001", "nbdocker", SECRET)
    assert credentials.erase("127.0.0.1:5001") == "the credential helper docker-credential-nbtest"
    assert json.loads(helper.read_text()) == {}
    assert read_config(docker_config)["auths"] == {}


def test_credentials_erase_unknown_in_helper(docker_config, helper):
    write_config(docker_config, {"credsStore": "nbtest"})
    assert credentials.erase("127.0.0.1:5001") is None


def test_credentials_missing_helper_is_clear_error(docker_config):
    write_config(docker_config, {"credsStore": "nbdocker-missing"})
    with pytest.raises(CredentialsError) as caught:
        credentials.store("h:1", "u", SECRET)
    assert "docker-credential-nbdocker-missing" in str(caught.value)
    assert "not installed" in str(caught.value)
    assert SECRET not in str(caught.value)
