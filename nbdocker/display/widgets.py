"""Live ipywidgets view of a run: a header, then one panel per build with a bar, steps and log tail.

Events only update a ``RunState``. The widgets are redrawn from it at most ``max_redraws``
times a second, plus once when a build or the run ends. Each redraw compares the new trait
values with the old ones and sets only those that changed. It holds the sync of every changed
widget, so that a redraw sends at most one comm message per widget. The log tail is one HTML value
replaced on each redraw. NB: an ``Output`` widget must not be used for it, because every
append re-sends the whole output list, which is quadratic in traffic and keeps the whole log
in the saved widget state.

When the run ends, the bars turn green or red and stay, the header shows the outcome, and a
static ``BuildSummary`` (HTML and text) is displayed below, which is what a saved notebook
shows where the widget JavaScript is missing. The step tables then move into that summary,
so the page does not show them twice.
"""

from __future__ import annotations

import contextlib
import html
import time
from typing import Any, Callable

import ipywidgets as widgets
from IPython.display import display as ipython_display

from ..build.events import BuildFinished, Event, RunFinished, RunStarted
from .state import BuildState, RunState
from .summary import (BuildSummary, build_title_html, human_duration, status_html,
                      steps_table_html)
from .throttle import Throttle

BAR_STYLE = {"ok": "success", "failed": "danger", "interrupted": "danger"}
STREAM_STYLE = {"stderr": "color:#bf360c", "warning": "color:#ef6c00",
                "ui": "font-weight:bold"}

# Events after which the screen changes at once, even when the throttle would skip the redraw.
MILESTONES = (RunStarted, BuildFinished, RunFinished)


def tail_html(build: BuildState) -> str:
    """Return the build's output tail as a scrolled ``<pre>`` that stays at its last line.

    The ``column-reverse`` flex box keeps the scroll position at the bottom without
    JavaScript, so new lines stay in view as the value is replaced. The ``<pre>`` must not
    shrink (``flex:none``), or it becomes the scrolled element and shows its first lines.
    """
    if not build.tail:
        return ""
    lines = []
    for stream, text in build.tail:
        style = STREAM_STYLE.get(stream)
        escaped = html.escape(text)
        lines.append(f'<span style="{style}">{escaped}</span>' if style else escaped)
    return ('<div style="max-height:16em;overflow:auto;display:flex;'
            'flex-direction:column-reverse">'
            '<pre style="flex:none;font-size:85%;margin:0;white-space:pre-wrap">'
            + "\n".join(lines) + "</pre></div>")


def set_changed(changes: list[tuple[widgets.Widget, str, Any]]) -> int:
    """Set the traits whose value differs, with one comm message per widget, and count them."""
    changed = [(widget, trait, value) for widget, trait, value in changes
               if getattr(widget, trait) != value]
    if not changed:
        return 0
    with contextlib.ExitStack() as stack:
        holding: set[int] = set()
        for widget, _trait, _value in changed:
            if id(widget) not in holding:
                holding.add(id(widget))
                stack.enter_context(widget.hold_sync())
        for widget, trait, value in changed:
            setattr(widget, trait, value)
    return len(changed)


class BuildPanel:
    """The widgets of one build: title, progress bar, step table and log tail."""

    def __init__(self, name: str):
        self.name = name
        self.title = widgets.HTML()
        self.title.add_class("nbdocker-title")
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                         layout=widgets.Layout(width="100%"))
        self.bar.add_class("nbdocker-progress")
        self.steps = widgets.HTML()
        self.tail = widgets.HTML()
        self.tail.add_class("nbdocker-log")
        self.box = widgets.VBox([self.title, self.bar, self.steps, self.tail])
        self.box.add_class("nbdocker-build")

    def changes(self, build: BuildState, now: float, *, final: bool = False
                ) -> list[tuple[widgets.Widget, str, Any]]:
        """Return the (widget, trait, value) triples that show the build's current state.

        With ``final``, the step table is left empty because the static summary under the
        view shows it. The title, the bar and the output tail stay.
        """
        status = build.status
        return [
            (self.title, "value", build_title_html(build, now)),
            (self.bar, "value", 1.0 if status == "ok" else build.progress),
            (self.bar, "bar_style", BAR_STYLE.get(status, "info")),
            (self.steps, "value", "" if final else steps_table_html(build, now)),
            (self.tail, "value", tail_html(build)),
        ]


