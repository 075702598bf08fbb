"""Tables of images and search results: static HTML and text, plus a sortable, filterable widget.

A table object is a sequence of row dataclasses. In a notebook kernel it renders as an
ipywidgets table: a filter box and a sort menu over an HTML table. The same output also
carries the static HTML and plain text, so a saved notebook shows the table where the widget
JavaScript is missing (GitHub, nbconvert). Anywhere else it renders as HTML or text only.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterable, Sequence

MAX_HTML_ROWS = 500


# ---------------------------------------------------------------------------------------------
# Helpers that the other views share.

def widgets_available() -> bool:
    """Return True inside a Jupyter kernel with ipywidgets importable."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def human_size(size: int | float | None) -> str:
    """Format bytes with decimal units as the docker CLI does: 1.98MB, 117MB, 527B."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}PB"


def human_age(moment: datetime | float | int | None, now: float | None = None) -> str:
    """Format how long ago ``moment`` was, with the docker CLI's thresholds: "3 minutes ago"."""
    if moment is None:
        return ""
    stamp = moment.timestamp() if isinstance(moment, datetime) else float(moment)
    seconds = max(0.0, (time.time() if now is None else now) - stamp)
    return f"{_human_duration(seconds)} ago"


def _human_duration(seconds: float) -> str:
    minutes, hours = int(seconds / 60), round(seconds / 3600)
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def _escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------------------------------------
# Rows.

@dataclass(frozen=True)
class ImageRow:
    """One row of ``docker images``: a local image under one repository:tag.

    ``id`` is the full ``sha256:...`` id; ``created`` is a UTC datetime; ``size`` is bytes.
    """

    repository: str
    tag: str
    id: str
    created: datetime
    size: int
    digest: str = ""

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the id, as ``docker images`` shows it."""
        return self.id.split(":", 1)[-1][:12]

    @property
    def reference(self) -> str:
        """``repository:tag``, or the short id for an untagged image."""
        if self.repository == "<none>":
            return self.short_id
        return f"{self.repository}:{self.tag}"

    @classmethod
    def from_summaries(cls, summaries: Iterable[dict[str, Any]]) -> list[ImageRow]:
        """Return one row per tag of each engine ImageSummary (``GET /images/json``)."""
        rows = []
        for summary in summaries:
            created = datetime.fromtimestamp(int(summary.get("Created") or 0), tz=timezone.utc)
            digests = summary.get("RepoDigests") or []
            tags = [t for t in (summary.get("RepoTags") or []) if t != "<none>:<none>"]
            for repo_tag in tags or ["<none>:<none>"]:
                repository, _, tag = repo_tag.rpartition(":")
                digest = next((d.split("@", 1)[1] for d in digests
                               if d.split("@", 1)[0] == repository), "")
                rows.append(cls(repository, tag, str(summary.get("Id", "")), created,
                                int(summary.get("Size") or 0), digest))
        return rows


@dataclass(frozen=True)
class SearchHit:
    """One result of an index search (``docker search``)."""

    name: str
    description: str = ""
    stars: int = 0
    official: bool = False
    automated: bool = False

    @classmethod
    def from_results(cls, results: Iterable[dict[str, Any]]) -> list[SearchHit]:
        """Return rows from the engine's ``GET /images/search`` response."""
        return [cls(str(r.get("name", "")), str(r.get("description") or ""),
                    int(r.get("star_count") or 0), bool(r.get("is_official")),
                    bool(r.get("is_automated"))) for r in results]


@dataclass(frozen=True)
class RepositoryHit:
    """One repository found in a registry catalog, with its tags."""

    registry: str
    name: str
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reference(self) -> str:
        """``HOST:PORT/NAME``, as ``docker pull`` takes it."""
        return f"{self.registry}/{self.name}"


# ---------------------------------------------------------------------------------------------
# Tables.

@dataclass(frozen=True)
class Column:
    """A table column: the attribute of the rows it shows, and how it formats and sorts it.

    ``text`` formats the value for both HTML (escaped) and plain text. ``sort`` turns the raw
    value into a sort key, and the raw value is the key when it is None. ``width`` truncates
    plain text.
    """

    key: str
    title: str
    text: Callable[[Any], str] = str
    sort: Callable[[Any], Any] | None = None
    align: str = "left"
    width: int | None = None


