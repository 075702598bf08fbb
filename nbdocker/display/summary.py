"""The static summary of a run: HTML and plain text that read well in a saved notebook.

The live widget view draws its step tables with the same functions, so the page looks the
same before and after the widget JavaScript is gone (GitHub, nbconvert, a reopened notebook
whose widget state was not saved).
"""

from __future__ import annotations

import html
import time

from .state import BuildState, RunState, StepState

STATUS_MARK = {"ok": "✔", "failed": "✘", "interrupted": "■", "cached": "↺", "skipped": "–",
               "pending": "·", "running": "…"}
STATUS_COLOR = {"ok": "#2e7d32", "failed": "#c62828", "interrupted": "#c62828",
                "cached": "#1565c0", "skipped": "#757575", "pending": "#757575",
                "running": "#ef6c00"}
GREY = "#757575"


def human_duration(seconds: float) -> str:
    """Format seconds as Packer does: ``1 minute 2 seconds``, ``950 milliseconds``."""
    if seconds < 1:
        return f"{int(seconds * 1000)} milliseconds"
    minutes, rest = divmod(int(round(seconds)), 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def status_html(status: str) -> str:
    """Return a colored mark and word for a status, with the class ``nbdocker-status-<status>``."""
    return (f'<span class="nbdocker-status nbdocker-status-{html.escape(status)}" '
            f'style="color:{STATUS_COLOR.get(status, GREY)}">'
            f'{STATUS_MARK.get(status, "")} {html.escape(status)}</span>')


def step_row_html(step: StepState, now: float) -> str:
    """Return one ``<tr>`` of a step table: mark, name, seconds, note."""
    color = STATUS_COLOR.get(step.status, GREY)
    cell = "padding:0 0.5em"
    return (f'<tr class="nbdocker-step nbdocker-step-{html.escape(step.status)}">'
            f'<td style="{cell};color:{color}" title="{html.escape(step.status)}">'
            f'{STATUS_MARK.get(step.status, "")}</td>'
            f'<td style="{cell};text-align:left"><code>{html.escape(step.name)}</code></td>'
            f'<td style="{cell};text-align:right">{step.elapsed(now):.1f}s</td>'
            f'<td style="{cell};text-align:left">{html.escape(step.note)}</td></tr>')


def steps_table_html(build: BuildState, now: float) -> str:
    """Return the table of a build's steps, or an empty string when it has none yet."""
    if not build.steps:
        return ""
    rows = "".join(step_row_html(step, now) for step in build.steps.values())
    # The line height is set because the HTML widget's default (one widget row, 28 px) would
    # spread the rows apart.
    return (f'<table class="nbdocker-steps" style="font-size:90%;line-height:1.5;'
            f'border-collapse:collapse">{rows}</table>')


def build_title_html(build: BuildState, now: float) -> str:
    """Return a build's headline: name, status, elapsed time and cache or layer notes."""
    parts = [f"<b>{html.escape(build.name)}</b>", status_html(build.status),
             html.escape(human_duration(build.elapsed(now)))]
    if build.cached_steps:
        parts.append(f"{build.cached_steps} cached")
    layers = build.layer_summary()
    if layers and not build.done:
        parts.append(html.escape(layers))
    return " · ".join(parts)


class BuildSummary:
    """A run shown without widgets: steps, durations, errors and artifacts.

    Displayed, it renders as HTML in a notebook and as text in a terminal or wherever only
    ``text/plain`` is shown.
    """

    def __init__(self, state: RunState):
        self.state = state

    @property
    def ok(self) -> bool:
        """True when every build succeeded."""
        return self.state.status == "ok"

    def _repr_html_(self) -> str:
        state = self.state
        now = time.time()
        color = STATUS_COLOR.get(state.status, GREY)
        parts = [f'<div class="nbdocker-summary" style="border-left:4px solid {color};'
                 f'padding:4px 8px">',
                 f'<div>Run {status_html(state.status)}</div>']
        for warning in state.warnings:
            parts.append(f'<div style="color:#ef6c00">Warning: {html.escape(warning)}</div>')
        for build in state.builds.values():
            parts.append(f"<div>{build_title_html(build, now)}</div>")
            parts.append(steps_table_html(build, now))
            for warning in build.warnings:
                parts.append(f'<div style="color:#ef6c00">Warning: {html.escape(warning)}</div>')
            if build.error:
                parts.append(f'<pre style="color:#c62828;white-space:pre-wrap">'
                             f'{html.escape(build.error)}</pre>')
        if state.artifacts:
            parts.append("<div>Artifacts:<ul>")
            for artifact in state.artifacts:
                parts.append(f"<li><b>{html.escape(artifact.build)}</b>: "
                             f"<code>{html.escape(artifact.describe())}</code></li>")
            parts.append("</ul></div>")
        if state.log_path:
            parts.append(f'<div style="color:{GREY}">Full log ({state.lines} lines): '
                         f'<code>{html.escape(state.log_path)}</code></div>')
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self, *, artifacts: bool = True) -> str:
        """Return the summary as plain text; ``artifacts=False`` leaves out the artifact list."""
        state = self.state
        now = time.time()
        lines = [f"Run {state.status}"]
        lines += [f"Warning: {warning}" for warning in state.warnings]
        for build in state.builds.values():
            cached = f", {build.cached_steps} cached" if build.cached_steps else ""
            lines.append(f"{build.name}: {build.status} in "
                         f"{human_duration(build.elapsed(now))}{cached}")
            for step in build.steps.values():
                note = f"  {step.note}" if step.note and step.note != "cached" else ""
                lines.append(f"  {STATUS_MARK.get(step.status, ' ')} {step.name:<40} "
                             f"{step.elapsed(now):6.1f}s  {step.status}{note}")
            lines += [f"  Warning: {warning}" for warning in build.warnings]
            lines += [f"  {line}" for line in build.error.splitlines()]
        if artifacts and state.artifacts:
            lines.append("Artifacts:")
            lines += [f"  --> {a.build}: {a.describe()}" for a in state.artifacts]
        if state.log_path:
            lines.append(f"Full log ({state.lines} lines): {state.log_path}")
        return "\n".join(lines)
