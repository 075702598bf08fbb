"""The step cache: re-running an unchanged build reuses committed images instead of working.

Each provisioner gets a key: a SHA-256 over the previous step's key and the step's fully
rendered content (inline text, script and uploaded file contents, environment, execute
command, user). The first key starts from the base image id, the build's name and the
builder options that shape the container, so a changed base image invalidates every step,
and a changed step invalidates the steps after it.

Cache entries are tags ``nbdocker-cache:<key>`` (``nbdocker-cache:<namespace>-<key>`` when
NBDOCKER_CACHE_NAMESPACE is set) on ordinary images, so they are never dangling and
``docker images`` shows them under one repository. Two kinds exist:

* checkpoints: the container committed after a step, with the base image's config;
* finals: the build's committed image, reused whole when nothing changed.

Steps whose result depends on the run itself (a download to the host, a host command, a
breakpoint, text that reads the container id or run id, or text that renders differently
each time, like ``{{uuid}}``) end the cacheable prefix. A build that mounts host folders
into the container (``volumes``, ``-v`` in ``run_command``) is not cached at all, because
its steps can read and write host files that no key covers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import TemplateError, UserError
from ..template.model import Component

CACHE_REPOSITORY = "nbdocker-cache"
#: Steps that touch the host or wait for a person: never cached, and they end the prefix.
UNCACHEABLE = {"shell-local", "breakpoint"}
#: Options that do not change what a step leaves in the container.
IGNORED_OPTIONS = {"pause_after", "start_retry_timeout", "expect_disconnect", "timeout",
                   "pause_before", "max_retries"}
#: Options whose default is drawn at random when the template loads (``script_1234.sh``);
#: they count only when the template sets them.
RANDOM_DEFAULT_OPTIONS = {"remote_file", "remote_path"}
#: Stand-ins for the dot fields ``execute_command`` reads, which exist only while a step
#: runs. The values they stand for are keyed already: the environment through
#: ``environment_vars`` and ``env``, the paths through ``remote_*``.
COMMAND_FIELDS = {"Path": "<remote path>", "Vars": "<environment>", "EnvVarFile": "<env file>"}
#: Valid namespaces: they become part of a Docker tag, which allows at most 128 characters.
NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
#: A cache tag without a namespace is exactly one 64-digit key.
KEY_PATTERN = re.compile(r"[0-9a-f]{64}")
#: Builder options that shape the build container, and so every step's result.
BUILDER_OPTIONS = ("run_command", "exec_user", "volumes", "privileged", "cap_add", "cap_drop",
                   "device", "tmpfs", "runtime", "platform", "fix_upload_owner", "pty")

#: ``render(text, **fields)``: renders run-time template text with the build's data.
Renderer = Callable[..., str]


class Uncacheable(Exception):
    """Raised while keying a step whose result cannot be reused."""


def _digest(*parts: Any) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(json.dumps(part, sort_keys=True, default=str).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def hash_path(path: str) -> str:
    """Hash a host file or directory tree: names, modes, link targets and contents."""
    hasher = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, path)
                stat = os.lstat(full)
                hasher.update(f"{relative}\0{stat.st_mode}\0".encode())
                if os.path.islink(full):
                    hasher.update(os.readlink(full).encode())
                elif os.path.isfile(full):
                    hasher.update(_file_digest(full).encode())
        return hasher.hexdigest()
    if os.path.isfile(path):
        return f"{os.stat(path).st_mode}:{_file_digest(path)}"
    return "missing"


def _file_digest(path: str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


@dataclass
class StepKey:
    """A step's cache key, or ``None`` when the step cannot be cached."""

    component: Component
    key: str | None


def mounts_host_paths(builder_config: dict[str, Any]) -> bool:
    """Tell whether the build container sees host folders (``volumes`` or ``-v``/``--mount``)."""
    if builder_config.get("volumes"):
        return True
    for argument in builder_config.get("run_command") or []:
        text = str(argument)
        if text in ("-v", "--volume", "--mount") or text.startswith(("-v", "--volume=",
                                                                      "--mount=")):
            return True
    return False


def base_key(image_id: str, builder_config: dict[str, Any], namespace: str = "",
             build: str = "") -> str | None:
    """Return the key every step key chains from, or None when the build is uncacheable.

    ``build`` is the build's name and type (``docker.docker``), which every shell step
    sees as PACKER_BUILD_NAME and PACKER_BUILDER_TYPE.
    """
    if mounts_host_paths(builder_config):
        return None
    options = {name: builder_config.get(name) for name in BUILDER_OPTIONS}
    return _digest("nbdocker-cache-v1", namespace, image_id, options, build)


