"""The build views against real builds: parallel panels, cache, retries, failures, interrupts,
a 10 MB log flood in a notebook, and terminal IPython."""

from __future__ import annotations

import _thread
import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from nbdocker import api
from nbdocker.display.summary import BuildSummary
from nbdocker.display.widgets import BuildView
from nbdocker.errors import BuildsFailed, Interrupted

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
IPYTHON = Path(sys.executable).with_name("ipython")


def load_bench(name: str):
    """Import a script from bench/, which is not a package."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def two_builders(*, first: list[str], second: list[str], commit: bool = False) -> str:
    """A template with builds ``first`` and ``second`` on busybox, each with its own shell step."""
    ending = {"commit": True} if commit else {"discard": True}
    builders = [{"type": "docker", "name": name, "image": "busybox:latest", "pull": False,
                 **ending} for name in ("first", "second")]
    provisioners = [{"type": "shell", "only": ["first"], "inline": first},
                    {"type": "shell", "only": ["second"], "inline": second}]
    return json.dumps({"builders": builders, "provisioners": provisioners})


def widget_view() -> tuple[BuildView, list]:
    shown: list = []
    return BuildView(display=shown.append), shown


def build_with(view: BuildView, template: str, **options):
    with view:
        return api.build(template, view=view.handle, **options)


@pytest.fixture
def images(engine):
    """Image ids to remove after the test."""
    made: list[str] = []
    yield made
    for image in made:
        engine.remove_image(image, force=True)


# -- widget view with real builds -------------------------------------------------------------

def test_view_two_builders_one_panel_each(engine):
    view, shown = widget_view()
    build_with(view, two_builders(first=["echo from first"], second=["echo from second"]))
    assert list(view.panels) == ["first", "second"]
    assert "from first" in view.panels["first"].tail.value
    assert "from second" not in view.panels["first"].tail.value
    assert "from second" in view.panels["second"].tail.value


def test_view_two_builders_end_green(engine):
    view, shown = widget_view()
    build_with(view, two_builders(first=["true"], second=["true"]))
    for panel in view.panels.values():
        assert panel.bar.bar_style == "success"
        assert panel.bar.value == 1.0
    assert "nbdocker-status-ok" in view.header.value
    assert isinstance(shown[-1], BuildSummary)


def test_view_steps_have_status_and_duration(engine):
    view, _ = widget_view()
    build_with(view, two_builders(first=["sleep 0.3"], second=["true"]))
    steps = view.state.builds["first"].steps
    assert [step.status for step in steps.values()] == ["ok"] * len(steps)
    assert steps["shell (provisioners[0])"].duration >= 0.3
    assert "<code>shell (provisioners[0])</code>" in view.summary._repr_html_()


def test_view_one_failed_build_red_other_green(engine):
    view, _ = widget_view()
    with pytest.raises(BuildsFailed):
        build_with(view, two_builders(first=["echo fine"], second=["echo broken", "exit 4"]))
    assert view.panels["first"].bar.bar_style == "success"
    assert view.panels["second"].bar.bar_style == "danger"
    assert "nbdocker-status-failed" in view.header.value
    assert "nbdocker-step-failed" in view.summary._repr_html_()
    assert "broken" in view.panels["second"].tail.value


def test_view_failed_summary_names_error(engine):
    view, _ = widget_view()
    with pytest.raises(BuildsFailed):
        build_with(view, two_builders(first=["true"], second=["exit 4"]))
    text = repr(view.summary)
    assert "Run failed" in text
    assert "exit status: 4" in text


def test_view_cached_steps_on_rebuild(engine, images):
    template = two_builders(first=["echo cached-one > /one"], second=["true"], commit=True)
    images += [a.image_id for a in api.build(template)]
    view, _ = widget_view()
    images += [a.image_id for a in build_with(view, template)]
    first = view.state.builds["first"]
    assert first.steps["shell (provisioners[0])"].status == "cached"
    assert "nbdocker-step-cached" in view.summary._repr_html_()
    assert "cached" in view.panels["first"].title.value


def test_view_retried_step_shows_attempts(engine):
    template = json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "discard": True}],
        "provisioners": [{"type": "shell", "max_retries": 2, "inline": [
            "if [ ! -f /tmp/tried ]; then touch /tmp/tried; echo first try fails; exit 1; fi",
            "echo second try works"]}]})
    view, _ = widget_view()
    build_with(view, template)
    step = view.state.builds["docker"].steps["shell (provisioners[0])"]
    assert step.attempts == 2
    assert "2 attempts" in view.summary._repr_html_()


def test_view_interrupt_turns_red(engine):
    template = json.dumps({
        "builders": [{"type": "docker", "image": "busybox:latest", "pull": False,
                      "discard": True}],
        "provisioners": [{"type": "shell", "inline": ["echo started", "sleep 30"]}]})
    view, _ = widget_view()
    timer = threading.Timer(2.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises((Interrupted, KeyboardInterrupt)):
            build_with(view, template)
    finally:
        timer.cancel()
    assert view.panels["docker"].bar.bar_style == "danger"
    assert "nbdocker-status-interrupted" in view.header.value
    assert view.state.builds["docker"].status == "interrupted"


def test_view_log_file_has_every_line(engine):
    view, _ = widget_view()
    build_with(view, two_builders(first=["seq 1 5000"], second=["true"]))
    with open(view.state.log_path, encoding="utf-8") as log:
        numbers = [line.split(": ", 1)[1].strip() for line in log
                   if line.startswith("first: ")]
    assert [str(n) for n in range(1, 5001)] == [n for n in numbers if n.isdigit()]
    assert view.panels["first"].tail.value.count("\n") < 40


# -- the 10 MB log flood in a notebook ------------------------------------------------------------

@pytest.fixture(scope="module")
def flood(tmp_path_factory, lab):
    return load_bench("log_flood").run_flood(10_000_000, tmp_path_factory.mktemp("flood"))


def test_flood_notebook_runs(flood):
    assert flood.cell_errors == []


def test_flood_saved_notebook_small(flood):
    assert flood.notebook_bytes < 300_000


def test_flood_comm_messages_bounded(flood):
    assert 0 < flood.comm_messages < 2000


def test_flood_comm_rate_bounded(flood):
    # 10 redraws a second, each at most one message for each of a few widgets.
    assert flood.max_comm_per_second <= 60


def test_flood_log_file_complete(flood):
    assert flood.log_lines == flood.expected_lines


def test_flood_next_cell_prompt(flood):
    assert flood.next_cell_seconds < 5.0


@pytest.fixture(scope="module")
def plain_flood(tmp_path_factory, lab):
    return load_bench("log_flood").run_flood(1_000_000, tmp_path_factory.mktemp("plain"),
                                             plain_text=True)


def test_plain_text_flood_notebook_small(plain_flood):
    assert plain_flood.cell_errors == []
    assert plain_flood.notebook_bytes < 100_000


def test_plain_text_flood_sends_no_widgets(plain_flood):
    assert plain_flood.comm_messages == 0


def test_plain_text_flood_log_complete(plain_flood):
    assert plain_flood.log_lines == plain_flood.expected_lines


# -- settings through the magic, and terminal IPython -------------------------------------------

def test_packer_magic_uses_log_dir_setting(engine, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    shell.run_cell("%load_ext nbdocker").raise_error()
    shell.run_cell(f"%config NbDockerMagics.log_dir = {str(tmp_path / 'logs')!r}").raise_error()
    cell = json.dumps({"builders": [{"type": "docker", "image": "busybox:latest",
                                     "pull": False, "discard": True}],
                       "provisioners": [{"type": "shell", "inline": ["echo to-the-log"]}]})
    shell.run_cell("%%packer\n" + cell).raise_error()
    logs = list((tmp_path / "logs").glob("build-*.log"))
    assert len(logs) == 1
    assert "docker: to-the-log" in logs[0].read_text()
    assert str(logs[0]) in capsys.readouterr().out


def run_terminal_ipython(tmp_path: Path, cells: list[str]) -> subprocess.CompletedProcess:
    """Type ``cells`` into terminal IPython through standard input, as a user would.

    ``ipython file.ipy`` runs a whole file as one cell, and ``%%packer`` is a cell magic only
    on a cell's first line. Standard input is read cell by cell instead, and two empty lines
    end a cell magic's body there.
    """
    session = tmp_path / "session.ipy"
    session.write_text("".join(cell.rstrip("\n") + "\n\n\n" for cell in cells))
    with open(session, encoding="utf-8") as stdin:
        return subprocess.run([str(IPYTHON), "--no-banner", "--colors=NoColor"],
                              stdin=stdin, capture_output=True, text=True, cwd=tmp_path,
                              timeout=300, env={**os.environ, "NBDOCKER_LOG_DIR":
                                                str(tmp_path / "logs")})


TERMINAL_TEMPLATE = json.dumps({
    "builders": [{"type": "docker", "image": "busybox:latest", "pull": False, "discard": True}],
    "provisioners": [{"type": "shell", "inline": ["echo hello from the build"]}]}, indent=2)


@pytest.fixture(scope="module")
def terminal_output(tmp_path_factory, lab):
    tmp_path = tmp_path_factory.mktemp("terminal")
    result = run_terminal_ipython(tmp_path, ["%load_ext nbdocker",
                                             "%%packer\n" + TERMINAL_TEMPLATE])
    return result.stdout + result.stderr


def test_terminal_ipython_shows_output_lines(terminal_output):
    assert "    docker: hello from the build" in terminal_output


def test_terminal_ipython_shows_steps(terminal_output):
    assert "Run ok" in terminal_output
    assert "✔ start container" in terminal_output
    assert "✔ shell (provisioners[0])" in terminal_output


def test_terminal_ipython_shows_result(terminal_output):
    assert "Build 'docker' finished after" in terminal_output
    assert "--> docker: Discarded container" in terminal_output


def test_terminal_ipython_no_widget_repr(terminal_output):
    assert "HBox(" not in terminal_output
    assert "VBox(" not in terminal_output
    assert "Traceback" not in terminal_output


def test_terminal_ipython_failure_is_text(tmp_path, engine):
    failing = TERMINAL_TEMPLATE.replace('"echo hello from the build"',
                                        '"echo about to fail", "exit 9"')
    result = run_terminal_ipython(tmp_path, ["%load_ext nbdocker", "%%packer\n" + failing])
    output = result.stdout + result.stderr
    assert "Run failed" in output
    assert "exit status: 9" in output
    assert "VBox(" not in output
    assert "Traceback" not in output
