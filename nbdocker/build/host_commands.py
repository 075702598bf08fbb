"""Commands that run on the host, for the shell-local provisioner and post-processor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from .context import BuildContext
from .shell_session import LineSplitter, format_env, quote_env


def run_shell_local(ctx: BuildContext, config: dict, data: dict) -> None:
    """Run shell-local's command, inline lines or scripts on the host (also used as a post-processor)."""
    import tempfile

    env = quote_env(config, ctx)
    variables = format_env(env, config.get("env_var_format") or "%s='%s' ")
    valid = list(config.get("valid_exit_codes") or [0])
    only_on = config.get("only_on") or []
    if only_on and sys.platform not in only_on and not (sys.platform.startswith("linux")
                                                         and "linux" in only_on):
        ctx.say(f"Skipping shell-local: only_on {only_on} does not include this host")
        return
    scripts: list[str] = []
    temporary: list[str] = []
    if config.get("command"):
        lines = [ctx.render(config["command"], **data)]
    elif config.get("inline"):
        lines = [ctx.render(line, **data) for line in config["inline"]]
    else:
        lines = []
        scripts = list(config.get("scripts") or []) or [config["script"]]
    if lines:
        shebang = config.get("inline_shebang") or "/bin/sh -e"
        handle = tempfile.NamedTemporaryFile("w", suffix=config.get("tempfile_extension") or ".sh",
                                             delete=False)
        with handle:
            handle.write(f"#!{shebang}\n" + "\n".join(lines) + "\n")
        os.chmod(handle.name, 0o700)
        scripts = [handle.name]
        temporary.append(handle.name)
    command_template = config.get("execute_command") or ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]
    if isinstance(command_template, str):
        command_template = [command_template]
    if len(command_template) == 1:
        command_template = ["sh", "-c", command_template[0]]
    try:
        for script in scripts:
            argv = [ctx.render(part, **data, Vars=variables, Script=script, Command=script)
                    for part in command_template]
            ctx.say(f"Running local shell script: {script}")
            status = stream_host_process(ctx, argv, env={**os.environ, **env})
            if status not in valid:
                raise ctx.failure(f"Local command exited with status {status}. "
                                  f"Allowed exit codes are: {valid}", exit_code=status)
    finally:
        for path in temporary:
            os.unlink(path)


def stream_host_process(ctx: BuildContext, argv: list[str], env: dict[str, str]) -> int:
    """Run a host process with stdin closed, streaming its merged output; return its status."""
    # A session of its own lets a cancel kill the commands the script started too; they
    # would otherwise keep the output pipe open until they end.
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               start_new_session=hasattr(os, "killpg"))
    watcher = threading.Thread(target=_kill_on_cancel, args=(ctx, process), daemon=True)
    watcher.start()
    splitter = LineSplitter()
    assert process.stdout is not None
    for chunk in iter(lambda: process.stdout.read1(65536), b""):
        for line in splitter.feed(chunk):
            ctx.output(line)
    for line in splitter.flush():
        ctx.output(line)
    status = process.wait()
    ctx.check_cancelled()
    return status


def _kill_on_cancel(ctx: BuildContext, process: subprocess.Popen) -> None:
    while process.poll() is None:
        if ctx.cancel.wait(0.2):
            if hasattr(os, "killpg"):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # the whole group has ended already
            else:
                process.kill()
            return
