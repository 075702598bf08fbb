"""JupyterLab 4 on a loopback port and Debian's Chromium driven by Playwright, for browser tests.

Playwright comes from PyPI and drives /usr/bin/chromium; ``playwright install`` (a browser
download) is never run. The server runs with an empty token, a temporary root folder and
temporary settings, with the notebook windowing mode pinned to "none" so that every cell
stays in the DOM. The browser aborts every request that is not for the loopback server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from nbdocker.build import cache

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying hosts it cannot reach.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}

# Settings every test session starts from; "overrides.json" in the application settings folder
# takes precedence over each plugin's defaults.
SETTINGS_OVERRIDES = {
    # Windowing ("full" by default since JupyterLab 4.2) removes cells outside the viewport
    # from the DOM, so selectors would miss them.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # No news feed, no update check: both would fetch from the internet.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}

SERVER_CONFIG = """\
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = {port}
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True
c.IdentityProvider.token = ""
c.PasswordIdentityProvider.hashed_password = ""
c.ServerApp.root_dir = {root!r}
c.LabApp.app_settings_dir = {app_settings!r}
c.LabApp.user_settings_dir = {user_settings!r}
c.LabApp.workspaces_dir = {workspaces!r}
c.LabApp.expose_app_in_browser = True
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
"""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, root folder and log file."""

    url: str
    root: Path
    log: Path
    process: subprocess.Popen = field(repr=False)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for_status(server: LabServer, timeout: float = 90.0) -> None:
    """Poll /api/status until the server responds; fail with its log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"jupyter lab exited with status {server.process.returncode}:\n"
                        f"{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer /api/status within {timeout:.0f} s:\n"
                f"{server.log_text()[-3000:]}")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, lab, engine) -> LabServer:
    """JupyterLab from this environment on a free loopback port, stopped after the session.

    Its kernels use a step cache namespace of their own, so builds really run and the
    screenshot shows a real build. The namespace's cache images are removed at the end.
    """
    base = tmp_path_factory.mktemp("jupyterlab")
    folders = {name: base / name for name in ("root", "app-settings", "user-settings",
                                              "workspaces", "config", "runtime", "ipython")}
    for folder in folders.values():
        folder.mkdir()
    (folders["app-settings"] / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES))
    port = free_port()
    config = base / "jupyter_server_config.py"
    config.write_text(SERVER_CONFIG.format(
        port=port, root=str(folders["root"]), app_settings=str(folders["app-settings"]),
        user_settings=str(folders["user-settings"]), workspaces=str(folders["workspaces"])))

    # The server and its kernels get their own Jupyter and IPython folders, and the lab's
    # registry settings from the ``lab`` fixture through the environment.
    namespace = f"browser-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(folders["config"]),
           "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
           "IPYTHONDIR": str(folders["ipython"]), "NBDOCKER_CACHE_NAMESPACE": namespace}
    log = base / "jupyterlab.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyter-lab")), f"--config={config}"],
            cwd=folders["root"], env=env, stdout=output, stderr=subprocess.STDOUT)
    server = LabServer(url=f"http://127.0.0.1:{port}", root=folders["root"], log=log,
                       process=process)
    try:
        wait_for_status(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        cache.prune(engine, namespace)


@dataclass
class BrowserSession:
    """A Chromium context, plus every request it aborted for leaving loopback."""

    context: object
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser_session(tmp_path_factory) -> BrowserSession:
    """Headless Debian Chromium with a fresh profile; non-loopback requests are aborted."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package "
                    "(make chromium)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900})
        session = BrowserSession(context)

        def keep_on_loopback(route) -> None:
            url = urlparse(route.request.url)
            if url.scheme in ("http", "https", "ws", "wss") and \
                    url.hostname not in LOOPBACK_HOSTS:
                session.blocked.append(route.request.url)
                route.abort()
                return
            route.continue_()

        context.route("**/*", keep_on_loopback)
        try:
            yield session
        finally:
            context.close()

