"""Parallel builds, -on-error modes, interrupts and parallel pushes against the real engine.

Overlap between builds is read from event timestamps: builds ran concurrently when every
build started its sleeping step before any build finished it. No test asserts how long
something took, except that an interrupt ends a `sleep 300` step within a generous bound.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

import nbdocker
from nbdocker import api
from nbdocker.build import cache, post_processors
from nbdocker.build.artifacts import IMPORT_ID, Artifact
from nbdocker.build.events import (ArtifactEvent, BuildFinished, BuildStarted, LogLine, RunStarted,
                                   StepFinished, StepStarted, Warning)
from nbdocker.engine.credentials import Credentials
from nbdocker.errors import BuildsFailed, Interrupted
from nbdocker.registry import RegistryClient
from nbdocker.template.model import Component

pytestmark = pytest.mark.engine

ASK_PROMPT = "[c] Clean up and exit, [a] abort without cleanup, or [r] retry step"
SHELL_STEP = "shell (provisioners[0])"


def builders(*names: str, **options) -> list[dict]:
    return [{"type": "docker", "name": name, "image": "busybox:latest", "discard": True,
             **options} for name in names]


def template(*, builders_=None, provisioners=(), post_processors=(), **extra) -> str:
    data = {"builders": builders_ or builders("docker"), "provisioners": list(provisioners),
            "post-processors": list(post_processors), **extra}
    return json.dumps(data, indent=2)


def sleeping(seconds: float) -> list[dict]:
    return [{"type": "shell", "inline": ['echo "build $PACKER_BUILD_NAME"', f"sleep {seconds}"]}]


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch, engine, unique):
    """Give each test its own Docker config and log folders; prune its step cache after."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("NBDOCKER_LOG_DIR", str(tmp_path / "logs"))
    yield
    cache.prune(engine, f"test-{unique}")


def times(events, kind, step: str | None = None) -> dict[str, float]:
    """Map each build to the time of its event of ``kind`` (for ``step`` when given)."""
    return {event.build: event.time for event in events
            if isinstance(event, kind) and (step is None or event.step == step)}


def remove_left(engine, session_containers) -> list[dict]:
    """Remove this test's containers and return what they were."""
    left = session_containers()
    for container in left:
        engine.remove_container(container["Id"])
    return left


# -- parallel builds ------------------------------------------------------------------------


def test_parallel_builds_overlap(engine):
    events = []
    nbdocker.build(template(builders_=builders("a", "b", "c"), provisioners=sleeping(3)),
                   view=events.append)

    started = times(events, StepStarted, SHELL_STEP)
    finished = times(events, StepFinished, SHELL_STEP)
    assert sorted(started) == ["a", "b", "c"]
    assert max(started.values()) < min(finished.values())


def test_parallel_builds_limit_one_runs_in_turn(engine):
    events = []
    nbdocker.build(template(builders_=builders("a", "b", "c"), provisioners=sleeping(1)),
                   parallel=1, view=events.append)

    started = times(events, BuildStarted)
    finished = times(events, BuildFinished)
    order = sorted(started, key=started.get)
    assert order == ["a", "b", "c"]
    for earlier, later in zip(order, order[1:]):
        assert finished[earlier] <= started[later]


def test_parallel_events_carry_build_name(engine):
    events = []
    nbdocker.build(template(builders_=builders("a", "b"), provisioners=sleeping(0)),
                   view=events.append)

    per_build = [event for event in events
                 if isinstance(event, (BuildStarted, StepStarted, StepFinished, LogLine,
                                       BuildFinished))]
    assert {event.build for event in per_build} == {"a", "b"}
    output = [event for event in events if isinstance(event, LogLine) and event.stream == "stdout"]
    assert sorted(event.text for event in output) == ["build a", "build b"]
    assert all(event.text == f"build {event.build}" for event in output)


def test_parallel_failure_spares_other_builds(engine):
    events = []
    with pytest.raises(BuildsFailed) as failure:
        nbdocker.build(template(
            builders_=builders("broken", "slow"),
            provisioners=[{"type": "shell", "only": ["broken"], "inline": ["exit 9"]},
                          {"type": "shell", "only": ["slow"], "inline": ["sleep 2"]}]),
            view=events.append)

    assert list(failure.value.errors) == ["broken"]
    assert "exit status: 9" in str(failure.value.errors["broken"])
    assert [artifact.build for artifact in failure.value.artifacts] == ["slow"]
    finished = {event.build: event for event in events if isinstance(event, BuildFinished)}
    assert finished["broken"].status == "failed"
    assert finished["slow"].status == "ok"
    assert finished["broken"].time < finished["slow"].time


