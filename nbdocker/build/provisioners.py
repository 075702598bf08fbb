"""Provisioners: shell, file, shell-local, sleep and breakpoint, with timeouts and retries."""

from __future__ import annotations

import copy
import logging
import os
import posixpath
import shlex
import threading
import time
import uuid
from typing import Callable

from ..errors import BuildFailed, Interrupted
from ..template.model import Component
from .archive import extract_to_host
from .context import BuildContext
from .host_commands import run_shell_local
from .shell_session import (ShellSession, format_env, quote_env, run_in_container,
                            shell_session, writes_as_upload_owner)
from .uploads import upload_bytes, upload_directory

log = logging.getLogger(__name__)


class ShellProvisioner:
    """The ``shell`` provisioner: upload each script, run it, check its exit status."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.component = component
        self.config = component.config

    def scripts(self) -> list[tuple[str, bytes]]:
        """Return (label, content) for each script to run, rendering inline lines now."""
        config = self.config
        if config.get("inline"):
            lines = [self.ctx.render(line) for line in config["inline"]]
            shebang = config.get("inline_shebang") or "/bin/sh -e"
            if not (lines and lines[0].startswith("#!")):
                lines.insert(0, f"#!{shebang}")
            return [("inline script", ("\n".join(lines) + "\n").encode())]
        paths = list(config.get("scripts") or []) or [config["script"]]
        result = []
        for path in paths:
            with open(path, "rb") as handle:
                content = handle.read()
            if not config.get("binary"):
                content = content.replace(b"\r\n", b"\n")
            result.append((path, content))
        return result

    def remote_path(self) -> str:
        """Return where scripts are uploaded in the container."""
        config = self.config
        if config.get("remote_path"):
            return config["remote_path"]
        folder = config.get("remote_folder") or "/tmp"
        name = config.get("remote_file") or f"script_{uuid.uuid4().int % 9999}.sh"
        return posixpath.join(folder, name)

    def run(self) -> None:
        """Run every script of this provisioner in turn."""
        ctx, config = self.ctx, self.config
        remote = self.remote_path()
        env = quote_env(config, ctx)
        env_file = ""
        if config.get("use_env_var_file"):
            fmt = config.get("env_var_format") or "export %s='%s'\n"
            env_file = posixpath.join(config.get("remote_folder") or "/tmp",
                                      f"varfile_{uuid.uuid4().int % 9999}.sh")
            upload_bytes(ctx, env_file, format_env(env, fmt).encode(), mode=0o600)
            variables = ""
            default_command = "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"
        else:
            variables = format_env(env, config.get("env_var_format") or "%s='%s' ")
            default_command = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
        template = config.get("execute_command") or default_command
        valid = list(config.get("valid_exit_codes") or [0])
        user = ctx.build.builder.config.get("exec_user") or ""

        session = shell_session(ctx)
        removed = [] if config.get("skip_clean") else [remote] + ([env_file] if env_file else [])
        for label, content in self.scripts():
            ctx.say(f"Provisioning with shell script: {label}")
            command = ctx.render(template, Path=remote, Vars=variables, EnvVarFile=env_file)
            if session is not None:
                status = self.run_in_session(session, remote, content, command, removed)
            else:
                upload_bytes(ctx, remote, content, mode=0o755)
                cleanup = "".join(f"; rm -f {shlex.quote(path)}" for path in removed)
                status = run_in_container(ctx, f"({command}); status=$?{cleanup}; exit $status",
                                          user=user)
            if status not in valid:
                raise ctx.failure(
                    f"Script exited with non-zero exit status: {status}. "
                    f"Allowed exit codes are: {valid}", exit_code=status)
        pause = float(config.get("pause_after") or 0)
        if pause:
            wait_cancellable(ctx, pause)

    def run_in_session(self, session: ShellSession, remote: str, content: bytes, command: str,
                       removed: list[str]) -> int:
        """Write the script through the session's shell when possible, then run ``command``.

        The archive API writes the script instead when the shell cannot reproduce it
        exactly: content a here-document cannot carry, a non-root owner, a missing folder.
        """
        ctx = self.ctx
        if session.can_write(content) and writes_as_upload_owner(ctx):
            status = session.run(ctx, command, removed=removed, script=(remote, content))
            if status is not None:
                return status
            log.debug("the shell could not write %s; uploading it instead", remote)
        # NOTE: the script gets the upload owner (root unless fix_upload_owner picks the
        # image's USER), so a different non-root exec_user cannot remove it afterwards.
        upload_bytes(ctx, remote, content, mode=0o755)
        status = session.run(ctx, command, removed=removed)
        assert status is not None  # only a script write returns None
        return status


def wait_cancellable(ctx: BuildContext, seconds: float) -> None:
    """Sleep, returning early (with Interrupted) if the run is cancelled."""
    if ctx.cancel.wait(seconds):
        raise Interrupted("Build cancelled after an interrupt")


class FileProvisioner:
    """The ``file`` provisioner: uploads of files, directories and inline content, and downloads."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config
        self.runtime_keys = component.runtime_keys

    def sources(self) -> list[str]:
        """Return every source path, ``source`` first."""
        config = self.config
        sources = list(config.get("sources") or [])
        if config.get("source"):
            sources.insert(0, config["source"])
        return list(dict.fromkeys(sources))

    def run(self) -> None:
        """Upload or download, as ``direction`` says."""
        ctx, config = self.ctx, self.config
        destination = ctx.render(config["destination"])
        if config.get("direction") == "download":
            for source in self.sources():
                self.download(ctx.render(source), destination)
            return
        if not self.sources() and config.get("content") is not None:
            ctx.say(f"Uploading inline content => {destination}")
            content = str(config["content"])
            if "content" in self.runtime_keys:
                content = ctx.render(content)
            upload_bytes(ctx, destination, content.encode())
            return
        for source in self.sources():
            self.upload(source, destination)

    def upload(self, source: str, destination: str) -> None:
        """Upload one host file or directory."""
        ctx = self.ctx
        if not os.path.exists(source):
            raise ctx.failure(f"Upload source {source!r} does not exist on the host; "
                              "create it before this step or fix the path")
        ctx.say(f"Uploading {source} => {destination}")
        if os.path.isdir(source):
            upload_directory(ctx, source, destination)
            return
        target = destination
        if destination.endswith("/") or len(self.sources()) > 1:
            target = posixpath.join(destination, os.path.basename(source))
        stat = os.stat(source)
        with open(source, "rb") as handle:
            upload_bytes(ctx, target, handle.read(), mode=stat.st_mode & 0o7777,
                         mtime=stat.st_mtime)

    def download(self, source: str, destination: str) -> None:
        """Download one file or directory from the container to the host."""
        ctx = self.ctx
        ctx.say(f"Downloading {source} => {destination}")
        if ctx.engine.stat_path(ctx.container_id, source.rstrip("/") or "/") is None:
            raise ctx.failure(f"Download source {source!r} does not exist in the container")
        tar = ctx.engine.get_archive(ctx.container_id, source.rstrip("/") or "/")
        into = destination.endswith(("/", os.sep)) or os.path.isdir(destination)
        if source.endswith("/"):
            into = False
        os.makedirs(destination if into else (os.path.dirname(destination) or "."), exist_ok=True)
        extract_to_host(tar, destination, into_directory=into)


