"""nbdocker: build Docker images from Packer templates in Jupyter notebooks, publish and find them.

In a notebook: ``%load_ext nbdocker``, then a ``%%packer`` cell whose body is a template.
From Python: ``nbdocker.validate(...)`` and ``nbdocker.build(...)``. From a terminal:
``nbdocker validate|build TEMPLATE``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """Register nbdocker's magics in IPython (``%load_ext nbdocker``)."""
    from .magics import load_ipython_extension as register

    register(ipython)


# The API functions are bound after the subpackages are imported: ``nbdocker.build`` is both
# the subpackage of the runner and the function below, and the function must win.
from .api import build, fix, inspect, load, validate  # noqa: E402
from .build.artifacts import Artifact  # noqa: E402
from .errors import (BuildFailed, BuildsFailed, EngineError, NbDockerError,  # noqa: E402
                     RegistryError, TemplateError, UserError)
from .publish import (RunFailed, images, login, logout, pull, push,  # noqa: E402
                      remove_image, run, search, tag)

__all__ = [
    "Artifact", "BuildFailed", "BuildsFailed", "EngineError", "NbDockerError", "RegistryError",
    "RunFailed", "TemplateError", "UserError", "build", "fix", "images", "inspect", "load",
    "load_ipython_extension", "login", "logout", "pull", "push", "remove_image", "run",
    "search", "tag", "validate",
]
