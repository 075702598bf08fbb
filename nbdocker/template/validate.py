"""Checks that involve several options of a component, or several components.

decode.py checks each value on its own: its type, the reference grammar, whether a file
exists. The functions here check the rules between values, such as exactly one of commit,
discard and export_path, inline or script, and the order of post-processors in a
sequence. They also fill in the defaults that depend on other options.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import Position
from .decode import Decoded, RawComponent, RawTemplate, Report, resolve_path
from .json_format import Node
from .schema_builders import DEFAULT_RUN_COMMAND
from .schema_provisioners import (SHELL_ENV_VAR_FORMAT, SHELL_ENV_VAR_FORMAT_ENV_FILE,
                                  SHELL_EXECUTE_COMMAND, SHELL_EXECUTE_COMMAND_ENV_FILE)
from .suggest import did_you_mean, quote_list

#: The Packer version whose JSON templates nbdocker follows, for ``min_packer_version``.
PACKER_COMPATIBLE_VERSION = "1.16.0"

#: Dockerfile instructions that ``docker commit --change`` and ``docker import --change`` accept.
COMMIT_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME",
                       "WORKDIR", "MAINTAINER")

#: Reasons that other Dockerfile instructions cannot be used in ``changes``, with what to
#: use instead.
_OTHER_INSTRUCTIONS = {
    "RUN": "commands run with a shell provisioner",
    "COPY": "files are copied with a file provisioner",
    "ADD": "files are copied with a file provisioner",
    "FROM": "the base image is the builder's image option",
    "ARG": "use template variables instead",
    "HEALTHCHECK": "docker commit does not accept it",
    "SHELL": "docker commit does not accept it",
    "STOPSIGNAL": "docker commit does not accept it",
}


@dataclass
class Check:
    """One component's decoded options, with helpers to report at an option's position."""

    component: RawComponent
    decoded: Decoded
    report: Report
    directory: str

    @property
    def config(self) -> dict[str, Any]:
        return self.decoded.config

    def where(self, key: str) -> tuple[str, Position | None]:
        """Return the key path and position of option ``key``, or the component's."""
        if key in self.decoded.nodes:
            path, node = self.decoded.nodes[key]
            return path, node.position
        return self.component.path, self.component.position

    def error(self, key: str, message: str) -> None:
        if key in self.decoded.invalid:
            return
        path, position = self.where(key)
        self.report.error(message, path, position)

    def warning(self, key: str, message: str) -> None:
        path, position = self.where(key)
        self.report.warning(message, path, position)

    def is_set(self, key: str) -> bool:
        """Return whether option ``key`` has a value; an invalid value counts as set."""
        if key in self.decoded.invalid:
            return True
        value = self.config.get(key)
        return value is not None and value is not False and value != "" and value != [] \
            and value != {}

    def element(self, key: str, index: int) -> tuple[str, Position | None]:
        """Return the path and position of element ``index`` of list option ``key``."""
        if key in self.decoded.nodes:
            path, node = self.decoded.nodes[key]
            if node.kind == "array" and index < len(node.value):
                return f"{path}[{index}]", node.value[index].position
            return path, node.position
        return self.component.path, self.component.position


def check_exactly_one(check: Check, names: tuple[str, ...], missing: str) -> list[str]:
    """Report unless exactly one of ``names`` is set; return the names that are set."""
    chosen = [name for name in names if check.is_set(name)]
    if len(chosen) > 1:
        check.error(chosen[1], f"{' and '.join(chosen)} are both set; set only one of "
                               f"{quote_list(names, 'or')}")
    elif not chosen:
        check.error("", f"{missing}: set one of {quote_list(names, 'or')}")
    return chosen


# -- docker builder ---------------------------------------------------------------------------