def _render_value(value: Any, render: Renderer) -> Any:
    """Render every template string in ``value``; raise Uncacheable for run-dependent text."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        try:
            first = render(value, **COMMAND_FIELDS)
            second = render(value, **COMMAND_FIELDS)
        except TemplateError as err:
            # The step reports the error when it runs; it just cannot be keyed.
            raise Uncacheable(str(err)) from err
        if first != second:
            raise Uncacheable(f"{value!r} renders differently each time")
        return first
    if isinstance(value, list):
        return [_render_value(item, render) for item in value]
    if isinstance(value, dict):
        return {key: _render_value(item, render) for key, item in value.items()}
    return value


def step_content(component: Component, render: Renderer) -> Any | None:
    """Return the rendered content that decides a step's result, or None if uncacheable.

    ``render(text, **fields)`` renders run-time template text with the build's data and
    the extra dot ``fields``.
    """
    config = component.config
    if component.type in UNCACHEABLE:
        return None
    if component.type == "file" and config.get("direction") == "download":
        return None
    content: dict[str, Any] = {"type": component.type}
    try:
        for name, value in sorted(config.items()):
            if name in IGNORED_OPTIONS:
                continue
            if name in RANDOM_DEFAULT_OPTIONS and name not in component.explicit_options:
                continue
            if name in component.runtime_keys:
                value = _render_value(value, render)
            content[name] = value
    except Uncacheable:
        return None
    for name in ("script", "source"):
        if config.get(name):
            content[f"{name}@content"] = hash_path(config[name])
    for name in ("scripts", "sources"):
        if config.get(name):
            content[f"{name}@content"] = [hash_path(path) for path in config[name]]
    return content


def step_keys(components: Iterable[Component], start: str | None, render: Renderer,
              run_values: Iterable[str]) -> list[StepKey]:
    """Chain keys over the steps; the first uncacheable step ends the chain.

    ``run_values`` are strings unique to this run (container id, run id): a step whose
    rendered content contains one of them is uncacheable.
    """
    markers = [value for value in run_values if value]
    keys: list[StepKey] = []
    previous: str | None = start
    for component in components:
        content = step_content(component, render) if previous else None
        if content is not None and markers:
            text = json.dumps(content, default=str)
            if any(marker in text for marker in markers):
                content = None
        previous = _digest(previous, content) if content is not None and previous else None
        keys.append(StepKey(component, previous))
    return keys


def final_key(last: str, changes: list[str], author: str, message: str,
              run_values: Iterable[str] = ()) -> str | None:
    """Return the key of the committed image made from the last step's state.

    Returns None when the rendered ``changes`` contain one of ``run_values``.
    """
    text = json.dumps([changes, author, message])
    if any(value and value in text for value in run_values):
        return None
    return _digest(last, "commit", changes, author, message)


def current_namespace() -> str:
    """Return the cache namespace that NBDOCKER_CACHE_NAMESPACE sets ("" when unset)."""
    return os.environ.get("NBDOCKER_CACHE_NAMESPACE", "")


def check_namespace(namespace: str) -> None:
    """Raise UserError unless ``namespace`` can be part of a cache tag."""
    if namespace and not NAMESPACE_PATTERN.fullmatch(namespace):
        raise UserError(f"Invalid step cache namespace {namespace!r} (NBDOCKER_CACHE_NAMESPACE): "
                        "use 1 to 48 letters, digits, '_', '.' or '-', starting with a "
                        "letter or digit")


def reference(key: str, namespace: str = "") -> str:
    """Return the cache tag of a key in ``namespace``."""
    check_namespace(namespace)
    prefix = f"{namespace}-" if namespace else ""
    return f"{CACHE_REPOSITORY}:{prefix}{key[:64]}"


@dataclass
class CacheEntry:
    """One cache tag: its namespace and key, the image it names, when it was made, its size."""

    key: str
    image_id: str
    created: int
    size: int
    namespace: str = ""

    @property
    def reference(self) -> str:
        """The entry's tag, ``nbdocker-cache:[<namespace>-]<key>``."""
        return reference(self.key, self.namespace)


def _split_tag(tag: str) -> tuple[str, str] | None:
    """Return (namespace, key) of a cache tag's tag part, or None if it is no cache tag."""
    namespace, _, key = tag.rpartition("-")
    if not KEY_PATTERN.fullmatch(key):
        return None
    return namespace, key


def list_entries(engine, namespace: str | None = None) -> list[CacheEntry]:
    """Return the cache entries of ``namespace``, newest first.

    ``namespace`` defaults to NBDOCKER_CACHE_NAMESPACE; an empty namespace lists the
    entries of every namespace.
    """
    namespace = current_namespace() if namespace is None else namespace
    check_namespace(namespace)
    entries = []
    for image in engine.list_images(CACHE_REPOSITORY):
        for name in image.get("RepoTags") or []:
            repository, _, tag = name.rpartition(":")
            parts = _split_tag(tag) if repository == CACHE_REPOSITORY else None
            if parts is None or namespace and parts[0] != namespace:
                continue
            entries.append(CacheEntry(parts[1], image["Id"], image.get("Created", 0),
                                      image.get("Size", 0), namespace=parts[0]))
    return sorted(entries, key=lambda entry: entry.created, reverse=True)


def prune(engine, namespace: str | None = None) -> list[CacheEntry]:
    """Remove the cache tags of ``namespace`` and each image left with no tag.

    ``namespace`` is as for :func:`list_entries`. Returns the entries removed.
    """
    entries = list_entries(engine, namespace)
    for entry in entries:
        engine.remove_image(entry.reference)
    return entries
