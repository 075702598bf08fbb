"""The %docker_* magics in a real IPython shell, with the publish functions replaced."""

from __future__ import annotations

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from nbdocker import publish
from nbdocker.engine.images import InvalidReference
from nbdocker.engine.progress import AuthenticationRequired
from nbdocker.magics.docker import DockerMagics
from nbdocker.magics.errors import CellError


@pytest.fixture(scope="module")
def shell():
    start_ipython()  # once per process; later calls return None
    ip = get_ipython()
    ip.register_magics(DockerMagics(shell=ip))
    return ip


class Calls(list):
    """The recorded (name, args, kwargs) of publish calls; ``replace`` installs a recorder."""

    def __init__(self, monkeypatch):
        super().__init__()
        self.monkeypatch = monkeypatch

    def replace(self, name: str, result) -> None:
        def record(*args, **kwargs):
            self.append((name, args, kwargs))
            if isinstance(result, BaseException):
                raise result
            return result

        self.monkeypatch.setattr(publish, name, record)


@pytest.fixture
def calls(monkeypatch) -> Calls:
    """Replace every publish function the magics call with a recorder."""
    recorded = Calls(monkeypatch)
    results = {
        "login": publish.LoginResult("h:1", "u", "/tmp/config.json"),
        "logout": publish.LogoutResult("h:1", "/tmp/config.json"),
        "tag": publish.TagResult("a", "h:1/a:1", "sha256:1"),
        "push": publish.PushResult("h:1/a:1", "sha256:" + "0" * 64),
        "pull": publish.PullResult("h:1/a:1", "sha256:" + "0" * 64),
        "images": publish.ImageTable([]),
        "search": publish.SearchTable([]),
        "run": publish.RunResult("busybox", ["true"], 0),
    }
    for name, result in results.items():
        recorded.replace(name, result)
    return recorded


def is_usage_error(error) -> bool:
    return isinstance(error, CellError) and error.kind == "UsageError"


def run(shell, line):
    result = shell.run_cell(line)
    return result.error_in_exec


def test_magic_login_passes_options(shell, calls, capsys):
    assert run(shell, "%docker_login h:1 -u student --password-env PW") is None
    assert calls == [("login", ("h:1", "student"), {"password_env": "PW"})]
    assert "credentials stored in /tmp/config.json" in capsys.readouterr().out


def test_magic_login_defaults(shell, calls):
    run(shell, "%docker_login")
    assert calls == [("login", (None, None), {"password_env": None})]


def test_magic_login_rejects_password_option(shell, calls):
    assert is_usage_error(run(shell, "%docker_login h:1 --password hunter2"))
    assert calls == []


def test_magic_unknown_flag_is_usage_error(shell, calls):
    error = run(shell, "%docker_push h:1/a:1 --force")
    assert is_usage_error(error)
    assert str(error).startswith("unrecognized arguments: --force. Usage: %docker_push")


def test_magic_abbreviated_flag_is_usage_error(shell, calls):
    assert is_usage_error(run(shell, "%docker_push h:1/a --all"))
    assert calls == []


def test_magic_output_variable(shell, calls):
    run(shell, "%docker_push h:1/a:1 -o pushed")
    assert shell.user_ns["pushed"].digest == "sha256:" + "0" * 64


def test_magic_output_name_must_be_identifier(shell, calls):
    assert is_usage_error(run(shell, "%docker_push h:1/a:1 -o 1bad"))
    assert calls == []


def test_magic_push_all_tags_and_auto_view(shell, calls):
    run(shell, "%docker_push h:1/a --all-tags")
    assert calls == [("push", ("h:1/a",), {"all_tags": True, "view": "auto"})]


def test_magic_pull(shell, calls):
    run(shell, "%docker_pull h:1/a:1")
    assert calls == [("pull", ("h:1/a:1",), {"all_tags": False, "view": "auto"})]


