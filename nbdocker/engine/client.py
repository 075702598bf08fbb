"""Connection to the Docker engine and translation of docker SDK errors into nbdocker's."""

from __future__ import annotations

import logging
import os

import docker

from .containers import ContainerOps
from .images import ImageOps
from .translate import engine_errors

log = logging.getLogger(__name__)


class Engine(ContainerOps, ImageOps):
    """A connection to one Docker engine, with the operations nbdocker needs."""

    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.api = client.api

    def ping(self) -> None:
        """Check that the engine responds; raise EngineError with what to do if not."""
        with engine_errors("Connecting to the Docker engine"):
            self.client.ping()


_connections: dict[tuple, Engine] = {}


def connect(base_url: str | None = None, timeout: int = 120) -> Engine:
    """Connect to the engine named by ``base_url``, or by DOCKER_HOST and friends.

    Connections are reused per engine address, so re-running a notebook cell does not pay
    for a new connection and API version negotiation each time.
    """
    key = (base_url, os.environ.get("DOCKER_HOST"), os.environ.get("DOCKER_TLS_VERIFY"),
           os.environ.get("DOCKER_CERT_PATH"), timeout)
    if key in _connections:
        return _connections[key]
    with engine_errors("Connecting to the Docker engine"):
        if base_url:
            client = docker.DockerClient(base_url=base_url, version="auto", timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
        client.ping()
    log.debug("connected to Docker engine at %s", client.api.base_url)
    engine = _connections[key] = Engine(client)
    return engine