def check_docker_builder(check: Check) -> None:
    """Apply the docker builder's rules and fill the defaults that depend on other options."""
    config = check.config

    # What happens to the container: exactly one of commit, discard, export_path.
    chosen = [name for name in ("commit", "discard", "export_path") if check.is_set(name)]
    if not chosen:
        check.error("", "nothing is done with the container: set exactly one of commit: true "
                        "(make an image), discard: true (throw the container away) or export_path "
                        "(write the filesystem to a tar file)")
    elif len(chosen) > 1:
        check.error(chosen[1], f"{' and '.join(chosen)} are both set; set only one of commit, "
                               "discard and export_path")

    # Where the container starts from: image or build, not both.
    if not check.is_set("image") and not check.is_set("build"):
        check.error("", "missing 'image': set image to the base image, such as 'ubuntu:22.04', "
                        "or add a build block with the path of a Dockerfile")
    elif config["image"] and config["build"] is not None:
        check.error("build", "image and build are both set; use image to start from an existing "
                             "image, or build to make the base image from a Dockerfile, not both")
    if config["build"] is not None and "pull" in check.decoded.explicit:
        check.warning("pull", "pull is ignored when build is set; set build.pull instead")
    if config["build"] is not None and not config["build"]["path"]:
        path, position = check.where("build")
        check.report.error("missing 'path' in build: set it to the Dockerfile to build the base "
                           "image from", path, position)

    export_path = config["export_path"]
    if export_path and os.path.isdir(export_path):
        check.error("export_path", f"export_path {export_path!r} is an existing directory; it "
                                   "must be the path of a tar file to write, such as 'image.tar'")

    if not config["run_command"]:
        config["run_command"] = list(DEFAULT_RUN_COMMAND)
    check_changes(check, "changes")
    _check_communicator(check)
    _check_login(check)
    if config["windows_container"]:
        check.error("windows_container", "windows_container: true is not supported: nbdocker "
                                         "runs provisioners through /bin/sh in Linux containers")
    if not config["container_dir"].startswith("/") and "{{" not in config["container_dir"]:
        check.error("container_dir", f"container_dir must be an absolute path in the container, "
                                     f"got {config['container_dir']!r}")
    _check_volumes(check)


def _check_communicator(check: Check) -> None:
    communicator = check.config["communicator"] or "docker"
    check.config["communicator"] = communicator
    if communicator in ("docker", "none"):
        return
    if communicator in ("ssh", "winrm"):
        check.error("communicator", f"communicator {communicator!r} is not supported: nbdocker "
                                    "runs provisioners with docker exec; remove communicator or "
                                    "set it to 'docker'")
        return
    check.error("communicator", f"communicator must be 'docker' or 'none', got {communicator!r}"
                                f"{did_you_mean(communicator, ('docker', 'none'))}")


def _check_login(check: Check) -> None:
    config = check.config
    if config["ecr_login"]:
        check.error("ecr_login", "ecr_login is not supported by nbdocker; set login: true with "
                                 "login_server, login_username and login_password (for ECR, the "
                                 "output of `aws ecr get-login-password`)")
    if not config["login"] and not config["ecr_login"]:
        for key in ("login_username", "login_password", "login_server"):
            if config.get(key) and key in check.decoded.explicit:
                check.warning(key, f"{key} is ignored unless login is true")
                break


def _check_volumes(check: Check) -> None:
    volumes = check.config["volumes"]
    resolved = {}
    for host, container in volumes.items():
        if "{{" not in container and not container.startswith("/"):
            path = check.where("volumes")[0]
            check.report.error(f"volume target {container!r} must be an absolute path in the "
                               "container", f"{path}.{host}", check.where("volumes")[1])
        # Relative host paths are folders next to the template. A bare name such as
        # "cache" is kept, because Docker reads it as a named volume.
        if host.startswith(("~", "./", "../")) or host in (".", ".."):
            host = resolve_path(host, check.directory)
        resolved[host] = container
    check.config["volumes"] = resolved