def test_magic_expands_python_values(shell, calls):
    shell.user_ns["registry"] = "127.0.0.1:5001"
    run(shell, "%docker_push {registry}/nbdocker/hello:1.0")
    run(shell, "%docker_push $registry/x:1")
    assert [call[1][0] for call in calls] == ["127.0.0.1:5001/nbdocker/hello:1.0", "127.0.0.1:5001/x:1"]


def test_magic_tag(shell, calls, capsys):
    run(shell, "%docker_tag busybox:latest h:1/a:1")
    assert calls == [("tag", ("busybox:latest", "h:1/a:1"), {})]
    assert "Tagged a as h:1/a:1" in capsys.readouterr().out


def test_magic_user_error_has_no_traceback(shell, calls, capsys):
    calls.replace("tag", InvalidReference("Invalid target 'A B': it contains whitespace."))
    result = run(shell, "%docker_tag busybox 'A B'")
    assert isinstance(result, CellError)
    assert result.kind == "InvalidReference"
    output = capsys.readouterr()
    text = output.out + output.err
    assert "Invalid target 'A B'" in text
    assert "Traceback" not in text


def test_magic_push_authentication_error(shell, calls, capsys):
    calls.replace("push", AuthenticationRequired("authentication required: run %docker_login h:1",
                                                 registry="h:1"))
    assert isinstance(run(shell, "%docker_push h:1/a:1"), CellError)
    assert "run %docker_login h:1" in capsys.readouterr().out


def test_magic_images(shell, calls):
    result = shell.run_cell("%docker_images busybox -a")
    assert calls == [("images", ("busybox",), {"all": True})]
    assert isinstance(result.result, publish.ImageTable)


def test_magic_search_options(shell, calls):
    run(shell, "%docker_search hello --limit 5 --filter is-official=true --filter stars=3 "
               "--registry 127.0.0.1:5001 -o found")
    assert calls == [("search", ("hello",), {"limit": 5, "filters": ["is-official=true", "stars=3"],
                                             "registry": "127.0.0.1:5001"})]
    assert isinstance(shell.user_ns["found"], publish.SearchTable)


def test_magic_search_defaults(shell, calls):
    run(shell, "%docker_search busybox")
    assert calls == [("search", ("busybox",), {"limit": 25, "filters": [], "registry": None})]


def test_magic_search_limit_must_be_number(shell, calls):
    assert is_usage_error(run(shell, "%docker_search x --limit many"))


def test_magic_run_keeps_quoted_command(shell, calls):
    run(shell, """%docker_run busybox:latest sh -c "echo hi; exit 0" """)
    assert calls == [("run", ("busybox:latest", ["sh", "-c", "echo hi; exit 0"]),
                      {"view": "auto", "tail": 200})]


def test_magic_run_options_before_image(shell, calls):
    run(shell, "%docker_run -o ran --tail 5 busybox ls -l")
    assert calls == [("run", ("busybox", ["ls", "-l"]), {"view": "auto", "tail": 5})]
    assert shell.user_ns["ran"].exit_code == 0


def test_magic_run_flags_after_image_belong_to_command(shell, calls):
    run(shell, "%docker_run busybox ls -o x --tail")
    assert calls[0][1] == ("busybox", ["ls", "-o", "x", "--tail"])


def test_magic_run_failure_stores_result_and_fails_cell(shell, calls):
    failed = publish.RunResult("busybox", ["false"], 1, ["bad"])
    calls.replace("run", publish.RunFailed(failed))
    error = run(shell, "%docker_run -o ran busybox false")
    assert isinstance(error, CellError)
    assert "exited with status 1" in str(error)
    assert shell.user_ns["ran"] is failed


def test_magic_unbalanced_quote_is_usage_error(shell, calls):
    assert is_usage_error(run(shell, "%docker_run busybox sh -c 'echo"))


def test_magic_help_is_the_manual(shell):
    doc = DockerMagics.docker_push.__doc__
    assert "--all-tags" in doc
    assert "Example::" in doc


def test_magic_logout(shell, calls, capsys):
    run(shell, "%docker_logout h:1")
    assert calls == [("logout", ("h:1",), {})]
    assert "Removed the credentials for h:1" in capsys.readouterr().out
