"""Apply the docker builder's ``changes`` (Dockerfile instructions) to the image config.

nbdocker applies the instructions itself and hands the engine a finished config, instead
of passing ``--change`` to ``docker commit``. That way the base image's CMD and
ENTRYPOINT are kept unless an instruction sets them, ``ENTRYPOINT []`` clears an
inherited entrypoint, ``ENV`` works in both the ``KEY value`` and ``KEY=value`` forms, and
``$VAR`` expands against the image's environment as in a Dockerfile.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
import shlex
from typing import Any

INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME",
                "WORKDIR", "MAINTAINER", "STOPSIGNAL")
_VARIABLE = re.compile(r"\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class ChangeError(ValueError):
    """A ``changes`` entry that is not a valid instruction."""


def environment(config: dict[str, Any]) -> dict[str, str]:
    """Return the config's ``Env`` list as a dict."""
    result: dict[str, str] = {}
    for entry in config.get("Env") or []:
        key, _, value = entry.partition("=")
        result[key] = value
    return result


def expand(text: str, env: dict[str, str]) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+alt}`` as Dockerfiles do."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) or match.group(4)
        value = env.get(name, "")
        operator, word = match.group(2), match.group(3) or ""
        if operator == "-":
            return value or word
        if operator == "+":
            return word if value else ""
        return value
    return _VARIABLE.sub(replace, text)


def _words(argument: str) -> list[str]:
    """Parse an exec-form JSON array, or fall back to the shell form."""
    stripped = argument.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError as err:
            raise ChangeError(f"invalid JSON array {argument!r}: {err}") from err
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ChangeError(f"expected a JSON array of strings, got {argument!r}")
        return value
    return ["/bin/sh", "-c", stripped] if stripped else []


def _pairs(argument: str, env: dict[str, str], instruction: str) -> list[tuple[str, str]]:
    """Parse ``KEY=value ...`` or the legacy ``KEY value`` form of ENV and LABEL."""
    try:
        words = shlex.split(argument, posix=True)
    except ValueError as err:
        raise ChangeError(f"{instruction} {argument!r}: {err}") from err
    if not words:
        raise ChangeError(f"{instruction} needs at least one KEY=value")
    if "=" not in words[0]:
        key, _, value = argument.strip().partition(" ")
        return [(key, expand(value.strip(), env))]
    pairs = []
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise ChangeError(f"{instruction} entry {word!r} is not KEY=value")
        pairs.append((key, expand(value, env)))
    return pairs


def apply_changes(base: dict[str, Any], changes: list[str]) -> tuple[dict[str, Any], str]:
    """Return the image config after ``changes``, and the author set by MAINTAINER (or "")."""
    config = copy.deepcopy(base)
    author = ""
    for change in changes:
        instruction, _, argument = change.strip().partition(" ")
        keyword = instruction.upper()
        argument = argument.strip()
        env = environment(config)
        if keyword not in INSTRUCTIONS:
            raise ChangeError(f"unsupported instruction {instruction!r} in change {change!r}; "
                              f"use one of {', '.join(INSTRUCTIONS)}")
        if keyword == "CMD":
            config["Cmd"] = _words(argument)
        elif keyword == "ENTRYPOINT":
            config["Entrypoint"] = _words(argument)
            if config["Entrypoint"] and not any(c.strip().upper().startswith("CMD")
                                                for c in changes):
                # As in a Dockerfile, a new ENTRYPOINT drops the inherited CMD. Clearing the
                # entrypoint keeps it: the engine fills an image with neither from the build
                # container's own /bin/sh entrypoint.
                config["Cmd"] = None
        elif keyword == "ENV":
            for key, value in _pairs(argument, env, "ENV"):
                env[key] = value
            config["Env"] = [f"{key}={value}" for key, value in env.items()]
        elif keyword == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(_pairs(argument, env, "LABEL"))
            config["Labels"] = labels
        elif keyword == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for port in expand(argument, env).split():
                ports[port if "/" in port else f"{port}/tcp"] = {}
            config["ExposedPorts"] = ports
        elif keyword == "VOLUME":
            volumes = dict(config.get("Volumes") or {})
            paths = _words(argument) if argument.startswith("[") else argument.split()
            for path in paths:
                volumes[expand(path, env)] = {}
            config["Volumes"] = volumes
        elif keyword == "WORKDIR":
            path = expand(argument, env)
            config["WorkingDir"] = posixpath.join(config.get("WorkingDir") or "/", path)
        elif keyword == "USER":
            config["User"] = expand(argument, env)
        elif keyword == "ONBUILD":
            config["OnBuild"] = [*(config.get("OnBuild") or []), argument]
        elif keyword == "STOPSIGNAL":
            config["StopSignal"] = argument
        elif keyword == "MAINTAINER":
            author = argument
    return config, author
