"""Live ipywidgets view of a build: one panel per build with its steps, a bar and a log tail.

Redraws are throttled (``max_redraws`` a second) and batched with ``hold_sync``; the log
tail is one HTML value replaced on each redraw, never an Output widget appended to line by
line. When the run ends, the bars turn green or red and stay, and a static summary is
displayed below so a saved notebook reads well where widgets do not render.
"""

from __future__ import annotations

import html
import time
from typing import Callable

import ipywidgets as widgets
from IPython.display import display as ipython_display

from ..build.events import Event, RunFinished, RunStarted
from .state import BuildState, RunState
from .summary import STATUS_COLOR, STATUS_MARK, BuildSummary

BAR_STYLE = {"ok": "success", "failed": "danger", "interrupted": "danger", "running": "info"}


class BuildPanel:
    """The widgets of one build: title, progress bar, step table and log tail."""

    def __init__(self, name: str):
        self.title = widgets.HTML()
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                         layout=widgets.Layout(width="100%"))
        self.bar.add_class("nbdocker-progress")
        self.steps = widgets.HTML()
        self.steps.add_class("nbdocker-steps")
        self.tail = widgets.HTML()
        self.tail.add_class("nbdocker-log")
        self.box = widgets.VBox([self.title, self.bar, self.steps, self.tail])
        self.box.add_class("nbdocker-build")
        self.name = name

    def draw(self, build: BuildState, now: float) -> None:
        """Update the widgets from the build's state, sending only changed values."""
        status = build.status
        elapsed = build.duration if status not in ("pending", "running") else \
            max(0.0, now - build.started)
        title = (f'<b>{html.escape(build.name)}</b> '
                 f'<span style="color:{STATUS_COLOR.get(status, "")}">'
                 f'{STATUS_MARK.get(status, "")} {status}</span> · {elapsed:.1f}s')
        layers = build.layer_summary()
        if layers and status == "running":
            title += f" · {html.escape(layers)}"
        rows = []
        for step in build.steps.values():
            seconds = step.duration if step.status not in ("running", "pending") else \
                (max(0.0, now - step.started) if step.status == "running" else 0.0)
            note = "cached" if step.status == "cached" else ""
            if step.attempts > 1:
                note = f"{note} attempt {step.attempts}".strip()
            if step.status == "failed" and step.detail:
                note = step.detail
            rows.append(
                f'<tr><td style="color:{STATUS_COLOR.get(step.status, "")}">'
                f'{STATUS_MARK.get(step.status, "")}</td><td style="text-align:left">'
                f'<code>{html.escape(step.name)}</code></td>'
                f'<td style="text-align:right">{seconds:.1f}s</td>'
                f'<td style="text-align:left">{html.escape(note)}</td></tr>')
        steps = f'<table style="font-size:90%">{"".join(rows)}</table>'
        lines = "\n".join(html.escape(text) for _stream, text in build.tail)
        tail = (f'<pre style="max-height:16em;overflow:auto;font-size:85%;margin:0">'
                f'{lines}</pre>') if lines else ""
        bar_style = BAR_STYLE.get(status, "info")
        with self.box.hold_sync():
            for widget, trait, value in ((self.title, "value", title),
                                         (self.bar, "value", build.progress
                                          if status != "ok" else 1.0),
                                         (self.bar, "bar_style", bar_style),
                                         (self.steps, "value", steps),
                                         (self.tail, "value", tail)):
                if getattr(widget, trait) != value:
                    setattr(widget, trait, value)


class BuildView:
    """Consume build events and keep a live widget view of them up to date.

    Parameters
    ----------
    tail_lines
        How many output lines each build panel shows.
    max_redraws
        Redraws per second at most; events in between only update the state.
    display
        The function that shows a widget or object (IPython's ``display`` by default).
    """

    def __init__(self, *, tail_lines: int = 40, max_redraws: float = 10.0,
                 display: Callable[[object], object] | None = None):
        self.state = RunState(tail_lines=tail_lines)
        self.interval = 1.0 / max_redraws if max_redraws > 0 else 0.0
        self._display = display or ipython_display
        self.header = widgets.HTML()
        self.panels: dict[str, BuildPanel] = {}
        self.panel_box = widgets.VBox()
        self.root = widgets.VBox([self.header, self.panel_box])
        self.root.add_class("nbdocker-view")
        self._last_draw = 0.0
        self._shown = False
        self.redraws = 0

    def handle(self, event: Event) -> None:
        """Apply one event and redraw if the last redraw is old enough."""
        self.state.apply(event)
        if not self._shown:
            self._display(self.root)
            self._shown = True
        if isinstance(event, (RunStarted, RunFinished)):
            self.redraw()
            return
        now = time.monotonic()
        if now - self._last_draw >= self.interval:
            self.redraw()

    def redraw(self) -> None:
        """Draw every panel from the current state."""
        self._last_draw = time.monotonic()
        self.redraws += 1
        now = time.time()
        for name, build in self.state.builds.items():
            if name not in self.panels:
                self.panels[name] = BuildPanel(name)
                self.panel_box.children = tuple(p.box for p in self.panels.values())
            self.panels[name].draw(build, now)
        status = self.state.status
        log = self.state.log_path
        header = (f'<span class="nbdocker-status nbdocker-status-{status}">'
                  f'{STATUS_MARK.get(status, "")} {status}</span>')
        if log:
            header += f' · full log: <code>{html.escape(log)}</code>'
        if self.header.value != header:
            self.header.value = header

    def close(self) -> BuildSummary:
        """Draw the final state and display the static summary; return the summary."""
        self.redraw()
        summary = BuildSummary(self.state)
        self._display(summary)
        return summary
