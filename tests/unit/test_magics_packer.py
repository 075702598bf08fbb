"""``%%packer`` in a real IPython shell, without an engine: validate, inspect, fix and usage errors."""

from __future__ import annotations

import json

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from nbdocker.magics.errors import CellError

VALID = json.dumps({
    "variables": {"tag": "1.0"},
    "builders": [{"type": "docker", "image": "busybox:latest", "commit": True}],
    "post-processors": [{"type": "docker-tag", "repository": "example/app",
                         "tag": "{{user `tag`}}"}],
}, indent=2)


@pytest.fixture
def shell():
    """An InteractiveShell with nbdocker loaded and history kept in memory."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    shell.run_cell("%load_ext nbdocker").raise_error()
    return shell


def run(shell, line: str, body: str):
    """Run a %%packer cell and return its ExecutionResult."""
    return shell.run_cell(f"%%packer {line}\n{body}")


def test_packer_validate_valid_template(shell, capsys):
    run(shell, "validate", VALID).raise_error()
    assert "The configuration is valid." in capsys.readouterr().out


def test_packer_validate_warns_about_deprecated_tag(shell, capsys):
    run(shell, "validate", VALID).raise_error()
    assert "nbdocker fix" in capsys.readouterr().out


def test_packer_validate_error_fails_cell(shell):
    result = run(shell, "validate", VALID.replace("busybox:latest", "busy box"))
    assert isinstance(result.error_in_exec, CellError)


def test_packer_validate_error_has_no_traceback(shell, capsys):
    run(shell, "validate", VALID.replace("busybox:latest", "busy box"))
    output = capsys.readouterr()
    text = output.out + output.err
    assert "builders[0].image" in text
    assert "Traceback" not in text


def test_packer_validate_output_variable(shell):
    run(shell, "validate -o checked", VALID).raise_error()
    assert shell.user_ns["checked"].builds[0].name == "docker"


def test_packer_syntax_only_skips_option_checks(shell, capsys):
    body = VALID.replace('"commit": true', '"commit": true, "imagee": "x"')
    run(shell, "validate -syntax-only", body).raise_error()
    assert "Syntax-only check passed" in capsys.readouterr().out


def test_packer_syntax_only_reports_json_error(shell):
    result = run(shell, "validate -syntax-only", '{"builders": [}')
    assert isinstance(result.error_in_exec, CellError)


def test_packer_var_overrides_default(shell):
    run(shell, "validate -var tag=2.0 -o checked", VALID).raise_error()
    assert shell.user_ns["checked"].values["tag"] == "2.0"


def test_packer_inspect_lists_variables(shell, capsys):
    run(shell, "inspect", VALID).raise_error()
    output = capsys.readouterr().out
    assert "tag" in output
    assert "docker" in output


def test_packer_fix_rewrites_tag(shell, capsys):
    run(shell, "fix", VALID).raise_error()
    fixed = json.loads(capsys.readouterr().out)
    assert fixed["post-processors"][0]["tags"] == ["{{user `tag`}}"]


def test_packer_unknown_flag_is_usage_error(shell):
    result = run(shell, "build --bogus", VALID)
    assert isinstance(result.error_in_exec, CellError)
    assert result.error_in_exec.kind == "UsageError"


def test_packer_bad_var_is_usage_error(shell):
    result = run(shell, "validate -var novalue", VALID)
    assert isinstance(result.error_in_exec, CellError)


def test_packer_empty_cell_is_usage_error(shell):
    result = run(shell, "validate", "   ")
    assert "empty" in str(result.error_in_exec)


def test_packer_bad_output_name_is_rejected(shell):
    result = run(shell, "-o 1bad", VALID)
    assert isinstance(result.error_in_exec, CellError)
    assert "1bad" in str(result.error_in_exec)


def test_packer_help_shows_manual(shell):
    magic = shell.find_cell_magic("packer")
    assert "%%packer" in magic.__doc__
    assert "Example" in magic.__doc__
