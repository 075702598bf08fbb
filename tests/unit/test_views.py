"""The build views fed with synthetic events: widgets, static summary, text and machine output."""

from __future__ import annotations

import io
import re

import ipywidgets
import pytest

from nbdocker.build.artifacts import Artifact
from nbdocker.build.events import (BuildFinished, LayerProgress, LogLine, RunStarted,
                                   StepFinished, StepStarted, Warning)
from nbdocker.display.machine import MachineView
from nbdocker.display.summary import BuildSummary
from nbdocker.display.text import TextView
from nbdocker.display.throttle import Throttle
from nbdocker.display.widgets import BuildView

from .test_state import STEPS, applied, build_events, run_events

SHELL_STEP = "shell (provisioners[0])"
ARTIFACT = Artifact(build="docker", builder_id="packer.post-processor.docker-tag",
                    id="example/app:1.0", image_id="sha256:" + "ab" * 32,
                    tags=["example/app:1.0"])


class FakeClock:
    """A monotonic clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sent(monkeypatch):
    """Record every comm message that any widget sends, as (widget, message) pairs."""
    messages: list[tuple[ipywidgets.Widget, dict]] = []
    monkeypatch.setattr(ipywidgets.Widget, "_send",
                        lambda self, msg, buffers=None: messages.append((self, msg)))
    return messages


def make_view(clock: FakeClock | None = None, **options) -> tuple[BuildView, list]:
    shown: list = []
    view = BuildView(display=shown.append, **options)
    if clock is not None:
        view.throttle = Throttle(options.get("max_redraws", 10.0), clock=clock)
    return view, shown


def feed(view, events) -> None:
    for event in events:
        view.handle(event)


def updates(sent, widget) -> list[dict]:
    """The state of every update message sent for ``widget``."""
    return [msg["state"] for owner, msg in sent if owner is widget and msg["method"] == "update"]


# -- BuildView: throttling and what it sends -----------------------------------------------

def test_build_view_redraws_at_most_rate():
    clock = FakeClock()
    view, _ = make_view(clock)
    view.handle(RunStarted(["docker"]))
    for second in range(3):
        for number in range(10_000):
            clock.now = second + number / 10_000
            view.handle(LogLine(f"line {number}", stream="stdout", build="docker"))
    assert view.redraws <= 3 * 10 + 2


def test_build_view_quiet_stream_still_redraws():
    clock = FakeClock()
    view, _ = make_view(clock)
    view.handle(RunStarted(["docker"]))
    clock.now = 5.0
    view.handle(LogLine("after a pause", stream="stdout", build="docker"))
    assert "after a pause" in view.panels["docker"].tail.value


def test_build_view_flood_sends_bounded_messages(sent):
    clock = FakeClock()
    view, _ = make_view(clock)
    events = run_events(build_events(output=0))
    view.handle(events[0])
    sent.clear()
    for number in range(100_000):
        clock.now = number / 20_000  # 100 000 lines over 5 seconds
        view.handle(LogLine(f"line {number}", stream="stdout", build="docker"))
    # 5 seconds at 10 redraws a second; each redraw changes the header and the tail.
    assert len(sent) <= 2 * (5 * 10 + 1)


def test_build_view_unchanged_redraw_sends_nothing(sent):
    view, _ = make_view()
    feed(view, run_events(build_events()))
    sent.clear()
    view.redraw()
    assert sent == []


def test_build_view_sends_only_changed_traits(sent):
    clock = FakeClock()
    view, _ = make_view(clock)
    feed(view, [RunStarted(["docker"]), StepStarted(SHELL_STEP, build="docker", time=0.0)])
    view.redraw()
    sent.clear()
    view.handle(LogLine("one more line", stream="stdout", build="docker"))
    view.redraw()
    tail_updates = updates(sent, view.panels["docker"].tail)
    assert tail_updates == [{"value": view.panels["docker"].tail.value}]
    assert updates(sent, view.panels["docker"].bar) == []


def test_build_view_one_message_per_widget_per_redraw(sent):
    view, _ = make_view()
    feed(view, [RunStarted(["docker"]), StepStarted("commit", build="docker")])
    sent.clear()
    view.state.apply(StepFinished("commit", status="failed", message="boom", build="docker"))
    view.state.apply(BuildFinished("failed", error="boom", build="docker"))
    view.redraw()
    bar_updates = updates(sent, view.panels["docker"].bar)
    assert bar_updates == [{"value": 1.0, "bar_style": "danger"}]


def test_build_view_tail_bounded():
    view, _ = make_view(tail_lines=10)
    feed(view, [RunStarted(["docker"])]
         + [LogLine(f"line {n}", stream="stdout", build="docker") for n in range(5000)])
    view.redraw()
    text = view.panels["docker"].tail.value
    assert "line 4999" in text
    assert "line 4989" not in text
    assert text.count("\n") == 9


def test_build_view_tail_zero_hides_output():
    view, _ = make_view(tail_lines=0)
    feed(view, [RunStarted(["docker"]), LogLine("hidden", stream="stdout", build="docker")])
    view.redraw()
    assert view.panels["docker"].tail.value == ""


def test_build_view_escapes_output():
    view, _ = make_view()
    feed(view, [RunStarted(["docker"]),
                LogLine("<script>alert(1)</script>", stream="stdout", build="docker")])
    view.redraw()
    assert "<script>" not in view.panels["docker"].tail.value
    assert "&lt;script&gt;" in view.panels["docker"].tail.value


# -- BuildView: what it shows ---------------------------------------------------------------

def test_build_view_displays_root_once():
    view, shown = make_view()
    feed(view, run_events(build_events()))
    assert shown.count(view.root) == 1


def test_build_view_success_state():
    view, shown = make_view()
    feed(view, run_events(build_events(), artifacts=[ARTIFACT]))
    view.close()
    panel = view.panels["docker"]
    assert panel.bar.bar_style == "success"
    assert panel.bar.value == 1.0
    assert "nbdocker-status-ok" in view.header.value
    assert "nbdocker-progress" in panel.bar._dom_classes


def test_build_view_parallel_builds_one_panel_each():
    view, _ = make_view()
    feed(view, run_events(build_events("first"), build_events("second"),
                          build_events("third")))
    assert list(view.panels) == ["first", "second", "third"]
    assert view.panel_box.children == tuple(p.box for p in view.panels.values())


def test_build_view_parallel_output_not_mixed():
    view, _ = make_view()
    feed(view, run_events(build_events("first"), build_events("second")))
    view.redraw()
    assert "second" not in view.panels["first"].tail.value
    assert "first" not in view.panels["second"].tail.value


def test_build_view_failure_turns_red_and_stays():
    view, _ = make_view()
    feed(view, run_events(build_events("good"), build_events("bad", fail_at=SHELL_STEP),
                          errors={"bad": "Script exited with non-zero exit status: 3"}))
    view.close()
    assert view.panels["bad"].bar.bar_style == "danger"
    assert view.panels["good"].bar.bar_style == "success"
    assert "nbdocker-status-failed" in view.header.value
    assert view.panels["bad"].box in view.panel_box.children
    assert view.root.layout.visibility != "hidden"
    assert view.root.layout.display != "none"


def test_build_view_failed_step_detail_shown():
    view, _ = make_view()
    feed(view, run_events(build_events(fail_at=SHELL_STEP), errors={"docker": "exit 3"}))
    steps = view.panels["docker"].steps.value
    assert "nbdocker-step-failed" in steps
    assert "Script exited with non-zero exit status: 3" in steps
    assert "more detail" not in steps


def test_build_view_interrupt_turns_red():
    view, _ = make_view()
    feed(view, run_events(build_events(interrupt_at=SHELL_STEP),
                          errors={"docker": "Build cancelled after an interrupt"}))
    summary = view.close()
    assert view.panels["docker"].bar.bar_style == "danger"
    assert "nbdocker-status-interrupted" in view.header.value
    assert "nbdocker-step-interrupted" in summary._repr_html_()


def test_build_view_close_moves_steps_to_summary():
    view, _ = make_view()
    feed(view, run_events(build_events()))
    summary = view.close()
    assert view.panels["docker"].steps.value == ""
    assert summary._repr_html_().count("nbdocker-step-ok") == len(STEPS)
    assert "commit line 1" in view.panels["docker"].tail.value


def test_build_view_close_without_finish_is_interrupted():
    view, _ = make_view()
    feed(view, run_events(build_events())[:8])
    view.close()
    assert view.panels["docker"].bar.bar_style == "danger"
    assert "nbdocker-status-interrupted" in view.header.value


def test_build_view_context_manager_closes_on_error():
    view, shown = make_view()
    with pytest.raises(KeyboardInterrupt):
        with view:
            feed(view, run_events(build_events())[:5])
            raise KeyboardInterrupt
    assert view.panels["docker"].bar.bar_style == "danger"
    assert isinstance(shown[-1], BuildSummary)


def test_build_view_cached_step_shown():
    view, _ = make_view()
    feed(view, [RunStarted(["docker"]), StepStarted(SHELL_STEP, build="docker"),
                StepFinished(SHELL_STEP, status="cached", build="docker")])
    view.redraw()
    assert "nbdocker-step-cached" in view.panels["docker"].steps.value
    assert "1 cached" in view.panels["docker"].title.value


def test_build_view_retried_step_shown():
    view, _ = make_view()
    feed(view, [RunStarted(["docker"]), StepStarted(SHELL_STEP, build="docker"),
                StepFinished(SHELL_STEP, attempts=3, duration=2.5, build="docker")])
    view.redraw()
    steps = view.panels["docker"].steps.value
    assert "3 attempts" in steps
    assert "2.5s" in steps


def test_build_view_step_durations_shown():
    view, _ = make_view()
    feed(view, run_events(build_events()))
    assert view.panels["docker"].steps.value.count("1.0s") == len(STEPS)


def test_build_view_log_path_in_header():
    view, _ = make_view()
    feed(view, run_events(build_events(output=3)))
    assert "/tmp/nbdocker-logs/build-test.log" in view.header.value
    assert f"{3 * len(STEPS)} lines" in view.header.value


def test_build_view_layer_progress_in_title():
    view, _ = make_view()
    feed(view, [RunStarted(["docker"]), StepStarted("pull debian:bookworm", build="docker"),
                LayerProgress("pull", "aaa", "Downloading", 2_000_000, 8_000_000, build="docker")])
    view.redraw()
    assert "pull: 0/1 layers, 2.0/8.0 MB" in view.panels["docker"].title.value


def test_build_view_template_warning_in_header():
    view, _ = make_view()
    feed(view, [Warning("option 'foo' is deprecated"), RunStarted(["docker"])])
    assert "option &#x27;foo&#x27; is deprecated" in view.header.value
    assert "" not in view.panels


def test_build_view_text_fallback_not_widget_repr():
    view, _ = make_view()
    feed(view, run_events(build_events(fail_at="commit"), errors={"docker": "boom"}))
    view.close()
    text = view.root._repr_mimebundle_()["text/plain"]
    assert not text.startswith(("VBox(", "HBox("))
    assert text == "nbdocker build failed: docker failed"


def test_build_view_close_displays_summary_once():
    view, shown = make_view()
    feed(view, run_events(build_events()))
    first = view.close()
    second = view.close()
    assert first is second
    assert [type(obj) for obj in shown] == [type(view.root), BuildSummary]


def test_build_view_close_before_events_shows_nothing():
    view, shown = make_view()
    view.close()
    assert shown == []


def test_build_view_rejects_zero_rate():
    with pytest.raises(ValueError, match="max_per_second must be positive"):
        BuildView(max_redraws=0, display=lambda obj: None)


def test_build_view_rejects_negative_tail():
    with pytest.raises(ValueError, match="tail_lines must be 0 or more"):
        BuildView(tail_lines=-3, display=lambda obj: None)


# -- BuildSummary -----------------------------------------------------------------------------

def summary_of(events) -> BuildSummary:
    return BuildSummary(applied(events))


def test_summary_html_lists_steps_and_artifacts():
    page = summary_of(run_events(build_events(), artifacts=[ARTIFACT]))._repr_html_()
    for step in STEPS:
        assert f"<code>{step}</code>" in page
    assert "example/app:1.0" in page
    assert "nbdocker-status-ok" in page
    assert "/tmp/nbdocker-logs/build-test.log" in page


def test_summary_html_shows_error_in_red():
    page = summary_of(run_events(build_events(fail_at="commit"),
                                 errors={"docker": "exit 3"}))._repr_html_()
    assert "nbdocker-status-failed" in page
    assert re.search(r'<pre style="color:#c62828[^>]*>Script exited', page)


def test_summary_html_escapes_values():
    page = summary_of(run_events(build_events(name="<i>x</i>")))._repr_html_()
    assert "<i>" not in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page


def test_summary_text_lists_steps():
    text = repr(summary_of(run_events(build_events(), artifacts=[ARTIFACT])))
    assert text.splitlines()[0] == "Run ok"
    assert "docker: ok in 4 seconds" in text
    for step in STEPS:
        assert step in text
    assert "--> docker: Imported Docker image: sha256:abab" in text


def test_summary_text_shows_failure_and_attempts():
    events = run_events(build_events(fail_at=SHELL_STEP), errors={"docker": "exit 3"})
    events.insert(-1, StepFinished("commit", attempts=2, build="docker"))
    text = repr(summary_of(events))
    assert "failed  Script exited with non-zero exit status: 3" in text
    assert "ok  2 attempts" in text


def test_summary_text_has_no_widget_repr():
    text = repr(summary_of(run_events(build_events())))
    assert "VBox(" not in text
    assert "HBox(" not in text


def test_summary_ok_property():
    assert summary_of(run_events(build_events())).ok
    assert not summary_of(run_events(build_events(fail_at="commit"), errors={"d": "x"})).ok


# -- TextView -----------------------------------------------------------------------------------

def text_of(events, **options) -> str:
    stream = io.StringIO()
    view = TextView(stream, **options)
    for event in events:
        view.handle(event)
    view.close()
    return stream.getvalue()


def test_text_view_prints_every_line_by_default():
    events = run_events(build_events(output=500))
    text = text_of(events)
    assert text.count("    docker: ") == 500 * len(STEPS)


def test_text_view_packer_closing_lines():
    text = text_of(run_events(build_events(), artifacts=[ARTIFACT]))
    assert "Build 'docker' finished after 4 seconds." in text
    assert "==> Builds finished. The artifacts of successful builds are:" in text
    assert "--> docker: Imported Docker image" in text


def test_text_view_bounded_output_holds_lines_back():
    events = run_events(build_events(output=1000))
    text = text_of(events, max_output_lines=50, tail_lines=5)
    lines = text.splitlines()
    assert len(lines) < 50 + len(STEPS) * (5 + 2) + 20
    assert "==> docker: 50 lines of output printed. Further lines go only to" in text
    assert "/tmp/nbdocker-logs/build-test.log" in text
    assert "    docker: commit line 999" in lines
    assert "    docker: [995 lines left out]" in lines


def test_text_view_rejects_negative_limits():
    with pytest.raises(ValueError, match="max_output_lines must be 0 or more"):
        TextView(io.StringIO(), max_output_lines=-1)


def test_text_view_summary_on_close():
    text = text_of(run_events(build_events()), summary=True)
    assert "Run ok" in text
    assert "shell (provisioners[0])" in text.split("Run ok")[1]


def test_text_view_cached_and_retry_lines():
    text = text_of([StepFinished(SHELL_STEP, status="cached", build="docker"),
                    StepFinished("commit", attempts=2, build="docker")])
    assert f"==> docker: {SHELL_STEP}: using cached result" in text
    assert "==> docker: commit: succeeded after 2 attempts" in text


def test_text_view_failure_in_red_with_color():
    text = text_of(run_events(build_events(fail_at="commit"), errors={"docker": "exit 3"}),
                   color=True)
    assert "\x1b[31m==> docker: commit failed: Script exited" in text


def test_text_view_layer_status_once():
    events = [LayerProgress("pull", "aaa", "Downloading", n, 100, build="docker")
              for n in range(50)]
    assert text_of(events).count("aaa: Downloading") == 1


# -- MachineView ----------------------------------------------------------------------------------

def machine_records(events) -> list[list[str]]:
    stream = io.StringIO()
    view = MachineView(stream)
    for event in events:
        view.handle(event)
    return [line.split(",") for line in stream.getvalue().splitlines()]


def test_machine_view_artifact_records():
    records = machine_records(run_events(build_events(), artifacts=[ARTIFACT]))
    assert ["docker", "artifact-count", "1"] == records[-7][1:]
    assert ["docker", "artifact", "0", "id", "example/app:1.0"] == records[-5][1:]
    assert ["", "error-count", "0"] == records[-1][1:]


def test_machine_view_escapes_commas_and_newlines():
    records = machine_records([LogLine("a,b\nc", stream="stdout", build="docker", time=7.0)])
    assert records == [["7", "", "ui", "message", "    docker: a%!(PACKER_COMMA)b\\nc"]]


def test_machine_view_errors_counted():
    records = machine_records(run_events(build_events(fail_at="commit"),
                                         errors={"docker": "exit 3"}))
    assert ["", "error", "docker", "exit 3"] == records[-2][1:]
    assert ["", "error-count", "1"] == records[-1][1:]
