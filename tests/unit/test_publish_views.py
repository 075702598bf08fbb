"""Views of pushes, pulls, container output and tables: throttling, progress, rendering."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from nbdocker.build.events import LayerProgress, LogLine, Warning as WarningEvent
from nbdocker.display import layers, tables
from nbdocker.display.layers import (
    ContainerOutputText, ContainerOutputWidget, LayerBoard, LayersText, LayersWidget,
)
from nbdocker.display.tables import (
    ImageRow, ImageTable, RegistrySearchTable, RepositoryHit, SearchHit, SearchTable, human_age,
    human_size,
)
from nbdocker.display.throttle import Throttle

DIGEST = "sha256:" + "ef" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def push(layer, status, current=None, total=None):
    return LayerProgress(operation="push", layer=layer, status=status, current=current, total=total)


def pull(layer, status, current=None, total=None):
    return LayerProgress(operation="pull", layer=layer, status=status, current=current, total=total)


@pytest.fixture
def displayed(monkeypatch) -> list:
    """Collect what the views pass to IPython's display()."""
    shown: list = []
    monkeypatch.setattr(layers, "_display", shown.append)
    return shown


class Result:
    def __init__(self, **values):
        self.__dict__.update(values)


# -- Throttle --------------------------------------------------------------------------------

def test_throttle_first_request_draws():
    assert Throttle(10, clock=FakeClock()).request() is True


def test_throttle_limits_rate():
    clock = FakeClock()
    throttle = Throttle(10, clock=clock)
    allowed = 0
    for _ in range(1000):
        allowed += throttle.request()
        clock.now += 0.001
    assert allowed == 10


def test_throttle_flush_reports_pending_change():
    clock = FakeClock()
    throttle = Throttle(10, clock=clock)
    throttle.request()
    throttle.request()
    assert throttle.pending is True
    assert throttle.flush() is True
    assert throttle.flush() is False


def test_throttle_flush_without_change():
    throttle = Throttle(10, clock=FakeClock())
    throttle.request()
    assert throttle.flush() is False


def test_throttle_call_and_finish():
    clock = FakeClock()
    throttle = Throttle(4, clock=clock)
    draws = []
    throttle.call(lambda: draws.append(1))
    throttle.call(lambda: draws.append(2))
    throttle.finish(lambda: draws.append(3))
    assert draws == [1, 3]


def test_throttle_rejects_zero_rate():
    with pytest.raises(ValueError):
        Throttle(0)


# -- LayerBoard ------------------------------------------------------------------------------

def test_board_keeps_first_seen_order():
    board = LayerBoard("push", "r")
    for event in [push("b", "Preparing"), push("a", "Preparing"), push("b", "Pushed")]:
        board.apply(event)
    assert list(board.layers) == ["b", "a"]


def test_board_pull_download_and_extract_are_halves():
    board = LayerBoard("pull", "r")
    board.apply(pull("a", "Downloading", 50, 100))
    assert board.fraction() == pytest.approx(0.25)
    board.apply(pull("a", "Download complete"))
    assert board.fraction() == pytest.approx(0.5)
    board.apply(pull("a", "Extracting", 30, 100))
    assert board.fraction() == pytest.approx(0.65)
    board.apply(pull("a", "Pull complete"))
    assert board.fraction() == pytest.approx(1.0)


def test_board_pull_already_exists_counts_as_done():
    board = LayerBoard("pull", "r")
    board.apply(pull("a", "Already exists"))
    board.apply(pull("b", "Waiting"))
    assert board.fraction() == pytest.approx(0.5)
    assert board.done_count() == 1


def test_board_push_progress_is_mean_of_layers():
    board = LayerBoard("push", "r")
    board.apply(push("a", "Pushing", 25, 100))
    board.apply(push("b", "Layer already exists"))
    assert board.fraction() == pytest.approx(0.625)


def test_board_current_above_total_is_clamped():
    board = LayerBoard("push", "r")
    board.apply(push("a", "Pushing", 2129920, 1984234))
    assert board.fraction() == 1.0
    assert board.layers["a"].bytes_text() == "2.13MB"


def test_board_bytes_text():
    board = LayerBoard("pull", "r")
    board.apply(pull("a", "Downloading", 1_200_000, 2_000_000))
    assert board.layers["a"].bytes_text() == "1.2MB / 2MB"


def test_board_finished_without_layers_is_full():
    board = LayerBoard("pull", "r")
    board.finish(DIGEST, "Image is up to date for r")
    assert board.fraction() == 1.0
    assert board.closing_text() == f"digest {DIGEST}; Image is up to date for r"


def test_board_headlines():
    board = LayerBoard("push", "127.0.0.1:5001/a:1")
    assert board.headline() == "Pushing 127.0.0.1:5001/a:1"
    board.finish(DIGEST)
    assert board.headline() == "Pushed 127.0.0.1:5001/a:1"
    board.fail("authentication required")
    assert board.headline() == "Pushing 127.0.0.1:5001/a:1 failed"


def test_board_log_lines_bounded():
    board = LayerBoard("pull", "r", log_lines=2)
    for index in range(5):
        board.apply(LogLine(text=f"line {index}"))
    assert list(board.messages) == ["line 3", "line 4"]


