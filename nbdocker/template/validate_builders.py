"""Rules between the docker builder's options, and the defaults that depend on other options."""

from __future__ import annotations

import os

from .decode_options import resolve_path
from .schema_builders import DEFAULT_RUN_COMMAND
from .suggest import did_you_mean
from .validate_check import Check


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
