"""IPython magics: ``%%packer`` and the ``%docker_*`` family.

The magics are thin: parse the line, call the Python API, hand the events to a view. A
user mistake (nbdocker's UserError) fails the cell with one message and no traceback;
anything else keeps its traceback.
"""

from __future__ import annotations

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import magic_arguments  # noqa: F401 - used by submodules

from .errors import user_errors


@magics_class
class NbDockerMagics(Magics):
    """Magics that build images from Packer templates and publish and find images."""


def load_ipython_extension(ipython) -> None:
    """Register the magics: ``%load_ext nbdocker``."""
    ipython.register_magics(NbDockerMagics(shell=ipython))


__all__ = ["NbDockerMagics", "load_ipython_extension", "user_errors", "cell_magic", "line_magic"]
