"""Rules between the options of the shell, shell-local and file provisioners, and their defaults."""

from __future__ import annotations

import os
import random

from ..errors import Position
from .decode_options import _relative_note, resolve_path
from .schema_provisioners import (SHELL_ENV_VAR_FORMAT, SHELL_ENV_VAR_FORMAT_ENV_FILE,
                                  SHELL_EXECUTE_COMMAND, SHELL_EXECUTE_COMMAND_ENV_FILE)
from .validate_check import Check, check_exactly_one


def check_shell(check: Check) -> None:
    """Apply the shell provisioner's rules and fill its defaults."""
    config = check.config
    check_exactly_one(check, ("inline", "script", "scripts"), "nothing to run")
    if config["script"]:
        config["scripts"] = [config["script"], *config["scripts"]]
    _check_environment_vars(check)
    if not config["execute_command"]:
        config["execute_command"] = (SHELL_EXECUTE_COMMAND_ENV_FILE if config["use_env_var_file"]
                                     else SHELL_EXECUTE_COMMAND)
    if not config["env_var_format"]:
        config["env_var_format"] = (SHELL_ENV_VAR_FORMAT_ENV_FILE if config["use_env_var_file"]
                                    else SHELL_ENV_VAR_FORMAT)
    if not config["inline_shebang"]:
        config["inline_shebang"] = "/bin/sh -e"
    if not config["remote_folder"]:
        config["remote_folder"] = "/tmp"
    if not config["remote_file"]:
        # Like Packer, the name is chosen once, when the template is loaded.
        config["remote_file"] = f"script_{random.randrange(9999)}.sh"
    if not config["remote_path"]:
        config["remote_path"] = f"{config['remote_folder'].rstrip('/')}/{config['remote_file']}"
    if not config["valid_exit_codes"]:
        config["valid_exit_codes"] = [0]


def check_shell_local(check: Check) -> None:
    """Apply shell-local's rules (provisioner and post-processor) and fill its defaults."""
    config = check.config
    check_exactly_one(check, ("command", "inline", "script", "scripts"), "nothing to run")
    if config["command"] and not config["inline"]:
        config["inline"] = [config["command"]]
    if config["script"]:
        config["scripts"] = [config["script"], *config["scripts"]]
    _check_environment_vars(check)
    if not config["execute_command"]:
        config["execute_command"] = ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]
    elif len(config["execute_command"]) == 1:
        # Packer runs a one-element execute_command through sh -c.
        config["execute_command"] = ["/bin/sh", "-c", config["execute_command"][0]]
    if not config["inline_shebang"]:
        config["inline_shebang"] = "/bin/sh -e"
    if not config["env_var_format"]:
        config["env_var_format"] = SHELL_ENV_VAR_FORMAT
    config["tempfile_extension"] = config["tempfile_extension"].lstrip(".")
    if not config["valid_exit_codes"]:
        config["valid_exit_codes"] = [0]


def _check_environment_vars(check: Check) -> None:
    for index, entry in enumerate(check.config["environment_vars"]):
        name, equals, _ = entry.partition("=")
        if not equals or not name:
            path, position = check.element("environment_vars", index)
            check.report.error(f"environment_vars entry {entry!r} must be in KEY=VALUE form",
                               path, position)
    for name in check.config["env"]:
        if not name or "=" in name:
            path, position = check.where("env")
            check.report.error(f"env key {name!r} is not a valid environment variable name",
                               f"{path}.{name}", position)


def check_file(check: Check) -> None:
    """Apply the file provisioner's rules; make local paths absolute.

    ``source`` is merged into ``sources`` (first), as Packer does, so the runner reads
    ``sources`` only.
    """
    config = check.config
    download = config["direction"] == "download"
    # Each source with where it was written, for messages.
    sources = []
    if config["source"]:
        sources.append((config["source"], *check.where("source")))
    sources += [(source, *check.element("sources", index))
                for index, source in enumerate(config["sources"])]

    if config["content"] and sources:
        check.error("content", "content and source(s) are both set; copy either text (content) "
                               "or files (source or sources), not both")
    if config["content"] and download:
        check.error("content", "content works only for uploads; remove it or set direction to "
                               "'upload'")
    if not config["content"] and not sources and not check.is_set("source") \
            and not check.is_set("sources"):
        check.error("", "nothing to copy: set source (a file or folder), sources (several) or "
                        "content (text)")
    if not config["destination"] and not check.is_set("destination"):
        check.error("", "missing 'destination': set the path to copy to (a path in the container "
                        "for uploads, on the host for downloads)")

    if "direction" in check.decoded.invalid:
        return
    if download:
        if config["destination"] and "{{" not in config["destination"]:
            config["destination"] = resolve_path(config["destination"], check.directory)
        resolved = [source for source, _, _ in sources]
    else:
        resolved = [_upload_source(check, *source) for source in sources]
    config["sources"] = resolved
    config["source"] = resolved[0] if resolved else ""


def _upload_source(check: Check, source: str, path: str, position: Position | None) -> str:
    """Return an upload source as an absolute path; report it if it does not exist."""
    if "{{" in source:
        return source
    absolute = resolve_path(source, check.directory)
    # The trailing slash means "the folder's contents" and must survive normalization.
    if source.endswith("/") and not absolute.endswith("/"):
        absolute += "/"
    if not check.config["generated"] and not os.path.exists(absolute):
        relative = _relative_note(source, check.directory)
        check.report.error(f"source {source!r} not found: looked for {absolute!r}{relative}; set "
                           "generated: true if an earlier step creates it", path, position)
    return absolute


def check_nothing(check: Check) -> None:
    """Components without rules between their options."""
