"""NbDockerMagics settings through ``%config`` in a real IPython shell, and the view they pick."""

from __future__ import annotations

import logging
import os

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

from nbdocker.display.text import TextView
from nbdocker.display.widgets import BuildView
from nbdocker.magics.packer import NOTEBOOK_TEXT_OUTPUT_LINES, make_view

SETTINGS = ("log_tail_lines", "max_redraws", "default_registry", "log_dir", "plain_text")


@pytest.fixture
def shell():
    """An InteractiveShell with nbdocker loaded and history kept in memory."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    result = shell.run_cell("%load_ext nbdocker")
    result.raise_error()
    return shell


@pytest.fixture
def magics(shell):
    return shell.magics_manager.registry["NbDockerMagics"]


def config(shell, statement: str):
    result = shell.run_cell(f"%config {statement}")
    result.raise_error()
    return result


def test_config_lists_every_setting(shell, capsys):
    config(shell, "NbDockerMagics")
    output = capsys.readouterr().out
    for name in SETTINGS:
        assert f"NbDockerMagics.{name}=" in output


def test_config_shows_help_text(shell, capsys):
    config(shell, "NbDockerMagics")
    output = capsys.readouterr().out
    assert "Lines of output (the last ones) that each build panel shows" in output
    assert "Maximum redraws per second" in output


def test_config_lists_class(shell, capsys):
    config(shell, "")
    assert "    NbDockerMagics" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("statement, name, expected", [
    ("log_tail_lines = 20", "log_tail_lines", 20),
    ("log_tail_lines = 0", "log_tail_lines", 0),
    ("max_redraws = 4", "max_redraws", 4.0),
    ("default_registry = '127.0.0.1:5000'", "default_registry", "127.0.0.1:5000"),
    ("default_registry = 'registry.example:5000/'", "default_registry", "registry.example:5000"),
    ("default_registry = ''", "default_registry", ""),
    ("plain_text = True", "plain_text", True),
    ("log_dir = ''", "log_dir", ""),
])
def test_config_sets_value(shell, magics, statement, name, expected):
    config(shell, f"NbDockerMagics.{statement}")
    assert getattr(magics, name) == expected


def test_config_log_dir_made_absolute(shell, magics, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config(shell, "NbDockerMagics.log_dir = 'logs'")
    assert magics.log_dir == str(tmp_path / "logs")


def test_config_log_dir_expands_home(shell, magics, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config(shell, "NbDockerMagics.log_dir = '~/build-logs'")
    assert magics.log_dir == os.path.join(str(tmp_path), "build-logs")


@pytest.mark.parametrize("statement, message", [
    ("log_tail_lines = -1", "log_tail_lines must be between 0 and 1000, got -1"),
    ("log_tail_lines = 5000", "log_tail_lines must be between 0 and 1000, got 5000"),
    ("max_redraws = 0", "max_redraws must be above 0 and at most 30 redraws per second"),
    ("max_redraws = 100", "got 100.0"),
    ("default_registry = 'http://127.0.0.1:5000/'", "without a scheme, got "
                                                    "'http://127.0.0.1:5000/'; try '127.0.0.1:5000'"),
    ("default_registry = '127.0.0.1:5000/library'", "a repository path belongs in the image"),
    ("default_registry = 'my registry'", "got 'my registry', which contains a space"),
    ("plain_text = 'yes'", "plain_text"),
])
def test_config_rejects_invalid_value(shell, magics, caplog, statement, message):
    before = {name: getattr(magics, name) for name in SETTINGS}
    with caplog.at_level(logging.ERROR):
        shell.run_cell(f"%config NbDockerMagics.{statement}")
    assert message in caplog.text
    assert {name: getattr(magics, name) for name in SETTINGS} == before


def test_config_rejects_file_as_log_dir(shell, magics, caplog, tmp_path):
    path = tmp_path / "a-file"
    path.write_text("")
    with caplog.at_level(logging.ERROR):
        shell.run_cell(f"%config NbDockerMagics.log_dir = {str(path)!r}")
    assert f"must be a folder, but {str(path)!r} is a file" in caplog.text
    assert magics.log_dir == ""


def test_negative_tail_raises_trait_error(magics):
    with pytest.raises(TraitError, match="log_tail_lines must be between 0 and 1000, got -5"):
        magics.log_tail_lines = -5


def test_config_before_load_ext_applies(tmp_path):
    config_object = Config()
    config_object.HistoryManager.hist_file = ":memory:"
    config_object.NbDockerMagics.log_tail_lines = 7
    shell = InteractiveShell(config=config_object)
    shell.run_cell("%load_ext nbdocker").raise_error()
    assert shell.magics_manager.registry["NbDockerMagics"].log_tail_lines == 7


# -- the view each setting and frontend picks -------------------------------------------------

def test_terminal_shell_gets_text_view(magics):
    view = make_view(magics)
    assert isinstance(view, TextView)
    assert view.max_output_lines is None
    assert view.summary


def test_kernel_gets_widget_view_with_settings(shell, magics, monkeypatch):
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    config(shell, "NbDockerMagics.log_tail_lines = 12")
    config(shell, "NbDockerMagics.max_redraws = 4")
    view = make_view(magics)
    assert isinstance(view, BuildView)
    assert view.state.tail_lines == 12
    assert view.throttle.interval == pytest.approx(0.25)


def test_kernel_plain_text_gets_bounded_text_view(shell, magics, monkeypatch):
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    config(shell, "NbDockerMagics.plain_text = True")
    config(shell, "NbDockerMagics.log_tail_lines = 9")
    view = make_view(magics)
    assert isinstance(view, TextView)
    assert view.max_output_lines == NOTEBOOK_TEXT_OUTPUT_LINES
    assert view.tail_lines == 9


def test_kernel_without_ipywidgets_gets_text_view(shell, magics, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ipywidgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("No module named 'ipywidgets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    monkeypatch.setattr(builtins, "__import__", no_ipywidgets)
    assert isinstance(make_view(magics), TextView)


def test_default_registry_used_by_logout(shell, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    calls = []
    monkeypatch.setattr("nbdocker.publish.logout", lambda server=None: calls.append(server) or "ok")
    config(shell, "NbDockerMagics.default_registry = '127.0.0.1:5001'")
    shell.run_cell("%docker_logout").raise_error()
    assert calls == ["127.0.0.1:5001"]


def test_default_registry_used_by_search(shell, monkeypatch):
    calls = []

    def search(term, **options):
        calls.append(options["registry"])
        return "table"

    monkeypatch.setattr("nbdocker.publish.search", search)
    config(shell, "NbDockerMagics.default_registry = '127.0.0.1:5000'")
    shell.run_cell("%docker_search busybox").raise_error()
    shell.run_cell("%docker_search 127.0.0.1:8080/busybox").raise_error()
    assert calls == ["127.0.0.1:5000", None]
