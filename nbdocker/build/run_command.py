"""Translate the docker builder's ``run_command`` (``docker run`` arguments) into create options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Flags that take a value, with the create option they set.
VALUE_FLAGS = {
    "--entrypoint": "entrypoint",
    "-e": "environment", "--env": "environment",
    "-u": "user", "--user": "user",
    "-w": "working_dir", "--workdir": "working_dir",
    "--name": "name",
    "-h": "hostname", "--hostname": "hostname",
    "--network": "network_mode", "--net": "network_mode",
    "-v": "binds", "--volume": "binds",
    "--cap-add": "cap_add", "--cap-drop": "cap_drop",
    "--device": "devices", "--tmpfs": "tmpfs",
    "--runtime": "runtime", "--platform": "platform",
    "-l": "labels", "--label": "labels",
}
#: Flags without a value; the ones that do not change a created container are accepted as is.
SWITCHES = {
    "-d": None, "--detach": None, "--rm": None,
    "-i": "stdin_open", "--interactive": "stdin_open",
    "-t": "tty", "--tty": "tty",
    "-it": "both", "-ti": "both", "-dit": "both", "-itd": "both", "-idt": "both",
    "--privileged": "privileged", "--init": None,
}
LIST_OPTIONS = {"environment", "binds", "cap_add", "cap_drop", "devices", "tmpfs", "labels"}


@dataclass
class RunCommand:
    """``run_command`` parsed: the image, the command after it, and create options."""

    image: str
    command: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


class RunCommandError(ValueError):
    """``run_command`` holds something nbdocker cannot translate into create options."""


def parse_run_command(arguments: list[str]) -> RunCommand:
    """Parse rendered ``run_command`` arguments (everything after ``docker run``).

    >>> parse_run_command(["-d", "-i", "-t", "--entrypoint=/bin/sh", "--", "debian"]).options
    {'stdin_open': True, 'tty': True, 'entrypoint': '/bin/sh'}
    """
    options: dict[str, Any] = {}
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if argument == "--":
            index += 1
            break
        if not argument.startswith("-") or argument == "-":
            break
        flag, equals, value = argument.partition("=")
        if flag in VALUE_FLAGS:
            if not equals:
                index += 1
                if index >= len(arguments):
                    raise RunCommandError(f"run_command flag {flag!r} needs a value")
                value = arguments[index]
            _set(options, VALUE_FLAGS[flag], value)
        elif argument in SWITCHES:
            target = SWITCHES[argument]
            if target == "both":
                options["stdin_open"] = options["tty"] = True
            elif target:
                options[target] = True
        else:
            known = ", ".join(sorted(set(VALUE_FLAGS) | {k for k in SWITCHES if "-" in k[1:]}))
            raise RunCommandError(
                f"run_command flag {argument!r} is not supported; supported flags: {known}")
        index += 1
    if index >= len(arguments):
        raise RunCommandError("run_command names no image: put {{.Image}} after the flags")
    return RunCommand(image=arguments[index], command=list(arguments[index + 1:]),
                      options=options)


def _set(options: dict[str, Any], key: str, value: str) -> None:
    if key == "labels":
        name, _, label_value = value.partition("=")
        options.setdefault("labels", {})[name] = label_value
    elif key == "tmpfs":
        path, _, mount_options = value.partition(":")
        options.setdefault("tmpfs", {})[path] = mount_options
    elif key in LIST_OPTIONS:
        options.setdefault(key, []).append(value)
    else:
        options[key] = value
