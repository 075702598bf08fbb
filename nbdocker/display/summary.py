"""The static summary of a finished run: HTML and plain text that read well in a saved notebook."""

from __future__ import annotations

import html

from .state import RunState
from .text import human_duration

STATUS_MARK = {"ok": "✔", "failed": "✘", "interrupted": "■", "cached": "↺", "skipped": "–",
               "pending": "·", "running": "…"}
STATUS_COLOR = {"ok": "#2e7d32", "failed": "#c62828", "interrupted": "#c62828",
                "cached": "#1565c0", "skipped": "#757575", "pending": "#757575",
                "running": "#ef6c00"}


class BuildSummary:
    """A finished run shown without widgets: steps, durations, errors and artifacts."""

    def __init__(self, state: RunState):
        self.state = state

    @property
    def ok(self) -> bool:
        """True when every build succeeded."""
        return self.state.status == "ok"

    def _repr_html_(self) -> str:
        state = self.state
        color = STATUS_COLOR.get(state.status, "#757575")
        parts = [f'<div class="nbdocker-summary" style="border-left:4px solid {color};'
                 f'padding:4px 8px">']
        for build in state.builds.values():
            mark = STATUS_MARK.get(build.status, "")
            parts.append(f'<div><b>{html.escape(build.name)}</b> '
                         f'<span style="color:{STATUS_COLOR.get(build.status, "")}">{mark} '
                         f'{html.escape(build.status)}</span> in '
                         f'{html.escape(human_duration(build.duration))}</div>')
            parts.append('<table style="font-size:90%"><tr><th></th><th style="text-align:left">'
                         'step</th><th style="text-align:right">time</th><th></th></tr>')
            for step in build.steps.values():
                note = step.detail if step.status == "failed" else \
                    ("cached" if step.status == "cached" else "")
                if step.attempts > 1:
                    note = f"{note} ({step.attempts} attempts)".strip()
                parts.append(
                    f'<tr><td style="color:{STATUS_COLOR.get(step.status, "")}">'
                    f'{STATUS_MARK.get(step.status, "")}</td>'
                    f'<td style="text-align:left"><code>{html.escape(step.name)}</code></td>'
                    f'<td style="text-align:right">{step.duration:.1f}s</td>'
                    f'<td style="text-align:left">{html.escape(note)}</td></tr>')
            parts.append("</table>")
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
            parts.append(f'<div style="color:#757575">Full log: '
                         f'<code>{html.escape(state.log_path)}</code></div>')
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        state = self.state
        lines = []
        for build in state.builds.values():
            lines.append(f"{build.name}: {build.status} in {human_duration(build.duration)}")
            for step in build.steps.values():
                extra = f"  {step.detail}" if step.status == "failed" and step.detail else ""
                if step.attempts > 1:
                    extra += f"  ({step.attempts} attempts)"
                lines.append(f"  {STATUS_MARK.get(step.status, ' ')} {step.name:<40} "
                             f"{step.duration:6.1f}s  {step.status}{extra}")
            if build.error:
                lines += [f"  {line}" for line in build.error.splitlines()]
        if state.artifacts:
            lines.append("Artifacts:")
            lines += [f"  --> {a.build}: {a.describe()}" for a in state.artifacts]
        if state.log_path:
            lines.append(f"Full log: {state.log_path}")
        return "\n".join(lines)