@pytest.mark.parametrize("selection, expected", [
    ({"only": ["b"]}, ["b"]),
    ({"only": ["a", "c"]}, ["a", "c"]),
    ({"except_": ["a"]}, ["b", "c"]),
])
def test_parallel_only_except_select_builds(engine, selection, expected):
    events = []
    nbdocker.build(template(builders_=builders("a", "b", "c")), view=events.append,
                   **selection)

    run_started = [event for event in events if isinstance(event, RunStarted)]
    assert run_started[0].builds == expected
    assert sorted(times(events, BuildStarted)) == expected


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbdocker", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_cli_parallel_builds_and_selection(engine, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(template(builders_=builders("a", "b", "c"), provisioners=sleeping(1)))
    result = cli("build", "-parallel-builds=1", "-except=c", str(path))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Build 'a' finished" in result.stdout
    assert "Build 'b' finished" in result.stdout
    assert not [line for line in lines if line.startswith(("==> c:", "    c:"))]
    a_done = next(i for i, line in enumerate(lines) if line.startswith("Build 'a' finished"))
    b_lines = [i for i, line in enumerate(lines) if line.startswith(("==> b:", "    b:"))]
    assert min(b_lines) > a_done


def test_cli_failing_build_reports_both(engine, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(template(builders_=builders("broken", "fine"), provisioners=[
        {"type": "shell", "only": ["broken"], "inline": ["exit 9"]}]))
    result = cli("build", str(path))

    assert result.returncode == 1
    assert "Build 'fine' finished" in result.stdout
    assert "Build 'broken' errored" in result.stdout
    assert "--> broken: " in result.stdout
    assert "--> fine: Discarded container" in result.stdout


def test_parallel_builds_share_manifest(engine, tmp_path):
    output_file = tmp_path / "manifest.json"
    names = ["a", "b", "c", "d"]
    nbdocker.build(template(builders_=builders(*names), post_processors=[
        {"type": "manifest", "output": str(output_file)}]))

    entries = json.loads(output_file.read_text())["builds"]
    assert sorted(entry["name"] for entry in entries) == names


def test_manifest_parallel_writes_keep_entries(tmp_path):
    # Sixteen builds finishing at once, each appending its entry to one manifest file.
    output_file = tmp_path / "manifest.json"
    component = Component(type="manifest", config={"output": str(output_file)},
                          path="post-processors[0]")
    start = threading.Barrier(16)
    failures = []

    def finish_build(index: int) -> None:
        ctx = SimpleNamespace(build=SimpleNamespace(name=f"build-{index}", type="docker"),
                              data={"PackerRunUUID": "run"}, say=lambda text: None,
                              render=lambda text, **fields: text, failure=RuntimeError)
        artifact = Artifact(build=f"build-{index}", builder_id=IMPORT_ID, id=f"id-{index}")
        start.wait()
        try:
            post_processors.manifest(ctx, component, artifact)
        except Exception as err:  # noqa: BLE001 - reported by the assert below
            failures.append(err)

    threads = [threading.Thread(target=finish_build, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    entries = json.loads(output_file.read_text())["builds"]
    assert sorted(entry["name"] for entry in entries) == sorted(f"build-{i}" for i in range(16))


# -- -on-error ------------------------------------------------------------------------------


def failing_template(*, first_run_fails_only: bool = False) -> str:
    """Return a template whose provisioner fails and whose error-cleanup provisioner prints
    ``cleanup-ran``; with ``first_run_fails_only`` the provisioner succeeds when run again."""
    if first_run_fails_only:
        inline = ["if [ -f /tmp/failed-once ]; then echo second-try; exit 0; fi",
                  "touch /tmp/failed-once", "echo first-try", "exit 1"]
    else:
        inline = ["echo provisioning", "exit 1"]
    return template(provisioners=[{"type": "shell", "inline": inline}],
                    **{"error-cleanup-provisioner": {"type": "shell",
                                                     "inline": ["echo cleanup-ran"]}})


def output(events) -> list[str]:
    return [event.text for event in events if isinstance(event, LogLine)]


def run_with_answers(text: str, answers: list[str], events: list, **options):
    """Build with -on-error=ask, answering the prompts from ``answers``; return the prompts."""
    prompts = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answers.pop(0)

    template = api.load(text)
    run = api.start(template, on_error="ask", ask=ask, **options)
    try:
        api.consume(run, events.append, template)
    finally:
        events.append(("prompts", prompts))
    return prompts


def test_on_error_cleanup_runs_cleanup_provisioner(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        nbdocker.build(failing_template(), on_error="cleanup", view=events.append)

    lines = output(events)
    assert "cleanup-ran" in lines
    assert lines.index("cleanup-ran") < next(
        i for i, line in enumerate(lines) if line.startswith("Killing the container"))
    assert session_containers() == []


def test_on_error_abort_keeps_container(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        nbdocker.build(failing_template(), on_error="abort", view=events.append)
    left = remove_left(engine, session_containers)

    assert len(left) == 1
    assert left[0]["State"] == "running"
    assert "cleanup-ran" not in output(events)
    warnings = [event.message for event in events if isinstance(event, Warning)]
    hints = [message for message in warnings if left[0]["Id"][:12] in message]
    assert hints, warnings
    assert "docker rm -f" in hints[0]


def test_on_error_run_cleanup_provisioner_keeps_container(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        nbdocker.build(failing_template(), on_error="run-cleanup-provisioner",
                       view=events.append)
    left = remove_left(engine, session_containers)

    assert "cleanup-ran" in output(events)
    assert len(left) == 1
    assert left[0]["State"] == "running"


def test_on_error_ask_clean_up(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        run_with_answers(failing_template(), ["c"], events)
    prompts = events[-1][1]

    assert len(prompts) == 1
    assert ASK_PROMPT in prompts[0]
    assert "cleanup-ran" in output(events[:-1])
    assert session_containers() == []


def test_on_error_ask_abort(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        run_with_answers(failing_template(), ["a"], events)
    left = remove_left(engine, session_containers)

    assert len(left) == 1
    assert "cleanup-ran" not in output(events[:-1])


def test_on_error_ask_retry(engine, session_containers):
    events = []
    prompts = run_with_answers(failing_template(first_run_fails_only=True), ["r"], events)

    lines = output(events[:-1])
    assert len(prompts) == 1
    assert lines.index("first-try") < lines.index("second-try")
    assert "cleanup-ran" not in lines
    statuses = [event.status for event in events[:-1]
                if isinstance(event, StepFinished) and event.step == SHELL_STEP]
    assert statuses == ["failed", "ok"]
    assert session_containers() == []


def test_on_error_ask_reads_first_letter(engine, session_containers):
    events = []
    prompts = run_with_answers(failing_template(first_run_fails_only=True), [" Retry"], events)

    assert len(prompts) == 1
    assert "second-try" in output(events[:-1])


def test_on_error_ask_repeats_invalid_answer(engine, session_containers):
    events = []
    prompts = run_with_answers(failing_template(first_run_fails_only=True), ["x", "r"], events)

    assert len(prompts) == 2
    assert "Invalid answer 'x'" in prompts[1]
    assert "second-try" in output(events[:-1])


def test_on_error_ask_empty_answer_cleans_up(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        run_with_answers(failing_template(), [""], events)
    assert "cleanup-ran" in output(events[:-1])
    assert session_containers() == []


def test_on_error_ask_without_prompt_cleans_up(engine, session_containers):
    events = []
    with pytest.raises(BuildsFailed):
        nbdocker.build(failing_template(), on_error="ask", view=events.append)
    assert "cleanup-ran" in output(events)
    assert session_containers() == []


def test_cli_ask_without_terminal_cleans_up(engine, tmp_path, session_containers):
    path = tmp_path / "template.json"
    path.write_text(failing_template())
    result = cli("build", "-on-error=ask", str(path), stdin=subprocess.DEVNULL)

    assert result.returncode == 1
    assert "cleanup-ran" in result.stdout
    assert "Killing the container" in result.stdout
    assert session_containers() == []


def test_on_error_invalid_mode_is_rejected(engine):
    with pytest.raises(nbdocker.UserError) as failure:
        nbdocker.build(template(), on_error="retry")
    assert "retry" in str(failure.value)
    assert "run-cleanup-provisioner" in str(failure.value)


# -- interrupts -----------------------------------------------------------------------------


def interrupt_when(marker: str, count: int = 1):
    """Return a view that raises KeyboardInterrupt once ``count`` lines equal ``marker``."""
    seen = []
    events = []

    def view(event):
        events.append(event)
        if isinstance(event, LogLine) and event.text == marker:
            seen.append(event.build)
            if len(seen) == count:
                raise KeyboardInterrupt
    return view, events


def test_interrupt_from_view_removes_container(engine, session_containers):
    view, events = interrupt_when("sleeping")
    started = time.monotonic()
    with pytest.raises(Interrupted) as failure:
        nbdocker.build(template(provisioners=[{"type": "shell",
                                               "inline": ["echo sleeping", "sleep 300"]}]),
                       view=view)

    assert time.monotonic() - started < 60
    assert "containers were removed" in str(failure.value)
    assert session_containers() == []
    finished = [event for event in events if isinstance(event, BuildFinished)]
    assert [event.status for event in finished] == ["interrupted"]


def test_interrupt_skips_error_cleanup_provisioner(engine, session_containers):
    view, events = interrupt_when("sleeping")
    with pytest.raises(Interrupted):
        nbdocker.build(template(
            provisioners=[{"type": "shell", "inline": ["echo sleeping", "sleep 300"]}],
            **{"error-cleanup-provisioner": {"type": "shell", "inline": ["echo cleanup-ran"]}}),
            view=view)

    assert "cleanup-ran" not in output(events)
    assert not [event for event in events if isinstance(event, Warning)]
    assert session_containers() == []


def test_interrupt_stops_every_parallel_build(engine, session_containers):
    view, events = interrupt_when("sleeping", count=2)
    with pytest.raises(Interrupted):
        nbdocker.build(template(builders_=builders("a", "b"), provisioners=[
            {"type": "shell", "inline": ["echo sleeping", "sleep 300"]}]), view=view)

    assert session_containers() == []
    statuses = {event.build: event.status for event in events
                if isinstance(event, BuildFinished)}
    assert statuses == {"a": "interrupted", "b": "interrupted"}


def test_interrupt_with_abort_leaves_container(engine, session_containers):
    view, events = interrupt_when("sleeping")
    started = time.monotonic()
    with pytest.raises(Interrupted) as failure:
        nbdocker.build(template(provisioners=[{"type": "shell",
                                               "inline": ["echo sleeping", "sleep 300"]}]),
                       on_error="abort", view=view)
    elapsed = time.monotonic() - started
    left = remove_left(engine, session_containers)

    assert elapsed < 60
    assert "left running" in str(failure.value)
    assert len(left) == 1
    assert left[0]["State"] == "running"
    finished = [event for event in events if isinstance(event, BuildFinished)]
    assert [event.status for event in finished] == ["interrupted"]


def test_interrupt_skips_post_processors(engine, tmp_path, session_containers):
    marker = tmp_path / "post-processed"
    view, _ = interrupt_when("sleeping")
    with pytest.raises(Interrupted):
        nbdocker.build(template(
            provisioners=[{"type": "shell", "inline": ["echo sleeping", "sleep 300"]}],
            post_processors=[{"type": "shell-local", "inline": [f"touch {marker}"]}]),
            view=view)
    assert not marker.exists()
    assert session_containers() == []


def test_interrupt_during_post_processor_keeps_image(engine, unique, session_containers):
    view, events = interrupt_when("post-processing")
    with pytest.raises(Interrupted):
        nbdocker.build(template(
            builders_=[{"type": "docker", "image": "busybox:latest", "commit": True}],
            post_processors=[[{"type": "shell-local",
                               "inline": ["echo post-processing", "sleep 300"]},
                              {"type": "docker-tag", "repository": f"nbdocker-test/late-{unique}"}]]),
            view=view)
    artifacts = [event.artifact for event in events if isinstance(event, ArtifactEvent)]
    for artifact in artifacts:
        engine.remove_image(artifact.image_id, force=True)

    finished = [event.status for event in events if isinstance(event, BuildFinished)]
    assert finished == ["interrupted"]
    assert len(artifacts) == 1
    assert artifacts[0].image_id.startswith("sha256:")
    assert engine.inspect_image(f"nbdocker-test/late-{unique}:latest") is None


def test_cli_sigint_skips_error_cleanup(engine, tmp_path, session_containers):
    path = tmp_path / "template.json"
    path.write_text(template(
        provisioners=[{"type": "shell", "inline": ["echo sleeping", "sleep 300"]}],
        **{"error-cleanup-provisioner": {"type": "shell", "inline": ["echo cleanup-ran"]}}))
    process = subprocess.Popen([sys.executable, "-m", "nbdocker", "build", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "sleeping" in line or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    try:
        rest, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 1, errors
    assert "Traceback" not in errors
    assert "was interrupted" in rest
    assert "Killing the container" in rest
    assert "cleanup-ran" not in rest
    assert "Cleanup provisioner failed" not in rest
    assert session_containers() == []


# -- parallel pushes ------------------------------------------------------------------------


def push_build(name: str, repository: str, registry: str, barrier_dir) -> tuple[dict, list]:
    """Return the builder and the post-processor sequence of build ``a`` or ``b``.

    The sequence tags the image, waits until the other build reached the same point (a
    file in ``barrier_dir`` each), then pushes with login options.
    """
    other = "b" if name == "a" else "a"
    return {
        "type": "docker", "name": name, "image": "busybox:latest", "commit": True,
    }, [
        {"type": "docker-tag", "repository": repository, "tags": ["1.0"], "only": [name]},
        {"type": "shell-local", "only": [name], "inline": [
            f"touch {barrier_dir}/{name}",
            f"for i in $(seq 100); do [ -f {barrier_dir}/{other} ] && exit 0; sleep 0.1; done",
            "exit 1"]},
        {"type": "docker-push", "only": [name], "login": True, "login_server": registry,
         "login_username": "{{user `registry_user`}}",
         "login_password": "{{user `registry_password`}}"},
    ]


def test_parallel_pushes_survive_logout_elsewhere(engine, lab, unique, tmp_path, monkeypatch):
    # Packer's docker-push logs in before and out after each push, so parallel pushes with
    # login options, or a logout in another terminal, break each other's pushes.
    registry = lab["NBDOCKER_LAB_REGISTRY"]
    paths = {name: f"nbdocker-test/parallel-{name}-{unique}" for name in ("a", "b")}
    builds, sequences = [], []
    for name, path in paths.items():
        build, sequence = push_build(name, f"{registry}/{path}", registry, tmp_path)
        builds.append(build)
        sequences.append(sequence)
    text = json.dumps({
        "variables": {"registry_user": "", "registry_password": ""},
        "sensitive-variables": ["registry_password"],
        "builders": builds,
        "provisioners": [{"type": "shell", "inline": [
            "dd if=/dev/urandom of=/payload bs=1M count=16 2>/dev/null"]}],
        "post-processors": sequences})
    monkeypatch.setenv("NBDOCKER_TEST_PASSWORD", lab["NBDOCKER_LAB_PASSWORD"])

    # A third thread logs in and out of the same registry while the builds push.
    stop = threading.Event()
    cycles, problems = [], []

    def log_in_and_out():
        while not stop.is_set():
            try:
                nbdocker.login(registry, lab["NBDOCKER_LAB_USER"],
                               password_env="NBDOCKER_TEST_PASSWORD")
                nbdocker.logout(registry)
                cycles.append(1)
            except Exception as err:  # noqa: BLE001 - reported by the assert below
                problems.append(err)
                return

    churn = threading.Thread(target=log_in_and_out, daemon=True)
    churn.start()
    events = []
    artifacts = []
    try:
        artifacts = nbdocker.build(text, variables={
            "registry_user": lab["NBDOCKER_LAB_USER"],
            "registry_password": lab["NBDOCKER_LAB_PASSWORD"]}, view=events.append)
    finally:
        stop.set()
        churn.join(timeout=30)
        digests = {artifact.build: artifact.data.get("Digest") for artifact in artifacts
                   if artifact.data.get("Digest")}
        account = Credentials(registry, lab["NBDOCKER_LAB_USER"], lab["NBDOCKER_LAB_PASSWORD"])
        with RegistryClient(registry, credentials=account) as client:
            for name, digest in digests.items():
                client.delete_manifest(paths[name], digest)
        for artifact in artifacts:
            for reference in [*artifact.tags, artifact.image_id]:
                if reference:
                    engine.remove_image(reference, force=True)

    assert problems == []
    assert cycles
    assert sorted(digests) == ["a", "b"]
    push_step = "docker-push (post-processors[{}][2])"
    started = {event.build: event.time for event in events if isinstance(event, StepStarted)
               and event.step in (push_step.format(0), push_step.format(1))}
    finished = {event.build: event.time for event in events if isinstance(event, StepFinished)
                and event.step in (push_step.format(0), push_step.format(1))}
    assert max(started.values()) < min(finished.values())