def check_changes(check: Check, key: str) -> None:
    """Check that each ``changes`` entry starts with an instruction that commit accepts."""
    for index, change in enumerate(check.config.get(key) or []):
        stripped = change.strip()
        if stripped.startswith("{{"):
            continue
        word = stripped.split(None, 1)[0].upper() if stripped else ""
        if word in COMMIT_INSTRUCTIONS:
            continue
        path, position = check.element(key, index)
        if not word:
            check.report.error(f"{key} entry {index} is empty; remove it", path, position)
            continue
        reason = _OTHER_INSTRUCTIONS.get(word)
        if reason:
            message = (f"{key} entry {change!r} uses {word}, which cannot be applied to a "
                       f"committed image: {reason}")
        else:
            message = (f"{key} entry {change!r} does not start with a Dockerfile instruction that "
                       f"docker commit accepts ({', '.join(COMMIT_INSTRUCTIONS)})"
                       f"{did_you_mean(word, COMMIT_INSTRUCTIONS)}")
        check.report.error(message, path, position)


# -- provisioners -------------------------------------------------------------------------------


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
        relative = ""
        if not os.path.isabs(os.path.expanduser(source)):
            relative = f" (relative paths are resolved against {check.directory!r})"
        check.report.error(f"source {source!r} not found: looked for {absolute!r}{relative}; set "
                           "generated: true if an earlier step creates it", path, position)
    return absolute


def check_nothing(check: Check) -> None:
    """Components without rules between their options."""


# -- post-processors -----------------------------------------------------------------------------


def check_docker_tag(check: Check) -> None:
    """Require a repository and merge the deprecated ``tag`` into ``tags``."""
    config = check.config
    if not config["repository"]:
        check.error("", "missing 'repository': set the repository to tag the image as, such as "
                        "'myuser/myimage' or 'registry.example.com:5000/team/app'")
    old = config.pop("tag", [])
    config["tags"] = list(dict.fromkeys([*config["tags"], *old]))
    repository = config["repository"]
    if config["tags"] and ":" in repository.rsplit("/", 1)[-1] and "{{" not in repository:
        check.error("repository", f"repository {repository!r} already has a tag and tags are set "
                                  "too; move the tag into tags")


def check_docker_push(check: Check) -> None:
    """Reject ECR login and warn about credentials that login: false ignores."""
    _check_login(check)


def check_docker_import(check: Check) -> None:
    """Check the ``changes`` applied at import."""
    check_changes(check, "changes")


def check_docker_save(check: Check) -> None:
    """Require the tar file path."""
    path = check.config["path"]
    if not path:
        check.error("", "missing 'path': set the tar file to save the image to, such as "
                        "'image.tar'")
    elif os.path.isdir(path):
        check.error("path", f"path {path!r} is an existing directory; it must be the tar file "
                            "to write")


def check_manifest(check: Check) -> None:
    """Reject an output path that is a directory."""
    output = check.config["output"]
    if output and os.path.isdir(output):
        check.error("output", f"output {output!r} is an existing directory; it must be the JSON "
                              "file to write")
    if not output:
        check.config["output"] = resolve_path("packer-manifest.json", check.directory)


def check_checksum(check: Check) -> None:
    """Default the checksum types to md5, like Packer."""
    if not check.config["checksum_types"]:
        check.config["checksum_types"] = ["md5"]


def check_artifice(check: Check) -> None:
    """Require the files of the new artifact."""
    if not check.config["files"]:
        check.error("", "missing 'files': list the files on the host that become the artifact")


CHECKS: dict[tuple[str, str], Callable[[Check], None]] = {
    ("builder", "docker"): check_docker_builder,
    ("provisioner", "shell"): check_shell,
    ("provisioner", "file"): check_file,
    ("provisioner", "shell-local"): check_shell_local,
    ("provisioner", "breakpoint"): check_nothing,
    ("provisioner", "sleep"): check_nothing,
    ("post-processor", "docker-tag"): check_docker_tag,
    ("post-processor", "docker-push"): check_docker_push,
    ("post-processor", "docker-import"): check_docker_import,
    ("post-processor", "docker-save"): check_docker_save,
    ("post-processor", "manifest"): check_manifest,
    ("post-processor", "checksum"): check_checksum,
    ("post-processor", "shell-local"): check_shell_local,
    ("post-processor", "artifice"): check_artifice,
}


