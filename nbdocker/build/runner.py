"""Run a template's builds and yield their events.

Builds run in worker threads (at most ``parallel`` at once, 0 meaning all), like Packer's
parallel builds. The caller iterates the events in its own thread, which is where a
keyboard or kernel interrupt arrives: the runner then cancels every build, removes their
containers (unless ``-on-error=abort``), drains the remaining events and raises
Interrupted. The runner never prints.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..engine import Engine, connect
from ..errors import BuildFailed, Interrupted, NbDockerError, UserError
from ..template import mask as mask_text
from ..template.model import Build, Template
from .artifacts import Artifact
from .context import BuildContext
from .docker_builder import DockerBuilder
from .events import (ArtifactEvent, BuildFinished, BuildStarted, Event, LogLine, RunFinished,
                     RunStarted)
from .post_processors import run_post_processors

ON_ERROR_MODES = ("cleanup", "abort", "ask", "run-cleanup-provisioner")

#: After an interrupt with ``-on-error=abort``, how long the run waits for its builds to
#: stop, in seconds. That mode leaves containers as they are, so a command running in one
#: is not stopped; a build still waiting for such a command is then reported as
#: interrupted, and its thread ends when the command does.
ABORT_WAIT_SECONDS = 5.0


@dataclass
class RunOptions:
    """How to run a template's builds."""

    on_error: str = "cleanup"
    parallel: int = 0
    log_dir: str | None = None
    ask: Callable[[str], str] | None = None
    engine: Engine | None = None
    use_cache: bool = True
    cache_namespace: str = field(default_factory=lambda: os.environ.get(
        "NBDOCKER_CACHE_NAMESPACE", ""))
    extra_secrets: list[str] = field(default_factory=list)