def test_board_html_escapes():
    board = LayerBoard("push", "<r>")
    board.apply(push("<id>", "<b>Pushing</b>"))
    text = board.to_html()
    assert "<id>" not in text
    assert "&lt;b&gt;Pushing&lt;/b&gt;" in text


def test_board_text_summary():
    board = LayerBoard("push", "r:1")
    board.apply(push("a", "Pushed"))
    board.finish(DIGEST)
    assert board.to_text() == f"Pushed r:1\n  a: Pushed\n  1 of 1 layers done, 100%\n  digest {DIGEST}"


# -- LayersWidget ----------------------------------------------------------------------------

def test_layers_widget_redraw_rate(displayed, monkeypatch):
    clock = FakeClock()
    view = LayersWidget("pull", "r")
    view.throttle = Throttle(10, clock=clock)
    draws = []
    original = view._draw
    monkeypatch.setattr(view, "_draw", lambda collapsed=False: (draws.append(1), original(collapsed)))
    for index in range(500):
        view(pull("a", "Downloading", index, 500))
        clock.now += 0.002
    assert len(draws) == 10  # 500 events over one second
    assert view.box in displayed


def test_layers_widget_success(displayed):
    view = LayersWidget("push", "r:1")
    view(push("a", "Preparing"))
    view(push("a", "Pushed"))
    view.finish(Result(digest=DIGEST, status=""))
    assert view.bar.bar_style == "success"
    assert view.bar.value == 1.0
    assert DIGEST in view.footer.value
    assert view.rows.value == ""
    summary = displayed[-1]
    assert DIGEST in summary._repr_html_()
    assert "a: Pushed" in repr(summary)


def test_layers_widget_error_turns_red_and_stays(displayed):
    view = LayersWidget("push", "r:1")
    view(push("a", "Preparing"))
    view.fail(RuntimeError("authentication required"))
    assert view.bar.bar_style == "danger"
    assert "authentication required" in view.footer.value
    assert view.box.layout.visibility != "hidden"
    assert "failed" in displayed[-1]._repr_html_()


def test_layers_widget_interrupt(displayed):
    view = LayersWidget("pull", "r:1")
    view.fail(KeyboardInterrupt())
    assert "interrupted" in view.footer.value


def test_layers_widget_few_widgets():
    # nbclient keeps every widget model in the saved notebook, so a view creates a fixed few
    # no matter how many layers there are.
    view = LayersWidget("pull", "r")
    for index in range(30):
        view.board.apply(pull(f"layer{index}", "Waiting"))
    assert len(view.box.children) == 4


# -- LayersText ------------------------------------------------------------------------------

def test_layers_text_prints_status_changes_only():
    out = io.StringIO()
    view = LayersText("pull", "r:1", stream=out)
    for event in [LogLine(text="1: Pulling from r"), pull("a", "Pulling fs layer"),
                  pull("a", "Downloading", 1, 10), pull("a", "Downloading", 5, 10),
                  pull("a", "Pull complete"), WarningEvent(message="odd")]:
        view(event)
    view.finish(Result(digest=DIGEST, status="Downloaded newer image for r:1"))
    assert out.getvalue().splitlines() == [
        "Pulling r:1", "1: Pulling from r", "a: Pulling fs layer", "a: Downloading",
        "a: Pull complete", "warning: odd",
        f"Pulled r:1: digest {DIGEST}; Downloaded newer image for r:1"]


def test_layers_view_picks_text_outside_kernel():
    assert isinstance(layers.layers_view("pull", "r"), LayersText)


# -- container output views ------------------------------------------------------------------

def test_output_widget_keeps_bounded_tail(displayed):
    view = ContainerOutputWidget("busybox", "seq 1000", tail=50, screen_lines=10)
    for index in range(1000):
        view(LogLine(text=str(index), stream="stdout"))
    view.finish(Result(exit_code=0, log_path="/tmp/x.log"))
    assert len(view.board.lines) == 50
    summary = displayed[-1]
    assert "999" in summary._repr_html_()
    assert "1000 lines of output; last 50 shown; full output in /tmp/x.log" in repr(summary)


def test_output_widget_stderr_in_red(displayed):
    view = ContainerOutputWidget("busybox")
    view(LogLine(text="oops", stream="stderr"))
    assert "color:#c62828" in view.output.value


def test_output_widget_failure_status(displayed):
    view = ContainerOutputWidget("busybox", "false")
    error = RuntimeError("exit 1")
    error.result = Result(exit_code=1, log_path="")
    view.fail(error)
    assert "exit status 1" in view.header.value
    assert "#c62828" in view.header.value


def test_output_text_routes_streams():
    out, err = io.StringIO(), io.StringIO()
    view = ContainerOutputText("busybox", "sh", stream=out, error_stream=err)
    view(LogLine(text="hello", stream="stdout"))
    view(LogLine(text="warn", stream="stderr"))
    view.finish(Result(exit_code=0, log_path=""))
    assert out.getvalue() == "hello\nRan sh in busybox: exit status 0\n"
    assert err.getvalue() == "warn\n"


