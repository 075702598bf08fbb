"""RunState: what the build views draw, built from synthetic events."""

from __future__ import annotations

import pytest

from nbdocker.build.events import (BuildFinished, BuildStarted, LayerProgress, LogLine,
                                   RunFinished, RunStarted, StepFinished, StepStarted, Warning)
from nbdocker.display.state import MAX_LINE_CHARS, RunState, clip_line

STEPS = ["pull busybox:latest", "start container", "shell (provisioners[0])", "commit"]


def build_events(name: str = "docker", *, steps=STEPS, fail_at: str | None = None,
                 interrupt_at: str | None = None, output: int = 2, start: float = 100.0):
    """Return the events of one build that runs ``steps``, one second each.

    The build fails (or is interrupted) at the step named by ``fail_at`` (``interrupt_at``)
    and ends there; every step before prints ``output`` lines.
    """
    clock = start
    events = [BuildStarted(steps=list(steps), build=name, time=clock)]
    for index, step in enumerate(steps):
        events.append(StepStarted(step, index=index + 1, build=name, time=clock))
        for number in range(output):
            events.append(LogLine(f"{step} line {number}", stream="stdout", step=step,
                                  build=name, time=clock))
        clock += 1.0
        if step == fail_at:
            events.append(StepFinished(step, status="failed", duration=1.0,
                                       message="Script exited with non-zero exit status: 3\n"
                                               "more detail", build=name, time=clock))
            events.append(BuildFinished("failed", duration=clock - start,
                                        error="Script exited with non-zero exit status: 3",
                                        build=name, time=clock))
            return events
        if step == interrupt_at:
            events.append(BuildFinished("interrupted", duration=clock - start,
                                        error="Build cancelled after an interrupt",
                                        build=name, time=clock))
            return events
        events.append(StepFinished(step, duration=1.0, build=name, time=clock))
    events.append(BuildFinished("ok", duration=clock - start, build=name, time=clock))
    return events


def run_events(*builds: list, errors: dict[str, str] | None = None, artifacts=()):
    """Wrap build event lists in RunStarted and RunFinished, interleaving them."""
    names = [events[0].build for events in builds]
    merged = []
    for position in range(max(len(events) for events in builds)):
        merged += [events[position] for events in builds if position < len(events)]
    return [RunStarted(names, log_path="/tmp/nbdocker-logs/build-test.log"), *merged,
            RunFinished(artifacts=list(artifacts), errors=dict(errors or {}), duration=4.0,
                        log_path="/tmp/nbdocker-logs/build-test.log")]


def applied(events, tail_lines: int = 40) -> RunState:
    state = RunState(tail_lines=tail_lines)
    for event in events:
        state.apply(event)
    return state


def test_state_steps_in_planned_order():
    state = applied(run_events(build_events()))
    assert list(state.builds["docker"].steps) == STEPS


def test_state_successful_run_is_ok():
    state = applied(run_events(build_events()))
    assert state.status == "ok"
    assert state.builds["docker"].status == "ok"
    assert state.builds["docker"].progress == 1.0


def test_state_step_durations_recorded():
    state = applied(run_events(build_events()))
    assert [step.duration for step in state.builds["docker"].steps.values()] == [1.0] * 4


def test_state_running_before_run_finished():
    events = run_events(build_events())[:-1]
    assert applied(events).status == "running"


def test_state_log_path_from_run_started():
    state = applied(run_events(build_events())[:1])
    assert state.log_path == "/tmp/nbdocker-logs/build-test.log"


def test_state_failed_step_and_build():
    events = run_events(build_events(fail_at="shell (provisioners[0])"),
                        errors={"docker": "Script exited with non-zero exit status: 3"})
    state = applied(events)
    build = state.builds["docker"]
    assert state.status == "failed"
    assert build.status == "failed"
    assert build.steps["shell (provisioners[0])"].status == "failed"
    assert build.steps["shell (provisioners[0])"].detail == \
        "Script exited with non-zero exit status: 3"
    assert build.steps["commit"].status == "pending"


def test_state_interrupted_build_marks_running_step():
    events = build_events(interrupt_at="shell (provisioners[0])")
    state = applied(run_events(events, errors={"docker": "Build cancelled"}))
    assert state.status == "interrupted"
    assert state.builds["docker"].steps["shell (provisioners[0])"].status == "interrupted"


