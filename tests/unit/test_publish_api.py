"""The Python API in nbdocker.publish against a fake engine: credentials, views, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import StdinNotImplementedError

from nbdocker import publish
from nbdocker.build.events import LayerProgress, LogLine
from nbdocker.engine import credentials
from nbdocker.engine.images import InvalidReference
from nbdocker.engine.progress import AuthenticationRequired, StreamSummary
from nbdocker.errors import RegistryError, UserError

PASSWORD = "Sup3r-secret-pw"
DIGEST = "sha256:" + "9a" * 32


class ImageDetails:
    def __init__(self, id: str):
        self.id = id


class FakeEngine:
    """Records calls; push, pull and run replay scripted events like the real generators."""

    def __init__(self, events=(), error: Exception | None = None, exit_code: int = 0,
                 login_error: Exception | None = None):
        self.events = list(events)
        self.error = error
        self.exit_code = exit_code
        self.login_error = login_error
        self.calls: list[tuple] = []
        self.closed = False

    def _stream(self, summary):
        try:
            for event in self.events:
                yield event
            if self.error:
                raise self.error
            return summary
        finally:
            self.closed = True

    def login(self, server, username, password):
        self.calls.append(("login", server, username, password))
        if self.login_error:
            raise self.login_error
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    def push(self, repository, tag=None, *, auth_config=None):
        self.calls.append(("push", repository, tag, auth_config))
        return self._stream(StreamSummary(digest=DIGEST, size=527, digests={tag or "": DIGEST},
                                          layers={"a": "Pushed"}))

    def pull(self, repository, tag=None, *, auth_config=None, all_tags=False):
        self.calls.append(("pull", repository, tag, auth_config, all_tags))
        return self._stream(StreamSummary(digest=DIGEST, status="Downloaded newer image"))

    def run(self, image, command=None):
        self.calls.append(("run", image, command))
        return self._stream(self.exit_code)

    def tag(self, source, repository, tag=None):
        self.calls.append(("tag", source, repository, tag))

    def inspect_image(self, reference):
        self.calls.append(("inspect_image", reference))
        return ImageDetails("sha256:" + "1" * 64)

    def rmi(self, reference, *, force=False):
        self.calls.append(("rmi", reference, force))
        return [{"Untagged": reference}, {"Deleted": "sha256:" + "1" * 64}]

    def images(self, name=None, *, all=False):
        self.calls.append(("images", name, all))
        return [{"Id": "sha256:" + "1" * 64, "Created": 1, "Size": 10, "RepoTags": ["a:1"]}]

    def search(self, term, *, limit=25, filters=None):
        self.calls.append(("search", term, limit, filters))
        return [{"name": "busybox", "description": "d", "star_count": 3, "is_official": True,
                 "is_automated": False}]


class RecordingView:
    def __init__(self):
        self.events, self.finished, self.failed = [], [], []

    def __call__(self, event):
        self.events.append(event)

    def finish(self, result):
        self.finished.append(result)

    def fail(self, error):
        self.failed.append(error)


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path / "docker"


@pytest.fixture
def logged_in(docker_config):
    credentials.store("127.0.0.1:5001", "nbdocker", PASSWORD)


LAYER_EVENTS = [LayerProgress(operation="push", layer="a", status="Preparing"),
                LayerProgress(operation="push", layer="a", status="Pushed")]


# -- push ------------------------------------------------------------------------------------

def test_push_sends_stored_credentials_per_call(logged_in):
    engine = FakeEngine(LAYER_EVENTS)
    publish.push("127.0.0.1:5001/nbdocker/hello:1.0", engine=engine)
    [call] = engine.calls
    assert call[:3] == ("push", "127.0.0.1:5001/nbdocker/hello", "1.0")
    assert call[3] == {"serveraddress": "127.0.0.1:5001", "username": "nbdocker", "password": PASSWORD}


def test_push_never_logs_in_or_out(logged_in):
    engine = FakeEngine(LAYER_EVENTS)
    publish.push("127.0.0.1:5001/nbdocker/hello:1.0", engine=engine)
    assert [call[0] for call in engine.calls] == ["push"]
    assert credentials.find("127.0.0.1:5001") is not None


def test_push_other_registry_gets_no_credentials(logged_in):
    engine = FakeEngine()
    publish.push("127.0.0.1:5000/hello:1.0", engine=engine)
    assert engine.calls[0][3] is None


def test_push_default_tag_latest():
    engine = FakeEngine()
    result = publish.push("127.0.0.1:5000/hello", engine=engine)
    assert engine.calls[0][2] == "latest"
    assert result.reference == "127.0.0.1:5000/hello:latest"


def test_push_result():
    result = publish.push("h:1/a:1", engine=FakeEngine(LAYER_EVENTS))
    assert result.digest == DIGEST
    assert result.size == 527
    assert result.layers == {"a": "Pushed"}


def test_push_all_tags_sends_no_tag():
    engine = FakeEngine()
    result = publish.push("h:1/a", all_tags=True, engine=engine)
    assert engine.calls[0][2] is None
    assert result.reference == "h:1/a"


def test_push_all_tags_with_tag_is_error():
    engine = FakeEngine()
    with pytest.raises(UserError, match="without ':1'"):
        publish.push("h:1/a:1", all_tags=True, engine=engine)
    assert engine.calls == []


def test_push_bad_reference_never_reaches_engine():
    engine = FakeEngine()
    with pytest.raises(InvalidReference):
        publish.push("h:1/My Image:1", engine=engine)
    assert engine.calls == []


def test_push_feeds_view_and_callback():
    view, seen = RecordingView(), []
    result = publish.push("h:1/a:1", view=view, on_event=seen.append, engine=FakeEngine(LAYER_EVENTS))
    assert view.events == LAYER_EVENTS
    assert seen == LAYER_EVENTS
    assert view.finished == [result]


def test_push_in_band_error_fails_view_and_raises():
    error = AuthenticationRequired("auth needed", registry="h:1")
    engine, view = FakeEngine(LAYER_EVENTS[:1], error=error), RecordingView()
    with pytest.raises(AuthenticationRequired):
        publish.push("h:1/a:1", view=view, engine=engine)
    assert view.failed == [error]
    assert view.finished == []
    assert engine.closed


def test_push_interrupt_closes_stream_and_fails_view():
    engine, view = FakeEngine(LAYER_EVENTS), RecordingView()

    def interrupt(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish.push("h:1/a:1", view=view, on_event=interrupt, engine=engine)
    assert engine.closed
    assert isinstance(view.failed[0], KeyboardInterrupt)


def test_push_unknown_view_name():
    with pytest.raises(UserError, match="Unknown view 'fancy'"):
        publish.push("h:1/a:1", view="fancy", engine=FakeEngine())


def test_push_result_repr_has_no_password(logged_in):
    result = publish.push("127.0.0.1:5001/a:1", engine=FakeEngine())
    assert PASSWORD not in repr(result)


# -- pull ------------------------------------------------------------------------------------

def test_pull_sends_stored_credentials(logged_in):
    engine = FakeEngine()
    result = publish.pull("127.0.0.1:5001/nbdocker/hello:1.0", engine=engine)
    assert engine.calls[0][3]["password"] == PASSWORD
    assert result.image_id == "sha256:" + "1" * 64
    assert result.status == "Downloaded newer image"


def test_pull_by_digest():
    engine = FakeEngine()
    result = publish.pull(f"h:1/a@{DIGEST}", engine=engine)
    assert engine.calls[0][1:3] == ("h:1/a", DIGEST)
    assert result.reference == f"h:1/a@{DIGEST}"


def test_pull_all_tags():
    engine = FakeEngine()
    publish.pull("h:1/a", all_tags=True, engine=engine)
    assert engine.calls[0][2] is None
    assert engine.calls[0][4] is True
    assert [call[0] for call in engine.calls] == ["pull"]


def test_pull_all_tags_with_tag_is_error():
    with pytest.raises(UserError, match="all tags"):
        publish.pull("h:1/a:2", all_tags=True, engine=FakeEngine())


# -- login and logout ------------------------------------------------------------------------

def test_login_password_from_env(monkeypatch, docker_config):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    engine = FakeEngine()
    result = publish.login("127.0.0.1:5001", "nbdocker", password_env="REGISTRY_PASSWORD", engine=engine)
    assert engine.calls == [("login", "127.0.0.1:5001", "nbdocker", PASSWORD)]
    assert credentials.find("127.0.0.1:5001").password == PASSWORD
    assert result.stored_in == str(docker_config / "config.json")


def test_login_result_never_shows_password(monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    result = publish.login("127.0.0.1:5001", "u", password_env="REGISTRY_PASSWORD", engine=FakeEngine())
    assert PASSWORD not in repr(result)
    assert PASSWORD not in str(result)


def test_login_docker_hub_key(monkeypatch, docker_config):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    engine = FakeEngine()
    result = publish.login(None, "u", password_env="REGISTRY_PASSWORD", engine=engine)
    assert engine.calls[0][1] == "https://index.docker.io/v1/"
    assert result.server == "docker.io"
    config = json.loads((docker_config / "config.json").read_text())
    assert list(config["auths"]) == ["https://index.docker.io/v1/"]


def test_login_prompt(docker_config):
    prompts = []
    engine = FakeEngine()
    publish.login("h:1", "u", engine=engine, prompt=lambda text: prompts.append(text) or PASSWORD)
    assert prompts == ["Password for u at h:1: "]
    assert engine.calls[0][3] == PASSWORD


def test_login_prompt_impossible(docker_config):
    def no_stdin(text):
        raise StdinNotImplementedError("no stdin")

    engine = FakeEngine()
    with pytest.raises(UserError, match="cannot prompt .* pass --password-env VAR"):
        publish.login("h:1", "u", engine=engine, prompt=no_stdin)
    assert engine.calls == []


def test_login_empty_prompt_answer():
    with pytest.raises(UserError, match="Empty password"):
        publish.login("h:1", "u", engine=FakeEngine(), prompt=lambda text: "")


def test_login_env_var_unset(monkeypatch):
    monkeypatch.delenv("NBDOCKER_TEST_UNSET", raising=False)
    with pytest.raises(UserError, match="'NBDOCKER_TEST_UNSET' is not set"):
        publish.login("h:1", "u", password_env="NBDOCKER_TEST_UNSET", engine=FakeEngine())


def test_login_env_var_empty(monkeypatch):
    monkeypatch.setenv("NBDOCKER_TEST_EMPTY", "")
    with pytest.raises(UserError, match="is empty"):
        publish.login("h:1", "u", password_env="NBDOCKER_TEST_EMPTY", engine=FakeEngine())


def test_login_env_var_name_invalid():
    with pytest.raises(UserError, match="Invalid environment variable name 'A-B'"):
        publish.login("h:1", "u", password_env="A-B", engine=FakeEngine())


def test_login_rejected_stores_nothing(monkeypatch, docker_config):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    engine = FakeEngine(login_error=RegistryError("rejected"))
    with pytest.raises(RegistryError):
        publish.login("h:1", "u", password_env="REGISTRY_PASSWORD", engine=engine)
    assert credentials.find("h:1") is None


def test_login_username_from_store(monkeypatch, logged_in):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    engine = FakeEngine()
    publish.login("127.0.0.1:5001", password_env="REGISTRY_PASSWORD", engine=engine)
    assert engine.calls[0][2] == "nbdocker"


def test_login_username_prompt_impossible(monkeypatch):
    def no_stdin(text):
        raise StdinNotImplementedError("no stdin")

    monkeypatch.setattr("builtins.input", no_stdin)
    with pytest.raises(UserError, match="-u USERNAME"):
        publish.login("h:1", password_env="X", engine=FakeEngine())


def test_login_identity_token_stored_instead_of_password(monkeypatch, docker_config):
    monkeypatch.setenv("REGISTRY_PASSWORD", PASSWORD)
    engine = FakeEngine()
    engine.login = lambda *args: {"Status": "Login Succeeded", "IdentityToken": "refresh-123"}
    publish.login("h:1", "u", password_env="REGISTRY_PASSWORD", engine=engine)
    stored = credentials.find("h:1")
    assert stored.identity_token == "refresh-123"
    assert PASSWORD not in (docker_config / "config.json").read_text()


def test_logout_removes_credentials(logged_in, docker_config):
    result = publish.logout("127.0.0.1:5001")
    assert result.removed_from == str(docker_config / "config.json")
    assert credentials.find("127.0.0.1:5001") is None
    assert str(result) == f"Removed the credentials for 127.0.0.1:5001 from {result.removed_from}"


def test_logout_not_logged_in():
    assert str(publish.logout("h:1")) == "Not logged in to h:1"


# -- tag, remove, images ---------------------------------------------------------------------

def test_tag_default_latest():
    engine = FakeEngine()
    result = publish.tag("busybox", "h:1/a", engine=engine)
    assert engine.calls[0] == ("tag", "busybox", "h:1/a", "latest")
    assert result.target == "h:1/a:latest"
    assert result.image_id.startswith("sha256:")


def test_tag_invalid_target_suggests_fix():
    engine = FakeEngine()
    with pytest.raises(InvalidReference, match="Did you mean 'h:1/my-app:1'"):
        publish.tag("busybox", "h:1/My App:1", engine=engine)
    assert engine.calls == []


def test_tag_target_with_digest_is_error():
    with pytest.raises(InvalidReference, match="digest"):
        publish.tag("busybox", f"a@{DIGEST}", engine=FakeEngine())


def test_remove_image_result():
    result = publish.remove_image("a:1", engine=FakeEngine())
    assert result.untagged == ["a:1"]
    assert len(result.deleted) == 1


def test_images_table():
    engine = FakeEngine()
    table = publish.images("a", all=True, engine=engine)
    assert engine.calls == [("images", "a", True)]
    assert [row.reference for row in table] == ["a:1"]


# -- search ----------------------------------------------------------------------------------

def test_search_passes_checked_filters():
    engine = FakeEngine()
    table = publish.search("127.0.0.1:9/busy", filters=["is-official=TRUE", "stars=2"], limit=5,
                           engine=engine)
    assert engine.calls == [("search", "127.0.0.1:9/busy", 5, {"is-official": "true", "stars": "2"})]
    assert table.title == "Search of 127.0.0.1:9 for 'busy'"
    assert table[0].official is True


def test_search_bad_filter_never_reaches_engine():
    engine = FakeEngine()
    with pytest.raises(UserError, match="Invalid search filter 'color'"):
        publish.search("x", filters=["color=red"], engine=engine)
    assert engine.calls == []


@pytest.mark.parametrize("limit", [0, 101, -3, True, "5"])
def test_search_limit_range(limit):
    with pytest.raises(UserError, match="Invalid search limit"):
        publish.search("x", limit=limit, engine=FakeEngine())


def test_search_filters_with_registry_is_error():
    with pytest.raises(UserError, match="apply to an index search only"):
        publish.search("x", filters=["stars=1"], registry="127.0.0.1:5000")


def test_search_docker_hub_title():
    assert publish.search("busybox", engine=FakeEngine()).title == "Search of Docker Hub for 'busybox'"


# -- run -------------------------------------------------------------------------------------

RUN_EVENTS = [LogLine(text="hello", stream="stdout"), LogLine(text="oops", stream="stderr")]


def test_run_splits_command_string():
    engine = FakeEngine(RUN_EVENTS)
    result = publish.run("busybox", "sh -c 'echo hi'", engine=engine)
    assert engine.calls == [("run", "busybox", ["sh", "-c", "echo hi"])]
    assert result.command == ["sh", "-c", "echo hi"]


def test_run_without_command_uses_image_default():
    engine = FakeEngine()
    publish.run("busybox", engine=engine)
    assert engine.calls == [("run", "busybox", None)]


def test_run_result_and_log_file(tmp_path):
    result = publish.run("busybox", ["x"], engine=FakeEngine(RUN_EVENTS))
    assert result.ok
    assert result.tail == ["hello", "oops"]
    assert result.line_count == 2
    assert Path(result.log_path).parent == tmp_path / "logs"
    assert Path(result.log_path).read_text() == "hello\nstderr: oops\n"


def test_run_log_dir_argument(tmp_path):
    result = publish.run("busybox", ["x"], log_dir=str(tmp_path / "mine"), engine=FakeEngine())
    assert Path(result.log_path).parent == tmp_path / "mine"


def test_run_tail_is_bounded():
    events = [LogLine(text=str(i), stream="stdout") for i in range(50)]
    result = publish.run("busybox", ["x"], tail=10, engine=FakeEngine(events))
    assert result.tail == [str(i) for i in range(40, 50)]
    assert result.line_count == 50


def test_run_nonzero_exit_raises():
    engine, view = FakeEngine(RUN_EVENTS, exit_code=3), RecordingView()
    with pytest.raises(publish.RunFailed) as caught:
        publish.run("busybox", ["sh", "-c", "exit 3"], view=view, engine=engine)
    message = str(caught.value)
    assert message.startswith("Container of busybox sh -c 'exit 3' exited with status 3.")
    assert message.endswith("Last lines of output:\n  hello\n  oops")
    assert caught.value.result.exit_code == 3
    assert view.failed == [caught.value]


def test_run_nonzero_exit_without_check():
    result = publish.run("busybox", ["false"], check=False, engine=FakeEngine(exit_code=1))
    assert result.exit_code == 1
    assert not result.ok


def test_run_interrupt_closes_stream():
    engine = FakeEngine(RUN_EVENTS)

    def interrupt(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        publish.run("busybox", ["sleep", "9"], on_event=interrupt, engine=engine)
    assert engine.closed


def test_run_invalid_tail():
    with pytest.raises(UserError, match="Invalid tail"):
        publish.run("busybox", tail=0, engine=FakeEngine())


def test_run_result_repr_is_short():
    events = [LogLine(text="x" * 100, stream="stdout")] * 100
    result = publish.run("busybox", ["x"], engine=FakeEngine(events))
    assert len(repr(result)) < 200
