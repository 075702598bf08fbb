"""Translation of docker SDK and connection errors into nbdocker's EngineError."""

from __future__ import annotations

import contextlib
from typing import Iterator

import docker.errors
import requests.exceptions

from ..errors import EngineError


@contextlib.contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn docker SDK and connection errors raised inside the block into EngineError."""
    try:
        yield
    except docker.errors.APIError as err:
        detail = err.explanation or str(err)
        raise EngineError(f"{action} failed: {detail}") from err
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as err:
        raise EngineError(
            f"{action} failed: the Docker engine is not reachable ({err}). "
            "Start it (scripts/lab up) or set DOCKER_HOST."
        ) from err