def _mask_event(event: Event, secrets: list[str]) -> Event:
    if not secrets:
        return event
    for name in ("text", "message", "error", "step"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            setattr(event, name, mask_text(value, secrets))
    if isinstance(event, RunFinished):
        event.errors = {key: mask_text(value, secrets) for key, value in event.errors.items()}
    return event


def default_log_dir() -> str:
    """Return where full build logs go: $NBDOCKER_LOG_DIR or a folder in the temp dir."""
    return os.environ.get("NBDOCKER_LOG_DIR") or os.path.join(tempfile.gettempdir(),
                                                              "nbdocker-logs")


class Run:
    """One run of a template: iterate it for events; ``artifacts`` and ``errors`` after."""

    def __init__(self, template: Template, options: RunOptions | None = None):
        self.template = template
        self.options = options or RunOptions()
        if self.options.on_error not in ON_ERROR_MODES:
            raise UserError(f"Invalid -on-error value {self.options.on_error!r}; "
                            f"use one of {', '.join(ON_ERROR_MODES)}")
        self.uuid = str(uuid.uuid4())
        self.secrets = [s for s in [*template.sensitive_values, *self.options.extra_secrets] if s]
        self.artifacts: list[Artifact] = []
        self.errors: dict[str, Exception] = {}
        self.cancel = threading.Event()
        self.interrupted = False
        self._interrupted_at: float | None = None
        self._finished: set[str] = set()
        self._threads_done = 0
        self._done_lock = threading.Lock()
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._contexts: list[BuildContext] = []
        self.log_path = ""

    # -- events ----------------------------------------------------------------------------

    def _put(self, event: Event) -> None:
        self._queue.put(_mask_event(event, self.secrets))

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def events(self) -> Iterator[Event]:
        """Run every build and yield their events; raise Interrupted on an interrupt."""
        started = time.monotonic()
        engine = self.options.engine or connect()
        log_dir = self.options.log_dir or default_log_dir()
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"build-{time.strftime('%Y%m%d-%H%M%S')}-"
                                              f"{self.uuid[:8]}.log")
        builds = self.template.builds
        threads = [threading.Thread(target=self._run_build, args=(build, engine),
                                    name=f"nbdocker-build-{build.name}", daemon=True)
                   for build in builds]
        limit = threading.Semaphore(self.options.parallel or len(builds) or 1)
        self._limit = limit
        with open(self.log_path, "w", encoding="utf-8") as log:
            first = RunStarted([b.name for b in builds], log_path=self.log_path)
            yield first
            for thread in threads:
                thread.start()
            try:
                while True:
                    try:
                        yield from self._drain(threads, log)
                        break
                    except KeyboardInterrupt:
                        # Keep draining: the builds now clean up and report how they ended.
                        self.interrupt()
            finally:
                if any(thread.is_alive() for thread in threads) and not self._waited_out():
                    # The consumer stopped iterating early (the generator was closed).
                    self.interrupt()
                    for thread in threads:
                        thread.join(timeout=30)
            if self._waited_out():
                yield from self._abandon_unfinished(builds)
            artifacts = list(self.artifacts)
            yield _mask_event(RunFinished(artifacts=artifacts,
                                          errors={k: str(v) for k, v in self.errors.items()},
                                          duration=time.monotonic() - started,
                                          log_path=self.log_path), self.secrets)
        if self.interrupted:
            raise Interrupted("Build cancelled after an interrupt; containers were removed"
                              if self.options.on_error != "abort" else
                              "Build cancelled after an interrupt; containers were left running")

    def interrupt(self) -> None:
        """Cancel every build and remove their containers (unless ``-on-error=abort``).

        Call it when an interrupt arrives outside the event loop; keep iterating the run
        afterwards to receive the builds' last events.
        """
        self.interrupted = True
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic()
        self.cancel.set()
        self._kill_containers()

    def _waited_out(self) -> bool:
        """Tell whether an interrupt in abort mode has waited ABORT_WAIT_SECONDS."""
        return (self.options.on_error == "abort" and self._interrupted_at is not None
                and time.monotonic() - self._interrupted_at > ABORT_WAIT_SECONDS)

    def _abandon_unfinished(self, builds: list[Build]) -> Iterator[Event]:
        """Report the builds that did not stop after an interrupt in abort mode."""
        for build in builds:
            if build.name in self._finished:
                continue
            error = Interrupted("Build cancelled after an interrupt while a command was still "
                                "running in its container; the container was left running")
            self.errors[build.name] = error
            yield _mask_event(BuildFinished("interrupted", error=str(error), build=build.name),
                              self.secrets)

    def _drain(self, threads: list[threading.Thread], log) -> Iterator[Event]:
        while True:
            try:
                event = self._queue.get(timeout=0.1)
            except queue.Empty:
                if not any(thread.is_alive() for thread in threads):
                    if self._queue.empty():
                        return
                elif self._waited_out():
                    return
                continue
            if event is None:
                # A build thread ended; once all have, nothing more can arrive.
                if self._threads_done >= len(threads) and self._queue.empty():
                    return
                continue
            if isinstance(event, BuildFinished):
                self._finished.add(event.build)
            if isinstance(event, LogLine):
                prefix = f"{event.build}: " if event.build else ""
                log.write(f"{prefix}{event.text}\n")
            yield event

    def _kill_containers(self) -> None:
        if self.options.on_error == "abort":
            return
        for ctx in list(self._contexts):
            if ctx.container_id:
                try:
                    ctx.engine.remove_container(ctx.container_id)
                except NbDockerError:
                    pass

    # -- one build -------------------------------------------------------------------------

    def _run_build(self, build: Build, engine: Engine) -> None:
        try:
            self._run_limited(build, engine)
        finally:
            with self._done_lock:
                self._threads_done += 1
            self._queue.put(None)

    def _run_limited(self, build: Build, engine: Engine) -> None:
        with self._limit:
            ctx = BuildContext(build, engine, self._put, run_uuid=self.uuid, cancel=self.cancel,
                               on_error=self.options.on_error, run_label=self.uuid,
                               ask=self.options.ask, use_cache=self.options.use_cache,
                               cache_namespace=self.options.cache_namespace,
                               secrets=self.secrets)
            self._contexts.append(ctx)
            started = time.monotonic()
            ctx.emit(BuildStarted(steps=self._planned_steps(build)))
            try:
                ctx.check_cancelled()
                artifact = DockerBuilder(ctx).run()
                artifacts, errors = run_post_processors(ctx, artifact)
                for item in artifacts:
                    self.artifacts.append(item)
                    ctx.emit(ArtifactEvent(item))
                ctx.check_cancelled()
                if len(errors) > 1:
                    # Several sequences failed: report each one, one per line.
                    raise BuildFailed("\n".join(str(error) for error in errors),
                                      build=build.name, step=errors[0].step,
                                      tail=errors[0].tail)
                if errors:
                    raise errors[0]
            except Interrupted as err:
                self.errors[build.name] = err
                ctx.emit(BuildFinished("interrupted", duration=time.monotonic() - started,
                                       error=str(err)))
                return
            except UserError as err:
                _mask_exception(err, self.secrets)
                self.errors[build.name] = err
                ctx.emit(BuildFinished("failed", duration=time.monotonic() - started,
                                       error=_describe_failure(err)))
                return
            except Exception as err:  # a bug: keep the traceback for the caller
                self.errors[build.name] = err
                ctx.emit(BuildFinished("failed", duration=time.monotonic() - started,
                                       error=f"{type(err).__name__}: {err}"))
                raise
            ctx.emit(BuildFinished("ok", duration=time.monotonic() - started))

    @staticmethod
    def _planned_steps(build: Build) -> list[str]:
        config = build.builder.config
        steps = []
        if config.get("build"):
            steps.append("build base image")
        elif config.get("pull", True):
            steps.append(f"pull {config.get('image', '')}")
        steps.append("start container")
        steps += [f"{p.label} ({p.path})" for p in build.provisioners]
        if config.get("commit"):
            steps.append("commit")
        elif config.get("export_path"):
            steps.append("export")
        for sequence in build.post_processors:
            steps += [f"{p.label} ({p.path})" for p in sequence]
        return steps


def _mask_exception(err: Exception, secrets: list[str]) -> None:
    """Mask secrets in an error's message and quoted output before anything shows it."""
    if not secrets:
        return
    err.args = tuple(mask_text(arg, secrets) if isinstance(arg, str) else arg
                     for arg in err.args)
    if isinstance(err, BuildFailed):
        err.tail = [mask_text(line, secrets) for line in err.tail]


def _describe_failure(err: Exception) -> str:
    """One paragraph: the error, then the last lines of output when there are any."""
    text = str(err)
    if isinstance(err, BuildFailed) and err.tail:
        text += "\nLast lines of output:\n" + "\n".join(f"    {line}" for line in err.tail)
    return text


def run(template: Template, options: RunOptions | None = None) -> Run:
    """Return a Run of ``template``; iterate it to execute the builds."""
    return Run(template, options)
