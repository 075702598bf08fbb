"""Container operations used by builds: create, start, exec, copy in and out, commit, export."""

from __future__ import annotations


class ContainerOps:
    """Container verbs of the Engine, mixed into ``Engine``; uses ``self.client`` and ``self.api``."""