class Table(Sequence):
    """A displayable, sortable, filterable sequence of rows; subclasses set ``columns``."""

    columns: ClassVar[list[Column]] = []
    default_sort: ClassVar[tuple[str, bool]] = ("", False)
    empty_text: ClassVar[str] = "No rows."

    def __init__(self, rows: Iterable[Any], *, title: str = "", note: str = ""):
        self.rows = list(rows)
        self.title = title
        self.note = note

    def __getitem__(self, index):  # type: ignore[override]
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and self.rows == other.rows

    __hash__ = None  # type: ignore[assignment]

    # -- filtering and sorting -------------------------------------------------------------------

    def cell(self, row: Any, column: Column) -> str:
        """Return the formatted text of one cell."""
        return column.text(getattr(row, column.key))

    def filter(self, text: str) -> list[Any]:
        """Return the rows where any cell contains ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        if not needle:
            return list(self.rows)
        return [row for row in self.rows
                if any(needle in self.cell(row, column).lower() for column in self.columns)]

    def sort(self, rows: Iterable[Any], key: str, descending: bool = False) -> list[Any]:
        """Return ``rows`` sorted by the column named ``key``."""
        column = next((c for c in self.columns if c.key == key), None)
        if column is None:
            return list(rows)
        to_key = column.sort or (lambda value: value)
        return sorted(rows, key=lambda row: to_key(getattr(row, key)), reverse=descending)

    def view(self, filter_text: str = "", key: str | None = None,
             descending: bool | None = None) -> list[Any]:
        """Return the rows filtered by ``filter_text`` and sorted (the default sort when None)."""
        default_key, default_descending = self.default_sort
        return self.sort(self.filter(filter_text), key or default_key,
                         default_descending if descending is None else descending)

    # -- static rendering ------------------------------------------------------------------------

    def to_html(self, rows: list[Any] | None = None, max_rows: int = MAX_HTML_ROWS) -> str:
        """Return an HTML table of ``rows`` (all rows in the default order when None)."""
        rows = self.view() if rows is None else rows
        parts = ['<div class="nbdocker-table">']
        if self.title:
            parts.append(f"<p><b>{_escape(self.title)}</b></p>")
        if not rows:
            parts.append(f"<p><i>{_escape(self.empty_text)}</i></p>")
        else:
            header = "".join(f'<th style="text-align:{c.align}">{_escape(c.title)}</th>'
                             for c in self.columns)
            body = []
            for row in rows[:max_rows]:
                cells = "".join(
                    f'<td style="text-align:{c.align}">{_escape(self.cell(row, c))}</td>'
                    for c in self.columns)
                body.append(f"<tr>{cells}</tr>")
            parts.append(f"<table><thead><tr>{header}</tr></thead>"
                         f"<tbody>{''.join(body)}</tbody></table>")
            if len(rows) > max_rows:
                parts.append(
                    f"<p><i>Showing {max_rows} of {len(rows)} rows; filter to narrow.</i></p>")
        if self.note:
            parts.append(f"<p><i>{_escape(self.note)}</i></p>")
        parts.append("</div>")
        return "".join(parts)

    def to_text(self, rows: list[Any] | None = None) -> str:
        """Return the rows as aligned plain-text columns, like the docker CLI prints them."""
        rows = self.view() if rows is None else rows
        lines = [self.title] if self.title else []
        if not rows:
            lines.append(self.empty_text)
        else:
            grid = [[c.title.upper() for c in self.columns]]
            for row in rows:
                grid.append([_truncate(self.cell(row, c), c.width) for c in self.columns])
            widths = [max(len(line[i]) for line in grid) for i in range(len(self.columns))]
            for line in grid:
                cells = [cell.rjust(w) if c.align == "right" else cell.ljust(w)
                         for cell, w, c in zip(line, widths, self.columns)]
                lines.append("   ".join(cells).rstrip())
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self.to_text(), "text/html": self.to_html()}
        if widgets_available():
            view = self.widget()._repr_mimebundle_()
            widget_type = "application/vnd.jupyter.widget-view+json"
            if widget_type in view:
                bundle[widget_type] = view[widget_type]
        return bundle

    # -- widget ----------------------------------------------------------------------------------

    def widget(self):
        """Return an ipywidgets box: a filter text, a sort menu and the HTML table."""
        import ipywidgets as widgets

        default_key, default_descending = self.default_sort
        options = []
        for column in self.columns:
            options.append((f"{column.title} ↑", (column.key, False)))
            options.append((f"{column.title} ↓", (column.key, True)))
        sort_menu = widgets.Dropdown(options=options, value=(default_key, default_descending),
                                     description="Sort by", layout=widgets.Layout(width="220px"))
        filter_box = widgets.Text(placeholder="type to filter rows", description="Filter",
                                  layout=widgets.Layout(width="280px"))
        count = widgets.HTML()
        table = widgets.HTML()

        def refresh(_change: object = None) -> None:
            key, descending = sort_menu.value
            rows = self.view(filter_box.value, key, descending)
            with table.hold_sync(), count.hold_sync():
                table.value = self.to_html(rows)
                count.value = f"<span>{len(rows)} of {len(self.rows)} rows</span>"

        refresh()
        filter_box.observe(refresh, names="value")
        sort_menu.observe(refresh, names="value")
        box = widgets.VBox([widgets.HBox([filter_box, sort_menu, count]), table])
        box.add_class("nbdocker-table")
        return box


def _truncate(text: str, width: int | None) -> str:
    text = " ".join(text.split())
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _created_sort(value: datetime) -> float:
    return value.timestamp()


class ImageTable(Table):
    """Local images, one row per repository:tag (``docker images``)."""

    columns = [
        Column("repository", "Repository"),
        Column("tag", "Tag"),
        Column("short_id", "Image ID"),
        Column("created", "Created", text=human_age, sort=_created_sort),
        Column("size", "Size", text=human_size, align="right"),
    ]
    default_sort = ("created", True)
    empty_text = "No images."


class SearchTable(Table):
    """Results of an index search (``docker search``), most stars first."""

    columns = [
        Column("name", "Name"),
        Column("description", "Description", width=45),
        Column("stars", "Stars", align="right"),
        Column("official", "Official", text=lambda value: "[OK]" if value else ""),
        Column("automated", "Automated", text=lambda value: "[OK]" if value else ""),
    ]
    default_sort = ("stars", True)
    empty_text = "No matches."


class RegistrySearchTable(Table):
    """Repositories of a registry catalog whose name matched, with their tags."""

    columns = [
        Column("reference", "Repository"),
        Column("tags", "Tags", text=lambda tags: ", ".join(tags), sort=len),
    ]
    default_sort = ("reference", False)
    empty_text = "No matching repositories."