# -- tables ----------------------------------------------------------------------------------

@pytest.mark.parametrize("size, text", [
    (0, "0B"), (527, "527B"), (1984234, "1.98MB"), (117_000_000, "117MB"),
    (2_500_000_000, "2.5GB"), (None, ""),
])
def test_human_size(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize("seconds, text", [
    (0.5, "Less than a second ago"), (30, "30 seconds ago"), (90, "About a minute ago"),
    (600, "10 minutes ago"), (3600, "About an hour ago"), (5 * 3600, "5 hours ago"),
    (3 * 86400, "3 days ago"), (20 * 86400, "2 weeks ago"), (100 * 86400, "3 months ago"),
    (800 * 86400, "2 years ago"),
])
def test_human_age(seconds, text):
    assert human_age(1000.0, now=1000.0 + seconds) == text


SUMMARIES = [
    {"Id": "sha256:" + "1" * 64, "Created": 1000, "Size": 1984234,
     "RepoTags": ["busybox:latest", "127.0.0.1:5001/nbdocker/hello:1.0"],
     "RepoDigests": ["127.0.0.1:5001/nbdocker/hello@" + DIGEST]},
    {"Id": "sha256:" + "2" * 64, "Created": 2000, "Size": 117_000_000,
     "RepoTags": ["debian:bookworm"], "RepoDigests": []},
    {"Id": "sha256:" + "3" * 64, "Created": 3000, "Size": 5, "RepoTags": None,
     "RepoDigests": None},
]


def test_image_rows_one_per_tag():
    rows = ImageRow.from_summaries(SUMMARIES)
    assert [row.reference for row in rows] == [
        "busybox:latest", "127.0.0.1:5001/nbdocker/hello:1.0", "debian:bookworm", "333333333333"]
    assert rows[1].digest == DIGEST
    assert rows[0].digest == ""
    assert rows[0].created == datetime.fromtimestamp(1000, tz=timezone.utc)


def test_image_table_default_sort_newest_first():
    table = ImageTable(ImageRow.from_summaries(SUMMARIES))
    assert [row.repository for row in table.view()] == ["<none>", "debian", "busybox",
                                                        "127.0.0.1:5001/nbdocker/hello"]


def test_image_table_filter_and_sort():
    table = ImageTable(ImageRow.from_summaries(SUMMARIES))
    rows = table.view("NBDOCKER", "size", False)
    assert [row.tag for row in rows] == ["1.0"]
    assert [row.repository for row in table.view("", "size", True)][0] == "debian"


def test_image_table_text():
    table = ImageTable(ImageRow.from_summaries(SUMMARIES[1:2]))
    header, row = repr(table).splitlines()
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert row.startswith("debian       bookworm   222222222222")
    assert row.endswith("117MB")


def test_table_html_escapes():
    table = SearchTable([SearchHit("<script>", "a & b")])
    text = table._repr_html_()
    assert "<script>" not in text
    assert "a &amp; b" in text


def test_table_empty():
    assert repr(SearchTable([])) == "No matches."


def test_table_html_row_limit():
    table = RegistrySearchTable([RepositoryHit("h:1", f"r{i}", ("1",)) for i in range(12)])
    assert "Showing 5 of 12 rows" in table.to_html(max_rows=5)


def test_search_table_default_sort_by_stars():
    table = SearchTable([SearchHit("a", stars=1), SearchHit("b", stars=9, official=True)])
    assert [hit.name for hit in table.view()] == ["b", "a"]
    assert "[OK]" in repr(table)


def test_search_table_truncates_description_in_text():
    table = SearchTable([SearchHit("a", "x" * 80)])
    assert "x" * 44 + "…" in repr(table)


def test_registry_table_rows():
    table = RegistrySearchTable([RepositoryHit("h:1", "nbdocker/hello", ("0.9", "1.0"))])
    assert "h:1/nbdocker/hello   0.9, 1.0" in repr(table)


def test_table_widget_filters_and_sorts():
    table = ImageTable(ImageRow.from_summaries(SUMMARIES))
    box = table.widget()
    filter_box, sort_menu, count = box.children[0].children
    html_table = box.children[1]
    filter_box.value = "debian"
    assert "bookworm" in html_table.value
    assert "busybox" not in html_table.value
    assert count.value == "<span>1 of 4 rows</span>"
    filter_box.value = ""
    sort_menu.value = ("size", False)
    assert html_table.value.index("333333333333") < html_table.value.index("222222222222")


def test_table_mimebundle_static_outside_kernel():
    bundle = ImageTable([])._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}


def test_table_mimebundle_adds_widget_in_kernel(monkeypatch):
    monkeypatch.setattr(tables, "widgets_available", lambda: True)
    bundle = ImageTable(ImageRow.from_summaries(SUMMARIES))._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "busybox" in bundle["text/html"]
    assert "busybox" in bundle["text/plain"]


def test_table_is_a_sequence():
    table = ImageTable(ImageRow.from_summaries(SUMMARIES))
    assert len(table) == 4
    assert table[0].repository == "busybox"
    assert [row.tag for row in table][:2] == ["latest", "1.0"]
