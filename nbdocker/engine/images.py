"""Image operations: pull, push, tag, login, search, list, remove."""

from __future__ import annotations


class ImageOps:
    """Image verbs of the Engine, mixed into ``Engine``; uses ``self.client`` and ``self.api``."""
