"""Views of the event stream. Each view has ``handle(event)`` and ``close()``.

- ``widgets.BuildView``: live ipywidgets view of a build in a notebook kernel.
- ``text.TextView``: Packer-style lines for terminals and notebooks without widgets.
- ``machine.MachineView``: Packer's ``-machine-readable`` records.
- ``summary.BuildSummary``: the static HTML and text of a finished run.
- ``state.RunState``: what the views draw, built from the events alone.

Pulls, pushes, container output and image tables have their own views in ``layers`` and
``tables``. The names below are imported on first use, so that importing this package does
not import ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"BuildView": "widgets", "TextView": "text", "MachineView": "machine",
          "BuildSummary": "summary", "RunState": "state"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