class BuildRoot(widgets.VBox):
    """The view's outer box, whose text form is a one-line status instead of a widget repr.

    Frontends without the widget JavaScript show ``text/plain``, which for a plain VBox is
    ``VBox(children=(...))``.
    """

    def __init__(self, describe: Callable[[], str], **kwargs: Any):
        super().__init__(**kwargs)
        self._describe = describe

    def __repr__(self) -> str:
        return self._describe()


class BuildView:
    """Consume build events and keep a live widget view of them up to date.

    Call ``handle(event)`` for every event and ``close()`` at the end, or use the view as a
    context manager, which closes it on exit. ``close()`` after an exception marks the run
    interrupted, so the view never stays in its running state.

    Parameters
    ----------
    tail_lines
        How many output lines each build panel shows; 0 hides the output.
    max_redraws
        Redraws a second at most; events in between only update the state.
    display
        The function that shows a widget or object; IPython's ``display`` by default.

    Examples
    --------
    >>> with BuildView(tail_lines=20) as view:  # doctest: +SKIP
    ...     nbdocker.build("template.json", view=view.handle)
    """

    def __init__(self, *, tail_lines: int = 40, max_redraws: float = 10.0,
                 display: Callable[[object], object] | None = None):
        self.state = RunState(tail_lines=tail_lines)
        self.throttle = Throttle(max_redraws)
        self._custom_display = display
        self._displayed = False
        self._handle = None
        self.header = widgets.HTML()
        self.header.add_class("nbdocker-header")
        self.panels: dict[str, BuildPanel] = {}
        self.panel_box = widgets.VBox()
        self.root = BuildRoot(self.describe, children=[self.header, self.panel_box])
        self.root.add_class("nbdocker-view")
        self.summary: BuildSummary | None = None
        self.redraws = 0

    def __enter__(self) -> BuildView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _show(self, obj: object):
        if self._custom_display is not None:
            self._custom_display(obj)
            return None
        return ipython_display(obj, display_id=True)

    def describe(self) -> str:
        """Return the run's status in one line: the widget's text form."""
        state = self.state
        builds = ", ".join(f"{build.name} {build.status}" for build in state.builds.values())
        return f"nbdocker build {state.status}" + (f": {builds}" if builds else "")

    def handle(self, event: Event) -> None:
        """Apply one event, then redraw if the throttle allows it or a build or the run ended."""
        self.state.apply(event)
        if not self._displayed:
            self.redraw()
            self._handle = self._show(self.root)
            self._displayed = True
            return
        # NOTE: a change the throttle holds back is drawn by the next event or by close().
        # The runner sends no events while a step prints nothing, so until then the screen
        # can miss the changes of the last 1/max_redraws seconds.
        if isinstance(event, MILESTONES):
            self.redraw()
        elif self.throttle.request():
            self.redraw()

    def redraw(self) -> None:
        """Draw the header and every panel from the current state."""
        self.redraws += 1
        now = time.time()
        changes = [(self.header, "value", self._header_html())]
        for name, build in self.state.builds.items():
            if name not in self.panels:
                self.panels[name] = BuildPanel(name)
                self.panel_box.children = tuple(p.box for p in self.panels.values())
            changes += self.panels[name].changes(build, now, final=self.summary is not None)
        set_changed(changes)

    def _header_html(self) -> str:
        state = self.state
        parts = [status_html(state.status)]
        if state.finished is not None:
            parts.append(f"in {html.escape(human_duration(state.finished.duration))}")
        if state.log_path:
            parts.append(f"full log ({state.lines} lines): "
                         f"<code>{html.escape(state.log_path)}</code>")
        # The HTML widget's line height is one widget row (28 px), so a wrapped header would
        # look double-spaced without this.
        header = f'<div style="line-height:1.5">{" · ".join(parts)}</div>'
        for warning in state.warnings:
            header += f'<div style="color:#ef6c00">Warning: {html.escape(warning)}</div>'
        for message in state.messages:
            header += f"<div>{html.escape(message)}</div>"
        return header

    def close(self) -> BuildSummary:
        """Draw the final state, display the static summary and return it.

        A run that did not reach its end (no RunFinished) is shown as interrupted. Closing
        again returns the same summary without displaying it twice. A view that never received
        an event displays nothing.
        """
        if self.summary is not None:
            return self.summary
        self.summary = BuildSummary(self.state)
        if not self._displayed:
            return self.summary
        self.state.interrupt()
        self.redraw()  # the last one: the summary takes over the step tables
        if self._handle is not None:
            # Re-send the output so that its text/plain fallback states the outcome.
            self._handle.update(self.root)
        self._show(self.summary)
        return self.summary
