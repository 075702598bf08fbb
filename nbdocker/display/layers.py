"""Views of a pull or push (one row per layer) and of a throwaway container's output.

Each view is a callable that takes events (``nbdocker.build.events``), plus ``finish(result)``
and ``fail(error)`` for the end. The widget views redraw at most at ``Throttle``'s rate, inside
``hold_sync``, so each redraw is one message per widget. When the operation ends they shrink to
their status line (green, or red on error) and display a static HTML and text summary. That
summary is what a saved notebook shows where the widget JavaScript is missing. The text views
print status changes for terminals and for notebooks without widgets.
"""

from __future__ import annotations

import functools
import html
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from ..build.events import Event, LayerProgress, LogLine
from ..build.events import Warning as WarningEvent
from .tables import human_size, widgets_available
from .throttle import Throttle

# Statuses after which a layer has nothing left to do.
_PUSH_DONE = ("Pushed", "Layer already exists", "Already exists", "Mounted from")
_PULL_DONE = ("Pull complete", "Already exists")
_PULL_DOWNLOADED = ("Verifying Checksum", "Download complete")

_GREEN, _RED, _BLUE, _GREY = "#2e7d32", "#c62828", "#1976d2", "#e0e0e0"


def _state_color(failed: bool, finished: bool, running: str = _BLUE) -> str:
    """Return red for a failure, green when finished, else the ``running`` color."""
    if failed:
        return _RED
    if finished:
        return _GREEN
    return running


class View(Protocol):
    """The interface publish functions call: the view for each event, then finish or fail once."""

    def __call__(self, event: Event) -> None: ...

    def finish(self, result: Any) -> None: ...

    def fail(self, error: BaseException) -> None: ...


# ---------------------------------------------------------------------------------------------
# The model that both layer views draw.

@dataclass
class LayerState:
    """The state of one layer: the engine's status, bytes, and progress from 0 to 1.

    For a pull, ``download`` and ``extract`` each count half of the layer's progress.
    """

    status: str = ""
    current: int | None = None
    total: int | None = None
    download: float = 0.0
    extract: float = 0.0

    def fraction(self, operation: str) -> float:
        """Return this layer's progress from 0 to 1."""
        if operation == "pull":
            return (self.download + self.extract) / 2
        return self.download

    def bytes_text(self) -> str:
        """Return "1.2MB / 2MB", or only the current count when the total is missing or smaller."""
        if self.current is None:
            return ""
        # The engine counts compressed bytes against an uncompressed total on push, so current
        # can exceed total. The total is then meaningless and only the count is shown.
        if self.total and self.current <= self.total:
            return f"{human_size(self.current)} / {human_size(self.total)}"
        return human_size(self.current)


def _ratio(current: int | None, total: int | None) -> float:
    if current is None or not total:
        return 0.0
    return min(1.0, current / total)


