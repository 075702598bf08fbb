"""Checks that involve several options of a component, or several components.

decode_options.py checks each value on its own: its type, the reference grammar, whether
a file exists. The checks here apply the rules between values, such as exactly one of
commit, discard and export_path, inline or script, and the order of post-processors in a
sequence. They also fill in the defaults that depend on other options. This module maps
each component type to its checks (validate_builders.py, validate_provisioners.py,
validate_post_processors.py) and checks ``min_packer_version``.
"""

from __future__ import annotations

import re
from typing import Callable

from .decode_components import RawTemplate
from .interpolate import PACKER_VERSION
from .json_format import Node
from .report import Report
from .validate_builders import COMMIT_INSTRUCTIONS, check_changes, check_docker_builder
from .validate_check import Check, check_exactly_one
from .validate_post_processors import (artifact_kind, check_artifice, check_checksum,
                                       check_docker_import, check_docker_push, check_docker_save,
                                       check_docker_tag, check_manifest, check_sequence)
from .validate_provisioners import check_file, check_nothing, check_shell, check_shell_local

__all__ = ["CHECKS", "COMMIT_INSTRUCTIONS", "PACKER_COMPATIBLE_VERSION", "Check", "artifact_kind",
           "check_changes", "check_component", "check_exactly_one", "check_min_version",
           "check_sequence", "parse_max_retries"]


#: The Packer version whose JSON templates nbdocker follows, for ``min_packer_version``.
PACKER_COMPATIBLE_VERSION = PACKER_VERSION


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
