"""nbdocker: build Docker images from Packer templates in Jupyter notebooks, publish and find them.

In a notebook: ``%load_ext nbdocker``, then a ``%%packer`` cell whose body is a template.
From Python: ``nbdocker.validate(...)`` and ``nbdocker.build(...)``. From a terminal:
``nbdocker validate|build TEMPLATE``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """Register nbdocker's magics in IPython (``%load_ext nbdocker``)."""
    from .magics import load_ipython_extension as load

    load(ipython)