class LayerBoard:
    """Per-layer state of one pull or push, in the order the engine first named each layer."""

    def __init__(self, operation: str, reference: str, log_lines: int = 5):
        self.operation = operation
        self.reference = reference
        self.layers: dict[str, LayerState] = {}
        self.messages: deque[str] = deque(maxlen=log_lines)
        self.digest = ""
        self.status = ""
        self.error = ""
        self.finished = False

    @property
    def verb(self) -> str:
        """The present participle of the operation: "Pulling" or "Pushing"."""
        return "Pulling" if self.operation == "pull" else "Pushing"

    def apply(self, event: Event) -> bool:
        """Update the board from one event; return True if anything visible changed."""
        if isinstance(event, LayerProgress):
            return self._apply_layer(event)
        if isinstance(event, LogLine):
            self.messages.append(event.text)
            return True
        if isinstance(event, WarningEvent):
            self.messages.append(f"warning: {event.message}")
            return True
        return False

    def _apply_layer(self, event: LayerProgress) -> bool:
        layer = self.layers.setdefault(event.layer, LayerState())
        status = event.status
        layer.status, layer.current, layer.total = status, event.current, event.total
        if self.operation == "pull":
            if status.startswith("Downloading"):
                layer.download = _ratio(event.current, event.total)
            elif status.startswith(_PULL_DOWNLOADED):
                layer.download = 1.0
            elif status.startswith("Extracting"):
                layer.download, layer.extract = 1.0, _ratio(event.current, event.total)
            elif status.startswith(_PULL_DONE):
                layer.download = layer.extract = 1.0
        elif status.startswith("Pushing"):
            layer.download = _ratio(event.current, event.total)
        elif status.startswith(_PUSH_DONE):
            layer.download = 1.0
        return True

    def finish(self, digest: str = "", status: str = "") -> None:
        """Mark the operation done, with the manifest digest and the engine's closing status."""
        self.finished = True
        self.digest = digest or self.digest
        self.status = status

    def fail(self, message: str) -> None:
        """Mark the operation failed with ``message``."""
        self.error = message or "failed"

    def fraction(self) -> float:
        """Overall progress from 0 to 1: the mean of the layers' progress."""
        if not self.layers:
            return 1.0 if self.finished else 0.0
        total = sum(layer.fraction(self.operation) for layer in self.layers.values())
        return total / len(self.layers)

    def done_count(self) -> int:
        """Number of layers with nothing left to do."""
        done = _PULL_DONE if self.operation == "pull" else _PUSH_DONE
        return sum(1 for layer in self.layers.values() if layer.status.startswith(done))

    def headline(self) -> str:
        """Return one line: the operation, the reference, and how it ended."""
        if self.error:
            return f"{self.verb} {self.reference} failed"
        if self.finished:
            done = "Pulled" if self.operation == "pull" else "Pushed"
            return f"{done} {self.reference}"
        return f"{self.verb} {self.reference}"

    def progress_text(self) -> str:
        """Return the overall progress as text: "2 of 3 layers done, 67%"."""
        if not self.layers:
            return "no layers transferred" if self.finished else "starting"
        return (f"{self.done_count()} of {len(self.layers)} layers done, "
                f"{round(self.fraction() * 100)}%")

    def closing_text(self) -> str:
        """Return the line under the bar: the error, the digest, or the engine's last message."""
        if self.error:
            return self.error
        if self.finished:
            parts = [f"digest {self.digest}" if self.digest else "", self.status]
            return "; ".join(part for part in parts if part)
        return self.messages[-1] if self.messages else ""

    # -- rendering -------------------------------------------------------------------------------

    def rows_html(self) -> str:
        """Return the per-layer rows as an HTML table with a small bar in each row."""
        if not self.layers:
            return ""
        color = _state_color(bool(self.error), self.finished)
        body = []
        for layer_id, layer in self.layers.items():
            percent = round(layer.fraction(self.operation) * 100)
            bar = (f'<div style="display:inline-block;width:120px;height:8px;background:{_GREY}">'
                   f'<div style="width:{percent}%;height:8px;background:{color}"></div></div>')
            body.append(
                f'<tr><td style="font-family:monospace">{html.escape(layer_id)}</td>'
                f"<td>{html.escape(layer.status)}</td><td>{bar}</td>"
                f'<td style="text-align:right">{html.escape(layer.bytes_text())}</td></tr>'
            )
        return f'<table class="nbdocker-layer-rows">{"".join(body)}</table>'

    def to_html(self) -> str:
        """Return the static summary: headline, layer rows, overall bar and closing line."""
        color = _state_color(bool(self.error), self.finished)
        percent = round(self.fraction() * 100)
        return (
            f'<div class="nbdocker-layers-summary">'
            f'<p style="color:{color}"><b>{html.escape(self.headline())}</b></p>'
            f"{self.rows_html()}"
            f'<div style="width:300px;height:10px;background:{_GREY}">'
            f'<div style="width:{percent}%;height:10px;background:{color}"></div></div>'
            f"<p>{html.escape(self.progress_text())}</p>"
            f'<p style="font-family:monospace;color:{color}">{html.escape(self.closing_text())}</p>'
            f"</div>"
        )

    def to_text(self) -> str:
        """Return the static summary as plain text, one line per layer."""
        lines = [self.headline()]
        for layer_id, layer in self.layers.items():
            lines.append(f"  {layer_id}: {layer.status} {layer.bytes_text()}".rstrip())
        lines.append(f"  {self.progress_text()}")
        closing = self.closing_text()
        if closing:
            lines.append(f"  {closing}")
        return "\n".join(lines)


class Summary:
    """A static snapshot that renders as HTML in notebooks and as text elsewhere."""

    def __init__(self, html_text: str, plain_text: str):
        self._html = html_text
        self._text = plain_text

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._text