class SleepProvisioner:
    """The ``sleep`` provisioner: wait, cancellable."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Wait for ``duration`` seconds."""
        wait_cancellable(self.ctx, float(self.config.get("duration") or 0))


class BreakpointProvisioner:
    """The ``breakpoint`` provisioner: wait for Enter where input is possible."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Pause until the user presses Enter, or continue with a notice where no one can."""
        ctx, config = self.ctx, self.config
        if config.get("disable"):
            ctx.say("Breakpoint disabled, continuing")
            return
        note = config.get("note") or ""
        ctx.say(f"Pausing at breakpoint: {note}. Container id: {ctx.container_id}")
        if ctx.ask is None:
            ctx.warn("Breakpoint reached where no input is possible; continuing")
            return
        ctx.ask("Press Enter to continue the build")


class ShellLocalProvisioner:
    """The ``shell-local`` provisioner: run a command or scripts on the host."""

    def __init__(self, ctx: BuildContext, component: Component):
        self.ctx = ctx
        self.config = component.config

    def run(self) -> None:
        """Run the configured command on the host, streaming its output."""
        run_shell_local(self.ctx, self.config, data={})


PROVISIONERS: dict[str, Callable[[BuildContext, Component], object]] = {
    "shell": ShellProvisioner,
    "file": FileProvisioner,
    "sleep": SleepProvisioner,
    "breakpoint": BreakpointProvisioner,
    "shell-local": ShellLocalProvisioner,
}


