"""IPython magics: ``%%packer`` and the ``%docker_*`` family.

The magics are thin: parse the line, call the Python API, hand the events to a view. A
user mistake (nbdocker's UserError) fails the cell with one message and no traceback;
anything else keeps its traceback.
"""

from __future__ import annotations

from IPython.core.magic import Magics, cell_magic, magics_class
from traitlets import Bool, Float, Int, Unicode

from .errors import CellError, user_errors
from .packer import run_packer_cell


@magics_class
class NbDockerMagics(Magics):
    """Magics that build images from Packer templates; settings via ``%config NbDockerMagics``."""

    log_tail_lines = Int(40, help="Output lines each build panel shows while it runs.").tag(
        config=True)
    max_redraws = Float(10.0, help="Most redraws a second of a live view.").tag(config=True)
    plain_text = Bool(False, help="Show plain text instead of widgets.").tag(config=True)
    log_dir = Unicode("", help="Folder for full build logs (default: a folder in the "
                               "temp dir, or $NBDOCKER_LOG_DIR).").tag(config=True)

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


__all__ = ["NbDockerMagics", "load_ipython_extension", "user_errors", "CellError"]