@functools.cache
def _view_box_class() -> type:
    """Return a VBox whose plain-text form is a label, like tqdm's TqdmHBox.

    The text/plain of a widget's output is what a saved notebook shows where the widget
    JavaScript is missing, and for a plain VBox that is its children's reprs.
    """
    import ipywidgets as widgets

    class ViewBox(widgets.VBox):
        label = ""

        def __repr__(self) -> str:
            return self.label or super().__repr__()

    return ViewBox


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def _failure_text(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Layer views.

class LayersWidget:
    """Live ipywidgets view of a pull or push: a row per layer, an overall bar, the digest."""

    def __init__(self, operation: str, reference: str, *, max_per_second: float = 10.0):
        import ipywidgets as widgets

        self.board = LayerBoard(operation, reference)
        self.throttle = Throttle(max_per_second)
        self.header = widgets.HTML()
        self.rows = widgets.HTML()
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info")
        self.bar.add_class("nbdocker-progress")
        self.label = widgets.HTML()
        self.footer = widgets.HTML()
        self.box = _view_box_class()([self.header, self.rows, widgets.HBox([self.bar, self.label]),
                                      self.footer])
        self.box.label = self.board.headline()
        self.box.add_class("nbdocker-layers")
        self._shown = False

    def __call__(self, event: Event) -> None:
        if self.board.apply(event) and self.throttle.request():
            self._draw()

    def finish(self, result: Any) -> None:
        self.board.finish(getattr(result, "digest", ""), getattr(result, "status", ""))
        self._close("success")

    def fail(self, error: BaseException) -> None:
        self.board.fail(_failure_text(error))
        self._close("danger")

    def _close(self, bar_style: str) -> None:
        self.throttle.flush()
        self._draw(collapsed=True)
        self.bar.bar_style = bar_style
        _display(Summary(self.board.to_html(), self.board.to_text()))

    def _draw(self, collapsed: bool = False) -> None:
        if not self._shown:
            _display(self.box)
            self._shown = True
        board = self.board
        color = _state_color(bool(board.error), board.finished, running="inherit")
        with self.header.hold_sync(), self.rows.hold_sync(), self.bar.hold_sync(), \
                self.label.hold_sync(), self.footer.hold_sync():
            self.header.value = f'<b style="color:{color}">{html.escape(board.headline())}</b>'
            # NB: when the operation ends the rows move into the static summary below the
            # widget; keeping them here too would show every layer twice.
            self.rows.value = "" if collapsed else board.rows_html()
            self.bar.value = board.fraction()
            self.label.value = html.escape(board.progress_text())
            self.footer.value = (f'<span style="font-family:monospace;color:{color}">'
                                 f"{html.escape(board.closing_text())}</span>")


class LayersText:
    """Plain-text view of a pull or push: a line per layer status change, then a summary line.

    Byte counts are left out while the operation runs, as the docker CLI does without a
    terminal, so the output stays a few lines per layer.
    """

    def __init__(self, operation: str, reference: str, stream: TextIO | None = None):
        self.board = LayerBoard(operation, reference)
        self.stream = stream
        self._last_status: dict[str, str] = {}
        self._started = False

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def __call__(self, event: Event) -> None:
        if not self._started:
            self._print(self.board.headline())
            self._started = True
        self.board.apply(event)
        if isinstance(event, LayerProgress):
            if self._last_status.get(event.layer) != event.status:
                self._last_status[event.layer] = event.status
                self._print(f"{event.layer}: {event.status}")
        elif isinstance(event, LogLine):
            self._print(event.text)
        elif isinstance(event, WarningEvent):
            self._print(f"warning: {event.message}")

    def finish(self, result: Any) -> None:
        self.board.finish(getattr(result, "digest", ""), getattr(result, "status", ""))
        closing = self.board.closing_text()
        self._print(f"{self.board.headline()}" + (f": {closing}" if closing else ""))

    def fail(self, error: BaseException) -> None:
        # The error itself reaches the user as the cell's or the program's error message.
        self.board.fail(_failure_text(error))


def layers_view(operation: str, reference: str, *, widget: bool | None = None) -> View:
    """Return the widget view inside a notebook kernel, else the text view.

    ``widget`` forces one or the other.
    """
    use_widget = widgets_available() if widget is None else widget
    if use_widget:
        return LayersWidget(operation, reference)
    return LayersText(operation, reference)


# ---------------------------------------------------------------------------------------------
# Container output views.

class OutputBoard:
    """The bounded tail of a container's output and how the container ended."""

    def __init__(self, image: str, command: str, tail: int = 200):
        self.image = image
        self.command = command
        self.lines: deque[tuple[str, str]] = deque(maxlen=tail)
        self.line_count = 0
        self.exit_code: int | None = None
        self.log_path = ""
        self.error = ""

    def apply(self, event: Event) -> bool:
        """Add a LogLine to the tail; return True if it was one."""
        if not isinstance(event, LogLine):
            return False
        self.lines.append((event.stream, event.text))
        self.line_count += 1
        return True

    def headline(self) -> str:
        """Return "Running COMMAND in IMAGE", or how the run ended."""
        what = f"{self.command} in {self.image}" if self.command else self.image
        if self.error:
            return f"Running {what} failed"
        if self.exit_code is None:
            return f"Running {what}"
        return f"Ran {what}: exit status {self.exit_code}"

    def status_text(self) -> str:
        """Return the line count, where the full output is, and the error if any."""
        parts = [f"{self.line_count} lines of output"]
        if self.line_count > len(self.lines):
            parts.append(f"last {len(self.lines)} shown")
        if self.log_path:
            parts.append(f"full output in {self.log_path}")
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)

    def failed(self) -> bool:
        """Return True when the run raised or the command exited non-zero."""
        return bool(self.error) or bool(self.exit_code)

    def tail_html(self, max_lines: int | None = None) -> str:
        """Return the tail as a <pre> block, stderr lines in red."""
        lines = list(self.lines)[-max_lines:] if max_lines else list(self.lines)
        if not lines:
            return ""
        text = "\n".join(
            f'<span style="color:{_RED}">{html.escape(line)}</span>' if stream == "stderr"
            else html.escape(line) for stream, line in lines)
        return f'<pre style="max-height:24em;overflow:auto;margin:0">{text}</pre>'

    def to_html(self) -> str:
        """Return the static summary: headline, output tail and status line."""
        color = _RED if self.failed() else _GREEN
        return (f'<div class="nbdocker-run-summary">'
                f'<p style="color:{color}"><b>{html.escape(self.headline())}</b></p>'
                f"{self.tail_html()}<p><i>{html.escape(self.status_text())}</i></p></div>")

    def to_text(self) -> str:
        """Return the static summary as plain text."""
        lines = [self.headline(), *(line for _, line in self.lines), self.status_text()]
        return "\n".join(lines)