def test_state_interrupt_without_run_finished():
    events = run_events(build_events())[:7]
    state = applied(events)
    state.interrupt()
    assert state.status == "interrupted"
    assert state.builds["docker"].status == "interrupted"
    assert state.builds["docker"].steps["start container"].status == "interrupted"


def test_state_interrupt_after_finish_changes_nothing():
    state = applied(run_events(build_events()))
    state.interrupt()
    assert state.status == "ok"


def test_state_cached_step_note():
    state = applied([StepStarted("shell (provisioners[0])", build="docker"),
                     StepFinished("shell (provisioners[0])", status="cached", build="docker")])
    step = state.builds["docker"].steps["shell (provisioners[0])"]
    assert step.note == "cached"
    assert state.builds["docker"].cached_steps == 1


def test_state_retried_step_note():
    state = applied([StepStarted("shell (provisioners[0])", build="docker"),
                     StepFinished("shell (provisioners[0])", attempts=3, build="docker")])
    assert state.builds["docker"].steps["shell (provisioners[0])"].note == "3 attempts"


def test_state_parallel_builds_kept_apart():
    state = applied(run_events(build_events("first"),
                               build_events("second", fail_at="commit"),
                               errors={"second": "boom"}))
    assert list(state.builds) == ["first", "second"]
    assert state.builds["first"].status == "ok"
    assert state.builds["second"].status == "failed"
    assert all(text.startswith(("pull", "start", "shell", "commit"))
               for _stream, text in state.builds["first"].tail)


def test_state_tail_keeps_last_lines():
    events = [LogLine(f"line {n}", stream="stdout", build="docker") for n in range(1000)]
    state = applied(events, tail_lines=5)
    assert [text for _stream, text in state.builds["docker"].tail] == \
        [f"line {n}" for n in range(995, 1000)]
    assert state.builds["docker"].lines == 1000


def test_state_tail_zero_keeps_no_lines():
    state = applied([LogLine("hello", stream="stdout", build="docker")], tail_lines=0)
    assert len(state.builds["docker"].tail) == 0
    assert state.builds["docker"].lines == 1


def test_state_negative_tail_rejected():
    with pytest.raises(ValueError, match="tail_lines must be 0 or more"):
        RunState(tail_lines=-1)


def test_state_long_line_clipped_in_tail():
    state = applied([LogLine("x" * 100_000, stream="stdout", build="docker")])
    (_stream, text), = state.builds["docker"].tail
    assert len(text) < MAX_LINE_CHARS + 50
    assert text.endswith(f"[{100_000 - MAX_LINE_CHARS} more characters]")


def test_clip_line_leaves_short_line():
    assert clip_line("short") == "short"


def test_state_buildless_warning_goes_to_run():
    state = applied([RunStarted(["docker"]), Warning("deprecated option")])
    assert state.warnings == ["deprecated option"]
    assert list(state.builds) == ["docker"]


def test_state_build_warning_in_tail():
    state = applied([Warning("retrying", build="docker")])
    assert state.builds["docker"].warnings == ["retrying"]
    assert ("warning", "Warning: retrying") in state.builds["docker"].tail


def test_state_layer_summary_latest_operation():
    events = [LayerProgress("pull", "aaa", "Pull complete", build="docker"),
              LayerProgress("pull", "bbb", "Downloading", 5_000_000, 10_000_000, build="docker"),
              LayerProgress("push", "ccc", "Pushing", 1_000_000, 4_000_000, build="docker")]
    state = applied(events)
    assert state.builds["docker"].layer_summary() == "push: 0/1 layers, 1.0/4.0 MB"


def test_state_layer_summary_counts_done_layers():
    events = [LayerProgress("pull", "aaa", "Pull complete", build="docker"),
              LayerProgress("pull", "bbb", "Downloading", 5_000_000, 10_000_000, build="docker")]
    assert applied(events).builds["docker"].layer_summary() == \
        "pull: 1/2 layers, 5.0/10.0 MB"


def test_state_step_elapsed_while_running():
    state = applied([StepStarted("commit", build="docker", time=100.0)])
    assert state.builds["docker"].steps["commit"].elapsed(now=102.5) == 2.5


def test_state_unplanned_step_added():
    state = applied(run_events(build_events()[:1]) + [StepStarted("docker-push", build="docker")])
    assert list(state.builds["docker"].steps)[-1] == "docker-push"
