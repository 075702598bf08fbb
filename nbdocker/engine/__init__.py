"""The only package that imports ``docker``: every call to the Docker engine goes through here.

``Engine`` speaks the Docker CLI's verbs (pull, run, exec, commit, tag, push ...) and raises
nbdocker's own errors. It does not use templates or views: long operations are
generators of events from ``nbdocker.build.events``.
"""

from .client import Engine, connect

from .translate import engine_errors

__all__ = ["Engine", "connect", "engine_errors"]