class ContainerOutputWidget:
    """Live ipywidgets view of a throwaway container: the last lines of its output."""

    def __init__(self, image: str, command: str = "", *, tail: int = 200, screen_lines: int = 40,
                 max_per_second: float = 10.0):
        import ipywidgets as widgets

        self.board = OutputBoard(image, command, tail)
        self.screen_lines = screen_lines
        self.throttle = Throttle(max_per_second)
        self.header = widgets.HTML()
        self.output = widgets.HTML()
        self.footer = widgets.HTML()
        self.box = _view_box_class()([self.header, self.output, self.footer])
        self.box.label = self.board.headline()
        self.box.add_class("nbdocker-run")
        self._shown = False

    def __call__(self, event: Event) -> None:
        if self.board.apply(event) and self.throttle.request():
            self._draw()

    def finish(self, result: Any) -> None:
        self.board.exit_code = getattr(result, "exit_code", None)
        self.board.log_path = getattr(result, "log_path", "") or ""
        self._close()

    def fail(self, error: BaseException) -> None:
        self.board.error = _failure_text(error)
        result = getattr(error, "result", None)
        if result is not None:
            self.board.exit_code = getattr(result, "exit_code", None)
            self.board.log_path = getattr(result, "log_path", "") or ""
            self.board.error = ""
        self._close()

    def _close(self) -> None:
        self.throttle.flush()
        self._draw(collapsed=True)
        _display(Summary(self.board.to_html(), self.board.to_text()))

    def _draw(self, collapsed: bool = False) -> None:
        if not self._shown:
            _display(self.box)
            self._shown = True
        board = self.board
        done = board.exit_code is not None or bool(board.error)
        color = _state_color(done and board.failed(), done, running="inherit")
        with self.header.hold_sync(), self.output.hold_sync(), self.footer.hold_sync():
            self.header.value = f'<b style="color:{color}">{html.escape(board.headline())}</b>'
            # NB: the finished output moves into the static summary below the widget.
            self.output.value = "" if collapsed else board.tail_html(self.screen_lines)
            self.footer.value = f"<i>{html.escape(board.status_text())}</i>"


class ContainerOutputText:
    """Plain-text view of a throwaway container: every line as it arrives, then the status."""

    def __init__(self, image: str, command: str = "", stream: TextIO | None = None,
                 error_stream: TextIO | None = None):
        self.board = OutputBoard(image, command)
        self.stream = stream
        self.error_stream = error_stream

    def __call__(self, event: Event) -> None:
        if self.board.apply(event):
            assert isinstance(event, LogLine)
            if event.stream == "stderr":
                print(event.text, file=self.error_stream or sys.stderr, flush=True)
            else:
                print(event.text, file=self.stream or sys.stdout, flush=True)

    def finish(self, result: Any) -> None:
        self.board.exit_code = getattr(result, "exit_code", None)
        self.board.log_path = getattr(result, "log_path", "") or ""
        print(self.board.headline(), file=self.stream or sys.stdout, flush=True)

    def fail(self, error: BaseException) -> None:
        self.board.error = _failure_text(error)


def output_view(image: str, command: str = "", *, tail: int = 200,
                widget: bool | None = None) -> View:
    """Return the container output widget inside a notebook kernel, else the text view."""
    use_widget = widgets_available() if widget is None else widget
    if use_widget:
        return ContainerOutputWidget(image, command, tail=tail)
    return ContainerOutputText(image, command)