def run_provisioner(ctx: BuildContext, component: Component) -> None:
    """Run one provisioner with its pause_before, timeout and max_retries, as one step."""
    name = f"{component.label} ({component.path})"
    with ctx.step(name, kind="provision") as info:
        if component.pause_before:
            ctx.say(f"Pausing {component.pause_before:g}s before the next provisioner...")
            wait_cancellable(ctx, component.pause_before)
        attempts = 1 + max(0, int(component.max_retries or 0))
        for attempt in range(1, attempts + 1):
            info["attempts"] = attempt
            try:
                _run_with_timeout(ctx, component)
                return
            except BuildFailed as err:
                if attempt == attempts:
                    raise
                ctx.warn(f"{name} failed ({err}); retrying ({attempt}/{attempts - 1})")
                wait_cancellable(ctx, min(2.0 * attempt, 10.0))


class StepCancel:
    """Cancellation of one provisioner run: set by its timeout, or by cancelling the run.

    It replaces the run's cancel event in the provisioner's context, so that a sleep or a
    host command (shell-local) stops at its timeout without cancelling the whole run.
    """

    def __init__(self, run_cancel: threading.Event):
        self.run_cancel = run_cancel
        self.expired = threading.Event()

    def set(self) -> None:
        self.expired.set()

    def is_set(self) -> bool:
        return self.expired.is_set() or self.run_cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until either is set or ``timeout`` seconds pass; notices the run's within 0.1 s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if remaining <= 0:
                break
            self.expired.wait(remaining)
        return self.is_set()


#: Provisioners that run commands in the build container.
IN_CONTAINER = ("shell", "file")


def _run_with_timeout(ctx: BuildContext, component: Component) -> None:
    if not component.timeout:
        PROVISIONERS[component.type](ctx, component).run()
        return
    step_ctx = copy.copy(ctx)
    step_ctx.cancel = cancel = StepCancel(ctx.cancel)  # type: ignore[assignment]
    provisioner = PROVISIONERS[component.type](step_ctx, component)
    expired = cancel.expired

    def expire() -> None:
        cancel.set()
        if component.type in IN_CONTAINER and ctx.container_id:
            # NOTE: an exec cannot be killed through the Engine API, so a timeout in the
            # container kills the whole build container; the build then fails and a
            # retry cannot reuse it.
            ctx.engine.remove_container(ctx.container_id)

    timer = threading.Timer(component.timeout, expire)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        provisioner.run()
    except Exception as err:
        if expired.is_set():
            raise ctx.failure(f"Provisioner timed out after {component.timeout:g}s "
                              f"(timeout in {component.path})") from err
        raise
    finally:
        timer.cancel()
        # An expired timer may still be removing the container; the build's cleanup must
        # not see it half removed ("removal already in progress") and return early.
        timer.join()
    if expired.is_set() and time.monotonic() - started >= component.timeout:
        raise ctx.failure(f"Provisioner timed out after {component.timeout:g}s")
