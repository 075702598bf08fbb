"""Rules of each post-processor, and the order of post-processors within a sequence."""

from __future__ import annotations

import os
from typing import Any

from .decode_components import RawComponent
from .decode_options import resolve_path
from .report import Report
from .validate_builders import _check_login, check_changes
from .validate_check import Check


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