def check_component(check: Check) -> None:
    """Run the rules of the component's type."""
    CHECKS[(check.component.kind, check.component.type)](check)


# -- across components ----------------------------------------------------------------------------


def artifact_kind(builder_config: dict[str, Any]) -> str:
    """Return what a docker build produces: ``image``, ``tar`` (export) or ``nothing`` (discard)."""
    if builder_config.get("commit"):
        return "image"
    if builder_config.get("export_path"):
        return "tar"
    return "nothing"


def check_sequence(build_name: str, builder_config: dict[str, Any], sequence: list[RawComponent],
                   report: Report) -> None:
    """Check that each post-processor of a sequence can take what the step before it produces.

    The artifact moves through the sequence as one of: ``image`` (a committed image known
    only by its ID), ``named image`` (after docker-tag or docker-import), ``tar`` (an
    exported file), ``nothing`` (discarded) or ``files`` (after artifice).
    """
    state = artifact_kind(builder_config)
    source = {"image": "commit: true", "tar": "export_path", "nothing": "discard: true"}[state]
    for component in sequence:
        kind = component.type
        where = (f"{component.path}.type", component.node.value["type"].position)
        if kind == "docker-import":
            if state in ("image", "named image"):
                report.error(f"docker-import cannot follow build {build_name!r}: commit already "
                             "imports the image. Remove docker-import, or use export_path instead "
                             "of commit to import a flattened image", *where)
                return
            if state == "nothing":
                report.error(f"docker-import has nothing to import: build {build_name!r} uses "
                             "discard: true; set export_path in the builder instead", *where)
                return
            state = "named image"
        elif kind in ("docker-tag", "docker-push", "docker-save"):
            if state in ("tar", "nothing", "files"):
                produced = {"tar": "a tar file (export_path)",
                            "nothing": "no image (discard: true)",
                            "files": "files (artifice)"}[state]
                report.error(f"{kind} needs an image, but build {build_name!r} produces {produced} "
                             f"at this point; set commit: true in the builder, or put a "
                             f"docker-import before {kind} in the same sequence", *where)
                return
            if kind == "docker-push" and state == "image":
                report.error(
                    f"docker-push would push the untagged image of build {build_name!r} "
                    f"({source} makes an image known only by its ID); add a docker-tag "
                    "post-processor before docker-push in the same sequence, e.g. "
                    "[[{type: docker-tag, repository: ...}, {type: docker-push}]]", *where)
                return
            if kind == "docker-tag":
                state = "named image"
        elif kind == "artifice":
            state = "files"


# -- min_packer_version -----------------------------------------------------------------------

_VERSION_RE = re.compile(r"v?([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def _version_key(text: str) -> tuple | None:
    match = _VERSION_RE.fullmatch(text.strip())
    if not match:
        return None
    numbers = [int(part) for part in match.group(1).split(".")]
    numbers += [0] * (3 - len(numbers))
    # A pre-release sorts before its release: 1.16.0-beta < 1.16.0.
    return (tuple(numbers), 0 if match.group(2) else 1)


def check_min_version(raw: RawTemplate, report: Report) -> None:
    """Fail when the template needs a newer Packer than the one nbdocker follows."""
    required = raw.min_packer_version
    if not required:
        return
    node: Node | None = raw.min_version_node
    position = node.position if node else None
    required_key = _version_key(required)
    if required_key is None:
        report.error(f"min_packer_version {required!r} is not a valid version such as '1.7.0'",
                     "min_packer_version", position)
        return
    if required_key > _version_key(PACKER_COMPATIBLE_VERSION):
        report.error(f"this template requires Packer {required} or newer; nbdocker follows "
                     f"Packer {PACKER_COMPATIBLE_VERSION}", "min_packer_version", position)


def parse_max_retries(text: str) -> int | None:
    """Return ``max_retries`` as an integer, or None when it is not one."""
    text = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", text) and len(text) < 19:
        return int(text)
    return None
