"""IPython magics: ``%%packer`` and the ``%docker_*`` family.

The magics are thin: parse the line, call the Python API, hand the events to a view. A
user mistake (nbdocker's UserError) fails the cell with one message and no traceback;
anything else keeps its traceback.
"""

from __future__ import annotations

import os

from IPython.core.magic import Magics, cell_magic, magics_class
from traitlets import Bool, Float, Int, TraitError, Unicode, validate

from .errors import CellError, user_errors
from .docker import DockerMagics
from .packer import run_packer_cell


# Bounds of the settings below. The help text of each setting gives the reason for its bound.
MAX_TAIL_LINES = 1000
MAX_REDRAWS = 30.0


@magics_class
class NbDockerMagics(Magics):
    """Magics that build images from Packer templates; settings via ``%config NbDockerMagics``."""

    log_tail_lines = Int(40, help=(
        "Lines of output (the last ones) that each build panel shows while it runs, from 0 "
        "to 1000; 0 hides the output. The whole tail is re-sent on every redraw, hence the "
        "limit. The full output always goes to the log file.")).tag(config=True)
    max_redraws = Float(10.0, help=(
        "Maximum redraws per second of a live view, above 0 and at most 30, since faster "
        "redraws add comm traffic that no one can read. Events between two redraws only "
        "update what the next one draws.")).tag(config=True)
    default_registry = Unicode("", help=(
        "Registry (HOST or HOST:PORT, no scheme) that %docker_login and %docker_logout use "
        "when the line names no server, and whose catalog %docker_search searches when the "
        "line has no --registry and the term names no index; empty means Docker Hub.")).tag(
        config=True)
    log_dir = Unicode("", help=(
        "Folder for the full build logs; created when missing. Empty means "
        "$NBDOCKER_LOG_DIR, or the folder nbdocker-logs in the temporary directory.")).tag(
        config=True)
    plain_text = Bool(False, help=(
        "Show builds as plain text instead of widgets, for frontends without the "
        "ipywidgets extension. Terminal IPython always gets plain text.")).tag(config=True)

    @validate("log_tail_lines")
    def _check_log_tail_lines(self, proposal):
        value = proposal["value"]
        if not 0 <= value <= MAX_TAIL_LINES:
            raise TraitError(f"NbDockerMagics.log_tail_lines must be between 0 and "
                             f"{MAX_TAIL_LINES}, got {value!r}")
        return value

    @validate("max_redraws")
    def _check_max_redraws(self, proposal):
        value = proposal["value"]
        if not 0 < value <= MAX_REDRAWS:
            raise TraitError(f"NbDockerMagics.max_redraws must be above 0 and at most "
                             f"{MAX_REDRAWS:g} redraws per second, got {value!r}")
        return value

    @validate("default_registry")
    def _check_default_registry(self, proposal):
        value = proposal["value"].strip()
        if "://" in value:
            raise TraitError(f"NbDockerMagics.default_registry takes HOST or HOST:PORT "
                             f"without a scheme, got {value!r}; try "
                             f"{value.split('://', 1)[1].rstrip('/')!r}")
        if any(char.isspace() for char in value):
            raise TraitError(f"NbDockerMagics.default_registry takes HOST or HOST:PORT, "
                             f"got {value!r}, which contains a space")
        if "/" in value.rstrip("/"):
            raise TraitError(f"NbDockerMagics.default_registry takes HOST or HOST:PORT, "
                             f"got {value!r}; a repository path belongs in the image name")
        return value.rstrip("/")

    @validate("log_dir")
    def _check_log_dir(self, proposal):
        value = proposal["value"].strip()
        if not value:
            return ""
        path = os.path.abspath(os.path.expanduser(value))
        if os.path.exists(path) and not os.path.isdir(path):
            raise TraitError(f"NbDockerMagics.log_dir must be a folder, but {path!r} is a "
                             "file; choose another path")
        return path

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        if shell is not None and self not in shell.configurables:
            shell.configurables.append(self)

    @cell_magic
    def packer(self, line: str, cell: str) -> None:
        """Validate or build the Packer template written in the cell.

        Usage::

            %%packer [build|validate|inspect|fix] [-var KEY=VALUE]... [-var-file FILE]...
                     [-only NAMES] [-except NAMES] [-on-error MODE] [-parallel-builds N]
                     [--no-cache] [-o NAME]

        ``build`` (the default) runs the template like ``packer build`` with a live view;
        ``-o NAME`` stores the list of artifacts (each with ``image_id`` and ``tags``) in
        the variable NAME. ``validate`` checks it like ``packer validate``. Relative paths
        in the template resolve against the notebook's working directory. Unchanged steps are
        reused from the step cache; ``--no-cache`` (or ``-force``) runs every step again.

        Example::

            %%packer -var tag=1.0 -o artifacts
            {
              "variables": {"tag": "latest"},
              "builders": [{"type": "docker", "image": "debian:bookworm", "commit": true}],
              "provisioners": [{"type": "shell", "inline": ["echo hello > /hello"]}],
              "post-processors": [{"type": "docker-tag", "repository": "example/hello",
                                   "tags": ["{{user `tag`}}"]}]
            }
        """
        run_packer_cell(self, line, cell)


def load_ipython_extension(ipython) -> None:
    """Register the magics: ``%load_ext nbdocker``."""
    ipython.register_magics(NbDockerMagics(shell=ipython))
    ipython.register_magics(DockerMagics(shell=ipython))


__all__ = ["NbDockerMagics", "load_ipython_extension", "user_errors", "CellError"]
